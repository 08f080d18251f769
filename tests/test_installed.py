"""crossverify installed from its wheel, used from a project that is not this repository.

The wheel is built from this checkout (setup.py's layout: one top-level name, ``crossverify``,
carrying the R sources and the shipped scenarios) and installed into a fresh virtual environment in
a temporary folder. Every command then runs from another temporary folder, the user's project, and
must find everything inside the installed package: nothing of this checkout is on its path.

The fast tests give that environment its third-party dependencies (numpy, rpy2, pandas...) through a
``.pth`` line naming this project's .venv, so that they install nothing over the network; only
crossverify itself comes from the wheel. The long test installs the wheel with its dependencies,
as ``pip install`` does for a user.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

from tests.conftest import ROOT

EXAMPLE = os.path.join(ROOT, "examples", "power_iteration")


def _run(cmd, cwd, env, timeout=600):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr


def build_wheel(out):
    """The wheel of this checkout, built with the project's own setuptools (no network)."""
    code, _, err = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                         "-w", str(out), ROOT], cwd=out, env=os.environ.copy())
    assert code == 0, err
    (wheel,) = [p for p in os.listdir(out) if p.endswith(".whl")]
    return os.path.join(out, wheel)


def fresh_env(folder):
    """A virtual environment without pip; pip is driven from this one with ``--python``."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    return os.path.join(folder, "bin", "python")


def user_env(env_dir):
    """The environment a user's shell has: the fresh venv's bin first, no PYTHONPATH, started
    outside the repository."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS")}
    env["PATH"] = os.path.join(env_dir, "bin") + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(env_dir)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, env, project): crossverify installed from its wheel into a fresh venv whose other
    packages are this project's (a .pth line), and an empty project folder of the user's."""
    base = tmp_path_factory.mktemp("installed")
    wheel = build_wheel(base)
    env_dir = base / "env"
    python = fresh_env(env_dir)
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    with open(os.path.join(purelib, "project_dependencies.pth"), "w") as fh:
        fh.write("\n".join(sorted(ours)) + "\n")
    code, _, err = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel],
                        cwd=base, env=os.environ.copy())
    assert code == 0, err
    project = base / "project"
    project.mkdir()
    return python, user_env(env_dir), project


def crossverify(installed, *args):
    python, env, project = installed
    return _run([os.path.join(os.path.dirname(python), "crossverify"), *args], cwd=project, env=env)


def test_the_installed_package_is_the_wheels_with_r_sources_and_scenarios_inside(installed):
    python, env, project = installed
    code, out, err = _run([python, "-c", textwrap.dedent("""
        import json, os, crossverify, crossverify.paths as p
        print(json.dumps({"package": os.path.dirname(crossverify.__file__), "installed": p.INSTALLED,
                          "r": os.path.isfile(os.path.join(p.R_PACKAGE_DIR, "R", "twin_run.R")),
                          "scenarios": sorted(os.listdir(p.SHIPPED_FIXTURES)),
                          "twins": sorted(os.listdir(p.SHIPPED_TWINS))}))
        """)], cwd=project, env=env)
    assert code == 0, err
    seen = json.loads(out)
    assert seen["package"].startswith(os.path.dirname(os.path.dirname(python))), seen
    assert not seen["package"].startswith(ROOT) and seen["installed"] and seen["r"]
    assert {"bias-net", "detail-toy", "detail-moons"} <= set(seen["scenarios"])
    assert {"bias_net", "detail"} <= set(seen["twins"])


def test_no_generic_top_level_name_is_installed(installed):
    python, env, project = installed
    code, out, err = _run([python, "-c", "import importlib.metadata as m; "
                           "print(m.distribution('crossverify').read_text('top_level.txt'))"], cwd=project, env=env)
    assert code == 0, err
    assert out.split() == ["crossverify"]


def test_run_on_a_shipped_scenario_meets_every_check_from_outside_the_repository(installed):
    code, out, err = crossverify(installed, "run", "--scenario", "bias-net")
    assert code == 0, err + out
    assert "16 of 16 checks meet their expectation." in out


def test_run_on_a_copied_example_twin_meets_every_check(installed):
    project = installed[2]
    shutil.copytree(EXAMPLE, project / "mytwin", ignore=shutil.ignore_patterns("__pycache__"))
    code, out, err = crossverify(installed, "run", "--twin", "mytwin")
    assert code == 0, err + out
    assert "4 of 4 checks meet their expectation." in out


def test_doctor_finds_r_and_its_sources_inside_the_installed_package(installed):
    code, out, err = crossverify(installed, "doctor", "--format", "json")
    assert code == 0, err + out
    items = {item["name"]: item for item in json.loads(out)["items"]}
    assert items["R session"]["ok"] and all(item["ok"] for item in items.values()), items


FOREIGN_TEST = '''
import pathlib

import crossverify
from crossverify import assert_twin_agrees

TWIN = pathlib.Path(__file__).parent / "mytwin"


def test_my_twin_is_bit_identical_with_exact_kernels(crossverify_r):
    row = assert_twin_agrees(TWIN, "spd-6", kernels="exact", epochs=10, session=crossverify_r)
    assert row.expectation == "identical"


def test_my_twin_stays_within_bound_with_float_kernels(crossverify_r):
    assert assert_twin_agrees(TWIN, "spd-6", kernels="float", epochs=10, session=crossverify_r).ok


def test_run_gives_the_rows_as_a_dataframe(crossverify_r):
    rows = crossverify.run(TWIN, kernels=["exact"], epochs=10)
    assert list(rows["verdict"]) == ["meets", "meets"] and set(rows["mode"]) == {"lockstep", "free-running"}
'''


def test_a_foreign_pytest_suite_uses_the_installed_plugin(installed):
    python, env, project = installed
    suite = project / "suite"
    shutil.copytree(EXAMPLE, suite / "mytwin", ignore=shutil.ignore_patterns("__pycache__"))
    (suite / "test_mytwin.py").write_text(FOREIGN_TEST)
    (suite / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    code, out, err = _run([python, "-m", "pytest", "-q", "-p", "no:randomly"], cwd=suite, env=env)
    assert code == 0, out + err
    assert "3 passed" in out


R_CHECK = '''
library(testthat)
library(crossverify)
python_trace <- read_trace("py-trace")
r_trace <- twin_run("mytwin", "spd-6", epochs = 5L)
expect_trace_identical(r_trace, "py-trace")
cat("checked", length(python_trace$epochs), "epochs\\n")
'''


def test_an_r_package_installed_from_the_wheel_checks_a_python_trace_in_plain_rscript(installed):
    """R's side of an R-only CI: the R package as the wheel carries it, installed with R CMD INSTALL."""
    python, env, project = installed
    work = project / "r-ci"
    shutil.copytree(EXAMPLE, work / "mytwin", ignore=shutil.ignore_patterns("__pycache__"))
    code, out, err = _run([python, "-c", "import crossverify.paths as p; print(p.R_PACKAGE_DIR)"], cwd=work, env=env)
    assert code == 0, err
    library = work / "R-library"
    library.mkdir()
    code, _, err = _run(["R", "CMD", "INSTALL", "--no-multiarch", f"--library={library}", out.strip()],
                        cwd=work, env=env)
    assert code == 0, err
    code, out, err = crossverify(installed, "trace", "--twin", str(work / "mytwin"), "--scenario", "spd-6",
                                 "--impl", "python", "--kernels", "exact", "--epochs", "5", "--record", "all",
                                 "--format", "folder", "--out", str(work / "py-trace"))
    assert code == 0, err + out
    (work / "check.R").write_text(R_CHECK)
    code, out, err = _run(["Rscript", "check.R"], cwd=work, env=dict(env, R_LIBS=str(library)))
    assert code == 0, err + out
    assert "checked 5 epochs" in out


@pytest.mark.long
def test_pip_installs_the_wheel_with_its_dependencies_into_a_fresh_venv(tmp_path):
    """What a user's ``pip install crossverify`` does: the dependencies from the package index (or
    pip's cache), then `crossverify run` from outside the repository."""
    wheel = build_wheel(tmp_path)
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    python = os.path.join(env_dir, "bin", "python")
    constraint = os.path.join(ROOT, ".venv", "rpy2-constraint.txt")
    extra = ["-c", constraint] if os.path.isfile(constraint) else []
    code, _, err = _run([python, "-m", "pip", "install", "-q", wheel, *extra], cwd=tmp_path, env=os.environ.copy(),
                        timeout=1200)
    assert code == 0, err
    project = tmp_path / "project"
    project.mkdir()
    code, out, err = _run([os.path.join(env_dir, "bin", "crossverify"), "run", "--scenario", "detail-toy"],
                          cwd=project, env=user_env(env_dir))
    assert code == 0, err + out
    assert "4 of 4 checks meet their expectation." in out


def test_without_r_the_installed_copy_advises_the_users_own_environment_not_our_make_setup(installed):
    python, env, project = installed
    bare = {k: v for k, v in env.items() if k != "R_HOME"}
    bare["PATH"] = os.path.dirname(python)  # a machine without R: nothing but the venv's own commands
    code, out, err = crossverify(installed[:1] + (bare,) + installed[2:], "run", "--scenario", "bias-net")
    assert code == 3, (code, out, err)  # R cannot start (README: exit status)
    assert "R is not installed" in err and "apt-get install" in err and "pip install" in err, err
    assert "make setup" not in err and ".venv" not in err, err
