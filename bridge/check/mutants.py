"""Mutation testing of the checker, for any twin: deliberate defects injected at run time into one
implementation, and where the checks must first see each.

A mutant (:class:`Mutant`) names its twin, the scenario it runs on, the source file it edits and
the line change (``old`` -> ``new``, text that occurs exactly once in the file), and the predicted
first divergence. The framework applies it and undoes it afterwards:

* a Python file: the module the twin's code imported from that file is re-executed, with the
  change, in its own namespace, and its namespace restored afterwards (so every function of the
  twin that calls into the module sees the defect, and nothing else changes);
* an R file: the file's text, with the change, is evaluated in the R environment that holds it
  (the twin's own environment for the twin's R files, RSession.twin_env; the bridge's package
  environment for the R driver r_impl/R/twin_run.R), and every binding restored afterwards;
* anything else (an exact-kernel method replaced, say) through ``apply``: session -> context manager.

The predicted first divergence is (epoch, step, intermediate): a constant for a defect that changes
the value the mutated line computes the first time it runs; otherwise an *oracle*, a function of
the unmutated run (``run``: its exact-kernel Python trace, bit for bit R's, and the twin's spec,
data and hyper-parameters) that returns the first (epoch, step, intermediate) whose bits the defect
changes. An oracle that finds no changed bit marks the mutant equivalent on this machine (reported
as such, not as a survivor). The oracles use neither crossverify.check.engine nor crossverify.check.verify:
the checks are what is under test.

In lockstep mode Python starts every epoch from R's state, so a defect in the state R builds
before its first epoch is handed to Python too; it shows where Python's own update first departs
from R's, which the mutant states as ``lockstep_expected``.

A twin lists its mutants in its declaration, ``mutants="mutants.py:mutants"`` (a function
returning the list; twins/bias_net/mutants.py is the example). :func:`check_mutant` runs one and
asserts it is killed as predicted; any test suite can call it for a twin of its own.

A :class:`Defect` is the same one-line change made to a copy of a twin's folder instead of at run
time (the examples' defects, tests/test_examples.py): :meth:`Defect.apply` edits the copy, with the
same exactly-once rule, and the copy is then checked like any user's twin.
"""
import contextlib
import math
import os
import sys
from dataclasses import dataclass

import numpy as np

from crossverify.paths import PROJECT_ROOT
from crossverify.twins.protocol import Twin, load_twin, shipped_twins
from crossverify.twins.request import Kernels, NUMPY_ARITHMETIC, R_ARITHMETIC
from crossverify.twins.scenarios import SHIPPED_FIXTURES, load_scenario, scenarios_folder
from crossverify.python_impl.kernels import get_kernels
from crossverify.python_impl.trace import run_epochs

MODES = ("free-running", "lockstep")
SEMANTIC = "changes the value by far more than rounding, so the float bound sees it"


class MutationDoesNotApply(AssertionError):
    """The code a mutant edits has changed; the mutant needs updating."""


# -- the catalogue -----------------------------------------------------------------------------------

@dataclass
class Mutant:
    name: str
    twin: object  # the twin's name or folder (load_twin), or the Twin itself
    scenario: str  # the scenario it runs on
    language: str  # "python" or "r": the side the defect is in
    defect: str  # what the change does, in words
    expected: object  # (epoch, step, name), or an oracle: run -> (epoch, step, name) or None
    float_catches: bool  # whether the float-kernel bound must catch it too
    why: str  # why the float bound does or does not
    file: str = None  # the file edited: relative to the twin's folder, or to the project
    old: str = None  # text occurring once in the file ...
    new: str = None  # ... and what replaces it
    variant: str = None  # the R variant whose checks must catch it (default: the twin's reference)
    apply: object = None  # session -> context manager, for a defect that is not a line change
    # lockstep hands Python R's state: a defect in R's *initial* state is adopted, and shows only
    # where Python's own step departs from R's; None: the same as free-running
    lockstep_expected: tuple = None
    fixtures: str = None  # the scenarios' folder (default: the twin's scenarios/, else the shipped fixtures)

    @property
    def declared_twin(self):
        return self.twin if isinstance(self.twin, Twin) else load_twin(self.twin)

    @property
    def twin_name(self):
        return self.declared_twin.name

    def fixtures_dir(self):
        return scenarios_folder(self.declared_twin, self.fixtures) or SHIPPED_FIXTURES

    def load(self):
        """The scenario, loaded for this twin."""
        return load_scenario(self.scenario, self.fixtures_dir(), self.declared_twin)

    def variant_of(self, net):
        return self.variant or net.reference_variant

    def expected_divergence(self, run, mode="free-running"):
        if mode == "lockstep" and self.lockstep_expected is not None:
            return self.lockstep_expected
        return self.expected(run) if callable(self.expected) else self.expected

    def applied(self, session):
        """The context manager that injects the defect and undoes it."""
        if self.apply is not None:
            return self.apply(session)
        if self.file is None or self.old is None or self.new is None:
            raise MutationDoesNotApply(f"mutant {self.name}: give file, old and new, or apply")
        path = source_path(self)
        if self.language == "python":
            return python_file_mutation(self.name, self.declared_twin, path, self.old, self.new)
        return r_file_mutation(self.name, session, self.declared_twin, path, self.old, self.new)


def twin_mutants(twin):
    """The mutants a twin declares (``Twin.mutants``), or []."""
    twin = twin if isinstance(twin, Twin) else load_twin(twin)
    if twin.mutants is None:
        return []
    return list(twin.resolve(twin.mutants, "mutants")())


def catalogue(twins=None):
    """Every mutant of ``twins`` (default: every shipped twin), names unique."""
    mutants = [m for t in (twins or shipped_twins()) for m in twin_mutants(t)]
    names = [m.name for m in mutants]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise MutationDoesNotApply(f"mutant names used twice: {dup}")
    return mutants


# -- defects made to a copy of a twin's folder ------------------------------------------------------

@dataclass(frozen=True)
class Defect:
    example: str  # the twin's folder name
    file: str  # the file changed, relative to that folder
    old: str  # the text replaced; it must occur exactly once
    new: str
    slip: str  # the mistake, in words
    first: tuple = None  # (epoch, step, intermediate, (row, column)), or None: no bit changes

    def apply(self, folder):
        """Make the change in ``folder`` (a copy of the twin's folder)."""
        path = os.path.join(folder, self.file)
        with open(path, encoding="utf-8") as fh:
            text = _substitute(self.id, self.file, fh.read(), self.old, self.new)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)

    @property
    def side(self):
        return "r" if self.file.endswith(".R") else "python"

    @property
    def id(self):
        return f"{self.example}:{self.side}:{self.slip.split(':')[0]}"


# -- applying mutations ----------------------------------------------------------------------------

def _substitute(name, where, source, old, new):
    if source.count(old) != 1:
        raise MutationDoesNotApply(f"mutant {name}: {old!r} occurs {source.count(old)} times in {where}, not once; "
                                   f"update the mutant to the current code")
    return source.replace(old, new)


def source_path(mutant):
    """The mutant's file: beside the twin's declaration, else relative to the project."""
    for base in (mutant.declared_twin.base_dir, PROJECT_ROOT):
        path = os.path.normpath(os.path.join(base or "", mutant.file))
        if os.path.isfile(path):
            return path
    raise MutationDoesNotApply(f"mutant {mutant.name}: no file {mutant.file!r} beside twin "
                               f"{mutant.twin_name!r} or in the project")


def _same_file(a, b):
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _module_of(twin, path):
    """The module the twin's Python code runs from ``path`` (imported first, as a run would)."""
    twin.python_epoch  # noqa: B018 - importing the twin's code loads its modules
    for v in twin.variants.values():
        twin.resolve(v.model, "model")
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and _same_file(file, path):
            return module
    raise MutationDoesNotApply(f"{path} is not a module the twin {twin.name!r} imports")


@contextlib.contextmanager
def python_file_mutation(name, twin, path, old, new):
    """The module of ``path`` re-executed with ``old`` replaced by ``new``, restored afterwards."""
    module = _module_of(twin, path)
    with open(path, encoding="utf-8") as fh:
        source = _substitute(name, path, fh.read(), old, new)
    saved = dict(module.__dict__)
    try:
        exec(compile(source, f"<mutant {name}: {os.path.basename(path)}>", "exec"), module.__dict__)
        yield
    finally:
        module.__dict__.clear()
        module.__dict__.update(saved)
    assert all(module.__dict__[k] is v for k, v in saved.items())


def r_environment(session, twin, path):
    """The R environment that holds the file: the twin's own, or the bridge's package environment."""
    if any(_same_file(path, f) for f in twin.r_files):
        return session.twin_env(twin)
    package = os.path.join(PROJECT_ROOT, "r_impl", "R")
    if _same_file(os.path.dirname(path), package):
        return session.env
    raise MutationDoesNotApply(f"{path} is neither an R file of twin {twin.name!r} nor one of r_impl/R")


@contextlib.contextmanager
def r_file_mutation(name, session, twin, path, old, new):
    """The R file's text with ``old`` replaced by ``new``, evaluated where the file was sourced;
    every binding of that environment restored afterwards."""
    ro = session.ro
    env = r_environment(session, twin, path)
    with open(path, encoding="utf-8") as fh:
        source = _substitute(name, path, fh.read(), old, new)
    names = list(ro.r["ls"](envir=env, **{"all.names": True}))
    saved = {n: ro.r["get"](n, envir=env) for n in names}
    try:
        ro.r["eval"](ro.r["parse"](text=source, **{"keep.source": False}), envir=env)
        yield
    finally:
        added = [n for n in ro.r["ls"](envir=env, **{"all.names": True}) if n not in saved]
        if added:
            ro.r["rm"](list=ro.StrVector(added), envir=env)
        for n, value in saved.items():
            ro.r["assign"](n, value, envir=env)
    assert all(ro.r["identical"](ro.r["get"](n, envir=env), v)[0] for n, v in saved.items())


@contextlib.contextmanager
def python_replacement(owner, attr, replacement):
    """``owner.attr`` replaced (a kernel's method, say), restored afterwards."""
    original = owner.__dict__[attr]
    setattr(owner, attr, replacement)
    try:
        yield
    finally:
        setattr(owner, attr, original)
    assert owner.__dict__[attr] is original


# -- the unmutated run the oracles replay --------------------------------------------------------------

def unmutated_run(session, scenario):
    """What the oracles read: the unmutated exact-kernel Python trace (bit for bit R's), the twin's
    spec, its prepared data and hyper-parameters, and the Verifier whose rows must all pass."""
    from crossverify.check.verify import Verifier
    verifier = Verifier(session, scenario)
    net = verifier.net
    return {"verifier": verifier, "trace": verifier.python(R_ARITHMETIC), "scenario": scenario, "net": net,
            "spec": net.spec, "data": dict(net.data), "hyper": dict(net.hyper)}


def _bits_differ(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    return a.view(np.uint64) != b.view(np.uint64)


def first_difference(left, right, spec):
    """First (epoch, step, name) where two traces' bits differ, in the order a run computes them."""
    for j in range(len(left)):
        for step, name, _ in spec:
            if _bits_differ(left.steps[name][j], right.steps[name][j]).any():
                return (int(left.epochs[j]), step, name)
    return None


def scan(run, redo):
    """The first (epoch, step, name) at which ``redo[name](j)``, the value the mutant computes at
    recorded epoch index j from the unmutated operands, differs from the unmutated value, in run order."""
    t = run["trace"]
    order = [(step, name) for step, name, _ in run["spec"] if name in redo]
    for j in range(len(t)):
        for step, name in order:
            if _bits_differ(redo[name](j), t.steps[name][j]).any():
                return (int(t.epochs[j]), step, name)
    return None


def before(run, w, j):
    """The state ``w`` recorded epoch index j started from (every epoch recorded)."""
    t = run["trace"]
    return t.start[w] if j == 0 else t.steps[w][j - 1]


def next_hyper_oracle(name):
    """An oracle: where training with the next double above hyper-parameter ``name`` first differs."""

    def oracle(run):
        net, trace = run["net"], run["trace"]
        hyper = dict(run["hyper"], **{name: math.nextafter(run["hyper"][name], math.inf)})
        xp = get_kernels(R_ARITHMETIC)
        nudged = run_epochs(lambda s: net.python_epoch(s, xp, hyper=hyper), net.python_start(), trace.n_epochs,
                            net.twin.names, net.weights, init=run["scenario"].init, record=list(trace.epochs),
                            history_names=net.twin.history)
        return first_difference(trace, nudged, run["spec"])

    oracle.__doc__ = f"Where training with the next double above {name} first differs from training with {name}."
    return oracle


def last_epoch(run):
    """A run one epoch short leaves its last epoch unrecorded: its first intermediate differs there."""
    step, name, _ = run["spec"][0]
    return (int(run["trace"].epochs[-1]), step, name)


# -- running a mutant against the real checks ------------------------------------------------------------

def first_divergence(verifier, variant, kernels, mode):
    """(ok, (epoch, step, name) or None) of the row; for a non-reference variant, where R departs from
    the Python model of R (the row's own first divergence is the predicted one between R and Python)."""
    from crossverify.check.engine import compare_traces
    row = verifier.row(variant, kernels, mode)
    if variant == verifier.net.reference_variant:
        first = row.first_divergence
    else:
        lockstep = mode == "lockstep"
        rule = Kernels(kernels).rule(verifier.session)  # the rule `crossverify run` holds the row to
        first = compare_traces(verifier.model(variant, kernels, lockstep), verifier.r(variant),
                               verifier.net.spec_for(variant), verifier.fixed(variant), rule, lockstep=lockstep).first
    return row.ok, (None if first is None else (first.epoch, first.step, first.name))


_UNMUTATED = {}


def unmutated_for(mutant, session):
    """The unmutated run of the mutant's scenario, computed once per scenario."""
    scenario = mutant.load()
    key = (scenario.twin.name, scenario.path)
    if key not in _UNMUTATED:
        _UNMUTATED[key] = unmutated_run(session, scenario)
    return _UNMUTATED[key]


def check_mutant(mutant, session, run=None, results=None):
    """Inject ``mutant``, run the real checks (a fresh Verifier) and assert that the exact-kernel rows
    (free-running and lockstep) fail at the predicted first divergence and that the float bound
    catches it exactly when predicted (unless the twin's float rows cannot be checked). Skips (pytest)
    a mutant that changes no bit here. Returns the result dict (also appended to ``results``)."""
    import pytest

    from crossverify.check.verify import Verifier
    run = run or unmutated_for(mutant, session)
    expected = {m: mutant.expected_divergence(run, m) for m in MODES}
    result = {"name": mutant.name, "twin": mutant.twin_name, "language": mutant.language,
              "expected": expected["free-running"], "found": None, "killed": False, "float_caught": None,
              "lockstep": None}
    if results is not None:
        results.append(result)
    if expected["free-running"] is None:
        pytest.skip(f"{mutant.name} changes no bit of this run on this machine: not a defect here")
    with mutant.applied(session):
        verifier = Verifier(session, run["scenario"])  # fresh: a Verifier caches its traces
        variant = mutant.variant_of(verifier.net)
        exact = {m: first_divergence(verifier, variant, R_ARITHMETIC, m) for m in MODES}
        floats = {m: first_divergence(verifier, variant, NUMPY_ARITHMETIC, m) for m in MODES}
    result["killed"] = all(not ok and at == expected[m] for m, (ok, at) in exact.items())
    result["found"], result["lockstep"] = exact["free-running"][1], exact["lockstep"][1]
    # a float row is "not checked" (ok None) when the twin uses an operation without a bound rule
    checked = any(ok is not None for ok, _ in floats.values())
    result["float_caught"] = all(ok is False for ok, _ in floats.values()) if checked else None
    for mode, (ok, at) in exact.items():
        assert ok is False, f"{mutant.name} survives the exact-kernel {mode} check"
        assert at == expected[mode], f"{mutant.name}, exact {mode}: first divergence {at}, expected {expected[mode]}"
    if checked:
        assert {ok is False for ok, _ in floats.values()} == {mutant.float_catches}, (
            f"{mutant.name}: float bound caught it in {[m for m, (ok, _) in floats.items() if ok is False]}; "
            f"predicted {'caught' if mutant.float_catches else 'not caught'}: {mutant.why}")
    return result


# filled by the tests, printed by meta_tests/conftest.py at the end of the run
RESULTS = []
