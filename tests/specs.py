"""The step tables of the shipped twins, as the engine derives them (bridge/twins/tracing.py), for
tests that name steps or compare traces directly."""
from crossverify.twins.runner import network_for
from crossverify.twins.scenarios import load_scenario

BIAS_NET_SPEC = network_for(load_scenario("bias-net")).spec
DETAIL_SPEC = network_for(load_scenario("detail-toy")).spec
