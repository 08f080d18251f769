"""Properties every twin has, whatever its shapes and numbers, for networks drawn from each twin's
declaration alone (every named size from 1 to 4, values in [-2, 2]): Python with exact kernels is
bit-identical to R's reference variant at every step of every epoch, and with float kernels every
step stays inside the bound derived from its code. The shipped twins and the examples are checked
alike, the examples loaded by path. Draws are derandomised: the same networks on every run."""
import os

import pytest
from hypothesis import HealthCheck, given, settings

from crossverify.check.verify import Verifier
from crossverify.twins.protocol import load_twin
from tests.conftest import ROOT
from tests.strategies import twin_scenarios

TWINS = ["bias_net", "detail", os.path.join(ROOT, "examples", "tanh_net"),
         os.path.join(ROOT, "examples", "power_iteration")]
EXAMPLES = int(os.environ.get("CROSSVERIFY_TWIN_EXAMPLES", "8"))  # `make test`'s sample; raise it to search wider


@pytest.mark.parametrize("kernels", ["exact", "float"])
@pytest.mark.parametrize("where", TWINS, ids=lambda w: os.path.basename(w))
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # a drawn network may divide 0 by 0: NaN on both sides
def test_every_drawn_network_of_every_twin_meets_its_expectation(r_session, where, kernels):
    twin = load_twin(where)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(scenario=twin_scenarios(twin))
    def check(scenario):
        for mode in ("free-running", "lockstep"):
            row = Verifier(r_session, scenario).row(twin.reference, kernels, mode)
            assert row.expectation == ("identical" if kernels == "exact" else "within-bound")
            where_ = row.first_divergence.describe() if row.first_divergence else ""
            assert row.ok, f"{twin.name} {kernels} {mode}: {row.note} {where_}"

    check()
