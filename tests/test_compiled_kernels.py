"""The compiled exact kernels (python_impl/_exact.c) give the bits of the pure-numpy reference
(NumpyExactKernels) on the same inputs, and round every product before adding it (no fused
multiply-add: docs/FACTS.md section 9). No R here: test_kernels.py holds both against R."""
import math

import numpy as np
import pytest
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


# every loop of the compiled double product, on moons's own products and their neighbours: short output
# lines in registers (packed, or a transposed view read as it lies), long lines summed in z's rows
MOONS_AND_NEIGHBOURS = [(10, 2, 1000), (1, 10, 1000), (10, 1000, 1), (10, 1, 1000), (2, 1000, 10),
                        (3, 7, 16), (4, 9, 17), (5, 13, 3), (16, 6, 2), (17, 5, 4), (1, 1, 1), (2, 0, 3)]


def test_compiled_products_are_the_numpy_reference_in_every_layout():
    rng = np.random.default_rng(20170529)
    specials = np.array([np.nan, np.inf, -np.inf, -0.0])
    for case, (m, k, n) in enumerate(MOONS_AND_NEIGHBOURS):
        a = rng.standard_normal((m, k)) * 2.0 ** rng.integers(-40, 40, (m, k))
        b = rng.standard_normal((k, n)) * 2.0 ** rng.integers(-40, 40, (k, n))
        if case % 3 == 2 and a.size:
            a.flat[rng.integers(a.size)] = specials[case % 4]
        for x in (a, np.asfortranarray(a)):
            for y in (b, np.asfortranarray(b)):
                with np.errstate(all="ignore"):
                    assert same_bits_or_both_nan(COMPILED.dot(x, y), REFERENCE.dot(x, y)), (m, k, n)


def test_every_compiled_product_loop_rounds_each_product_before_adding_it():
    # (1 + 2^-30)(1 - 2^-30) - 1 is 0 with two roundings, -2^-60 fused: short lines packed or read as a
    # transposed view (column-major b), and a long line summed in place
    up, down = 1 + 2.0 ** -30, 1 - 2.0 ** -30
    a = np.array([[-1.0, up]] * 3)
    for cols in (3, 16, 40):
        b = np.array([[1.0] * cols, [down] * cols])
        for y in (b, np.asfortranarray(b)):
            assert not np.any(COMPILED.dot(a, y)) and not np.any(COMPILED.dot(np.asfortranarray(a), y))


def test_vector_exp_is_the_c_library_exp_bit_for_bit():
    if not kernels.VECTOR_EXP:
        pytest.skip("no vector exp here: this CPU or C library keeps exp() per element")
    rng = np.random.default_rng(7)
    edges = np.array([2.0 ** -54, 512.0, 708.0, 709.78, 745.1, 1e-300, 0.0])
    x = np.concatenate([rng.uniform(-746.0, 710.0, 400_000), rng.uniform(-2.0, 2.0, 200_000),
                        rng.standard_normal(100_000) * 10.0 ** rng.integers(-25, 3, 100_000),
                        np.concatenate([edges, -edges, np.nextafter(edges, 0), -np.nextafter(edges, 0),
                                        np.nextafter(edges, np.inf), -np.nextafter(edges, np.inf)]),
                        rng.integers(0, 2 ** 64, 100_000, dtype=np.uint64).view(np.float64),
                        np.array([np.inf, -np.inf, np.nan])])
    expected = _exp_or_overflow(x)
    for wide in (False, True):  # four lanes, and eight where the CPU has AVX-512F (the default there)
        previous = kernels.COMPILED.set_vector_exp_wide(wide)
        try:
            got = COMPILED.exp(x)
        finally:
            kernels.COMPILED.set_vector_exp_wide(previous)
        assert same_bits_or_both_nan(got, expected)
    # a column-major matrix, and an odd length (the lanes left after the last full vector)
    assert same_bits_or_both_nan(COMPILED.exp(np.asfortranarray(x[:600].reshape(20, 30))),
                                 expected[:600].reshape(20, 30))
    assert same_bits_or_both_nan(COMPILED.exp(x[:600_001].reshape(-1, 1)), expected[:600_001].reshape(-1, 1))


def _exp_or_overflow(x):
    """The C library's exp, one element at a time (Python's math.exp calls it), +Inf where math.exp
    raises OverflowError (the C library returns +Inf there)."""
    def one(v):
        try:
            return math.exp(v)
        except OverflowError:
            return math.inf
    with np.errstate(invalid="ignore", over="ignore"):  # NaN in, NaN out; +Inf where exp overflows
        return np.frompyfunc(one, 1, 1)(x).astype(np.float64)


def test_vector_exp_switches_off_and_on_and_gives_the_same_bits():
    if not kernels.VECTOR_EXP:
        pytest.skip("no vector exp here")
    x = np.random.default_rng(3).uniform(-30.0, 30.0, 10_001)
    vector, scalar = np.empty_like(x), np.empty_like(x)
    kernels.COMPILED.exp(x, vector)
    assert kernels.COMPILED.set_vector_exp(False) is True
    try:
        kernels.COMPILED.exp(x, scalar)
    finally:
        assert kernels.COMPILED.set_vector_exp(True) is False
    assert same_bits_or_both_nan(vector, scalar)


def test_the_vector_exps_table_is_2_to_the_i_over_128_as_a_head_and_a_relative_tail():
    from decimal import Decimal, localcontext
    from crossverify.python_impl.kernels import exp_table
    words = exp_table()
    assert words.shape == (256,) and words.dtype == np.uint64
    with localcontext() as ctx:
        ctx.prec = 60
        for i in range(128):
            exact = (Decimal(2).ln() * i / 128).exp()
            head = (words[2 * i + 1] + np.uint64(i << 45)).view(np.float64)
            tail = words[2 * i].view(np.float64)
            # H = RN(2^(i/128)): within half an ulp; H (1 + T) = 2^(i/128) to far below an ulp of H
            assert abs(Decimal(float(head)) - exact) <= Decimal(float(np.spacing(head))) / 2, i
            assert abs(Decimal(float(head)) * (1 + Decimal(float(tail))) - exact) < Decimal(2) ** -100, i
