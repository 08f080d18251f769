"""The comparison engine (bridge/check/engine.py) on small traces built by hand, where every
expected answer can be worked out on paper: a one-weight "twin" whose epoch computes

    step 1  h = x * w       step 2  w = w - lr * h      (state: w; data: x; hyper-parameter: lr)
"""
import numpy as np
import pytest

from crossverify.check.engine import compare_traces, step_bound
from crossverify.errors import CrossverifyError
from crossverify.python_impl.trace import Trace

SPEC = ((1, "h", ("mul", "x", "w@prev")), (2, "w", ("sub", "w@prev", ("mul", "lr", "h"))))
FIXED = {"x": np.array([[2.0, 3.0]]), "lr": 0.25}
START = {"w": np.array([[1.0, -1.0]])}


def run(epochs=3, nudge=None):
    """The twin's trace, computed in plain float64; ``nudge=(epoch, name, index, ulps)`` moves one value."""
    w = START["w"].copy()
    steps = {"h": [], "w": []}
    for e in range(epochs):
        h = FIXED["x"] * w
        if nudge and nudge[:2] == (e, "h"):
            h[nudge[2]] = np.nextafter(h[nudge[2]], np.inf) if nudge[3] == 1 else h[nudge[2]] * (1 + nudge[3])
        w = w - FIXED["lr"] * h
        steps["h"].append(h.copy())
        steps["w"].append(w.copy())
    return Trace(START, np.arange(epochs), {k: np.array(v) for k, v in steps.items()}, ("h", "w"), start=START)


def test_two_equal_traces_are_identical_with_no_divergence_and_no_horizon():
    result = compare_traces(run(), run(), SPEC, FIXED, "identical", weights=("w",))
    assert result.holds and result.first is None and result.horizon is None
    assert result.stats["h"].max_abs == 0 and result.stats["w"].max_abs == 0 and result.epochs == 3


def test_one_ulp_at_epoch_1_is_the_first_divergence_with_its_step_and_element():
    result = compare_traces(run(nudge=(1, "h", (0, 1), 1)), run(), SPEC, FIXED, "identical", weights=("w",))
    first = result.first
    assert not result.holds
    assert (first.epoch, first.step, first.name, first.index) == (1, 1, "h", (0, 1))
    assert float(first.left).hex() != float(first.right).hex() and abs(first.left - first.right) > 0


def test_a_one_ulp_difference_is_within_the_rounding_bound_and_a_relative_1e_9_is_not():
    small = compare_traces(run(nudge=(1, "h", (0, 0), 1)), run(), SPEC, FIXED, "within-bound", weights=("w",))
    assert small.holds, small.first.describe()
    large = compare_traces(run(nudge=(1, "h", (0, 0), 1e-9)), run(), SPEC, FIXED, "within-bound", weights=("w",))
    assert (large.first.epoch, large.first.step, large.first.name, large.first.index) == (1, 1, "h", (0, 0))
    assert large.first.bound is not None and abs(large.first.left - large.first.right) > large.first.bound


def test_a_difference_inherited_from_h_stays_within_the_bound_of_w_that_propagates_it():
    # w = w - lr h: the bound of step 2 carries h's measured difference, so w is not blamed for it
    result = compare_traces(run(nudge=(0, "h", (0, 0), 1e-9)), run(), SPEC, FIXED, "within-bound", weights=("w",))
    assert result.first.name == "h"
    assert result.stats["w"].max_ratio <= 1


def test_nan_on_both_sides_is_no_divergence_but_nan_against_a_number_is():
    left, right = run(), run()
    left.steps["h"][2, 0, 0] = right.steps["h"][2, 0, 0] = np.nan
    assert compare_traces(left, right, SPEC, FIXED, "identical", weights=("w",)).holds
    right.steps["h"][2, 0, 0] = 1.0
    first = compare_traces(left, right, SPEC, FIXED, "identical", weights=("w",)).first
    assert (first.epoch, first.name, first.index) == (2, "h", (0, 0))


def test_traces_of_different_epochs_are_refused():
    with pytest.raises(ValueError, match="different epochs"):
        compare_traces(run(epochs=2), run(epochs=3), SPEC, FIXED, "identical", weights=("w",))


def test_an_intermediate_of_another_shape_is_named_with_both_shapes():
    left = run()
    left.steps["h"] = np.zeros((3, 3, 3))
    with pytest.raises(CrossverifyError, match=r"step 1, h: python gives a 3 x 3 matrix and r a 1 x 2 one"):
        compare_traces(left, run(), SPEC, FIXED, "identical", weights=("w",))


def test_nan_on_both_sides_is_within_bound_too_and_nan_against_a_number_is_not():
    left, right = run(), run()
    left.steps["h"][2, 0, 0] = right.steps["h"][2, 0, 0] = np.nan  # 0 / 0 in both languages, say
    assert compare_traces(left, right, SPEC, FIXED, "within-bound", weights=("w",)).holds
    right.steps["h"][2, 0, 0] = 1.0
    first = compare_traces(left, right, SPEC, FIXED, "within-bound", weights=("w",)).first
    assert (first.epoch, first.name, first.index) == (2, "h", (0, 0))


def test_the_bound_of_one_step_at_one_epoch_is_the_one_the_trace_comparison_uses():
    left, right = run(nudge=(1, "h", (0, 0), 1e-12)), run()
    expr = dict((name, e) for _, name, e in SPEC)["w"]
    at = {"w@prev": right.steps["w"][0]}  # lockstep: both sides start epoch 1 from R's state
    bound = step_bound(expr, {**at, "h": left.steps["h"][1]}, {**at, "h": right.steps["h"][1]}, FIXED)
    # w = w - lr h carries lr |dh| = 0.25 |dh| plus the rounding of both sides
    dh = abs(left.steps["h"][1, 0, 0] - right.steps["h"][1, 0, 0])
    assert 0.25 * dh <= bound[0, 0] <= 0.25 * dh + 8 * 2.0 ** -53
    assert bound.shape == (1, 2)
