"""Hypothesis strategies for finite float64 matrices, with the values where implementations of an
elementary function part: subnormals, the edges of exp's range, arguments near 0 and 1 for log,
near -1 for log1p, large |x| for tanh (where it rounds to +-1), bases and exponents that make pow
overflow or underflow, ties and signed zeros for pmax, and products that cancel for crossprod."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

SMALLEST_NORMAL = 2.0 ** -1022
LOG_DBL_MAX = 709.782712893384  # exp overflows above log(DBL_MAX)
EXP_UNDERFLOW = -745.1332191019411  # exp rounds to 0 below log(2^-1075)


def floats(lo, hi, **kw):
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False, width=64, **kw)


def ulps_from(point, within=4096):
    """Doubles at most ``within`` units in the last place from a positive ``point``: consecutive
    positive doubles have consecutive bit patterns."""
    base = int(np.float64(point).view(np.int64))
    return st.integers(-within, within).map(lambda k: float(np.int64(base + k).view(np.float64)))


def signed(strategy):
    return st.tuples(strategy, st.booleans()).map(lambda p: -p[0] if p[1] else p[0])


subnormals = floats(-SMALLEST_NORMAL, SMALLEST_NORMAL)
wide = floats(-1e308, 1e308)
positive_wide = floats(0.0, 1e308, exclude_min=True)

ELEMENTS = {
    # tanh: glibc switches formula at 2^-28, 1 and 22; it is +-1 in double from about 19.06
    "tanh": st.one_of(floats(-30.0, 30.0), floats(-1e-8, 1e-8), subnormals, wide,
                      signed(st.one_of(ulps_from(2.0 ** -28), ulps_from(0.5493), ulps_from(1.0),
                                       ulps_from(19.06), ulps_from(22.0)))),
    # exp: overflow past log(DBL_MAX), subnormal results below -708.4, 0 below -745.13
    "exp": st.one_of(floats(EXP_UNDERFLOW - 1.0, LOG_DBL_MAX), ulps_from(LOG_DBL_MAX),
                     ulps_from(708.39).map(lambda v: -v), ulps_from(-EXP_UNDERFLOW).map(lambda v: -v),
                     floats(-1e-8, 1e-8)),
    # log: near 0 (subnormals), on both sides of 1, across the whole range
    "log": st.one_of(positive_wide, floats(0.0, SMALLEST_NORMAL, exclude_min=True), ulps_from(1.0, 1 << 20),
                     floats(0.5, 2.0), ulps_from(SMALLEST_NORMAL)),
    # log1p: just above -1, around 0, large
    "log1p": st.one_of(floats(-1.0, 1e308, exclude_min=True), floats(-1e-8, 1e-8), subnormals,
                       ulps_from(1.0, 1 << 20).filter(lambda v: v > 1.0).map(lambda v: v - 2.0), floats(-1.0, 1.0, exclude_min=True)),
    # expm1: around 0, near overflow, towards -1
    "expm1": st.one_of(floats(-800.0, LOG_DBL_MAX), floats(-1e-5, 1e-5), subnormals, ulps_from(LOG_DBL_MAX),
                       floats(-40.0, -30.0)),
    "sqrt": st.one_of(floats(0.0, 1e308), floats(0.0, SMALLEST_NORMAL), ulps_from(1.0), ulps_from(4.0)),
    "abs": st.one_of(wide, subnormals, st.just(-0.0)),
}

# pow: positive bases over the range and near 1, negative bases with integer exponents, exponents
# near the values numpy or R special-case (2, 0.5, -1) and large enough to overflow or underflow
pow_bases = st.one_of(floats(0.0, 1e6), positive_wide, ulps_from(1.0, 1 << 16), subnormals,
                      floats(-1e3, 0.0), st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, 10.0]))
pow_exponents = st.one_of(floats(-50.0, 50.0), st.integers(-1100, 1100).map(float),
                          st.sampled_from([2.0, 0.5, -1.0, 3.0, -2.0, 0.0, 1.0, 1.5]), floats(-1e3, 1e3))


def matrices(elements, max_side=8):
    """Finite float64 matrices of 1 to ``max_side`` rows and columns."""
    shape = st.tuples(st.integers(1, max_side), st.integers(1, max_side))
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def matrix_pairs_same_shape(draw, elements=wide, max_side=8):
    """(a, b) of one shape; some entries of b copy a's or its negation (ties, signed zeros)."""
    a = draw(matrices(elements, max_side))
    b = draw(hnp.arrays(np.float64, a.shape, elements=elements))
    copy = draw(hnp.arrays(np.bool_, a.shape))
    zeros = draw(hnp.arrays(np.bool_, a.shape))
    b = np.where(copy, a, b)
    a = np.where(zeros & copy, -0.0, a)
    b = np.where(zeros & copy, 0.0, b)
    return a, b


@st.composite
def pow_operands(draw, max_side=6):
    """(base matrix, exponent): an exponent matrix of the same shape, or one exponent for all."""
    base = draw(matrices(pow_bases, max_side))
    if draw(st.booleans()):
        return base, draw(pow_exponents)
    return base, draw(hnp.arrays(np.float64, base.shape, elements=pow_exponents))


# crossprod: magnitudes spread over 2^-40..2^40 with both signs, so the order of the sums matters
crossprod_elements = st.one_of(
    st.tuples(floats(-1.0, 1.0), st.integers(-40, 40)).map(lambda p: p[0] * 2.0 ** p[1]),
    st.just(0.0), st.just(-0.0), subnormals)


@st.composite
def crossprod_operands(draw, max_side=10):
    """(A, B) with the same number of rows k: A k x m, B k x n, or B None (crossprod(A))."""
    k, m, n = (draw(st.integers(1, max_side)) for _ in range(3))
    a = draw(hnp.arrays(np.float64, (k, m), elements=crossprod_elements))
    if draw(st.integers(0, 4)) == 0:
        return a, None
    return a, draw(hnp.arrays(np.float64, (k, n), elements=crossprod_elements))


# -- scenarios of any twin ---------------------------------------------------------------------------

def _sizes_of(twin):
    """The named sizes a twin's declared shapes use (n, f, h, ...), in first-seen order."""
    names = []
    for dims in list(twin.data.values()) + list(twin.init.values()):
        names += [d for d in dims if isinstance(d, str) and d not in names]
    return names


@st.composite
def twin_scenarios(draw, twin, max_size=4, max_epochs=4):
    """A scenario of ``twin`` built from its declaration alone: every named size from 1 to
    ``max_size``, data and starting state uniform in [-2, 2], a learning rate in [0.01, 1] for each
    hyper-parameter, a few epochs."""
    from crossverify.twins.scenarios import Scenario
    sizes = {name: draw(st.integers(1, max_size)) for name in _sizes_of(twin)}

    def matrix(dims):
        shape = tuple(sizes[d] if isinstance(d, str) else d for d in dims)
        return draw(hnp.arrays(np.float64, shape, elements=floats(-2.0, 2.0)))

    data = {k: matrix(v) for k, v in twin.data.items()}
    init = {k: matrix(v) for k, v in twin.init.items()}
    hyper = {h: draw(floats(0.01, 1.0)) for h in twin.hyper}
    return Scenario("drawn", twin.name, "(drawn by hypothesis)", hyper.get("lr"), draw(st.integers(1, max_epochs)),
                    data, init, manifest={}, hyper=hyper, twin=twin)
