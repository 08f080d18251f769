"""The exact array namespace (python_impl/kernels.py) against R's own primitives, bit for bit:
``%*%`` on the reference BLAS, ``exp``, ``colSums``, ``rowSums`` and ``mean`` (docs/FACTS.md section 6)."""
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from crossverify.python_impl.kernels import LIBM_EXP_VIA_NUMEXPR, get_kernels

EXACT = get_kernels("exact")
elements = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=64)


@st.composite
def matrix_pairs(draw):
    """(A, B) with A m x k and B k x n, 1 <= m, k, n <= 12."""
    m, k, n = (draw(st.integers(1, 12)) for _ in range(3))
    return (draw(hnp.arrays(np.float64, (m, k), elements=elements)),
            draw(hnp.arrays(np.float64, (k, n), elements=elements)))


matrices = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12), elements=elements)


def same_bits(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def test_numexpr_exp_is_libm_exp_on_this_machine():
    assert LIBM_EXP_VIA_NUMEXPR, "numexpr's exp differs from libm's here; the exact kernels fell back to math.exp"


@settings(max_examples=150, deadline=None)
@given(pair=matrix_pairs())
def test_exact_dot_is_r_matrix_product(r_session, pair):
    a, b = pair
    from_r = r_session.from_r(r_session.call("%*%", r_session.to_r(a), r_session.to_r(b)))
    assert same_bits(EXACT.dot(a, b), from_r)


@settings(max_examples=100, deadline=None)
@given(m=matrices)
def test_exact_sums_are_r_colsums_and_rowsums(r_session, m):
    col = r_session.from_r(r_session.call("colSums", r_session.to_r(m)))
    row = r_session.from_r(r_session.call("rowSums", r_session.to_r(m)))
    assert same_bits(EXACT.sum(m, axis=0).ravel(), col)
    assert same_bits(EXACT.sum(m, axis=1).ravel(), row)


@settings(max_examples=100, deadline=None)
@given(m=matrices)
def test_exact_mean_is_r_mean(r_session, m):
    assert same_bits(EXACT.mean(m), r_session.from_r(r_session.call("mean", r_session.to_r(m)))[0])


@settings(max_examples=50, deadline=None)
@given(x=hnp.arrays(np.float64, st.integers(1, 300), elements=st.floats(-745, 709, width=64)))
def test_exact_exp_is_r_exp(r_session, x):
    assert same_bits(EXACT.exp(x), r_session.from_r(r_session.call("exp", r_session.to_r(x))))


def test_float_kernels_are_plain_numpy():
    a = np.arange(12.0).reshape(3, 4) / 7
    f = get_kernels("float")
    assert same_bits(f.dot(a, a.T), np.dot(a, a.T)) and same_bits(f.exp(a), np.exp(a))
    assert same_bits(f.sum(a, axis=0), np.sum(a, axis=0, keepdims=True))


# -- the paths of R's %*% (R's src/main/array.c: matprod) ---------------------------------------------
special = st.one_of(elements, st.sampled_from([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e308, -1e308]))


@st.composite
def matrix_pairs_with_specials(draw):
    """(A, B) holding Inf, NaN, signed zeros and values whose sums overflow; A is sometimes a
    transposed view, the layout numpy's X.T hands the kernels."""
    m, k, n = (draw(st.integers(1, 9)) for _ in range(3))
    a = draw(hnp.arrays(np.float64, (k, m), elements=special)).T if draw(st.booleans()) else \
        draw(hnp.arrays(np.float64, (m, k), elements=special))
    return a, draw(hnp.arrays(np.float64, (k, n), elements=special))


def same_bits_or_both_nan(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all((a.view(np.uint64) == b.view(np.uint64)) | (np.isnan(a) & np.isnan(b))))


@settings(max_examples=100, deadline=None)
@given(pair=matrix_pairs_with_specials())
def test_exact_dot_is_r_default_path_with_nan_and_inf(r_session, pair):
    # an operand with NaN/Inf sends R's default path to its own double loop (simple_matprod), which
    # adds the products in the reference BLAS's order: the same function reproduces both branches
    a, b = pair
    from_r = r_session.from_r(r_session.call("%*%", r_session.to_r(a), r_session.to_r(b)))
    with np.errstate(all="ignore"):
        assert same_bits_or_both_nan(EXACT.dot(a, b), from_r)


@settings(max_examples=100, deadline=None)
@given(pair=st.one_of(matrix_pairs(), matrix_pairs_with_specials()))
def test_internal_matprod_is_r_internal_loop(r_session, pair):
    from crossverify.session.platform import r_products
    from crossverify.python_impl.kernels import internal_matprod

    a, b = pair
    (from_r,) = r_products(r_session, "internal", [(a, b)])
    with np.errstate(all="ignore"):
        assert same_bits_or_both_nan(internal_matprod(a, b), from_r)
