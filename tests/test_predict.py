"""Prediction on new data (the article's readers asked for it), cross-verified: bias_net.predict /
bias_net_predict and detail.predict / detail_predict are steps 2-4 (1-4) of training, bit for bit in
both languages; the article's R model cannot score a fourth sample, because its biases belong to
training rows, not neurons."""
import numpy as np
import pytest

from crossverify.errors import RCallError
from crossverify.python_impl import bias_net, detail
from crossverify.python_impl.kernels import get_kernels

EXACT = get_kernels("exact")
FOUR_ROWS = np.array([[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0]])


def same_bits(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def r_state(session, state):
    return session.ro.ListVector({k: session.to_r(v) for k, v in state.items()})


def trained(trace):
    return {w: trace.steps[w][-1] for w in bias_net.WEIGHTS}


def test_article_r_model_cannot_score_a_fourth_sample_and_r_says_why(bias_verifier, r_session):
    state = trained(bias_verifier.r("article"))
    assert state["bh"].shape == (3, 3) and not np.allclose(state["bh"], state["bh"][:1])  # one bias per sample
    with pytest.raises(RCallError, match="non-conformable arrays"):
        r_session.call("bias_net_predict", r_session.to_r(FOUR_ROWS), r_state(r_session, state))
    # three rows conform: the count of rows, not the values, is what R refuses
    three = r_session.from_r(r_session.call("bias_net_predict", r_session.to_r(FOUR_ROWS[1:]), r_state(r_session, state)))
    assert three.shape == (3, 1)


def test_corrected_per_neuron_bias_laid_out_for_four_rows_scores_them_as_python(bias_verifier, r_session):
    state = trained(bias_verifier.r("corrected"))
    assert np.array_equal(state["bh"], np.broadcast_to(state["bh"][:1], state["bh"].shape))
    four = {"wh": r_session.to_r(state["wh"]), "wout": r_session.to_r(state["wout"])}
    for b in ("bh", "bout"):  # R: spread_bias(bh[1, ], 4, "by-neuron")
        four[b] = r_session.call("spread_bias", r_session.to_r(state[b][0]), 4, "by-neuron")
    from_r = r_session.from_r(r_session.call("bias_net_predict", r_session.to_r(FOUR_ROWS),
                                             r_session.ro.ListVector(four)))
    py_state = {**state, "bh": state["bh"][:1], "bout": state["bout"][:1]}
    from_python = bias_net.predict(FOUR_ROWS, py_state, EXACT)
    assert same_bits(from_python, bias_net.predict(FOUR_ROWS, trained(bias_verifier.python("exact")), EXACT))
    assert from_r.shape == (4, 1) and same_bits(from_r, from_python)
    assert from_python[0, 0] > 0.9 and from_python[2, 0] < 0.1


@pytest.mark.parametrize("variant", ["article", "corrected", "rowsums-only", "colsums-only"])
def test_prediction_on_the_training_rows_is_the_forward_pass_of_training_in_both_languages(
        bias_verifier, r_session, variant):
    # predict(X, weights epoch e starts from) is steps 2-4 of epoch e, whatever the bias layout
    r = bias_verifier.r(variant)
    for e in (0, 1, 4999):
        before = r.state_before(e, bias_net.WEIGHTS)
        from_r = r_session.from_r(r_session.call("bias_net_predict", r_session.to_r(bias_verifier.X),
                                                 r_state(r_session, before)))
        assert same_bits(from_r, r.at(e, "output")), (variant, e)
        assert same_bits(bias_net.predict(bias_verifier.X, before, EXACT), from_r), (variant, e)


def test_detail_prediction_is_steps_1_to_4_of_training_in_both_languages(r_session):
    from crossverify.twins.runner import network_for
    from crossverify.twins.scenarios import load_scenario
    net = network_for(load_scenario("detail-moons"))
    py = net.python("exact", 3)
    state = py.state_before(2, detail.WEIGHTS)
    from_r = r_session.from_r(r_session.call("detail_predict", r_session.to_r(net.X), r_state(r_session, state)))
    assert same_bits(from_r, py.at(2, "output")) and from_r.shape == (1, 1000)
    new = np.array([[0.5, 0.1, 0.9, 0.3, 0.7], [0.5, 0.9, 0.1, 0.3, 0.7]])  # five new points, any number scores
    assert same_bits(r_session.from_r(r_session.call("detail_predict", r_session.to_r(new), r_state(r_session, state))),
                     detail.predict(new, state, EXACT))
