"""The compiled exact kernels (python_impl/_exact.c) give the bits of the pure-numpy reference
(NumpyExactKernels) on the same inputs, and round every product before adding it (no fused
multiply-add: docs/FACTS.md section 9). No R here: test_kernels.py holds both against R."""
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from crossverify.python_impl import kernels
from crossverify.python_impl.kernels import ExactKernels, NumpyExactKernels

COMPILED, REFERENCE = ExactKernels(), NumpyExactKernels()
# wide magnitudes so that the order and width of every sum shows in its bits; specials included
finite = st.floats(allow_nan=False, allow_infinity=False, width=64).filter(lambda v: abs(v) < 1e300)
scaled = st.builds(lambda m, e: m * 2.0 ** e, st.floats(-1, 1, width=64), st.integers(-60, 60))
anything = st.one_of(scaled, scaled, scaled, finite, st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan]))


def same_bits_or_both_nan(a, b):
    """Bit for bit, except that two NaNs match whatever their payload (C and numpy may order the
    operands of a commutative operation differently; IEEE 754 leaves the payload to that order)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    return a.shape == b.shape and bool(np.all(both_nan | (a.view(np.uint64) == b.view(np.uint64))))


@st.composite
def products(draw):
    """(A, B) with A m x k and B k x n, sometimes as transposed views (any strides reach the C loops)."""
    m, k, n = draw(st.integers(1, 24)), draw(st.integers(0, 40)), draw(st.integers(1, 24))
    a = draw(hnp.arrays(np.float64, (k, m) if draw(st.booleans()) else (m, k), elements=anything))
    b = draw(hnp.arrays(np.float64, (n, k) if draw(st.booleans()) else (k, n), elements=anything))
    return (a.T if a.shape != (m, k) or (m == k and draw(st.booleans())) else a,
            b.T if b.shape != (k, n) else b)


def test_the_extension_is_built_and_used_here():
    assert kernels.COMPILED is not None and ExactKernels.compiled is kernels.COMPILED
    assert NumpyExactKernels.compiled is None and kernels.get_kernels("exact").compiled is kernels.COMPILED


@settings(max_examples=80, deadline=None)
@given(pair=products())
def test_compiled_products_are_the_numpy_reference_on_every_path(pair):
    with np.errstate(all="ignore"):
        check_products(*pair)


def check_products(a, b):
    assert same_bits_or_both_nan(COMPILED.dot(a, b), REFERENCE.dot(a, b))
    assert same_bits_or_both_nan(kernels.internal_matprod(a, b), kernels.numpy_internal_matprod(a, b))
    assert same_bits_or_both_nan(kernels.internal_matprod(a, b, np.float64),
                                 kernels.numpy_internal_matprod(a, b, np.float64))
    assert same_bits_or_both_nan(COMPILED.crossprod(a.T), REFERENCE.crossprod(a.T))


@settings(max_examples=80, deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=30), elements=anything))
def test_compiled_sums_mean_and_exp_are_the_numpy_reference(x):
    with np.errstate(all="ignore"):  # Inf - Inf and overflow are the inputs' point here
        check_sums_mean_and_exp(x)


def check_sums_mean_and_exp(x):
    assert same_bits_or_both_nan(COMPILED.sum(x), REFERENCE.sum(x))
    for axis in range(-x.ndim, x.ndim):
        assert same_bits_or_both_nan(COMPILED.sum(x, axis=axis), REFERENCE.sum(x, axis=axis))
    if x.size:
        assert same_bits_or_both_nan(COMPILED.mean(x), REFERENCE.mean(x))
    assert same_bits_or_both_nan(COMPILED.exp(x), REFERENCE.exp(x))


def test_a_sum_of_negative_zeros_is_positive_zero_as_in_r():
    for kern in (COMPILED, REFERENCE):
        assert np.signbit(kern.sum(np.full((3, 2), -0.0))).sum() == 0


def test_compiled_code_rounds_each_product_before_adding_it():
    # (1 + 2^-30)(1 - 2^-30) = 1 - 2^-60 rounds to 1; minus 1 that is 0, but -2^-60 when fused
    up, down = 1 + 2.0 ** -30, 1 - 2.0 ** -30
    assert kernels.COMPILED.mul_add(up, down, -1.0) == 0.0
    # every loop, vectorised or not: 16 output columns per row, and a long column of outputs
    a = np.array([[-1.0, up]] * 3)
    b = np.array([[1.0] * 16, [down] * 16])
    for path in ("reference", "internal"):
        with kernels.matprod_path_as(path):
            assert not np.any(COMPILED.dot(a, b)) and not np.any(COMPILED.dot(b.T, a.T))


@settings(max_examples=80, deadline=None)
@given(x=hnp.arrays(np.float64, st.integers(1, 9), elements=st.one_of(anything, st.just(np.finfo(float).max))))
def test_compiled_r_nan_test_is_the_numpy_one(x):
    from crossverify.python_impl import rblas
    compiled = rblas._compiled_test(x)
    try:
        rblas._compiled_test = None
        with np.errstate(all="ignore"):
            assert rblas.RBlas.may_have_nan_or_inf(None, x) == compiled
    finally:
        rblas._compiled_test = kernels.COMPILED.may_have_nan_or_inf


@settings(max_examples=60, deadline=None)
@given(arrays=st.integers(2, 40).flatmap(lambda n: st.tuples(*[hnp.arrays(np.float64, n, elements=anything)] * 4)),
       c=st.sampled_from([2.0 ** -52, 1e-10, 0.0]))
def test_compiled_bound_passes_are_the_numpy_ones(arrays, c):
    from crossverify.check import bounds
    left, right, P, S = arrays
    with np.errstate(all="ignore"):
        compiled = bounds.Node.leaf(left, right), bounds._finish(left, right, np.abs(P), np.abs(S), c)
        saved = bounds._leaf_compiled, bounds._finish_compiled
        bounds._leaf_compiled = bounds._finish_compiled = None
        try:
            plain = bounds.Node.leaf(left, right), bounds._finish(left, right, np.abs(P), np.abs(S), c)
        finally:
            bounds._leaf_compiled, bounds._finish_compiled = saved
    for ours, theirs in zip(compiled, plain):
        for field in ("d", "m", "P", "S"):
            assert same_bits_or_both_nan(getattr(ours, field), getattr(theirs, field)), field
