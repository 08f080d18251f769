"""The first test of every comparison: do two float64 arrays hold the same 64-bit patterns?

A comparison that finds the two sides bit for bit alike has nothing more to do: no difference to
measure, no bound to derive (a bound only matters where elements differ). Asking that first, at
memory speed, is what makes a full audit cost about what it reads. With the compiled extension
(python_impl/_exact.c) the test is one ``memcmp`` over each array's bytes; without it, numpy
compares the arrays viewed as 64-bit integers. Equal bits answer True; anything else (different
bits, different shapes, two NaNs with different payloads) answers False, and the caller's
element-by-element rule decides.
"""
import numpy as np

try:
    from crossverify.python_impl._exact import same_bits as _memcmp
except ImportError:  # pragma: no cover - exercised where no C compiler built the extension
    _memcmp = None


def same_bits(a, b):
    """True when ``a`` and ``b`` are float64 arrays of one shape with the same 64 bits everywhere."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != np.float64 or b.dtype != np.float64:
        return False
    if _memcmp is not None and a.flags.c_contiguous and b.flags.c_contiguous:
        return _memcmp(a, b)
    return bool(np.array_equal(a.view(np.uint64), b.view(np.uint64)))
