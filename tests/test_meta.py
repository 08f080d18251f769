"""The mutation tests of the checker (meta_tests/), run from the project's test command: every
deliberate defect must be caught by the exact-kernel checks at its predicted first divergence,
and the unmutated code must pass. They run in a process of their own, so the mutated R functions
and monkeypatched Python never share an R session with the rest of the suite."""
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

MIN_MUTANTS = 12
# `make test` runs this sample (one mutant per kind: a Python formula, a kernel's rounding, an R
# layout, R's loop, the detail twin in each language); `make test-long` runs every mutant
SAMPLE = ("py-missing-transpose", "py-exact-exp-is-numpy", "r-bias-layout-by-row", "r-off-by-one-epoch",
          "detail-py-slope-sign", "detail-r-gradient-ascent")


def run_meta_tests(*args):
    proc = subprocess.run([sys.executable, "-m", "pytest", "meta_tests", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL)
    return proc, proc.stdout[-6000:] + proc.stderr[-3000:]


def test_a_sample_of_mutants_one_of_each_kind_is_killed_and_undone():
    selected = " or ".join(f"[{name}]" for name in SAMPLE) + " or unmutated or undone"
    proc, report = run_meta_tests("-k", selected)
    assert proc.returncode == 0, report
    summary = re.search(r"MUTANTS: (\d+) of (\d+) killed by the exact-kernel checks", proc.stdout)
    assert summary and summary.group(1) == summary.group(2) == str(len(SAMPLE)), report


@pytest.mark.long
def test_every_mutant_of_either_implementation_is_killed():
    proc, report = run_meta_tests()
    assert proc.returncode == 0, report
    summary = re.search(r"MUTANTS: (\d+) of (\d+) killed by the exact-kernel checks \((\d+) equivalent here", proc.stdout)
    assert summary, report
    killed, live, equivalent = map(int, summary.groups())
    assert killed == live >= MIN_MUTANTS, report
    print(proc.stdout[proc.stdout.index("\ntwin ") + 1:])  # the per-mutant table, shown with pytest -s
