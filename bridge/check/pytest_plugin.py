"""A pytest plugin: cross-verification of a twin as one assertion in anyone's test suite.

Installed with this package through the ``pytest11`` entry point, so pytest loads it in every
run, including runs that never touch R. Importing it therefore imports neither rpy2 nor the
engine: R starts when a test first asks for the ``crossverify_r`` fixture or calls
:func:`assert_twin_agrees`. R is embedded once per process and runs on the main thread only,
which is why the fixture is session-scoped.

    from crossverify.check.pytest_plugin import assert_twin_agrees

    def test_my_twin_is_bit_identical(crossverify_r):
        assert_twin_agrees("path/to/my_twin", "my-scenario", kernels="exact", epochs=50,
                           session=crossverify_r)

A scenario given by name is looked for in the twin's own ``scenarios/`` folder, then in the
folders the ``crossverify_scenarios`` ini setting or the ``--crossverify-scenarios`` option name,
then among the shipped scenarios; ``fixtures=DIR`` names the one folder to read instead.

Where R may be absent, the ``crossverify_r`` fixture and the ``crossverify_needs_r`` marker skip
the test, saying why; ``crossverify_require_r = true`` (ini) or ``--crossverify-require-r`` turns
that skip into a failure, for the machines where R must be there.

A failure names the twin, scenario, variant, kernels, mode, and the first epoch, step,
intermediate and element where the rule breaks, with both values in decimal and hex and their
distance in ULPs (the idea of numpy.testing.assert_array_max_ulp), plus the bound at that
element for float kernels.
"""
import dataclasses
import difflib
import functools
import os

import pytest

INDENT = "    "
_LAST = {}  # the most recent Verifier, so consecutive checks of one scenario share its traces


MARKER = "crossverify_needs_r"
_SETTINGS = {"folders": [], "require_r": False}  # from the ini file and the command line (pytest_configure)


def pytest_addoption(parser):
    group = parser.getgroup("crossverify")
    group.addoption("--crossverify-scenarios", action="append", default=[], metavar="DIR",
                    help="a folder of scenarios for assert_twin_agrees to look in, after the twin's own "
                         "scenarios/ (repeatable; before those of the crossverify_scenarios ini setting)")
    group.addoption("--crossverify-require-r", action="store_true", default=None,
                    help="fail, instead of skipping, the tests that need R when R is not installed")
    parser.addini("crossverify_scenarios", type="paths", default=[],
                  help="folders of scenarios for assert_twin_agrees, relative to the ini file (one a line)")
    parser.addini("crossverify_require_r", type="bool", default=False,
                  help="fail, instead of skipping, the tests that need R when R is not installed")


def pytest_configure(config):
    config.addinivalue_line("markers", f"{MARKER}: skip the test, saying why, when R is not installed "
                                       "(crossverify's pytest plugin)")
    given = [os.path.abspath(d) for d in config.getoption("crossverify_scenarios")]
    _SETTINGS["folders"] = given + [os.fspath(p) for p in config.getini("crossverify_scenarios")]
    _SETTINGS["require_r"] = bool(config.getoption("crossverify_require_r") or config.getini("crossverify_require_r"))


def pytest_runtest_setup(item):
    if item.get_closest_marker(MARKER) is not None:
        _skip_without_r()


@pytest.fixture(scope="session")
def crossverify_r():
    """The embedded R session, with crossverify's R code loaded (one per test process); the test is
    skipped, saying why, when R is not installed."""
    _skip_without_r()
    from crossverify.session.rsession import get_session
    return get_session()


@functools.lru_cache(maxsize=None)
def r_missing():
    """Why R cannot be embedded here because it is not installed (no R, or no rpy2), or None. An R
    that is installed but does not start is not "missing": the test then fails with R's reason.
    Asked once per test process (it runs `R RHOME`)."""
    import importlib.util

    from crossverify.errors import RUnavailableError
    from crossverify.session.rsession import find_r_home

    try:
        find_r_home()
    except RUnavailableError as exc:
        return str(exc)
    if importlib.util.find_spec("rpy2") is None:
        return "rpy2, which embeds R in Python, is not installed. To fix: `pip install crossverify` installs it"
    return None


def _skip_without_r():
    __tracebackhide__ = True
    reason = r_missing()
    if reason is None:
        return
    if _SETTINGS["require_r"]:
        pytest.fail(f"crossverify: this test needs R, and crossverify_require_r is set: {reason}", pytrace=False)
    pytest.skip(f"crossverify: this test needs R: {reason}")


def assert_twin_agrees(twin, scenario, kernels=None, mode="free-running", variant=None, session=None,
                       fixtures=None, epochs=None):
    """Run one row of ``crossverify run`` for ``twin`` on ``scenario`` and fail unless it meets its
    expectation.

    ``twin`` is a Twin, a folder holding twin.py, a twin.py path or a shipped twin's name (or None
    for the scenario's own twin); ``scenario`` is a Scenario or the name of one: under ``fixtures``
    when given, else the first of the twin's own scenarios/, the configured folders
    (``crossverify_scenarios``, ``--crossverify-scenarios``) and the shipped scenarios that holds a
    scenario of that name of this twin. ``variant`` defaults to the twin's reference, which must be
    ``identical`` to Python with exact kernels (``kernels`` None: R's arithmetic, the bit-for-bit
    kernels) and ``within-bound`` with float kernels; any other
    variant must differ from Python exactly as its Python model of R predicts. ``epochs`` shortens
    the run (every intermediate of every epoch is then compared). A row that cannot be checked (no
    bound rule for an operation) fails too. Returns the Row (bridge/check/verify.py).
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this function's
    import warnings

    import numpy as np

    from crossverify.errors import CrossverifyError
    from crossverify.twins.request import R_ARITHMETIC
    try:
        verifier = _verifier(twin, scenario, fixtures, session, epochs)
        row = verifier.row(variant or verifier.net.reference_variant, kernels or R_ARITHMETIC, mode)
    except CrossverifyError as exc:  # a misspelt scenario, a bad manifest: the message, not the plugin's frames
        message = f"crossverify: {exc}"
    else:
        message = None
    if message is not None:
        raise AssertionError(message)
    with np.errstate(all="ignore"):
        row.nonfinite = verifier.nonfinite(row)
    for found in row.nonfinite:  # NaN on both sides agrees bit for bit: say where it began
        warnings.warn(f"crossverify: {row.scenario} / {row.variant} / {row.kernels} / {row.mode}: "
                      f"not finite: {found.describe()}", RuntimeWarning, stacklevel=2)
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
        loaded = load_scenario(scenario, _folder_of(scenario, twin, fixtures), twin)
        return loaded, ("manifest", loaded.path, id(loaded.twin))
    if twin is not None and scenario.twin is not twin:
        if scenario.twin.name != twin.name:
            raise ValueError(f"scenario {scenario.name!r} is a scenario of twin {scenario.twin.name!r}, "
                             f"not of {twin.name!r}")
        scenario = dataclasses.replace(scenario, twin=twin)
    return scenario, ("object", id(scenario))


def scenario_folders(twin, fixtures=None):
    """Where a scenario name is looked for, in order: ``fixtures`` alone when given; else the twin's
    own scenarios/ folder, the configured folders, and the shipped scenarios."""
    from crossverify.paths import SHIPPED_FIXTURES
    from crossverify.twins.scenarios import own_scenarios

    if fixtures is not None:
        return [os.fspath(fixtures)]
    own = [own_scenarios(twin)] if own_scenarios(twin) else []
    return own + [d for d in _SETTINGS["folders"] if os.path.isdir(d)] + [SHIPPED_FIXTURES]


def _folder_of(name, twin, fixtures):
    """The first folder holding a scenario ``name`` of ``twin`` (any twin's when None); else the first
    holding one of that name at all, whose loading then says whose it is; else an error naming the
    folders looked in and the scenarios of the twin they hold."""
    from crossverify.errors import CrossverifyError
    from crossverify.twins.scenarios import list_scenarios, names_twin

    folders = scenario_folders(twin, fixtures)
    if fixtures is not None:
        return folders[0]  # the loader's own errors: no such folder, unknown scenario with the known ones
    holding = [d for d in folders if name in list_scenarios(d)]
    own = [d for d in holding if twin is None or names_twin(os.path.join(d, name, "manifest.json"), twin)]
    if own or holding:
        return (own or holding)[0]
    known = [n for d in folders for n in list_scenarios(d)
             if twin is None or names_twin(os.path.join(d, n, "manifest.json"), twin)]
    known = list(dict.fromkeys(known))
    close = difflib.get_close_matches(name, known, n=1)
    whose = f" of twin {twin.name!r}" if twin is not None else ""
    raise CrossverifyError(
        f"unknown scenario {name!r}{whose}{f' (did you mean {close[0]!r}?)' if close else ''}: looked in "
        f"{', '.join(folders)}, which hold {', '.join(known) or 'none'}{whose}. To fix: name one of them, give "
        f"fixtures=DIR, or list the folder in the crossverify_scenarios ini setting.")


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
