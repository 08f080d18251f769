"""Mutation tests of the checker (the meta-tests idea of array-api-tests): each deliberate defect
of meta_tests/mutants.py, injected into one implementation, must make the real checks
(``bridge.check.verify.Verifier.row``, a fresh Verifier per mutant) fail, with the exact-kernel rows
(free-running and lockstep) naming the predicted first divergence (epoch, step, intermediate).
Whether the float-kernel bound also catches it is checked against the catalogue's prediction.
The unmutated code must pass every check, and every mutation must be undone afterwards."""
import pytest

from bridge.check.engine import compare_traces
from bridge.check.verify import Verifier
from meta_tests.mutants import MUTANTS, RESULTS, r_source

MODES = ("free-running", "lockstep")
# a mutant may drive values to NaN or overflow (a slope of a pre-activation can be far from [0, 1/4])
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def unmutated(r_session, bias_scenario):
    """The unmutated run, whose recorded operands the oracles replay the mutated operations on."""
    verifier = Verifier(r_session, bias_scenario)
    return {"verifier": verifier, "trace": verifier.python("exact"), "scenario": bias_scenario,
            "X": bias_scenario.data["X"], "lr": bias_scenario.lr}


def first_divergence(verifier, variant, kernels, mode):
    """(ok, (epoch, step, name) or None) of the row; for an article variant, where R departs from
    the model of R (the row's own first divergence is the predicted one between R and Python)."""
    row = verifier.row(variant, kernels, mode)
    if variant == "corrected":
        first = row.first_divergence
    else:
        lockstep = mode == "lockstep"
        rule = "identical" if kernels == "exact" else "within-bound"
        first = compare_traces(verifier.model(variant, kernels, lockstep), verifier.r(variant), verifier.net.spec,
                               verifier.fixed(variant), rule, lockstep=lockstep).first
    return row.ok, (None if first is None else (first.epoch, first.step, first.name))


def test_unmutated_code_meets_every_expectation(unmutated):
    verifier = unmutated["verifier"]
    rows = [verifier.row(v, k, m) for v in verifier.variants for k in ("exact", "float") for m in MODES]
    assert [r for r in rows if not r.ok] == []


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_is_caught_at_its_first_divergence(mutant, r_session, bias_scenario, unmutated):
    expected = {m: mutant.expected_divergence(unmutated, m) for m in MODES}
    result = {"name": mutant.name, "language": mutant.language, "expected": expected["free-running"], "found": None,
              "killed": False, "float_caught": None, "lockstep": None}
    RESULTS.append(result)
    if expected["free-running"] is None:
        pytest.skip(f"{mutant.name} changes no bit of this run on this machine: not a defect here")
    before = r_source(r_session, "bias_net_train")
    with mutant.apply(r_session):
        verifier = Verifier(r_session, bias_scenario)  # fresh: a Verifier caches its traces
        exact = {m: first_divergence(verifier, mutant.variant, "exact", m) for m in MODES}
        floats = {m: first_divergence(verifier, mutant.variant, "float", m) for m in MODES}
    assert r_source(r_session, "bias_net_train") == before
    result["killed"] = all(not ok and at == expected[m] for m, (ok, at) in exact.items())
    result["found"], result["lockstep"] = exact["free-running"][1], exact["lockstep"][1]
    result["float_caught"] = all(not ok for ok, _ in floats.values())
    for mode, (ok, at) in exact.items():
        assert not ok, f"{mutant.name} survives the exact-kernel {mode} check"
        assert at == expected[mode], f"{mutant.name}, exact {mode}: first divergence {at}, expected {expected[mode]}"
    assert {not ok for ok, _ in floats.values()} == {mutant.float_catches}, (
        f"{mutant.name}: float bound caught it in {[m for m, (ok, _) in floats.items() if not ok]}; "
        f"predicted {'caught' if mutant.float_catches else 'not caught'}: {mutant.why}")


def test_every_mutation_is_undone(r_session, bias_scenario, unmutated):
    """After the whole catalogue, the code is the code: a fresh Verifier meets the corrected rows."""
    verifier = Verifier(r_session, bias_scenario)
    assert all(verifier.row("corrected", k, m).ok for k in ("exact", "float") for m in MODES)
