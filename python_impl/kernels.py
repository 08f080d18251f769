"""Array namespaces the networks compute through (DESIGN.md section 6).

The network code calls ``xp.dot``, ``xp.exp``, ``xp.sum`` and ``xp.mean`` and nothing else
that rounds differently between numpy and R; elementwise ``+ - * /`` are IEEE-754 correctly
rounded in both languages, so they need no namespace.

* ``float``: plain numpy, exactly what the article's code does (OpenBLAS ``dot``, numpy's SIMD
  ``exp``, pairwise ``sum``).
* ``exact``: numpy arrays with R's arithmetic: reference-BLAS order for ``%*%``, libm ``exp``,
  long-double accumulation as R's ``colSums``/``rowSums``/``mean`` do.
"""
import math

import numpy as np

try:  # numexpr evaluates exp through the C library's exp, about 20x faster than math.exp per element
    import numexpr
except ImportError:  # pragma: no cover - numexpr is a declared dependency
    numexpr = None


class FloatKernels:
    """numpy as the article uses it."""

    name = "float"

    def dot(self, a, b):
        return np.dot(a, b)

    def exp(self, x):
        return np.exp(x)

    def sum(self, a, axis):
        return np.sum(a, axis=axis, keepdims=True)

    def mean(self, a):
        return np.mean(a)


def _libm_exp_slow(x):
    return np.frompyfunc(math.exp, 1, 1)(np.asarray(x, dtype=np.float64)).astype(np.float64)


def _numexpr_matches_libm():
    """True when numexpr's exp gives libm's bits on a spread of inputs (checked once at import)."""
    if numexpr is None:
        return False
    probe = np.concatenate([
        np.linspace(-745.0, 709.0, 4001),
        np.random.default_rng(20170529).uniform(-40.0, 40.0, 20000),
        np.array([0.0, -0.0, 1e-300, -1e-300, 0.5, -0.5]),
    ])
    got = numexpr.evaluate("exp(probe)")
    return np.array_equal(got.view(np.uint64), _libm_exp_slow(probe).view(np.uint64))


LIBM_EXP_VIA_NUMEXPR = _numexpr_matches_libm()


class ExactKernels:
    """numpy arrays, R's arithmetic (bit for bit with R 4.2 on the reference BLAS)."""

    name = "exact"

    def dot(self, a, b):
        # C[i,j] = (((+0 + a[i,0]b[0,j]) + a[i,1]b[1,j]) + ...): reference dgemm's loop, no FMA
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        (m, k), n = a.shape, b.shape[1]
        if m * n >= 1024 or 8 * k <= m * n:
            # wide output: one Python step per term, each adding a whole (m, n) matrix of rounded
            # products to the running sums, which start at +0. Same order and roundings as below,
            # ~2 us a step instead of ~3.5 ns an element, and no (m, k, n) temporary.
            acc = np.zeros((m, n))
            for l in range(k):
                acc += a[:, l, None] * b[None, l, :]
            return acc
        # narrow output, long sums: products laid out (m, n, k) with k contiguous (whatever the
        # inputs' strides: X.T is a view), summed along k by add.accumulate, strictly sequential
        products = np.ascontiguousarray(a)[:, None, :] * np.ascontiguousarray(b.T)[None, :, :]
        # "+ 0.0" turns a -0 sum into BLAS's +0 start
        return np.add.accumulate(products, axis=2)[:, :, -1] + 0.0

    def exp(self, x):
        x = np.asarray(x, dtype=np.float64)
        if LIBM_EXP_VIA_NUMEXPR:
            return numexpr.evaluate("exp(x)")
        return _libm_exp_slow(x)

    def sum(self, a, axis):
        # R's colSums/rowSums: one long-double accumulator per output, added in index order
        a = np.asarray(a, dtype=np.float64)
        acc = np.zeros(np.delete(a.shape, axis), dtype=np.longdouble)
        for part in np.moveaxis(a, axis, 0):
            acc += part
        return np.expand_dims(acc.astype(np.float64), axis)

    def mean(self, a):
        # R's mean.default: s = sum/n in long double, then s + sum(x - s)/n, rounded once
        # in R's storage order, column by column: the order changes the long-double roundings
        x = np.asarray(a, dtype=np.float64).ravel(order="F").astype(np.longdouble)
        n = np.longdouble(x.size)
        s = np.add.accumulate(x)[-1] / n  # add.accumulate is sequential, like R's loop
        if np.isfinite(s):
            s += np.add.accumulate(x - s)[-1] / n
        return np.float64(s)


KERNELS = {"float": FloatKernels(), "exact": ExactKernels()}


def get_kernels(name):
    """The namespace called ``name`` ("float" or "exact")."""
    try:
        return KERNELS[name]
    except KeyError:
        raise ValueError(f"unknown kernels {name!r}: choose one of {', '.join(KERNELS)}") from None
