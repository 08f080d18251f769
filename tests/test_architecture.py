"""The structure drawn from the imports, read from the source alone (no module is imported): the
framework (bridge/) names no variant, scenario or step of any twin; no module decides by comparing
a kernels name with a string; no product module imports the test suites; and the arrows between
folders (the rooms of the drawing) have no loop, so they can be laid out in floors, each folder
importing only folders on floors below it."""
import ast
import glob
import json
import os

from crossverify.twins.protocol import load_twin
from crossverify.twins.request import NAMES as KERNEL_NAMES
from tests.conftest import ROOT

PRODUCT = ("bridge", "twins", "python_impl", "fixtures", "examples")  # what ships; tests/, meta_tests/, bench/ check it
TEST_PACKAGES = ("tests", "meta_tests")
# words bridge/ uses in its own sense, which a twin also happens to use as a step or variant name: the
# protocol's default variant ("reference") and its loss hook ("loss"), a table's "error" column, the
# "article" a number is printed in, a command's "output", numpy's memory order "C", a chart's "labels"
OWN_WORDS = {"reference", "loss", "error", "article", "output", "C", "labels"}
# a kernels name written where it is not about kernels
NOT_KERNELS = {"bridge/check/compare.py": "a tolerance spelled 'exact' means identical",
               "bridge/cli/doctor.py": "a finding: R's sums run in the order the exact kernels take"}
KERNELS_HOME = "bridge/twins/request.py"  # the one module that spells the kernels' names


def python_files(*folders):
    for folder in folders:
        yield from sorted(glob.glob(os.path.join(ROOT, folder, "**", "*.py"), recursive=True))


def parse(path):
    with open(path, encoding="utf-8") as fh:
        return ast.parse(fh.read(), path)


def twin_folders():
    return sorted(os.path.dirname(p) for pattern in ("twins/*/twin.py", "examples/*/twin.py")
                  for p in glob.glob(os.path.join(ROOT, pattern)))


def twin_names():
    """Every step, variant and scenario name of the shipped and example twins, with where it comes from."""
    names = {}
    for folder in twin_folders():
        twin = load_twin(folder)
        names.update({s.name: f"step of {twin.name}" for s in twin.steps})
        names.update({v: f"variant of {twin.name}" for v in twin.variants})
    for manifest in glob.glob(os.path.join(ROOT, "fixtures", "*", "manifest.json")) + \
            glob.glob(os.path.join(ROOT, "examples", "*", "scenarios", "*", "manifest.json")):
        with open(manifest, encoding="utf-8") as fh:
            names[json.load(fh)["name"]] = "scenario"
    return {k: v for k, v in names.items() if k not in OWN_WORDS}


def folder_of(path):
    """The room a module is in: its folder under the project root (bridge/check, twins/bias_net, ...);
    a package's ``__main__`` (``python -m crossverify``) is the entry point, a room above all it runs."""
    room = os.path.relpath(os.path.dirname(path), ROOT).replace(os.sep, "/")
    return room + "/__main__" if os.path.basename(path) == "__main__.py" else room


def installed_names():
    """{installed package name: its folder in this checkout} (setup.py's layout), read from where the
    packages are found, longest name first."""
    import importlib.util
    names = ("crossverify", "crossverify.shipped_twins", "crossverify.python_impl")
    folders = {n: os.path.relpath(os.path.dirname(importlib.util.find_spec(n).origin), ROOT).replace(os.sep, "/")
               for n in names}
    return dict(sorted(folders.items(), key=lambda kv: -len(kv[0])))


INSTALLED = installed_names()


def module_folder(name, known):
    """The room an imported module lives in, or None when it is not the project's."""
    for package, folder in INSTALLED.items():  # crossverify.check.verify -> bridge.check.verify
        if name == package or name.startswith(package + "."):
            name = folder.replace("/", ".") + name[len(package):]
            break
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = "/".join(parts[:n])
        if candidate in known:
            return candidate
        if os.path.isfile(os.path.join(ROOT, candidate + ".py")):
            return "/".join(parts[:n - 1]) or "."
    return None


def imported(tree, path):
    """The absolute names of every module ``tree`` imports, at the top or inside a function."""
    package = os.path.relpath(os.path.dirname(path), ROOT).replace(os.sep, ".")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def arrows():
    """{(from folder, to folder)} over every Python file of the product, folders to themselves left out."""
    files = list(python_files(*PRODUCT))
    known = {folder_of(p) for p in files}
    out = set()
    for path in files:
        here = folder_of(path)
        for name in imported(parse(path), path):
            there = module_folder(name, known)
            if there is not None and there != here and there in known:
                out.add((here, there))
    return known, out


def floors(rooms, edges):
    """Each room's floor: 0 for a room importing no other, else one above the highest it imports;
    None when the arrows loop."""
    below = {r: {b for a, b in edges if a == r} for r in rooms}
    floor = {}
    for _ in rooms:
        for r in rooms:
            if r not in floor and all(b in floor for b in below[r]):
                floor[r] = 1 + max((floor[b] for b in below[r]), default=-1)
    return floor if len(floor) == len(rooms) else None


def test_the_framework_names_no_variant_scenario_or_step_of_any_twin():
    names = twin_names()
    assert {"hidden_layer_input", "corrected", "detail-moons", "z1", "rayleigh"} <= set(names)  # the scan sees them
    found = [f"{os.path.relpath(path, ROOT)}:{node.lineno}: {node.value!r} ({names[node.value]})"
             for path in python_files("bridge") for node in ast.walk(parse(path))
             if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names]
    assert not found, "bridge/ names a twin's own names; they belong in the twin's declaration:\n" + "\n".join(found)


def kernel_name_comparisons(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in [node.left] + node.comparators:
                items = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                if any(isinstance(i, ast.Constant) and i.value in KERNEL_NAMES for i in items):
                    yield node.lineno


def test_no_product_module_decides_by_comparing_a_kernels_name_with_a_string():
    planted = ast.parse('if kernels == "exact" or k in ("float",):\n    pass\n')
    assert len(list(kernel_name_comparisons(planted))) == 2  # the scan sees both forms
    found = [f"{os.path.relpath(path, ROOT)}:{line}" for path in python_files("bridge", "twins")
             if os.path.relpath(path, ROOT) not in NOT_KERNELS for line in kernel_name_comparisons(parse(path))]
    assert not found, "compare Kernels by their properties (bridge/twins/request.py), not by name: " + ", ".join(found)


def docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body \
                and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            yield node.body[0].value


def kernel_names_written(tree):
    skip = {id(d) for d in docstrings(tree)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in KERNEL_NAMES and id(node) not in skip:
            yield node.lineno


def test_no_framework_module_but_the_run_request_spells_a_kernels_name():
    planted = ast.parse('"""exact in a docstring"""\nnet.python("exact", 10)\n')
    assert list(kernel_names_written(planted)) == [2]  # the scan sees a call's argument, not the docstring
    found = [f"{os.path.relpath(path, ROOT)}:{line}" for path in python_files("bridge")
             if os.path.relpath(path, ROOT) not in (KERNELS_HOME, *NOT_KERNELS)
             for line in kernel_names_written(parse(path))]
    assert not found, ("ask for kernels by what they do (R_ARITHMETIC, NUMPY_ARITHMETIC in bridge/twins/request.py) "
                       "or take them from the run request: " + ", ".join(found))


def test_no_product_module_imports_the_test_suites():
    found = [f"{os.path.relpath(path, ROOT)}: {name}" for path in python_files(*PRODUCT)
             for name in imported(parse(path), path) if name.split(".")[0] in TEST_PACKAGES]
    assert not found, found


def test_the_arrows_between_folders_have_no_loop_so_they_stack_in_floors():
    rooms, edges = arrows()
    assert ("bridge/check", "bridge/twins") in edges  # the drawing sees the imports
    floor = floors(rooms, edges)
    loops = sorted((a, b) for a, b in edges if (b, a) in edges)
    assert floor is not None and not loops, f"import loops between folders: {loops or 'longer than two rooms'}"
    assert all(floor[a] > floor[b] for a, b in edges)


def test_no_folder_holds_more_than_two_fifths_of_the_python_lines():
    per_room = {}
    for path in python_files(*PRODUCT):
        with open(path, encoding="utf-8") as fh:
            per_room[folder_of(path)] = per_room.get(folder_of(path), 0) + sum(1 for _ in fh)
    total = sum(per_room.values())
    assert max(per_room.values()) <= 0.4 * total, {r: f"{n / total:.0%}" for r, n in per_room.items()}


def drawing():
    """The figures of the drawing: rooms, floors, arrows, and each room's floor."""
    rooms, edges = arrows()
    floor = floors(rooms, edges)
    return {"rooms": len(rooms), "floors": 1 + max(floor.values()) if floor else None, "arrows": len(edges),
            "floor": floor}


if __name__ == "__main__":  # python -m tests.test_architecture: the figures
    figures = drawing()
    for room, level in sorted(figures.pop("floor").items(), key=lambda kv: (kv[1], kv[0])):
        print(f"floor {level}: {room}")
    print(figures)


def test_the_floors_table_of_docs_architecture_is_the_drawing():
    import fnmatch
    import re
    with open(os.path.join(ROOT, "docs", "ARCHITECTURE.md"), encoding="utf-8") as fh:
        table = {int(m.group(1)): re.findall(r"`([^`]+)`", m.group(2))
                 for m in re.finditer(r"^\| (\d+) \| (.+) \|$", fh.read(), re.M)}
    floor = drawing()["floor"]
    written = {room: level for level, rooms in table.items() for room in rooms
               if room != "python -m crossverify"}
    laid = {}
    for pattern, level in written.items():
        matched = [r for r in floor if fnmatch.fnmatchcase(r, pattern)]
        assert matched, f"docs/ARCHITECTURE.md's floors table names {pattern!r}, which is no room of the drawing"
        laid.update({r: level for r in matched})
    assert laid == floor, {r: (laid.get(r), floor[r]) for r in floor if laid.get(r) != floor[r]}


def test_docs_architecture_names_every_module_of_the_framework_and_the_kernels():
    with open(os.path.join(ROOT, "docs", "ARCHITECTURE.md"), encoding="utf-8") as fh:
        text = fh.read()
    from crossverify.cli.main import COMMAND_MODULES  # "every other sub-command is a module of its own"
    commands = {m.rsplit(".", 1)[1] + ".py" for m in COMMAND_MODULES}
    modules = [p for p in python_files("bridge", "python_impl") if os.path.basename(p) not in ("__init__.py", "__main__.py")
               and not (folder_of(p) == "bridge/cli" and os.path.basename(p) in commands)]
    assert len(modules) > 50  # the scan sees them
    unnamed = [rel for rel in (os.path.relpath(p, ROOT).replace(os.sep, "/") for p in modules)
               if rel not in text and not any(f"`{name}`" in text for name in (rel.rsplit("/", 1)[1], rel.rsplit("/", 1)[1][:-3]))]
    assert not unnamed, f"docs/ARCHITECTURE.md does not say what these modules are for: {unnamed}"
