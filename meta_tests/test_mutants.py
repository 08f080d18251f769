"""Mutation tests of the checker (the meta-tests idea of array-api-tests), for every shipped twin:
each deliberate defect a twin declares (``Twin.mutants``; the framework is bridge/check/mutants.py),
injected into one implementation, must make the real checks (``crossverify.check.verify.Verifier.row``,
a fresh Verifier per mutant) fail, with the exact-kernel rows (free-running and lockstep) naming the
predicted first divergence (epoch, step, intermediate). Whether the float-kernel bound also catches
it is checked against the mutant's prediction. The unmutated code must pass every check, every
mutation must be undone afterwards, and a twin outside the project gets the same treatment."""
import os
import shutil

import pytest

from crossverify.check.mutants import MODES, RESULTS, catalogue, check_mutant, twin_mutants, unmutated_for
from tests.test_golden import write_user_twin

MUTANTS = catalogue()
# a mutant may drive values to NaN or overflow (a slope of a pre-activation can be far from [0, 1/4])
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _one_per_scenario(mutants):
    return list({(m.twin_name, m.scenario): m for m in mutants}.values())


def _rows(verifier):
    return [verifier.row(v, k, m) for v in verifier.variants for k in ("exact", "float") for m in MODES]


@pytest.mark.parametrize("mutant", _one_per_scenario(MUTANTS), ids=lambda m: f"{m.twin_name}:{m.scenario}")
def test_unmutated_code_meets_every_expectation(mutant, r_session):
    verifier = unmutated_for(mutant, r_session)["verifier"]
    assert [r for r in _rows(verifier) if not r.ok] == []


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_is_caught_at_its_first_divergence(mutant, r_session):
    check_mutant(mutant, r_session, results=RESULTS)


@pytest.mark.parametrize("mutant", _one_per_scenario(MUTANTS), ids=lambda m: f"{m.twin_name}:{m.scenario}")
def test_every_mutation_is_undone(mutant, r_session):
    """After the whole catalogue, the code is the code: a fresh Verifier meets the reference rows."""
    from crossverify.check.verify import Verifier
    verifier = Verifier(r_session, mutant.load())
    reference = verifier.net.reference_variant
    assert all(verifier.row(reference, k, m).ok for k in ("exact", "float") for m in MODES)


USER_MUTANTS = '''
from crossverify.check.mutants import SEMANTIC, Mutant, next_hyper_oracle


def mutants():
    return [
        Mutant("user-r-step7-times-lr", TWIN_DIR, "wrapped", "r", "step 7 times lr", (0, 7, "d_output"), True,
               SEMANTIC, "{r_file}", "d_output <- output_delta(E, slope_output_layer)",
               "d_output <- output_delta(E, slope_output_layer) * lr"),
        Mutant("user-py-lr-one-ulp", TWIN_DIR, "wrapped", "python", "the learning rate one ulp too large",
               next_hyper_oracle("lr"), False, "one rounding of lr * G", "bias_copy.py",
               "    wh, bh, wout, bout = (state[w] for w in WEIGHTS)\\n",
               "    wh, bh, wout, bout = (state[w] for w in WEIGHTS)\\n    import math\\n"
               "    lr = math.nextafter(lr, math.inf)\\n"),
    ]


TWIN_DIR = __import__("os").path.dirname(__file__)
'''


def test_a_twin_outside_the_project_gets_its_mutants_checked(tmp_path, r_session):
    """A twin of one's own (its Python in a file beside twin.py, R from the project) declares two
    mutants; both are killed at their predicted divergence, in a scenario of 60 epochs."""
    from crossverify.python_impl import bias_net
    from tests.conftest import ROOT
    folder = write_user_twin(tmp_path, epochs=60, extra='mutants="mutants.py:mutants",')
    shutil.copy(bias_net.__file__, folder / "bias_copy.py")
    source = (folder / "bias_copy.py").read_text().replace("from .trace import", "from crossverify.python_impl.trace import")
    (folder / "bias_copy.py").write_text(source)
    twin_py = (folder / "twin.py").read_text().replace('"crossverify.python_impl.bias_net:epoch"', '"bias_copy.py:epoch"')
    (folder / "twin.py").write_text(twin_py)
    r_file = os.path.join(ROOT, "r_impl", "R", "bias_net.R")
    (folder / "mutants.py").write_text(USER_MUTANTS.replace("{r_file}", r_file))
    mutants = twin_mutants(str(folder))
    assert [m.twin_name for m in mutants] == ["wrapped_net"] * 2
    results = [check_mutant(m, r_session) for m in mutants]
    assert [(r["name"], r["killed"], r["float_caught"]) for r in results] == [
        ("user-r-step7-times-lr", True, True), ("user-py-lr-one-ulp", True, False)]
    # the oracle's prediction, as for the shipped twin's py-lr-one-ulp: the same code on the same inputs
    assert results[1]["expected"] == (8, 10, "wh")
