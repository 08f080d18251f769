"""Facts about the machine that runs crossverify, measured when a text needs them instead of
written down once: how often numpy's ``exp`` differs from the C library's ``exp`` (the one R
calls), the widest SIMD extension numpy may use for it, and the BLAS numpy was built with.

They decide how float kernels round: numpy's SIMD ``exp`` (AVX-512 builds) differs from libm by
one ulp on a few percent of inputs, and where numpy has no SIMD ``exp`` it calls libm itself.
"""
import functools
import math
from dataclasses import dataclass

import numpy as np

EXP_INPUTS = 20_000  # enough for a percentage to one decimal; about 40 ms
EXP_RANGE = 40.0  # exp's inputs in a sigmoid: beyond +-40 it saturates to 0 or 1 in double
SEED = 20170529


@dataclass(frozen=True)
class ExpMismatch:
    inputs: int
    fraction: float  # of inputs where numpy's exp and libm's differ in at least one bit
    max_ulps: int
    simd: str  # the widest SIMD extension numpy reports on this CPU, or "" for none

    @property
    def percent(self):
        return f"{100 * self.fraction:.1f}%"


def simd_extension():
    """The widest of the SIMD extensions numpy detected on this CPU (e.g. "AVX512F"), or ""."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    for name in ("AVX512F", "AVX2", "AVX", "SSE2", "ASIMD", "NEON", "VSX", "VX"):
        if __cpu_features__.get(name):
            return name
    return ""


@functools.lru_cache(maxsize=None)
def exp_mismatch(inputs=EXP_INPUTS):
    """numpy's exp against the C library's on ``inputs`` uniform draws in [-40, 40], measured now."""
    x = np.random.default_rng(SEED).uniform(-EXP_RANGE, EXP_RANGE, inputs)
    # CPython's math.exp calls the C library's exp, as R's exp does
    libm = np.fromiter(map(math.exp, x), dtype=np.float64, count=inputs)
    ulps = np.abs(np.exp(x).view(np.int64) - libm.view(np.int64))  # same sign: bit distance is ulps
    return ExpMismatch(inputs, float(np.mean(ulps > 0)), int(ulps.max()), simd_extension())


def exp_phrase():
    """A short measured phrase: how numpy's exp compares with libm's here."""
    m = exp_mismatch()
    if not m.fraction:
        return f"equal to the C library's on all {m.inputs} inputs measured here"
    return f"{m.percent} of {m.inputs} inputs measured here differ from the C library's"


@functools.lru_cache(maxsize=None)
def numpy_blas():
    """The BLAS numpy was built with, as its build configuration names it ("" when unknown)."""
    try:
        config = np.show_config(mode="dicts")
        return str(config["Build Dependencies"]["blas"]["name"])
    except Exception:  # older numpy has no mode="dicts"; the name is then unknown
        return ""
