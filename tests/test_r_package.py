"""The R package r_impl on its own: its testthat suite, run from the project's test command."""
import io
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from tests.conftest import ROOT

RLIB = os.path.join(ROOT, ".venv", "R-library")


def test_r_testthat_suite_passes():
    env = dict(os.environ, R_LIBS=RLIB, CROSSVERIFY_FIXTURES=os.path.join(ROOT, "fixtures"))
    proc = subprocess.run(
        ["Rscript", "-e", 'res <- as.data.frame(testthat::test_dir("r_impl/tests/testthat", package = "crossverify", '
                          'load_package = "installed", reporter = "summary", stop_on_failure = FALSE)); '
                          'cat(sprintf("\\nTESTTHAT %d passed, %d failed, %d skipped\\n", sum(res$passed), '
                          'sum(res$failed) + sum(res$error), sum(res$skipped)))'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    summary = re.search(r"TESTTHAT (\d+) passed, (\d+) failed, (\d+) skipped", proc.stdout)
    assert proc.returncode == 0 and summary, proc.stdout[-3000:] + proc.stderr[-3000:]
    passed, failed, skipped = map(int, summary.groups())
    assert failed == 0 and skipped == 0, proc.stdout[-3000:]
    assert passed >= 30


@pytest.mark.slow
def test_r_cmd_check_passes_without_errors_or_warnings(tmp_path):
    build = subprocess.run(["R", "CMD", "build", "--no-build-vignettes", os.path.join(ROOT, "r_impl")],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = next(p for p in os.listdir(tmp_path) if p.endswith(".tar.gz"))
    env = dict(os.environ, _R_CHECK_FORCE_SUGGESTS_="false", CROSSVERIFY_FIXTURES=os.path.join(ROOT, "fixtures"))
    check = subprocess.run(["R", "CMD", "check", "--no-manual", "--no-build-vignettes", tarball],
                           cwd=tmp_path, capture_output=True, text=True, timeout=900, env=env)
    log = check.stdout + check.stderr
    assert check.returncode == 0, log[-4000:]
    status = re.search(r"Status: (.*)", log)
    assert status and "ERROR" not in status.group(1) and "WARNING" not in status.group(1), log[-4000:]


# -- the R package in an R-only CI: a trace Python wrote, checked by the testthat expectations ------

PYTHON_TRACE = os.path.join(ROOT, "r_impl", "tests", "testthat", "python-trace-spd-6")
POWER_ITERATION = os.path.join(ROOT, "examples", "power_iteration")


def python_trace(scenarios, out, epochs=5):
    """``crossverify trace`` of power_iteration's spd-6 by Python with exact kernels, as a folder."""
    from crossverify.cli.main import main

    args = ["trace", "--fixtures", str(scenarios), "--scenario", "spd-6", "--impl", "python", "--kernels", "exact",
            "--epochs", str(epochs), "--format", "folder", "--out", str(out)]
    assert main(args, out=io.StringIO()) == 0
    return str(out)


def test_the_trace_the_testthat_suite_checks_is_the_one_python_writes_today(tmp_path):
    fresh = python_trace(os.path.join(POWER_ITERATION, "scenarios"), tmp_path / "fresh")
    assert sorted(os.listdir(fresh)) == sorted(os.listdir(PYTHON_TRACE))
    for name in os.listdir(fresh):
        with open(os.path.join(fresh, name), "rb") as a, open(os.path.join(PYTHON_TRACE, name), "rb") as b:
            assert a.read() == b.read(), f"{name} differs: regenerate r_impl/tests/testthat/python-trace-spd-6"


R_SCRIPT = """
library(crossverify)
library(testthat)
run <- twin_run("power_iteration", "spd-6", epochs = 5)
expect_trace_identical(run, "python-trace")
expect_trace_within(run, "python-trace", ulps = 4)
message <- tryCatch({
  expect_trace_identical(run, "python-trace-moved")
  "no failure"
}, expectation_failure = function(e) conditionMessage(e))
cat("FAILURE MESSAGE\\n", message, "\\nEVERY EXPECTATION MET\\n", sep = "")
"""


def test_a_plain_rscript_checks_a_python_written_trace_with_the_testthat_expectations(tmp_path):
    from crossverify.check import traceio

    shutil.copytree(POWER_ITERATION, tmp_path / "power_iteration", ignore=shutil.ignore_patterns("__pycache__"))
    trace = python_trace(tmp_path / "power_iteration" / "scenarios", tmp_path / "python-trace")
    moved = traceio.read(trace)
    moved.steps["v"][3, 2, 0] = np.nextafter(moved.steps["v"][3, 2, 0], np.inf)  # epoch 3, v[2, 0], one ULP up
    traceio.write_folder(str(tmp_path / "python-trace-moved"), moved)
    (tmp_path / "check.R").write_text(R_SCRIPT)
    proc = subprocess.run(["Rscript", "check.R"], cwd=tmp_path, env=dict(os.environ, R_LIBS=RLIB),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("EVERY EXPECTATION MET"), proc.stdout + proc.stderr
    message = proc.stdout.split("FAILURE MESSAGE\n")[1]
    before, after = float(traceio.read(trace).steps["v"][3, 2, 0]), float(moved.steps["v"][3, 2, 0])
    for words in ("run is not bit-identical to \"python-trace-moved\"",
                  "epoch 3, step 3, intermediate 'v', element [2, 0] (R's [3, 1])",
                  "1 ULP apart"):
        assert words in message, f"{words!r} not in:\n{message}"
    hexes = re.findall(r"\((-?0x[0-9a-f.]+p[+-]\d+)\)", message)
    assert [float.fromhex(h) for h in hexes] == [before, after], message
