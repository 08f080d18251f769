"""The bound rules that plain numpy brought (selections, max/min, arg-reductions, sorting, cumulative
sums, means over an axis, var/std, where, comparisons, masked means) hold on adversarial inputs,
as tests/test_bound_rules.py checks the others: the left side is numpy's own result on the left
operands, the right side R's (python_impl/exactarray.py) on perturbed right operands, and the
rule's d must cover their difference at every element."""
import numpy as np
from hypothesis import assume, given, settings, strategies as st

from crossverify.check import bounds
from crossverify.check.bounds import Node
from crossverify.python_impl import exactarray as R
from tests import strategies as S
from tests.test_bound_rules import arith_elements, assert_bounded, operand, per_epoch, same_shape, signed_nonzero

TESTED = set()
MODERATE = S.floats(-1e3, 1e3)
ANY = st.one_of(S.wide, S.subnormals, MODERATE)


@st.composite
def pair(draw, elements):
    """Two operand nodes of one shape."""
    a = draw(operand(elements))
    return a, draw(operand(elements, shape=st.just(a.left.shape)))


def covers_rule(*names):
    TESTED.update(names)
    return lambda fn: fn


def evaluate(op, *operands, params=None):
    """The rule applied the way bounds.evaluate applies it."""
    fn = bounds.RULES[op]
    return fn(*operands) if params is None else fn(*operands, params)


@covers_rule("gather")
@settings(max_examples=60, deadline=None)
@given(ab=pair(ANY), pick=st.sampled_from(["T", "slice", "ints", "concat", "ravel"]))
def test_rule_gather_carries_each_picked_elements_difference(ab, pick):
    a, b = ab
    r, c = a.left.shape[1:]
    fns = {"T": lambda x, y: x.T, "slice": lambda x, y: x[::-1, :1], "ints": lambda x, y: x[[0, r - 1, 0]],
           "concat": lambda x, y: np.concatenate([x, y], axis=1), "ravel": lambda x, y: np.ravel(y)}
    fn = fns[pick]
    positions = (np.arange(r * c).reshape(r, c), r * c + np.arange(r * c).reshape(r, c))
    node = evaluate("gather", a, b, params=(((r, c), (r, c)), fn(*positions)))
    assert_bounded("gather", per_epoch(fn, a.left, b.left), per_epoch(fn, a.right, b.right), node, a, b)


@covers_rule("minimum", "amax", "amin", "sort")
@settings(max_examples=60, deadline=None)
@given(ab=pair(ANY), keepdims=st.booleans())
def test_rules_that_select_elements_carry_the_largest_difference_they_may_pick(ab, keepdims):
    a, b = ab
    assert_bounded("minimum", np.minimum(a.left, b.left), R.r_pmin(a.right, b.right), evaluate("minimum", a, b), a, b)
    for op, fn in (("amax", np.max), ("amin", np.min)):
        for axes in ((-1,), (-2, -1)):
            node = evaluate(op, a, params=(axes, keepdims))
            assert_bounded(op, fn(a.left, axis=axes, keepdims=keepdims), fn(a.right, axis=axes, keepdims=keepdims),
                           node, a)
    for axis in (-1, -2):
        assert_bounded("sort", np.sort(a.left, axis=axis), np.sort(a.right, axis=axis),
                       evaluate("sort", a, params=axis), a)


@covers_rule("argmax", "argmin", "argsort")
@settings(max_examples=80, deadline=None)
@given(a=operand(st.one_of(MODERATE, S.ulps_from(1.0, 8))))
def test_rules_for_indices_are_zero_only_where_both_sides_must_pick_the_same_index(a):
    for op, fn in (("argmax", np.argmax), ("argmin", np.argmin), ("argsort", np.argsort)):
        for axis in (-1, -2):
            node = evaluate(op, a, params=axis)
            assert_bounded(op, fn(a.left, axis=axis), fn(a.right, axis=axis), node, a)


@covers_rule("cumsum", "mean_axes", "var", "std")
@settings(max_examples=80, deadline=None)
@given(a=operand(st.one_of(MODERATE, S.ulps_from(1.0), S.floats(-1e150, 1e150))), ddof=st.sampled_from([0, 1]))
def test_rules_for_sums_means_and_variances_along_an_axis_cover_numpy_against_r(a, ddof):
    assert_bounded("cumsum", np.cumsum(a.left, axis=-2), per_epoch(lambda v: R.r_cumsum(v, 0), a.right),
                   evaluate("cumsum", a, params=-2), a)
    for axes, axis in (((-2,), 0), ((-1,), 1), ((-2, -1), None)):
        assert_bounded("mean_axes", np.mean(a.left, axis=axes, keepdims=True),
                       per_epoch(lambda v: R.r_mean(v, axis, keepdims=True), a.right),
                       evaluate("mean_axes", a, params=axes), a)
        if a.left.shape[1:][axes[0]] <= ddof and axis is not None:
            continue
        assume(np.prod([a.left.shape[x] for x in axes]) > ddof)
        for op, left_fn, right_fn in (("var", np.var, R.r_var), ("std", np.std, R.r_std)):
            with np.errstate(all="ignore"):
                left = left_fn(a.left, axis=axes, ddof=ddof, keepdims=True)
                right = per_epoch(lambda v: right_fn(v, axis, ddof, keepdims=True), a.right)
                assert_bounded(op, left, right, evaluate(op, a, params=(axes, ddof)), a)


@covers_rule("compare", "logical", "logical_not", "where")
@settings(max_examples=80, deadline=None)
@given(ab=pair(st.one_of(MODERATE, S.ulps_from(1.0, 8))))
def test_rules_for_comparisons_and_where_cover_a_choice_that_may_go_either_way(ab):
    a, b = ab
    for name, fn in bounds.COMPARISONS.items():
        c = evaluate("compare", a, b, params=name)
        assert_bounded("compare", fn(a.left, b.left), fn(a.right, b.right), c, a, b)
        z = evaluate("where", c, a, b)
        assert_bounded("where", np.where(fn(a.left, b.left), a.left, b.left),
                       np.where(fn(a.right, b.right), a.right, b.right), z, a, b)
    one, other = evaluate("compare", a, b, params="greater"), evaluate("compare", b, a, params="less_equal")
    for name, fn in bounds.LOGICAL.items():
        assert_bounded("logical", fn(a.left > b.left, b.left <= a.left), fn(a.right > b.right, b.right <= a.right),
                       evaluate("logical", one, other, params=name), a, b)
    assert_bounded("logical_not", ~(a.left > b.left), ~(a.right > b.right), evaluate("logical_not", one), a, b)


@covers_rule("masked_sum", "masked_mean")
@settings(max_examples=80, deadline=None)
@given(ax=pair(st.one_of(MODERATE, S.ulps_from(1.0, 8))))
def test_rules_for_the_sum_and_mean_of_rows_chosen_by_a_computed_mask_hold(ax):
    a, x = ax
    x = Node.leaf(x.left[:, :, 0] - 1.0, x.right[:, :, 0] - 1.0)
    mask = evaluate("compare", x, Node.leaf(np.zeros(1), np.zeros(1)), params="greater")
    assume(np.all(mask.left.any(axis=1)) and np.all(mask.right.any(axis=1)))
    shape = a.left.shape[1:]
    for op, mean in (("masked_sum", False), ("masked_mean", True)):
        left = np.stack([(v[m].mean if mean else v[m].sum)(axis=0, keepdims=True) for v, m in zip(a.left, mask.left)])
        right = np.stack([(R.r_mean if mean else R.r_sum)(v[m], 0, True) for v, m in zip(a.right, mask.right)])
        assert_bounded(op, left, right, evaluate(op, a, mask, params=shape), a)


@covers_rule("floordiv")
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_rule_floordiv_covers_numpy_floor_divide_against_rs_integer_division(data):
    a = data.draw(operand(st.one_of(MODERATE, arith_elements)))
    b = data.draw(operand(st.one_of(S.floats(0.5, 4.0), signed_nonzero), valid=lambda v: v != 0, shape=same_shape(a)))
    with np.errstate(all="ignore"):
        left = np.floor_divide(a.left, b.left)
    assert_bounded("floordiv", left, R.r_intdiv(a.right, b.right), evaluate("floordiv", a, b), a, b)


def test_each_rule_plain_numpy_brought_has_a_test_here():
    plain = {"floordiv", "gather", "minimum", "amax", "amin", "argmax", "argmin", "sort", "argsort", "cumsum", "mean_axes",
             "var", "std", "where", "compare", "logical", "logical_not", "masked_sum", "masked_mean"}
    assert plain <= bounds.BUILT_IN and plain <= TESTED


def test_a_rule_registered_from_a_twins_folder_is_used_and_a_built_in_one_cannot_be_replaced():
    def sinh_rule(x):
        """z = sinh x: P = cosh(max |x| over the interval) d_x; c = 2 * 4 ulp (the C library's sinh)."""
        lo, hi = bounds._span(x)
        P = np.cosh(np.maximum(np.abs(lo), np.abs(hi))) * x.d
        return bounds.finish(np.sinh(x.left), np.sinh(x.right), P, np.zeros_like(x.m), 8 * bounds.ULP)

    bounds.register_rule("sinh", sinh_rule)
    try:
        a = Node.leaf(np.array([[[0.5, -2.0]]]), np.array([[[0.5 + 2.0 ** -53, -2.0]]]))
        node = bounds.evaluate(("sinh", "x"), lambda token: a)
        assert np.all(node.d > 0) and np.all(np.isfinite(node.d))
        bounds.check_known(((1, "y", ("sinh", "x")),))  # no UnknownOperationError
    finally:
        bounds.unregister_rule("sinh")
    try:
        bounds.register_rule("exp", sinh_rule)
    except ValueError as exc:
        assert "built-in rule" in str(exc)
    else:
        raise AssertionError("a built-in rule was replaced")
    assert bounds.RULES["exp"] is not sinh_rule
