"""The installed layout: one top-level package, ``crossverify``, built from the repository's folders,
and its one compiled part, python_impl/_exact.c (R's arithmetic loops; docs/FACTS.md section 9).

The repository keeps its folders by role (bridge/, twins/, python_impl/, r_impl/, fixtures/); an
installed copy puts them all inside ``crossverify`` so that no generic name (``bridge``, ``twins``)
lands in site-packages, and so that a command finds the R sources and the shipped scenarios beside
its own code (bridge/paths.py). ``twins`` becomes ``crossverify.shipped_twins`` because
``crossverify.twins`` is the protocol (bridge/twins/).

The extension is optional: where no C compiler is found the build goes on without it and
python_impl/kernels.py runs its pure-numpy kernels, which give the same bits, only slower.
"""
import sys

from setuptools import Extension, find_packages, setup

# repository folder -> installed package name
CODE = {"bridge": "crossverify", "twins": "crossverify.shipped_twins", "python_impl": "crossverify.python_impl"}
# folders of files read at run time: R sources and manifests, no Python package of their own
DATA = {"r_impl": ["DESCRIPTION", "NAMESPACE", "LICENSE", "R/*.R", "man/*.Rd"],
        "fixtures": ["README.md", "*/*", "*/*/*"]}
# no fused multiply-add (R's loops round every product before adding it); strict IEEE semantics
FLAGS = ["/fp:strict"] if sys.platform == "win32" else ["-O3", "-ffp-contract=off", "-fno-fast-math"]


def code_packages():
    """Every package under each code folder, with the folder it is read from."""
    packages, package_dir = [], {}
    for folder, name in CODE.items():
        package_dir[name] = folder
        packages.append(name)
        for sub in find_packages(folder):
            packages.append(f"{name}.{sub}")
    return packages, package_dir


packages, package_dir = code_packages()
for folder in DATA:
    packages.append(f"crossverify.{folder}")
    package_dir[f"crossverify.{folder}"] = folder

setup(packages=packages, package_dir=package_dir,
      package_data={f"crossverify.{folder}": globs for folder, globs in DATA.items()},
      include_package_data=False,
      ext_modules=[Extension("crossverify.python_impl._exact", ["python_impl/_exact.c"], extra_compile_args=FLAGS,
                             optional=True)])
