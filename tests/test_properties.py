"""Property-based checks over drawn bias networks, Python against the real R: any number of
samples, features, hidden neurons and outputs from 1 to 8, random finite inputs, weights,
targets and learning rate, 1 to 20 epochs.

* ``corrected``: with exact kernels Python and R are bit-identical at every step of every epoch,
  free-running and lockstep; with float kernels they stay inside the bound of bridge/check/bounds.py.
* ``article``, ``colsums-only`` and ``rowsums-only``: R equals, bit for bit, the Python model of
  R's fill-order and recycling rules (twins/bias_net/rmodel.py: ``r_initial_state``, ``r_epoch``) for
  every shape, including the non-square ones where the article's ``byrow = FALSE`` scrambles the
  biases; R parts from Python exactly where that model parts from Python, or nowhere when the
  model says the variant coincides with Python (one sample and one hidden neuron, say).
* What R does besides computing: ``predicted_r_outcome`` applies R's length rules to the shapes
  (warnings for recycled lengths that do not divide, errors for non-conformable matrices). For
  every consistent shape it predicts a silent run, and R is silent; for a bias vector whose length
  is not its layer's, it predicts R's error and the step that raises it, and that is what R does:
  a predicted outcome, not a crash.

Values are drawn from [-2^10, 2^10]. That keeps every intermediate finite for 20 epochs (the
weights grow by at most lr * n * |X| * |delta| per epoch, and |delta| <= (|y| + 1) / 4 times the
output weights), so R's ``%*%`` stays on the reference BLAS: R switches to its own loop when an
operand holds Inf or NaN, which is another arithmetic. Pre-activations still reach +-10^6, so the
sigmoid saturates to exactly 0 or 1 in many drawn cases; ``hypothesis.event`` counts them.
Run with ``--hypothesis-show-statistics`` to see the number of cases and the events.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from crossverify.shipped_twins.bias_net import rmodel
from crossverify.check.engine import compare_traces
from crossverify.errors import RCallError
from crossverify.check.saturation import saturated_steps
from crossverify.twins.scenarios import Scenario
from crossverify.check.verify import Verifier
from tests.specs import BIAS_NET_SPEC

BOUND = 2.0 ** 10
SIZES = st.integers(min_value=1, max_value=8)
ARTICLE_VARIANTS = ("article", "colsums-only", "rowsums-only")
# numpy warns where exp overflows (saturated sigmoids, in the float kernels and the bound's own
# sigmoid), and the engine's ratio statistics overflow where two sides differ by design: legal here
pytestmark = [pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:overflow encountered in divide:RuntimeWarning")]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- strategies ----------------------------------------------------------------------------------

def finite_values(bound=BOUND):
    return st.floats(min_value=-bound, max_value=bound, allow_nan=False, allow_infinity=False)


def finite_matrices(shape, bound=BOUND):
    return arrays(np.float64, shape, elements=finite_values(bound))


@st.composite
def network_shapes(draw):
    """Sizes n (samples), f (features), h (hidden neurons), o (outputs), each 1 to 8."""
    return {"n": draw(SIZES), "f": draw(SIZES), "h": draw(SIZES), "o": draw(SIZES)}


@st.composite
def weight_matrices(draw, shape, bias_lengths=None):
    """wh (f x h), bh (1 x h), wout (h x o), bout (1 x o); ``bias_lengths`` overrides the biases' lengths."""
    k_in, k_out = bias_lengths or (shape["h"], shape["o"])
    return {"wh": draw(finite_matrices((shape["f"], shape["h"]))), "bh": draw(finite_matrices((1, k_in))),
            "wout": draw(finite_matrices((shape["h"], shape["o"]))), "bout": draw(finite_matrices((1, k_out)))}


@st.composite
def training_data(draw, shape):
    """X (n x f) and targets y (n x o)."""
    return {"X": draw(finite_matrices((shape["n"], shape["f"]))), "y": draw(finite_matrices((shape["n"], shape["o"])))}


def make_scenario(data, init, lr, epochs):
    return Scenario("drawn", "bias_net", "(drawn by hypothesis)", lr, epochs, data, init, manifest={})


@st.composite
def bias_net_scenarios(draw):
    """A whole scenario: shapes, data, weights, a learning rate in [2^-10, 2] and 1-20 epochs."""
    shape = draw(network_shapes())
    lr = draw(st.floats(min_value=2.0 ** -10, max_value=2.0))
    return make_scenario(draw(training_data(shape)), draw(weight_matrices(shape)), lr, draw(st.integers(1, 20)))


@st.composite
def mismatched_bias_scenarios(draw):
    """A scenario whose drawn hidden or output biases (or both) have a length other than their layer's."""
    shape = draw(network_shapes())
    wrong = draw(st.sampled_from(("bh", "bout", "both")))
    # a length k != size: size + offset, wrapped into 1..8
    other = lambda size: (size - 1 + draw(st.integers(1, 7))) % 8 + 1  # noqa: E731
    k_in = other(shape["h"]) if wrong in ("bh", "both") else shape["h"]
    k_out = other(shape["o"]) if wrong in ("bout", "both") else shape["o"]
    init = draw(weight_matrices(shape, (k_in, k_out)))
    return make_scenario(draw(training_data(shape)), init, 0.5, draw(st.integers(1, 3)))


# -- R's length rules ----------------------------------------------------------------------------

def r_add(left, right):
    """R's ``left + right`` for a matrix ``left`` (rows, cols) and a matrix or a vector (length,).

    Two matrices must have equal dims (else the error "non-conformable arrays"). A vector is
    recycled down the columns: R warns when the longer length is not a multiple of the shorter,
    and then errors when the vector is the longer. Returns (warning or None, error or None).
    """
    if len(right) == 2:
        return None, (None if tuple(left) == tuple(right) else "non-conformable arrays")
    size, length = left[0] * left[1], right[0]
    longer, shorter = max(size, length), min(size, length)
    warning = None if longer % shorter == 0 else "longer object length is not a multiple of shorter object length"
    error = None if length <= size else "dims [product %d] do not match the length of object [%d]" % (size, length)
    return warning, error


def predicted_r_outcome(scenario, variant):
    """What r_impl's bias_net_train does with these shapes: ("silent", None, None), ("warns", step,
    message) or ("errors", step, message), from R's rules applied to each step's operands."""
    n, f = scenario.data["X"].shape
    h, o = scenario.init["wout"].shape
    k_in, k_out = scenario.init["bh"].size, scenario.init["bout"].size
    # step 1: matrix(rep(b, n), nrow = n) fills an n x k matrix from n * k values: always whole columns
    bh, bout = (n, k_in), (n, k_out)
    sums = rmodel.VARIANTS[variant]["bias_sums"]
    warnings = []
    steps = [(2, (n, h), bh), (4, (n, o), bout)]  # X %*% wh + bh; h %*% wout + bout
    # step 11: bias + rowSums(d) * lr (a vector of n) or + spread_bias(colSums(d), n) * lr (an n x k matrix)
    steps += [(11, bout, (n,) if sums == "rowSums" else (n, o)), (11, bh, (n,) if sums == "rowSums" else (n, h))]
    for step, left, right in steps:
        warning, error = r_add(left, right)
        if error:
            return "errors", step, error
        if warning:
            warnings.append((step, warning))
    return ("warns",) + warnings[0] if warnings else ("silent", None, None)


STEP_CALLS = {2: "X %*% wh + bh", 4: "hiddenlayer_activations %*% wout + bout"}


def run_r(session, run):
    """(trace or None, outcome) of ``run()``, a call into R, the outcome in predicted_r_outcome's terms."""
    before = len(session.messages)
    try:
        trace = run()
    except RCallError as exc:
        step = next((s for s, call in STEP_CALLS.items() if call in str(exc)), None)
        return None, ("errors", step, str(exc))
    said = "".join(session.messages[before:])
    return trace, (("warns", None, said) if "Warning" in said else ("silent", None, None))


def assert_outcome_as_predicted(outcome, predicted, scenario, variant):
    kind, step, message = predicted
    assert outcome[0] == kind and outcome[1] == step and (message is None or message in outcome[2]), (
        f"{describe(scenario)}, variant {variant}: R's outcome {outcome} is not the predicted {predicted}")


def describe(scenario):
    n, f = scenario.data["X"].shape
    h, o = scenario.init["wout"].shape
    return f"n={n} f={f} h={h} o={o} lr={scenario.lr!r} epochs={scenario.epochs}"


def key(divergence):
    return None if divergence is None else divergence.key()


# -- properties ------------------------------------------------------------------------------------

@settings(max_examples=300, **SETTINGS)
@given(scenario=bias_net_scenarios())
def test_corrected_python_and_r_are_bit_identical_for_every_drawn_network(r_session, scenario):
    verifier = Verifier(r_session, scenario)
    r, outcome = run_r(r_session, lambda: verifier.r("corrected"))
    assert_outcome_as_predicted(outcome, predicted_r_outcome(scenario, "corrected"), scenario, "corrected")
    assert all(np.isfinite(r.steps[name]).all() for name in r.names), describe(scenario)
    event("square (n = h)" if scenario.data["X"].shape[0] == scenario.init["wout"].shape[0] else "non-square (n != h)")
    for s in saturated_steps(r, BIAS_NET_SPEC):
        event(f"saturated: step {s.step} {s.name}")
    for mode in ("free-running", "lockstep"):
        lockstep = mode == "lockstep"
        for kernels, rule in (("exact", "identical"), ("float", "within-bound")):
            left = verifier.python_lockstep(kernels) if lockstep else verifier.python(kernels)
            result = compare_traces(left, r, BIAS_NET_SPEC, verifier.fixed(), rule, lockstep=lockstep)
            assert result.holds, f"{describe(scenario)}, {kernels} kernels, {mode}: {result.first.describe()}"


@settings(max_examples=200, **SETTINGS)
@given(scenario=bias_net_scenarios())
def test_model_of_r_recycling_predicts_every_article_variant_for_every_drawn_network(r_session, scenario):
    verifier = Verifier(r_session, scenario)
    for variant in ARTICLE_VARIANTS:
        r, outcome = run_r(r_session, lambda: verifier.r(variant))
        assert_outcome_as_predicted(outcome, predicted_r_outcome(scenario, variant), scenario, variant)
        model = verifier.model(variant, "exact")
        model_vs_r = compare_traces(model, r, BIAS_NET_SPEC, verifier.fixed(variant), "identical",
                                    labels=("model-of-R", "r"))
        assert model_vs_r.holds, f"{describe(scenario)}, {variant}: R departs from the model at {model_vs_r.first.describe()}"
        lockstep = compare_traces(verifier.model(variant, "exact", lockstep=True), r, BIAS_NET_SPEC,
                                  verifier.fixed(variant), "identical", lockstep=True, labels=("model-of-R", "r"))
        assert lockstep.holds, f"{describe(scenario)}, {variant}, lockstep: {lockstep.first.describe()}"
        python = verifier.python("exact")
        actual = compare_traces(python, r, BIAS_NET_SPEC, verifier.fixed(), "identical").first
        predicted = compare_traces(python, model, BIAS_NET_SPEC, verifier.fixed(), "identical",
                                   labels=("python", "model-of-R")).first
        assert key(actual) == key(predicted), (
            f"{describe(scenario)}, {variant}: first divergence {actual and actual.describe()} is not the "
            f"predicted {predicted and predicted.describe()}")
        if actual is not None:
            assert np.float64(actual.right).tobytes() == np.float64(predicted.right).tobytes()
        event(f"{variant}: parts from Python at step {actual.step}" if actual else f"{variant}: equals Python")


@settings(max_examples=100, **SETTINGS)
@given(scenario=mismatched_bias_scenarios(), variant=st.sampled_from(("corrected",) + ARTICLE_VARIANTS))
def test_r_error_for_a_bias_of_the_wrong_length_is_the_predicted_outcome(r_session, scenario, variant):
    predicted = predicted_r_outcome(scenario, variant)
    assert predicted[0] == "errors"  # what the strategy draws: R must refuse, at step 2 or 4
    trace, outcome = run_r(r_session, lambda: Verifier(r_session, scenario).r(variant))
    assert trace is None
    assert_outcome_as_predicted(outcome, predicted, scenario, variant)
    event(f"R errors at step {outcome[1]}")


# -- the rules themselves, on cases worked by hand -------------------------------------------------

def test_r_length_rules_match_r_on_worked_cases(r_session):
    cases = [("matrix(0, 3, 2) + 1:3", ((3, 2), (3,))), ("matrix(0, 3, 2) + 1:4", ((3, 2), (4,))),
             ("matrix(0, 3, 2) + 1:7", ((3, 2), (7,))), ("matrix(0, 3, 2) + 1:12", ((3, 2), (12,))),
             ("matrix(0, 3, 2) + matrix(0, 3, 1)", ((3, 2), (3, 1))),
             ("matrix(0, 3, 2) + matrix(0, 3, 2)", ((3, 2), (3, 2)))]
    for code, (left, right) in cases:
        before = len(r_session.messages)
        try:
            r_session.eval(code)
            error = None
        except RCallError as exc:
            error = str(exc)
        said = "".join(r_session.messages[before:])
        warning, predicted_error = r_add(left, right)
        assert (predicted_error is None) == (error is None) and (predicted_error is None or predicted_error in error), code
        assert (warning is None) == ("Warning" not in said) and (warning is None or warning in said), code


@pytest.mark.parametrize("shape", [(3, 4, 3, 1), (4, 2, 3, 2), (1, 1, 1, 1), (2, 5, 7, 3)])
def test_every_consistent_shape_is_predicted_silent_in_every_variant(shape):
    n, f, h, o = shape
    scenario = make_scenario({"X": np.zeros((n, f)), "y": np.zeros((n, o))},
                             {"wh": np.zeros((f, h)), "bh": np.zeros((1, h)), "wout": np.zeros((h, o)),
                              "bout": np.zeros((1, o))}, 0.1, 1)
    for variant in rmodel.VARIANTS:
        assert predicted_r_outcome(scenario, variant) == ("silent", None, None)


@pytest.mark.parametrize("variant", ARTICLE_VARIANTS)
def test_variant_row_meets_its_expectation_when_the_variant_coincides_with_python(r_session, variant):
    # one sample and one hidden neuron: every layout is the same matrix and every sum has one term
    scenario = make_scenario({"X": np.array([[0.5, -1.0]]), "y": np.array([[1.0]])},
                             {"wh": np.array([[0.25], [0.75]]), "bh": np.array([[0.125]]), "wout": np.array([[-0.5]]),
                              "bout": np.array([[0.375]])}, 0.5, 3)
    row = Verifier(r_session, scenario).row(variant, "exact", "free-running")
    assert row.first_divergence is None and row.predicted_divergence is None
    assert row.ok, row.note
