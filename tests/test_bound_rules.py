"""Every bound rule of bridge/check/bounds.py (RULES) holds on adversarial inputs.

For a rule z = op(a, ...), each test builds the operation's two sides as the engine meets them:
the left side evaluates op with the float kernels (plain numpy: OpenBLAS, SIMD functions, pairwise
sums) on the left operands; the right side evaluates it with the exact kernels (R's arithmetic:
reference-BLAS order, the C library's functions, long-double sums) on right operands that differ
from the left ones by nothing, a few ulps, a relative or an absolute perturbation. The rule, given
the operand nodes (their values, d = |left - right|, m = the larger magnitude), must bound the
difference of the two results at every element: |z_left - z_right| <= node.d. Values are stacked
over "epochs" on the first axis, as the engine stacks them.

Equal results (infinities included) count as 0 apart; a NaN on one side only is a failure.
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from crossverify.check import bounds
from crossverify.check.bounds import Node
from crossverify.python_impl.kernels import get_kernels
from tests import strategies as S

FLOAT, EXACT = get_kernels("float"), get_kernels("exact")
TESTED = set()


def covers_rule(*names):
    """Mark a test as the one for these rules (checked: every rule of RULES has one)."""
    TESTED.update(names)
    return lambda fn: fn


# -- the two sides -----------------------------------------------------------------------------------

def per_epoch(fn, *arrays):
    """fn applied to each epoch's matrices, stacked again."""
    return np.stack([np.asarray(fn(*parts), dtype=np.float64) for parts in zip(*arrays)])


def violations(z_left, z_right, node):
    """Elements where |z_left - z_right| > node.d (equal values are 0 apart)."""
    z_left, z_right = np.broadcast_arrays(np.asarray(z_left, dtype=np.float64), np.asarray(z_right, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        diff = np.where(z_left == z_right, 0.0, np.abs(z_left - z_right))
        return ~(diff <= np.broadcast_to(node.d, diff.shape))


def assert_bounded(rule_name, z_left, z_right, node, *operands):
    bad = violations(z_left, z_right, node)
    if bad.any():
        i = tuple(int(k) for k in np.argwhere(bad)[0])
        shown = ", ".join(f"({float(np.broadcast_to(o.left, bad.shape)[i]).hex()}, "
                          f"{float(np.broadcast_to(o.right, bad.shape)[i]).hex()})" for o in operands)
        raise AssertionError(
            f"rule {rule_name!r} fails at {list(i)}: operands (left, right) {shown}; z_left "
            f"{float(np.asarray(z_left)[i]).hex()}, z_right {float(np.broadcast_to(z_right, bad.shape)[i]).hex()}, "
            f"difference {abs(float(np.asarray(z_left)[i]) - float(np.broadcast_to(z_right, bad.shape)[i])):.6g} "
            f"> bound {float(np.broadcast_to(node.d, bad.shape)[i]):.6g} ({int(bad.sum())} elements)")


# -- operands ----------------------------------------------------------------------------------------

def stacks(elements, max_side=5, shape=None):
    """(epochs, rows, columns) arrays, 1-3 epochs."""
    if shape is None:
        shape = st.tuples(st.integers(1, 3), st.integers(1, max_side), st.integers(1, max_side))
    return hnp.arrays(np.float64, shape, elements=elements)


def move_ulps(x, k):
    """x moved k units in the last place (toward +inf for k > 0), elementwise."""
    out = x.copy()
    for _ in range(int(np.max(np.abs(k), initial=0))):
        step = k != 0
        out = np.where(step, np.nextafter(out, np.where(k > 0, np.inf, -np.inf)), out)
        k = k - np.sign(k)
    return out


@st.composite
def perturbed(draw, left, valid=None):
    """The right side's operand: left itself, left moved a few ulps, or perturbed relatively or
    absolutely; where the result leaves the operation's domain (``valid``), left itself."""
    kind = draw(st.sampled_from(["same", "ulps", "relative", "absolute"]))
    if kind == "same":
        right = left.copy()
    elif kind == "ulps":
        right = move_ulps(left, draw(hnp.arrays(np.int64, left.shape, elements=st.integers(-6, 6))))
    else:
        r = draw(hnp.arrays(np.float64, left.shape, elements=S.floats(-1.0, 1.0)))
        if kind == "relative":
            right = left * (1 + draw(st.sampled_from([2.0 ** -50, 1e-12, 1e-6, 1e-2])) * r)
        else:
            right = left + draw(st.sampled_from([2.0 ** -1070, 1e-300, 1e-20, 1e-8, 1e-3])) * r
    right = np.where(np.isfinite(right), right, left)
    if valid is not None:
        right = np.where(valid(right), right, left)
    return right


@st.composite
def operand(draw, elements, valid=None, shape=None, max_side=5):
    """A leaf node (left, right) for one operand."""
    left = draw(stacks(elements, max_side, shape))
    return Node.leaf(left, draw(perturbed(left, valid)))


def same_shape(node):
    return st.just(node.left.shape)


# -- exact rearrangements -----------------------------------------------------------------------------

@covers_rule("T", "neg", "abs", "reshape", "layout")
@settings(max_examples=60, deadline=None)
@given(a=operand(S.wide))
def test_rules_for_rearrangements_carry_the_difference_unchanged(a):
    cases = {
        "T": ((), lambda v: np.swapaxes(v, -1, -2)),
        "neg": ((), np.negative),
        "abs": ((), np.abs),
        "reshape": (((a.left.shape[1] * a.left.shape[2], 1),), lambda v: v.reshape(v.shape[0], -1, 1)),
        "layout": ((("ravel", np.ravel),), lambda v: np.stack([np.ravel(x) for x in v])),
    }
    for name, (params, fn) in cases.items():
        node = bounds.RULES[name](a, *params)
        assert_bounded(name, fn(a.left), fn(a.right), node, a)


@covers_rule("scale")
@settings(max_examples=100, deadline=None)
@given(a=operand(st.one_of(S.wide, S.subnormals, S.ulps_from(1.7e308))), k=st.integers(-4, 4),
       negative=st.booleans())
def test_rule_scale_holds_through_subnormal_results_and_overflow(a, k, negative):
    """z = a * 2^k: exact, unless the result is subnormal (rounded) or overflows."""
    factor = (-1.0 if negative else 1.0) * 2.0 ** k
    with np.errstate(over="ignore"):
        assert_bounded("scale", a.left * factor, a.right * factor, bounds.RULES["scale"](a, factor), a)


@covers_rule("maximum")
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_rule_maximum_holds_numpy_maximum_against_r_pmax(data):
    a = data.draw(operand(st.one_of(S.wide, S.subnormals, st.just(0.0), st.just(-0.0))))
    b = data.draw(operand(st.one_of(S.wide, S.subnormals, st.just(0.0), st.just(-0.0)), shape=same_shape(a)))
    assert_bounded("maximum", FLOAT.maximum(a.left, b.left), EXACT.maximum(a.right, b.right),
                   bounds.RULES["maximum"](a, b), a, b)


# -- correctly rounded arithmetic -----------------------------------------------------------------------

arith_elements = st.one_of(S.floats(-1e6, 1e6), S.wide, S.subnormals,
                           st.tuples(S.floats(-1.0, 1.0), st.integers(-60, 60)).map(lambda p: p[0] * 2.0 ** p[1]))


@covers_rule("add", "sub", "mul", "square")
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_rules_add_sub_mul_square_hold_under_perturbation_overflow_and_underflow(data):
    a = data.draw(operand(arith_elements))
    b = data.draw(operand(arith_elements, shape=same_shape(a)))
    with np.errstate(over="ignore", invalid="ignore"):
        for name, fn, args in (("add", np.add, (a, b)), ("sub", np.subtract, (a, b)), ("mul", np.multiply, (a, b))):
            assert_bounded(name, fn(a.left, b.left), fn(a.right, b.right), bounds.RULES[name](*args), a, b)
        assert_bounded("square", FLOAT.power(a.left, 2), EXACT.power(a.right, 2), bounds.RULES["square"](a), a)


nonzero = st.one_of(S.floats(1e-300, 1e300), S.floats(0.5, 2.0), S.ulps_from(2.0 ** -1022)).map(float)
signed_nonzero = st.tuples(nonzero, st.booleans()).map(lambda p: -p[0] if p[1] else p[0])


@covers_rule("div")
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_rule_div_holds_for_divisors_near_underflow_and_results_near_overflow(data):
    a = data.draw(operand(arith_elements))
    b = data.draw(operand(signed_nonzero, valid=lambda v: v != 0, shape=same_shape(a)))
    with np.errstate(over="ignore", under="ignore"):
        assert_bounded("div", a.left / b.left, a.right / b.right, bounds.RULES["div"](a, b), a, b)


@covers_rule("sqrt")
@settings(max_examples=120, deadline=None)
@given(a=operand(S.ELEMENTS["sqrt"], valid=lambda v: v >= 0))
def test_rule_sqrt_holds_down_to_zero_and_subnormals(a):
    assert_bounded("sqrt", FLOAT.sqrt(a.left), EXACT.sqrt(a.right), bounds.RULES["sqrt"](a), a)


# -- sums and products ---------------------------------------------------------------------------------

dot_elements = st.one_of(S.crossprod_elements, st.tuples(S.floats(-1.0, 1.0), st.integers(-540, -500))
                         .map(lambda p: p[0] * 2.0 ** p[1]))  # products of these underflow


@st.composite
def dot_operands(draw):
    e, m, k, n = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 24)), draw(st.integers(1, 6))
    a = draw(operand(dot_elements, shape=st.just((e, m, k))))
    b = draw(operand(dot_elements, shape=st.just((e, k, n))))
    return a, b


@covers_rule("dot")
@settings(max_examples=100, deadline=None)
@given(operands=dot_operands())
def test_rule_dot_holds_openblas_against_the_reference_order_with_cancellation_and_underflow(operands):
    a, b = operands
    left = per_epoch(FLOAT.dot, a.left, b.left)
    right = per_epoch(EXACT.dot, a.right, b.right)
    assert_bounded("dot", left, right, bounds.RULES["dot"](a, b), a, b)


def r_sum_all(x):
    """R's sum(x) of a matrix: long double, in storage (column) order, rounded once."""
    return np.add.accumulate(np.asarray(x, dtype=np.float64).ravel(order="F").astype(np.longdouble))[-1]


@covers_rule("sum")
@settings(max_examples=120, deadline=None)
@given(a=operand(dot_elements, max_side=12), axis=st.sampled_from([-1, -2, None]))
def test_rule_sum_holds_pairwise_against_long_double_sums(a, axis):
    if axis is None:
        left = per_epoch(lambda v: np.sum(v, keepdims=True), a.left)
        right = per_epoch(lambda v: np.full((1, 1), np.float64(r_sum_all(v))), a.right)
    else:
        left = per_epoch(lambda v: FLOAT.sum(v, axis=axis + 2), a.left)
        right = per_epoch(lambda v: EXACT.sum(v, axis=axis + 2), a.right)
    assert_bounded("sum", left, right, bounds.RULES["sum"](a, axis), a)


@covers_rule("mean")
@settings(max_examples=120, deadline=None)
@given(a=operand(dot_elements, max_side=12))
def test_rule_mean_holds_numpy_mean_against_r_mean(a):
    left = per_epoch(lambda v: np.reshape(FLOAT.mean(v), (1, 1)), a.left)
    right = per_epoch(lambda v: np.reshape(EXACT.mean(v), (1, 1)), a.right)
    assert_bounded("mean", left, right, bounds.RULES["mean"](a), a)


# -- elementary functions ---------------------------------------------------------------------------------

FUNCTION_DOMAINS = {
    "exp": None,
    "tanh": None,
    "log": lambda v: v > 0,
    "log1p": lambda v: v > -1,
    "expm1": None,
}


@pytest.mark.parametrize("name", sorted(FUNCTION_DOMAINS))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_rules_of_elementary_functions_hold_numpy_simd_against_the_c_library(name, data):
    a = data.draw(operand(S.ELEMENTS[name], valid=FUNCTION_DOMAINS[name]))
    with np.errstate(over="ignore", under="ignore"):
        left, right = getattr(FLOAT, name)(a.left), getattr(EXACT, name)(a.right)
        assert_bounded(name, left, right, bounds.RULES[name](a), a)


covers_rule(*FUNCTION_DOMAINS)


@covers_rule("pow")
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_rule_pow_holds_numpy_power_against_r_caret(data):
    """z = a^p with the same p on both sides: negative bases with integer exponents, bases near 0
    with negative exponents, results that overflow or underflow."""
    p = data.draw(S.pow_exponents.filter(lambda v: abs(v) <= 300))
    base = S.pow_bases if p == np.floor(p) else st.one_of(S.floats(0.0, 1e6), S.positive_wide, S.ulps_from(1.0))
    a = data.draw(operand(base, valid=(lambda v: v >= 0) if p != np.floor(p) else None))
    exponent = Node.leaf(np.full_like(a.left, p), np.full_like(a.left, p))
    with np.errstate(all="ignore"):
        left, right = FLOAT.power(a.left, p), EXACT.power(a.right, p)
        assume(not np.any(np.isnan(left) | np.isnan(right)))  # 0 ^ negative odd integers: -Inf vs R's +Inf
        assert_bounded("pow", left, right, bounds.RULES["pow"](a, exponent), a)


def test_rule_pow_gives_no_bound_where_the_exponents_differ():
    a = Node.leaf(np.full((1, 1, 1), 2.0), np.full((1, 1, 1), 2.0))
    p = Node.leaf(np.full((1, 1, 1), 3.0), np.full((1, 1, 1), 3.0 + 2.0 ** -51))
    assert np.isinf(bounds.RULES["pow"](a, p).d).all()


# -- composite patterns ---------------------------------------------------------------------------------

sigmoid_elements = st.one_of(S.floats(-40.0, 40.0), S.wide, S.subnormals, S.ulps_from(S.LOG_DBL_MAX),
                             S.ulps_from(S.LOG_DBL_MAX).map(lambda v: -v), S.floats(-750.0, -700.0))


@covers_rule("sigmoid")
@settings(max_examples=120, deadline=None)
@given(a=operand(sigmoid_elements))
def test_rule_sigmoid_holds_numpy_exp_against_libm_exp_to_saturation(a):
    with np.errstate(over="ignore"):
        left = 1 / (1 + FLOAT.exp(-a.left))
        right = 1 / (1 + EXACT.exp(-a.right))
    assert_bounded("sigmoid", left, right, bounds.RULES["sigmoid"](a), a)


@covers_rule("slope")
@settings(max_examples=100, deadline=None)
@given(a=operand(st.one_of(S.floats(0.0, 1.0), S.floats(-1e3, 1e3), S.ulps_from(1.0), S.ulps_from(0.5),
                           S.subnormals)))
def test_rule_slope_holds_for_sigmoid_outputs_and_beyond(a):
    assert_bounded("slope", a.left * (1 - a.left), a.right * (1 - a.right), bounds.RULES["slope"](a), a)


def test_every_rule_of_the_registry_has_a_test_here():
    from tests.test_plain_numpy_bounds import TESTED as PLAIN  # the rules plain numpy brought
    tested = TESTED | PLAIN
    assert bounds.BUILT_IN <= tested, f"rules without a test: {sorted(bounds.BUILT_IN - tested)}"


def test_rule_dot_covers_products_rounded_in_the_subnormal_range():
    """Products of 2^-537 by 2^-537 (1 unit of the smallest subnormal) and by 2^-538 (a tie at 1/2
    unit), in runs of 32: the reference order rounds every half to 0 (ties to even); numpy's dot
    (fused multiply-adds in 32 accumulators) adds each half to an odd running sum and rounds it up.
    64 terms put them 32 units apart, which no relative bound (gamma_k |A||B|) sees."""
    k = 64
    a = np.full((1, 1, k), 2.0 ** -537)
    b = np.where((np.arange(k) // 32) % 2 == 0, 2.0 ** -537, 2.0 ** -538).reshape(1, k, 1)
    node = bounds.RULES["dot"](Node.leaf(a, a), Node.leaf(b, b))
    assert_bounded("dot", per_epoch(FLOAT.dot, a, b), per_epoch(EXACT.dot, a, b), node, Node.leaf(a, a))


def test_tracing_records_crossprod_as_a_dot_of_a_transpose_and_powers_by_exponent():
    from crossverify.twins.tracing import Expr, TracingKernels, Traced, to_tuple
    xp = TracingKernels()
    a = Traced(np.ones((3, 2)), Expr("leaf", params="a"))
    b = Traced(np.ones((3, 4)), Expr("leaf", params="b"))
    assert to_tuple(xp.crossprod(a, b).expr, {}) == ("dot", ("T", "a"), "b")
    assert to_tuple(xp.crossprod(a).expr, {}) == ("dot", ("T", "a"), "a")
    assert to_tuple(xp.power(a, 2).expr, {}) == ("square", "a")
    assert to_tuple(xp.power(a, 3.5).expr, {}) == ("pow", "a", ("const", 3.5))
    assert bounds.operations(("pow", "a", ("const", 3.5))) <= set(bounds.RULES)
