"""The example twins (examples/tanh_net, examples/power_iteration), used as a user would: loaded by
path, written only against the public protocol, every row of `crossverify run` met, and defects
injected into a copy caught exactly where the defects below predict.

A defect in a copy's R file is run in this process (verify.run on load_twin(copy)). A defect in a
copy's Python file is run through `crossverify run --twin COPY` in a child process: within one
process, bridge/twins/protocol.py caches a twin's Python module by twin name and file name, so a
copy would run the original's Python code (test_a_copy_of_a_twin_runs_its_own_python_code below).
"""
import ast
import filecmp
import json
import os
import shutil
import subprocess
import sys

import pytest

from crossverify.check import verify
from crossverify.check.mutants import Defect
from crossverify.twins.protocol import load_twin
from tests.conftest import ROOT, run_cli

EXAMPLES = os.path.join(ROOT, "examples")
NAMES = ("tanh_net", "power_iteration")
# what an example may import: numpy, the standard library, and the protocol's declaration classes
ALLOWED_IMPORTS = {"numpy", "argparse", "json", "os", "crossverify", "crossverify.twins.builder"}

# Defects injected into the example twins, one line each, with where the exact-kernel free-running
# comparison must first see them: (epoch, step, intermediate, element), or None when the change
# leaves every bit as it was. Each prediction is reasoned from the code, not read off a run.
DEFECTS = (
    # -- tanh_net: two tanh hidden layers, 40 samples, biases b1 (1 x 5), b2 (1 x 4) -------------------
    Defect("tanh_net", "tanh_net.R",
           "matrix(b, nrow(inputs), ncol(W), byrow = TRUE)", "matrix(b, nrow(inputs), ncol(W))",
           "R recycling: the bias row spread column by column (byrow dropped), the article's own slip. "
           "Element [i, j] then gets b[(i + 40 j) mod 5 + 1] = b[i mod 5 + 1] instead of b[j + 1]: "
           "row 0 is right in column 0 and wrong from column 1",
           (0, 1, "z1", (0, 1))),
    Defect("tanh_net", "tanh_net.R",
           "(d_next %*% t(W_next)) * (1 - a^2)", "(d_next %*% t(W_next)) * (1 - a)^2",
           "R precedence: (1 - a)^2 for tanh's slope 1 - a^2; the first hidden delta computed is d2, "
           "wrong wherever a2 is neither 0 nor 1, so at its first element",
           (0, 10, "d2", (0, 0))),
    Defect("tanh_net", "tanh_net.py",
           "return W - lr * gW", "return W + lr * gW",
           "Python sign: gradient ascent; the first update of the epoch is W3's (the output layer "
           "first), wrong wherever gW3 is not 0",
           (0, 14, "W3", (0, 0))),
    Defect("tanh_net", "tanh_net.py",
           "xp.log(1 - output)", "xp.log(1 - output + 1e-12)",
           "Python constant: an epsilon in one side's log; the loss feeds no other step, so the "
           "loss itself is the first and only intermediate to part",
           (0, 7, "loss", (0, 0))),
    # -- power_iteration: A 6 x 6 symmetric, v 6 x 1 ------------------------------------------------------
    Defect("power_iteration", "power_iteration.R",
           "matrix(sqrt(sum(Av^2)), 1, 1)", "matrix(sqrt(sum(Av)^2), 1, 1)",
           "R precedence: the square of the sum for the sum of squares",
           (0, 2, "norm", (0, 0))),
    Defect("power_iteration", "power_iteration.R",
           "matrix(sum(abs(v - v_prev)), 1, 1)", "matrix(sum(abs(v + v_prev)), 1, 1)",
           "R sign: the change measured against -v_prev; nothing uses the change, so it parts alone",
           (0, 5, "change", (0, 0))),
    Defect("power_iteration", "power_iteration.py",
           "return Av / norm", "return Av / (norm + 1e-12)",
           "Python constant: an epsilon guarding the division; the first norm is about 3.1, whose ulp is "
           "4.4e-16, so every element of v moves",
           (0, 3, "v", (0, 0))),
    Defect("power_iteration", "power_iteration.py",
           "rayleigh = rayleigh_quotient(A, v, xp)", "rayleigh = rayleigh_quotient(A, v_prev, xp)",
           "Python argument: the Rayleigh quotient of the vector the iteration started from",
           (0, 4, "rayleigh", (0, 0))),
    Defect("power_iteration", "power_iteration.R",
           "multiply <- function(A, v) {\n  A %*% v", "multiply <- function(A, v) {\n  t(A) %*% v",
           "R transpose: t(A) for A; A is exactly symmetric, so t(A) has A's bits and %*% sums the "
           "same products in the same order: nothing changes, and the check must say so",
           None),
)


def example(name):
    return os.path.join(EXAMPLES, name)


def copy_with(defect, tmp_path):
    """A copy of the defect's example under tmp_path with the defect's one change applied."""
    folder = shutil.copytree(example(defect.example), tmp_path / defect.example,
                             ignore=shutil.ignore_patterns("__pycache__"))
    defect.apply(str(folder))  # MutationDoesNotApply (an AssertionError) unless defect.old occurs once
    return str(folder)


def as_key(first):
    """(epoch, step, intermediate, (row, column)) of a Divergence or of its JSON form."""
    if first is None:
        return None
    if isinstance(first, dict):
        return first["epoch"], first["step"], first["name"], tuple(first["index"])
    return first.epoch, first.step, first.name, tuple(int(i) for i in first.index)


def first_divergence_in_process(r_session, folder):
    twin = load_twin(folder)
    [row] = verify.run(r_session, kernels=["exact"], modes=["free-running"],
                       fixtures_dir=os.path.join(folder, "scenarios"), twin=twin)
    return row.ok, as_key(row.first_divergence)


def first_divergence_in_child(folder):
    code, out, err = run_cli("run", "--twin", folder, "--kernels", "exact", "--mode", "free-running",
                             "--format", "json", timeout=300)
    assert code in (0, 1), err[-3000:]
    [row] = json.loads(out)["rows"]
    return row["ok"], as_key(row["first_divergence"])


@pytest.mark.parametrize("name", NAMES)
def test_every_row_of_an_example_twin_meets_when_loaded_by_path(r_session, name):
    twin = load_twin(example(name))
    rows = verify.run(r_session, twin=twin, fixtures_dir=os.path.join(example(name), "scenarios"))
    assert {(r.kernels, r.mode) for r in rows} == {(k, m) for k in verify.KERNELS for m in verify.MODES}
    failed = [f"{r.scenario}/{r.kernels}/{r.mode}: {r.verdict} {r.note}" for r in rows if r.ok is not True]
    assert not failed, failed
    assert all(r.max_abs == 0 for r in rows if r.kernels == "exact")


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.id)
def test_an_injected_defect_is_first_caught_where_predicted(r_session, defect, tmp_path):
    folder = copy_with(defect, tmp_path)
    if defect.side == "r":
        ok, first = first_divergence_in_process(r_session, folder)
    else:
        ok, first = first_divergence_in_child(folder)
    assert first == defect.first, f"{defect.slip}: first divergence {first}, predicted {defect.first}"
    assert ok is (defect.first is None)


def test_every_example_has_at_least_three_caught_defects():
    for name in NAMES:
        assert sum(d.example == name and d.first is not None for d in DEFECTS) >= 3, name


@pytest.mark.parametrize("name", NAMES)
def test_rosetta_finds_every_step_of_an_example_in_both_languages(name):
    code, out, err = run_cli("rosetta", "--twin", example(name), timeout=300)
    assert code == 0, err[-3000:]
    assert "(missing)" not in out


@pytest.mark.parametrize("name", NAMES)
def test_an_example_imports_only_numpy_the_standard_library_and_the_public_protocol(name):
    for file in sorted(os.listdir(example(name))):
        if not file.endswith(".py"):
            continue
        with open(os.path.join(example(name), file), encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module]
            else:
                continue
            assert set(modules) <= ALLOWED_IMPORTS, f"{name}/{file} imports {modules}"


@pytest.mark.parametrize("name", NAMES)
def test_an_example_scenario_is_what_its_generator_writes(name, tmp_path):
    script = os.path.join(example(name), "make_scenario.py")
    proc = subprocess.run([sys.executable, script, "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    shipped = os.path.join(example(name), "scenarios")
    [scenario] = os.listdir(shipped)
    assert filecmp.cmp(os.path.join(shipped, scenario, "manifest.json"),
                       os.path.join(tmp_path, scenario, "manifest.json"), shallow=False)


def test_float_rows_of_a_twin_using_an_operation_without_a_rule_are_not_checked(tmp_path):
    """np.fabs gives R's abs bits, so the exact rows still meet; the tracer records it under its own
    name, which has no rule in bridge/check/bounds.py: the float rows say so instead of passing."""
    folder = shutil.copytree(example("power_iteration"), tmp_path / "power_iteration",
                             ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / "power_iteration.py"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("xp.sum(xp.abs(v - v_prev))", "xp.sum(np.fabs(v - v_prev))")
                    .replace('"""\n\n\ndef multiply', '"""\nimport numpy as np\n\n\ndef multiply', 1), encoding="utf-8")
    code, out, err = run_cli("run", "--twin", str(folder), "--format", "json", timeout=300)
    assert code == 4, err[-3000:]  # no row fails, two could not be made: exit 4 (0 with --allow-unchecked)
    rows = {(r["kernels"], r["mode"]): r for r in json.loads(out)["rows"]}
    assert all(rows[("exact", m)]["verdict"] == "meets" for m in verify.MODES)
    for m in verify.MODES:
        row = rows[("float", m)]
        assert row["ok"] is None and row["verdict"] == "not checked", row
        assert "'fabs'" in row["note"] and "step 5 (change)" in row["note"], row["note"]


def test_a_copy_of_a_twin_runs_its_own_python_code(tmp_path):
    original = load_twin(example("power_iteration"))
    copy = load_twin(str(shutil.copytree(example("power_iteration"), tmp_path / "power_iteration",
                                         ignore=shutil.ignore_patterns("__pycache__"))))
    assert copy.python_epoch.__code__.co_filename != original.python_epoch.__code__.co_filename
