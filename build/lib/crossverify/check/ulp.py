"""Distances between float64 values in units in the last place (ULPs), and a two-value report.

IEEE-754 orders the bit patterns of doubles of one sign the way it orders their values: read as
integers, consecutive positive doubles are consecutive integers. Mapping a negative double's
pattern to minus its magnitude bits makes the map monotone over every double,

    key(x) = bits(x)                          for x with the sign bit clear
    key(x) = -(bits(x) with the sign cleared) for x with the sign bit set

so +0 and -0 both map to 0, the smallest subnormals to +-1, the infinities to +-0x7ff0000000000000,
and the number of representable doubles between a and b is |key(a) - key(b)|. This is the idea
of numpy.testing.assert_array_max_ulp, kept exact in integers.
"""
import numpy as np

MAGNITUDE = np.int64(0x7FFFFFFFFFFFFFFF)
# what a pair involving a NaN is reported as: larger than the distance between any two non-NaN
# doubles (the largest, -inf to +inf, is 0xffe0000000000000)
NAN_DISTANCE = np.uint64(0xFFFFFFFFFFFFFFFF)


def _keys(x):
    """The monotone integer image of each double's bit pattern (module docstring)."""
    bits = np.asarray(x, dtype=np.float64).view(np.int64)  # same item size: a view, no copy
    return np.where(bits < 0, -(bits & MAGNITUDE), bits)


def ulp_distance(a, b):
    """How many representable doubles lie between ``a`` and ``b``, elementwise (numpy broadcasting).

    0 when the two have the same bits, and for +0 against -0; 1 from x to np.nextafter(x, y); the
    count runs through zero across a sign change (the smallest positive subnormal is 2 from the
    smallest negative one) and reaches the infinities (the largest double is 1 from inf).

    NaN: two NaNs with the same bit pattern are 0 apart; any other pair holding a NaN is
    NAN_DISTANCE (2**64 - 1), larger than any distance between two non-NaN doubles.

    Returns uint64 (a 0-d value for scalar inputs): the widest distance, -inf to +inf, does not
    fit in int64.
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    ka, kb = _keys(a), _keys(b)
    # the true difference is below 2**64, so int64 subtraction wrapping modulo 2**64 and read as
    # uint64 is exact; take it in the order that makes it non-negative
    with np.errstate(over="ignore"):
        forward = (ka - kb).view(np.uint64)
        backward = (kb - ka).view(np.uint64)
    out = np.where(ka >= kb, forward, backward)
    same_bits = a.view(np.int64) == b.view(np.int64)
    out = np.where((np.isnan(a) | np.isnan(b)) & ~same_bits, NAN_DISTANCE, out)
    return out[()] if out.ndim == 0 else out


def format_ulps(n):
    """A distance as text ("1 ULP apart", "3 ULPs apart"); the NaN sentinel in words."""
    n = np.uint64(n)
    if n == NAN_DISTANCE:
        return "not comparable in ULPs (a NaN)"
    return f"{int(n)} ULP" + ("" if n == 1 else "s") + " apart"


def apart_text(a, b):
    """How far apart two doubles are, in words a reader can use: ULPs for two values of one sign;
    for two of opposite signs the count through zero is true but says nothing (0.5 and -0.5 are
    about 9e18 apart), so it is given as the signs and the absolute difference instead."""
    a, b = float(a), float(b)
    if np.isnan(a) or np.isnan(b) or a == 0.0 or b == 0.0 or (a > 0) == (b > 0):
        return format_ulps(ulp_distance(a, b))
    return "of opposite signs (too far apart to count in ULPs)"


def describe_pair(a, b, labels=("left", "right")):
    """Two doubles in decimal (repr, which reads back to the same bits) and hex (float.hex), and
    how many ULPs apart they are."""
    a, b = float(a), float(b)
    return (f"{labels[0]} {a!r} ({a.hex()}) vs {labels[1]} {b!r} ({b.hex()}): "
            f"{apart_text(a, b)}")
