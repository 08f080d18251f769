"""Shared fixtures: one embedded R for the whole session (R runs on the main thread only) and
one Verifier per scenario, whose traces are computed once and reused by every test."""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def r_session():
    from crossverify.session.rsession import get_session
    return get_session()


@pytest.fixture(scope="session")
def bias_scenario():
    from crossverify.twins.scenarios import load_scenario
    return load_scenario("bias-net")


@pytest.fixture(scope="session")
def bias_verifier(r_session, bias_scenario):
    from crossverify.check.verify import Verifier
    return Verifier(r_session, bias_scenario)


def assert_traces_agree(left, right, rule, scenario, variant, spec, bound_of=None, labels=("python", "r")):
    """Every element of every intermediate at every epoch obeys ``rule``.

    rule "identical":    bits(left[e][name][i, j]) == bits(right[e][name][i, j])
    rule "within-bound": |left[e][name][i, j] - right[e][name][i, j]| <= bound_of(name)[e, i, j]

    The failure message names scenario, variant, epoch, step, intermediate and element.
    """
    for step, name, *_ in spec:
        a, b = np.broadcast_arrays(left.steps[name], right.steps[name])
        if rule == "identical":
            bad = a.view(np.uint64) != b.view(np.uint64)
        else:
            bad = ~(np.abs(a - b) <= bound_of(name))
        if bad.any():
            at = tuple(int(k) for k in np.argwhere(bad)[0])
            epoch = int(left.epochs[at[0]])
            raise AssertionError(
                f"scenario {scenario}, variant {variant}: epoch {epoch}, step {step}, {name}{list(at[1:])}: "
                f"{labels[0]} {a[at]!r} ({float(a[at]).hex()}) vs {labels[1]} {b[at]!r} ({float(b[at]).hex()}) "
                f"under rule {rule!r} ({int(bad.sum())} elements of {name} fail)")


def run_cli(*args, env=None, timeout=600):
    """``python -m crossverify ARGS`` in a child process: (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "crossverify", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr
