"""A pytest plugin: cross-verification of a twin as one assertion in anyone's test suite.

Installed with this package through the ``pytest11`` entry point, so pytest loads it in every
run, including runs that never touch R. Importing it therefore imports neither rpy2 nor the
engine: R starts when a test first asks for the ``crossverify_r`` fixture or calls
:func:`assert_twin_agrees`. R is embedded once per process and runs on the main thread only,
which is why the fixture is session-scoped.

    from crossverify.check.pytest_plugin import assert_twin_agrees

    def test_my_twin_is_bit_identical(crossverify_r):
        assert_twin_agrees("path/to/my_twin", "my-scenario", fixtures="path/to/fixtures",
                           kernels="exact", epochs=50, session=crossverify_r)

A failure names the twin, scenario, variant, kernels, mode, and the first epoch, step,
intermediate and element where the rule breaks, with both values in decimal and hex and their
distance in ULPs (the idea of numpy.testing.assert_array_max_ulp), plus the bound at that
element for float kernels.
"""
import dataclasses
import os

import pytest

INDENT = "    "
_LAST = {}  # the most recent Verifier, so consecutive checks of one scenario share its traces


@pytest.fixture(scope="session")
def crossverify_r():
    """The embedded R session, with crossverify's R code loaded (one per test process)."""
    from crossverify.session.rsession import get_session
    return get_session()


def assert_twin_agrees(twin, scenario, kernels="exact", mode="free-running", variant=None, session=None,
                       fixtures=None, epochs=None):
    """Run one row of ``crossverify run`` for ``twin`` on ``scenario`` and fail unless it meets its
    expectation.

    ``twin`` is a Twin, a folder holding twin.py, a twin.py path or a shipped twin's name (or None
    for the scenario's own twin); ``scenario`` is a Scenario or the name of one under ``fixtures``
    (default: the shipped fixtures/). ``variant`` defaults to the twin's reference, which must be
    ``identical`` to Python with exact kernels and ``within-bound`` with float kernels; any other
    variant must differ from Python exactly as its Python model of R predicts. ``epochs`` shortens
    the run (every intermediate of every epoch is then compared). A row that cannot be checked (no
    bound rule for an operation) fails too. Returns the Row (bridge/check/verify.py).
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this function's
    verifier = _verifier(twin, scenario, fixtures, session, epochs)
    row = verifier.row(variant or verifier.net.reference_variant, kernels, mode)
    if row.ok is not True:
        raise AssertionError(failure_message(verifier, row))
    return row


# -- building the check ----------------------------------------------------------------------------

def _resolve(twin, scenario, fixtures):
    """The Scenario to check, tied to ``twin`` when one is given, and what identifies it: its
    manifest when it was loaded by name (each load is a new object), else the object itself."""
    from crossverify.twins.protocol import Twin, load_twin
    from crossverify.twins.scenarios import Scenario, load_scenario

    if twin is not None and not isinstance(twin, Twin):
        twin = load_twin(os.fspath(twin))
    if not isinstance(scenario, Scenario):
        loaded = load_scenario(scenario, fixtures, twin)
        return loaded, ("manifest", loaded.path, id(loaded.twin))
    if twin is not None and scenario.twin is not twin:
        if scenario.twin.name != twin.name:
            raise ValueError(f"scenario {scenario.name!r} is a scenario of twin {scenario.twin.name!r}, "
                             f"not of {twin.name!r}")
        scenario = dataclasses.replace(scenario, twin=twin)
    return scenario, ("object", id(scenario))


def _verifier(twin, scenario, fixtures, session, epochs):
    """A Verifier for this check; the previous one when it was for the same scenario, session
    and epochs (the cache holds it, so the ids in its key stay unique)."""
    from crossverify.check.verify import Verifier
    from crossverify.session.rsession import get_session

    scenario, identity = _resolve(twin, scenario, fixtures)
    session = session or get_session()
    key = (id(session), identity, epochs)
    if _LAST.get("key") != key:
        _LAST.clear()
        _LAST.update(key=key, verifier=Verifier(session, scenario, epochs=epochs))
    return _LAST["verifier"]


# -- the failure message ---------------------------------------------------------------------------

def failure_message(verifier, row):
    """What a failed or unchecked row says: where it parts, in decimal, hex and ULPs."""
    head = (f"twin {verifier.net.name!r}, scenario {row.scenario!r}, variant {row.variant!r}, "
            f"kernels {row.kernels!r}, mode {row.mode!r}: ")
    if row.ok is None:
        # the note states the reason (the operation without a bound rule) and the fix
        return head + f"not checked, so it cannot pass: {row.note or row.expectation}"
    lines = [head + f"expected {row.expectation}, and it FAILS"]
    if row.expectation == "differs-as-predicted":
        lines += _variant_lines(verifier, row)
    else:
        lines += describe_divergence(row.first_divergence, "first divergence")
    return "\n".join(lines)


def describe_divergence(d, what):
    """The lines naming a Divergence (bridge/check/engine.py): where, both values, ULPs, bound."""
    from crossverify.check.ulp import format_ulps, ulp_distance

    if d is None:
        return [f"{what}: none"]
    width = max(len(label) for label in d.labels)
    element = "[" + ", ".join(str(i) for i in d.index) + "]"
    lines = [f"{what} at epoch {d.epoch}, step {d.step}, intermediate {d.name!r}, element {element}:"]
    for label, value in zip(d.labels, (d.left, d.right)):
        lines.append(f"{INDENT}{label:<{width}} {float(value)!r} ({float(value).hex()})")
    lines.append(f"{INDENT}{format_ulps(ulp_distance(d.left, d.right))} "
                 f"(|difference| {abs(d.left - d.right):.6g})")
    if d.bound is not None:
        lines.append(f"{INDENT}bound at that element {d.bound:.6g}: the difference is "
                     f"{abs(d.left - d.right) / d.bound:.3g} times it" if d.bound > 0 else
                     f"{INDENT}bound at that element 0: the two sides must agree exactly there")
    return lines


def _variant_lines(verifier, row):
    """Why a non-reference variant did not differ as predicted: R against the model of R, and the
    actual against the predicted first divergence from Python."""
    lines = [f"{INDENT}{row.note}"]
    departure = _model_departure(verifier, row)
    if departure is not None:
        lines += describe_divergence(departure, "R departs from the Python model of R")
    lines += describe_divergence(row.first_divergence, "R's first divergence from Python")
    lines += describe_divergence(row.predicted_divergence, "predicted first divergence")
    return lines


def _model_departure(verifier, row):
    """Where R parts from the twin's model of this variant (the traces are the Verifier's, cached)."""
    from crossverify.check.engine import compare_traces
    from crossverify.check.verify import rule_for

    lockstep = row.mode == "lockstep"
    model = verifier.model(row.variant, row.kernels, lockstep)
    cmp = compare_traces(model, verifier.r(row.variant), verifier.net.spec_for(row.variant),
                         verifier.fixed(row.variant), rule_for(row.kernels), lockstep=lockstep,
                         labels=("model-of-R", "r"))
    return cmp.first
