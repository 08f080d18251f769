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


@pytest.mark.slow
def test_every_mutant_of_either_implementation_is_killed():
    proc = subprocess.run([sys.executable, "-m", "pytest", "meta_tests", "-q", "-p", "no:cacheprovider"], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL)
    report = proc.stdout[-6000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, report
    summary = re.search(r"MUTANTS: (\d+) of (\d+) killed by the exact-kernel checks \((\d+) equivalent here", proc.stdout)
    assert summary, report
    killed, live, equivalent = map(int, summary.groups())
    assert killed == live >= MIN_MUTANTS, report
    print(proc.stdout[proc.stdout.index("\ntwin ") + 1:])  # the per-mutant table, shown with pytest -s
