"""The bias network ("Implementing NN using Numpy (Python)" / "...using R"), Python against R,
through the real embedded R: every intermediate, every epoch, every variant (docs/FACTS.md section 5).
Mirror: r_impl/tests/testthat/test-bias_net.R."""
import numpy as np
import pytest

from crossverify.shipped_twins.bias_net import rmodel
from crossverify.check.engine import compare_traces
from tests.specs import BIAS_NET_SPEC
from crossverify.python_impl import bias_net
from crossverify.python_impl.kernels import get_kernels
from tests.conftest import assert_traces_agree

EPOCH0_BACKWARD = [name for step, name, *_ in BIAS_NET_SPEC if step <= 10]


def recycle_down_columns(vector, shape):
    """R's rule for matrix + shorter vector, written out element by element (element k of the
    matrix in column order gets vector[k mod length])."""
    rows, cols = shape
    out = np.empty(shape)
    for k in range(rows * cols):
        out[k % rows, k // rows] = vector[k % len(vector)]
    return out


def long_double_sums(d, axis):
    """R's rowSums/colSums: a long-double accumulator per output, in index order."""
    d = np.asarray(d)
    parts = d if axis == 0 else d.T
    acc = np.zeros(parts.shape[1], dtype=np.longdouble)
    for part in parts:
        acc += part
    return acc.astype(np.float64)


# -- shape, type ------------------------------------------------------------------------------

def test_trace_shapes_match_between_python_and_r(bias_verifier):
    py, r = bias_verifier.python("exact"), bias_verifier.r("corrected")
    n_samples = bias_verifier.X.shape[0]
    assert len(py) == len(r) == 5000
    for name in bias_net.NAMES:
        if name in ("bh", "bout"):  # Python keeps one row per neuron; R one row per sample
            assert py.steps[name].shape[1] == 1 and r.steps[name].shape[1] == n_samples
            assert py.steps[name].shape[2] == r.steps[name].shape[2]
        else:
            assert py.steps[name].shape == r.steps[name].shape, name


def test_traces_are_float64_on_both_sides(bias_verifier):
    for trace in (bias_verifier.python("exact"), bias_verifier.python("float"), bias_verifier.r("corrected")):
        assert all(trace.steps[name].dtype == np.float64 for name in bias_net.NAMES)


def test_r_received_the_fixture_weights_bit_for_bit(bias_verifier, bias_scenario):
    r = bias_verifier.r("corrected")
    for name, value in bias_scenario.init.items():
        assert np.array_equal(r.init[name].view(np.uint64), value.view(np.uint64)), name


# -- values: corrected variant -----------------------------------------------------------------

def test_every_intermediate_is_bit_identical_with_exact_kernels_free_running(bias_verifier):
    assert_traces_agree(bias_verifier.python("exact"), bias_verifier.r("corrected"), "identical",
                        "bias-net", "corrected", BIAS_NET_SPEC)


def test_every_intermediate_is_bit_identical_with_exact_kernels_lockstep(bias_verifier):
    assert_traces_agree(bias_verifier.python_lockstep("exact"), bias_verifier.r("corrected"), "identical",
                        "bias-net", "corrected", BIAS_NET_SPEC)


def test_float_kernels_differ_from_r_somewhere(bias_verifier):
    """Guards the float checks below against comparing R with itself: numpy's BLAS and exp do round differently."""
    py, r = bias_verifier.python("float"), bias_verifier.r("corrected")
    assert any(np.any(np.not_equal(*np.broadcast_arrays(py.steps[n], r.steps[n]))) for n in bias_net.NAMES)


@pytest.mark.parametrize("mode", ["lockstep", "free-running"])
def test_float_kernels_stay_within_the_rounding_bound_at_every_epoch(bias_verifier, mode):
    lockstep = mode == "lockstep"
    left = bias_verifier.python_lockstep("float") if lockstep else bias_verifier.python("float")
    result = compare_traces(left, bias_verifier.r("corrected"), BIAS_NET_SPEC, bias_verifier.fixed(),
                            "within-bound", lockstep=lockstep)
    assert result.holds, result.first.describe()
    assert result.epochs == 5000


def test_float_free_running_horizon_is_reported(bias_verifier):
    result = compare_traces(bias_verifier.python("float"), bias_verifier.r("corrected"), BIAS_NET_SPEC,
                            bias_verifier.fixed(), "within-bound")
    # bias-net converges instead of being chaotic: the two trajectories never part by 2^-26
    assert result.horizon is None


def test_bound_rejects_a_one_percent_slip_in_one_weight(bias_verifier):
    left = bias_verifier.python("float")
    slipped = type(left)(left.init, left.epochs, {k: v.copy() for k, v in left.steps.items()}, left.names)
    slipped.steps["wh"][1234, 2, 1] *= 1.01
    result = compare_traces(slipped, bias_verifier.r("corrected"), BIAS_NET_SPEC, bias_verifier.fixed(), "within-bound")
    assert (result.first.epoch, result.first.step, result.first.name, result.first.index) == (1234, 10, "wh", (2, 1))


# -- values: the article's variants -------------------------------------------------------------

@pytest.mark.parametrize("variant", ["article", "rowsums-only", "colsums-only"])
def test_r_variant_equals_the_python_model_of_r_recycling_bit_for_bit(bias_verifier, variant):
    assert_traces_agree(bias_verifier.model(variant, "exact"), bias_verifier.r(variant), "identical",
                        "bias-net", variant, BIAS_NET_SPEC, labels=("model-of-R", "r"))


def test_rowsums_only_agrees_through_the_epoch0_backward_pass(bias_verifier):
    py, r = bias_verifier.python("exact"), bias_verifier.r("rowsums-only")
    for name in EPOCH0_BACKWARD:
        assert np.array_equal(py.steps[name][0].view(np.uint64), r.steps[name][0].view(np.uint64)), name
    first = compare_traces(py, r, BIAS_NET_SPEC, bias_verifier.fixed(), "identical").first
    assert (first.epoch, first.step, first.name) == (0, 11, "bout")


def test_rowsums_only_first_update_differs_by_rowsums_minus_column_sums(bias_verifier, bias_scenario):
    py, r = bias_verifier.python("exact"), bias_verifier.r("rowsums-only")
    lr, n = bias_scenario.lr, bias_verifier.X.shape[0]
    for bias, delta in (("bh", "d_hiddenlayer"), ("bout", "d_output")):
        drawn = bias_scenario.init[bias]
        d = py.steps[delta][0]
        start = np.repeat(drawn, n, axis=0)  # per-neuron layout: every sample's row is the drawn biases
        r_update = start + recycle_down_columns(long_double_sums(d, axis=1) * lr, start.shape)
        py_update = drawn + long_double_sums(d, axis=0)[None, :] * lr
        predicted = r_update - py_update
        measured = r.steps[bias][0] - py.steps[bias][0]
        assert np.array_equal(measured.view(np.uint64), predicted.view(np.uint64)), (bias, measured, predicted)
        assert np.all(measured[np.abs(predicted) > 0] != 0)


@pytest.mark.parametrize("variant", ["article", "colsums-only"])
def test_article_layouts_part_at_epoch0_step2_with_the_predicted_values(bias_verifier, bias_scenario, variant):
    py, r = bias_verifier.python("exact"), bias_verifier.r(variant)
    first = compare_traces(py, r, BIAS_NET_SPEC, bias_verifier.fixed(), "identical").first
    assert (first.epoch, first.step, first.name, first.index) == (0, 2, "hidden_layer_input", (0, 1))
    # R's matrix(rep(b, 3), nrow = 3, byrow = FALSE) puts b[i] on row i: sample i gets bias b[i]
    b = bias_scenario.init["bh"].ravel()
    by_sample = np.array([[b[i]] * 3 for i in range(3)])
    predicted = get_kernels("exact").dot(bias_verifier.X, bias_scenario.init["wh"]) + by_sample
    assert np.array_equal(r.steps["hidden_layer_input"][0].view(np.uint64), predicted.view(np.uint64))
    assert first.right == predicted[0, 1] and first.left == py.steps["hidden_layer_input"][0][0, 1]


def test_colsums_only_recycles_the_column_sums_down_the_columns(bias_verifier, bias_scenario):
    r, lr = bias_verifier.r("colsums-only"), bias_scenario.lr
    d = r.steps["d_hiddenlayer"][0]
    expected = r.start["bh"] + recycle_down_columns(long_double_sums(d, axis=0) * lr, (3, 3))
    assert np.array_equal(r.steps["bh"][0].view(np.uint64), expected.view(np.uint64))
    # ... which is not the per-neuron update: row i got neuron i's sum, along the whole row
    assert not np.allclose(expected - r.start["bh"], np.broadcast_to(long_double_sums(d, axis=0) * lr, (3, 3)))


def test_failure_message_names_scenario_variant_epoch_step_intermediate_and_element(bias_verifier):
    left = bias_verifier.python("exact")
    broken = type(left)(left.init, left.epochs, {k: v.copy() for k, v in left.steps.items()}, left.names)
    broken.steps["d_output"][17, 2, 0] = np.nextafter(broken.steps["d_output"][17, 2, 0], 1.0)
    with pytest.raises(AssertionError) as err:
        assert_traces_agree(broken, bias_verifier.r("corrected"), "identical", "bias-net", "corrected", BIAS_NET_SPEC)
    for part in ("scenario bias-net", "variant corrected", "epoch 17", "step 7", "d_output[2, 0]"):
        assert part in str(err.value)
    first = compare_traces(broken, bias_verifier.r("corrected"), BIAS_NET_SPEC, bias_verifier.fixed(), "identical").first
    assert first.describe().startswith("epoch 17, step 7, d_output[2, 0]:")


def test_prediction_scores_new_rows_identically_in_both_languages(bias_verifier, r_session):
    r = bias_verifier.r("corrected")
    state = {w: r.steps[w][-1] for w in bias_net.WEIGHTS}
    new = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    py = bias_net.predict(new, {**state, "bh": state["bh"][:1], "bout": state["bout"][:1]}, get_kernels("exact"))
    r_state = r_session.ro.ListVector({w: r_session.to_r(v) for w, v in state.items()})
    from_r = r_session.from_r(r_session.call("bias_net_predict", r_session.to_r(new), r_state))
    assert py.shape == from_r.shape == (3, 1)
    assert np.array_equal(py.view(np.uint64), from_r.view(np.uint64))


def test_trained_output_is_two_near_one_and_one_near_zero(bias_verifier):
    output = bias_verifier.python("exact").steps["output"][-1].ravel()
    assert output[0] > 0.95 and output[1] > 0.95 and output[2] < 0.05


def test_python_and_r_variant_tables_agree(r_session):
    env_variants = r_session.ro.r["get"]("VARIANTS", envir=r_session.env)
    from_r = {name: {k: str(v[0]) for k, v in zip(entry.names, entry)} for name, entry in zip(env_variants.names, env_variants)}
    assert from_r == rmodel.VARIANTS
