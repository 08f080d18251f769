"""The R package r_impl on its own: its testthat suite, run from the project's test command."""
import os
import re
import subprocess

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
