"""ULP distance (bridge/check/ulp.py): the count of representable doubles between two values,
checked against nextafter, against an oracle in Python integers, and along monotone chains."""
import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crossverify.check.ulp import NAN_DISTANCE, describe_pair, ulp_distance

doubles = st.floats(allow_nan=False, allow_infinity=True, width=64)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
non_negative = st.floats(min_value=0.0, allow_nan=False, allow_infinity=True, width=64)


def oracle(a, b):
    """The distance from the definition, in Python integers: the position of each double in the
    ordered list of all doubles (both zeros at position 0)."""

    def position(x):
        bits = struct.unpack("<q", struct.pack("<d", x))[0]
        return -(bits & (2 ** 63 - 1)) if bits < 0 else bits

    return abs(position(a) - position(b))


@settings(max_examples=300, deadline=None)
@given(finite, st.sampled_from([np.inf, -np.inf]))
def test_a_double_is_one_ulp_from_its_neighbour_in_either_direction(x, towards):
    with np.errstate(over="ignore"):  # the largest double's neighbour is infinity, one ULP on
        neighbour = np.nextafter(x, towards)
    assert ulp_distance(x, neighbour) == 1


@settings(max_examples=300, deadline=None)
@given(doubles, doubles)
def test_the_distance_is_symmetric_and_matches_counting_in_python_integers(a, b):
    assert ulp_distance(a, b) == ulp_distance(b, a) == oracle(a, b)


@settings(max_examples=300, deadline=None)
@given(st.lists(doubles, min_size=3, max_size=6))
def test_distances_add_up_along_a_monotone_chain(values):
    chain = sorted(values)
    steps = [int(ulp_distance(x, y)) for x, y in zip(chain, chain[1:])]
    assert int(ulp_distance(chain[0], chain[-1])) == sum(steps)


@settings(max_examples=300, deadline=None)
@given(non_negative, non_negative)
def test_a_sign_change_counts_through_zero(a, b):
    assert int(ulp_distance(-a, b)) == int(ulp_distance(-a, 0.0)) + int(ulp_distance(0.0, b))


def test_plus_and_minus_zero_are_zero_apart_and_the_smallest_subnormals_two():
    tiny = np.nextafter(0.0, 1.0)
    assert ulp_distance(0.0, -0.0) == 0
    assert ulp_distance(-tiny, tiny) == 2
    assert ulp_distance(np.finfo(np.float64).max, np.inf) == 1


def test_the_widest_distance_from_minus_to_plus_infinity_is_exact_in_uint64():
    d = ulp_distance(-np.inf, np.inf)
    assert d.dtype == np.uint64 and int(d) == 2 * 0x7FF0000000000000


def test_nan_is_farther_than_any_number_unless_both_have_the_same_bits():
    nan = np.float64(np.nan)
    other_nan = np.array([0x7FF8000000000001], dtype=np.int64).view(np.float64)[0]
    assert ulp_distance(nan, nan) == 0
    assert ulp_distance(nan, 1.0) == ulp_distance(-np.inf, nan) == NAN_DISTANCE
    assert ulp_distance(nan, other_nan) == NAN_DISTANCE
    assert NAN_DISTANCE > ulp_distance(-np.inf, np.inf)


def test_arrays_broadcast_elementwise():
    a = np.array([[1.0, 2.0, -0.0]])
    b = np.array([[1.0], [np.nextafter(2.0, 3.0)]])
    d = ulp_distance(a, b)
    assert d.shape == (2, 3)
    assert d[0, 0] == 0 and d[1, 1] == 1
    assert d[0, 1] == oracle(2.0, 1.0) and d[0, 2] == oracle(-0.0, 1.0)


def test_a_pair_is_described_in_decimal_hex_and_ulps():
    right = np.nextafter(0.1, 1.0)
    text = describe_pair(0.1, right, ("python", "r"))
    assert "python 0.1 (0x1.999999999999ap-4)" in text
    assert f"r {float(right)!r} ({float(right).hex()})" in text
    assert text.endswith("1 ULP apart")
    assert describe_pair(1.0, np.nan).endswith("not comparable in ULPs (a NaN)")
