"""Array namespaces a twin's Python side computes through (docs/TWINS.md).

Twins call ``xp.dot``, ``xp.crossprod``, ``xp.exp``, ``xp.log``, ``xp.log1p``, ``xp.expm1``,
``xp.tanh``, ``xp.sqrt``, ``xp.abs``, ``xp.maximum``, ``xp.power``, ``xp.sum`` and ``xp.mean``
for every operation whose rounding can differ between numpy and R; elementwise ``+ - * /`` are
IEEE-754 correctly rounded in both languages, so they need no namespace.

* ``float``: plain numpy, as people write it (OpenBLAS ``dot`` with FMA and blocking, numpy's
  SIMD ``exp``/``tanh``/``log``, pairwise ``sum``).
* ``exact``: numpy arrays with R's arithmetic: the matrix-product path R takes (reference-BLAS
  order, or R's own long-double loop), the C library's elementary functions, long-double
  accumulation as R's ``sum``/``colSums``/``rowSums``/``mean`` do.

The exact kernels' dominant loops (matrix products, long-double sums, ``exp``) run compiled
(python_impl/_exact.c, built by setup.py, docs/FACTS.md section 9) when the extension was built
and its long double is numpy's; its ``exp`` runs four or eight lanes at a time when ``VECTOR_EXP``
(the vector copy of the C library's algorithm gave that library's bits on the import-time probe).
``NumpyExactKernels`` is the same arithmetic in numpy alone: the reference the compiled loops are
tested against, and the fallback where no compiler was found.
"""
import contextlib
import math

import numpy as np

from . import libm  # R's elementary functions: the C library's, with R's rules around them

try:  # numexpr evaluates exp through the C library's exp, about 20x faster than math.exp per element
    import numexpr
except ImportError:  # pragma: no cover - numexpr is a declared dependency
    numexpr = None

try:  # the compiled loops (setup.py builds them; optional: absent where no C compiler exists)
    from . import _exact
except ImportError:  # pragma: no cover - exercised on machines without a compiler
    _exact = None

# the compiled loops accumulate in C's long double: used only when it is numpy's (and so R's) format
COMPILED = _exact if _exact is not None and _exact.LDBL_MANT_DIG == np.finfo(np.longdouble).nmant + 1 else None


def exp_table():
    """The vector exp's table (python_impl/_exact.c): for i < 128, the bits of T_i and of H_i less
    i << 45, where 2^(i/128) = H_i (1 + T_i), H_i = RN(2^(i/128)), T_i = RN(2^(i/128) / H_i - 1),
    worked out in 60-digit decimal (float() of a Decimal rounds correctly)."""
    from decimal import Decimal, localcontext
    words = np.empty(256, dtype=np.uint64)
    with localcontext() as ctx:
        ctx.prec = 60
        ln2 = Decimal(2).ln()
        for i in range(128):
            power = (ln2 * i / 128).exp()
            head = float(power)
            words[2 * i] = np.float64(float(power / Decimal(head) - 1)).view(np.uint64)
            words[2 * i + 1] = np.float64(head).view(np.uint64) - np.uint64(i << 45)
    return words


def _vector_exp_matches_libm():
    """Switch the compiled exp to its vector copy of the C library's algorithm (python_impl/_exact.c)
    when this CPU has one and it gives exp()'s own bits on a probe of inputs (checked once at import:
    another C library, or glibc's build without FMA, fails it and keeps exp() per element)."""
    if COMPILED is None or not getattr(COMPILED, "VECTOR_EXP", 0):
        return False
    COMPILED.set_exp_table(exp_table())
    rng = np.random.default_rng(20170529)
    probe = np.concatenate([
        np.linspace(-745.2, 709.8, 40001), rng.uniform(-40.0, 40.0, 50000), rng.uniform(-520.0, 520.0, 50000),
        rng.standard_normal(20000) * 10.0 ** rng.integers(-20, 3, 20000),
        rng.integers(0, 2 ** 64, 20000, dtype=np.uint64).view(np.float64),
        np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 512.0, -512.0, 2.0 ** -54, -(2.0 ** -54), 5e-324]),
    ])
    scalar, vector = np.empty_like(probe), np.empty_like(probe)
    COMPILED.set_vector_exp(False)
    COMPILED.exp(probe, scalar)
    COMPILED.set_vector_exp(True)
    same = True
    for wide in (False, True):  # four lanes (AVX2), then eight where the CPU has AVX-512F
        COMPILED.set_vector_exp_wide(wide)
        COMPILED.exp(probe, vector)
        same &= bool(np.all((scalar.view(np.uint64) == vector.view(np.uint64))
                            | (np.isnan(scalar) & np.isnan(vector))))
    COMPILED.set_vector_exp(same)
    return same


VECTOR_EXP = _vector_exp_matches_libm()

if numexpr is not None:
    # one thread: at these sizes (10000 elements) numexpr's thread pool costs more than it saves
    # on two cores, several times more when the cores are busy; R's loop is single-threaded too
    numexpr.set_num_threads(1)


class FloatKernels:
    """numpy as the article uses it."""

    name = "float"
    bit_for_bit = False  # numpy's own rounding: held to the derived bound, not to R's bits

    def dot(self, a, b):
        return np.dot(a, b)

    def exp(self, x):
        return np.exp(x)

    def sum(self, a, axis=None):
        return np.sum(a, axis=axis, keepdims=True)

    def mean(self, a):
        return np.mean(a)

    # numpy's own elementwise functions (SIMD on AVX-512: not the C library's bits) and products
    def tanh(self, x):
        return np.tanh(x)

    def log(self, x):
        return np.log(x)

    def log1p(self, x):
        return np.log1p(x)

    def expm1(self, x):
        return np.expm1(x)

    def sqrt(self, x):
        return np.sqrt(x)

    def abs(self, x):
        return np.abs(x)

    def maximum(self, a, b):
        return np.maximum(a, b)

    def power(self, a, p):
        return np.power(a, p)  # numpy computes a scalar exponent 2 as a * a, 0.5 as sqrt

    def crossprod(self, a, b=None):
        """t(a) %*% b (b defaults to a), as numpy code writes it: a.T @ b."""
        return np.dot(np.asarray(a).T, a if b is None else b)


def _libm_exp_slow(x):
    return np.frompyfunc(math.exp, 1, 1)(np.asarray(x, dtype=np.float64)).astype(np.float64)


def _compile_numexpr_exp():
    """numexpr's ``exp(x)`` compiled once, and the keywords its call needs: calling the compiled
    object skips ``numexpr.evaluate``'s parsing and frame look-ups (~40% of its time at moons'
    sizes). Same interpreter, same C-library ``exp``, same bits."""
    if numexpr is None:
        return None, {}
    compiled = numexpr.NumExpr("exp(x)", signature=[("x", np.float64)])
    for kwargs in ({"ex_uses_vml": False}, {}):  # numexpr >= 2.8.5 requires ex_uses_vml
        try:
            compiled(np.zeros(1), **kwargs)
            return compiled, kwargs
        except (TypeError, ValueError):
            continue
    return None, {}


_NUMEXPR_EXP, _NUMEXPR_EXP_KWARGS = _compile_numexpr_exp()


def _numexpr_matches_libm():
    """True when numexpr's exp gives libm's bits on a spread of inputs (checked once at import)."""
    if _NUMEXPR_EXP is None:
        return False
    probe = np.concatenate([
        np.linspace(-745.0, 709.0, 4001),
        np.random.default_rng(20170529).uniform(-40.0, 40.0, 20000),
        np.array([0.0, -0.0, 1e-300, -1e-300, 0.5, -0.5]),
    ])
    got = _NUMEXPR_EXP(probe, **_NUMEXPR_EXP_KWARGS)
    return np.array_equal(got.view(np.uint64), _libm_exp_slow(probe).view(np.uint64))


LIBM_EXP_VIA_NUMEXPR = _numexpr_matches_libm()

# most elements of the (terms, m, n) array of products ExactKernels.dot builds at once (8 MB)
_DOT_BLOCK = 1 << 20


def _reduce_adds_rows_in_order():
    """True when numpy's add.reduce over the outer axis of a C-ordered (terms, cols) array, cols >= 2,
    adds the rows one after another (checked once at import against a plain loop, on values
    whose sum depends on the order). numpy sums pairwise only along a contiguous reduced axis."""
    rng = np.random.default_rng(20170529)
    for cols in (2, 3, 10, 20):
        rows = rng.standard_normal((300, cols)) * 10.0 ** rng.integers(-12, 12, (300, cols))
        expected = [0.0] * cols
        for row in rows.tolist():
            expected = [e + v for e, v in zip(expected, row)]
        if not np.array_equal(np.add.reduce(rows, axis=0, initial=0.0), np.array(expected)):
            return False
    return True


REDUCE_ADDS_ROWS_IN_ORDER = _reduce_adds_rows_in_order()


def _sum_rows(rows, out=None):
    """(((+0 + rows[0]) + rows[1]) + ...) elementwise, for a C-ordered (terms, ...) array."""
    if REDUCE_ADDS_ROWS_IN_ORDER:
        return np.add.reduce(rows, axis=0, out=out, initial=0.0)
    # accumulate never reorders; slower, it writes every partial sum ("+ 0.0": BLAS's +0 start)
    total = np.add.accumulate(rows, axis=0)[-1] + 0.0
    if out is None:
        return total
    out[...] = total
    return out


# the matrix-product loops the exact kernels emulate themselves
MATPROD_PATHS = ("reference", "internal")
# R's default path ("r-blas": the BLAS, R's double loop for NaN/Inf) and its "blas" path ("r-blas-always")
# on the BLAS R loaded, called through python_impl/rblas.py once bind_r_blas has named the library
R_BLAS_PATHS = ("r-blas", "r-blas-always")
_R_BLAS = {}


def bind_r_blas(path):
    """Let the "r-blas" paths call the BLAS library at ``path``, which R has loaded into this process."""
    from .rblas import RBlas
    _R_BLAS.update({"r-blas": RBlas(path, nan_switch=True), "r-blas-always": RBlas(path, nan_switch=False)})


def _longdouble_reduce_adds_rows_in_order():
    """True when add.reduce over the outer axis of a C-ordered (terms, cols) long-double array adds
    the rows one after another (checked once at import, as _reduce_adds_rows_in_order checks
    float64; numpy sums a contiguous axis pairwise, long double included)."""
    rng = np.random.default_rng(20170529)
    for cols in (2, 3, 10, 20):
        rows = (rng.standard_normal((300, cols)) * 10.0 ** rng.integers(-12, 12, (300, cols))).astype(np.longdouble)
        expected = rows[0].copy()
        for row in rows[1:]:
            expected = expected + row
        if not np.array_equal(np.add.reduce(rows, axis=0), expected):
            return False
    return True


LONGDOUBLE_REDUCE_ADDS_ROWS_IN_ORDER = _longdouble_reduce_adds_rows_in_order()


def _sum_terms_in_order(terms):
    """(terms[0] + terms[1]) + ... elementwise, for a C-ordered (k, ...) array, k >= 1."""
    if terms.ndim > 1 and terms[0].size > 1 and terms.flags.c_contiguous and LONGDOUBLE_REDUCE_ADDS_ROWS_IN_ORDER:
        return np.add.reduce(terms, axis=0)
    return np.add.accumulate(terms, axis=0)[-1]  # one long sum (or numpy summing pairwise): sequential


def _compiled_matprod(loop, a, b):
    """``loop`` (a product of python_impl/_exact.c) of the (m, k) and (k, n) float64 matrices, into a new
    (m, n) array; the loop reads any strides, so transposed views are not copied."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.empty((a.shape[0], b.shape[1]))
    loop(a, b, out)
    return out


def internal_matprod(a, b, accumulator=np.longdouble):
    """R's ``internal_matprod`` (numpy_internal_matprod says how), compiled when python_impl/_exact.c
    was built; R built without long double accumulates in double: ``accumulator=np.float64``."""
    if COMPILED is not None:
        return _compiled_matprod(COMPILED.internal_matprod if accumulator is np.longdouble else COMPILED.ref_matprod,
                                 a, b)
    return numpy_internal_matprod(a, b, accumulator)


def numpy_internal_matprod(a, b, accumulator=np.longdouble):
    """R's ``internal_matprod`` (src/main/array.c, R >= 3.4), the path of ``%*%`` under
    ``options(matprod = "internal")``: for each z[i,k], ``LDOUBLE sum = 0.0; for j in order:
    sum += x[i,j] * y[j,k]; z[i,k] = (double) sum``. The product is double * double, rounded to
    double before it is added (measured: R's results differ from products kept in long double);
    the sum is kept in long double (80-bit x87 on x86_64, numpy's longdouble there) and rounded to
    double once. R built without long double accumulates in double: ``accumulator=np.float64``.
    No NaN/Inf switch: this path never calls the BLAS."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    (m, k), n = a.shape, b.shape[1]
    if k == 0 or m * n == 0:
        return np.zeros((m, n))
    if k == 1:  # 0 + x[i,0]y[0,k] is exact in long double: one rounded product ("+ 0.0": -0 becomes +0)
        return np.multiply(a[:, :1], b[:1, :]) + 0.0
    # blocks of terms bound the temporary; a later block starts with the running sums
    block = max(1, _DOT_BLOCK // (m * n))
    total = None
    for first in range(0, k, block):
        last = min(k, first + block)
        # each product rounded to double, laid out (terms, m, n) in C order whatever the operands'
        # layouts: numpy would otherwise follow a.T's and make the term axis contiguous, and
        # add.reduce sums a contiguous axis pairwise
        products = np.multiply(a.T[first:last, :, None], b[first:last, None, :], out=np.empty((last - first, m, n)))
        terms = products.astype(accumulator, order="C")
        if total is not None:
            terms = np.concatenate([total[None], terms])
        total = _sum_terms_in_order(terms)
    # R's sum starts at +0: (+0 + p) is p except for p = -0, and a sum that starts at +0 is never -0,
    # so starting from the first product and adding +0 at the end is the same and one pass cheaper
    return total.astype(np.float64) + 0.0


def set_matprod_path(path):
    """Make the exact kernels' ``dot`` reproduce R's ``%*%`` path ``path`` (of MATPROD_PATHS or R_BLAS_PATHS);
    returns the path it replaces."""
    if path not in MATPROD_PATHS + R_BLAS_PATHS:
        raise ValueError(f"unknown matprod path {path!r}: choose one of {', '.join(MATPROD_PATHS + R_BLAS_PATHS)}")
    if path in R_BLAS_PATHS and path not in _R_BLAS:
        raise ValueError(f"matprod path {path!r} calls R's BLAS: bind_r_blas(path of the library) first")
    previous, ExactKernels.matprod_path = ExactKernels.matprod_path, path
    return previous


@contextlib.contextmanager
def matprod_path_as(path):
    """Within the block, ``dot`` reproduces ``path`` whatever R does (e.g. golden records, which pin
    the reference BLAS's sums)."""
    previous = set_matprod_path(path)
    try:
        yield
    finally:
        set_matprod_path(previous)


class ExactKernels:
    """numpy arrays, R's arithmetic (bit for bit with R 4.2 on the reference BLAS, and with R's
    own matrix-product loop, ``options(matprod = "internal")``, on any BLAS); the dominant loops
    compiled (python_impl/_exact.c) where the extension was built."""

    name = "exact"
    bit_for_bit = True  # R's arithmetic: held to R's bits
    # The path of R's %*% that ``dot`` reproduces (one of MATPROD_PATHS). The R session sets it from
    # what R really does (bridge/session/platform.py); "reference" without a session.
    matprod_path = "reference"
    # python_impl/_exact.c, or None: the numpy loops below (NumpyExactKernels always uses those)
    compiled = COMPILED

    def dot(self, a, b):
        if self.matprod_path == "reference" and self.compiled is not None:
            try:  # float64 matrices straight to the compiled loop; anything else takes the general path below
                out = np.empty((a.shape[0], b.shape[1]))
                self.compiled.ref_matprod(a, b, out)
                return out
            except (AttributeError, IndexError, TypeError, ValueError):
                pass
        if self.matprod_path in R_BLAS_PATHS:  # the very routine R's %*% calls, with R's arguments
            return _R_BLAS[self.matprod_path].matprod(a, b)
        if self.matprod_path == "internal":
            if self.compiled is not None:
                return _compiled_matprod(self.compiled.internal_matprod, a, b)
            return numpy_internal_matprod(a, b)
        # R's "default" path on the reference BLAS: dgemm/dgemv, or R's simple double loop when an
        # operand has NaN/Inf; both add the same rounded products in the same order from +0, so
        # one function serves both branches of R's NaN/Inf switch (and the "blas" path too)
        return self._reference_dot(a, b)

    def _reference_dot(self, a, b):
        if self.compiled is not None:
            return _compiled_matprod(self.compiled.ref_matprod, a, b)
        return self._numpy_reference_dot(a, b)

    @staticmethod
    def _numpy_reference_dot(a, b):
        # C[i,j] = (((+0 + a[i,0]b[0,j]) + a[i,1]b[1,j]) + ...): reference dgemm's (and dgemv's)
        # loop; every product rounded on its own (a separate multiply, no FMA), summed in term order
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        (m, k), n = a.shape, b.shape[1]
        if k == 0 or m * n == 0:
            return np.zeros((m, n))
        if m * n == 1:
            # one long sum: add.reduce would sum it pairwise; add.accumulate is sequential
            # ("+ 0.0" turns a -0 sum into BLAS's +0 start)
            return np.add.accumulate(a[0] * b[:, 0])[-1:].reshape(1, 1) + 0.0
        # Otherwise the products are laid out (terms, m, n), term axis outermost: add.reduce over
        # that non-contiguous axis adds whole (m, n) rows one after another, so each C[i,j] is
        # summed in term order, never pairwise, from initial=+0 (checked at import: _sum_rows).
        if k * m * n <= _DOT_BLOCK:
            if k <= 4:  # few terms: one whole-matrix add per term is cheaper than the reduce
                products = np.multiply(a.T[:, :, None], b[:, None, :])
                out = products[0] + 0.0  # +0 + a[i,0]b[0,j]: a -0 product becomes +0
                for term in products[1:]:
                    out += term
                return out
            if m * n < 64:
                # few long sums: multiply along the contiguous term axis, (m, n, terms), then
                # transpose into (terms, m*n); cheaper than multiplying in short rows
                # (explicit layouts: X.T and other views must not decide them)
                products = np.multiply(np.ascontiguousarray(a)[:, None, :], np.ascontiguousarray(b.T)[None, :, :],
                                       out=np.empty((m, n, k)))
                terms = np.empty((k, m * n))
                np.copyto(terms, products.reshape(m * n, k).T)
                return _sum_rows(terms).reshape(m, n)
            products = np.multiply(a.T[:, :, None], b[:, None, :], out=np.empty((k, m, n)))
            return _sum_rows(products)
        # blocks of terms bound the temporary; a later block starts with a row holding the
        # running sums (never -0: +0 + sums = sums)
        block = max(1, _DOT_BLOCK // (m * n))
        out = np.zeros((m, n))
        products = np.empty((block + 1, m, n))
        for first in range(0, k, block):
            last = min(k, first + block)
            rows = products[: last - first + 1]
            rows[0] = out
            np.multiply(a.T[first:last, :, None], b[first:last, None, :], out=rows[1:])
            _sum_rows(rows, out=out)
        return out

    def exp(self, x):
        if self.compiled is not None:
            try:  # a 1-d or 2-d float64 array straight to the compiled loop; anything else below
                out = np.empty_like(x)  # x's layout (R's results are column-major): one flat pass over both
                self.compiled.exp(x, out)
                return out
            except (AttributeError, TypeError, ValueError):
                pass
        x = np.asarray(x, dtype=np.float64)
        if self.compiled is not None:  # the C library's exp, called per element by compiled code
            flat = x if x.ndim in (1, 2) else x.reshape(-1)
            out = np.empty(flat.shape)
            self.compiled.exp(flat, out)
            return out.reshape(x.shape)
        if LIBM_EXP_VIA_NUMEXPR:
            return _NUMEXPR_EXP(x, **_NUMEXPR_EXP_KWARGS)
        return _libm_exp_slow(x)

    def sum(self, a, axis=None):
        # R's colSums/rowSums: one long-double accumulator per output, added in index order
        a = np.asarray(a, dtype=np.float64)
        if axis is None:
            # R's sum(): one long-double accumulator over the elements in storage (column) order
            column_order = a.ravel(order="F")
            total = self.compiled.sum_all(column_order) if self.compiled is not None else _numpy_sum(column_order)
            return np.float64(total).reshape((1,) * a.ndim)
        if self.compiled is not None and a.ndim == 2 and axis in (0, 1, -1, -2):
            axis %= 2
            out = np.empty((1, a.shape[1]) if axis == 0 else (a.shape[0], 1))
            self.compiled.sum_axis(a, axis, out)
            return out
        acc = np.zeros(np.delete(a.shape, axis), dtype=np.longdouble)
        for part in np.moveaxis(a, axis, 0):
            acc += part
        return np.expand_dims(acc.astype(np.float64), axis)

    def mean(self, a):
        # R's mean.default: s = sum/n in long double, then s + sum(x - s)/n, rounded once
        # in R's storage order, column by column: the order changes the long-double roundings
        column_order = np.asarray(a, dtype=np.float64).ravel(order="F")
        if self.compiled is not None:
            return np.float64(self.compiled.mean(column_order))
        x = column_order.astype(np.longdouble)
        n = np.longdouble(x.size)
        s = np.add.accumulate(x)[-1] / n  # add.accumulate is sequential, like R's loop
        if np.isfinite(s):
            s += np.add.accumulate(x - s)[-1] / n
        return np.float64(s)

    # R's elementwise functions (python_impl/libm.py: the C library's function with R's rules)
    def tanh(self, x):
        return libm.tanh(x)

    def log(self, x):
        return libm.log(x)

    def log1p(self, x):
        return libm.log1p(x)

    def expm1(self, x):
        return libm.expm1(x)

    def sqrt(self, x):
        return libm.sqrt(x)

    def abs(self, x):
        return np.abs(np.asarray(x, dtype=np.float64))  # R's abs is C's fabs: clears the sign bit, exact

    def maximum(self, a, b):
        return libm.pmax(a, b)  # R's pmax(a, b); note R's pmax keeps the dim of its first argument only

    def power(self, a, p):
        return libm.pow(a, p)  # R's a ^ p: a * a for p = 2, else R_pow (the C library's pow and special cases)

    def crossprod(self, a, b=None):
        """R's ``crossprod(a, b)`` = t(a) %*% b (src/main/array.c, crossprod): reference dgemm/dgemv with
        transa = "T" (TEMP = 0; TEMP = TEMP + A(L,I) * B(L,J) in L order), R's simple double loop when an
        operand has NaN/Inf, or internal_crossprod (long double) under matprod "internal": each adds the
        products t(a)[i, l] * b[l, j] in l order, as ``dot(a.T, b)`` does on the same path. ``crossprod(a)``
        is dsyrk, the same sums for the upper triangle, copied into the lower one: equal products, equal
        bits."""
        if self.matprod_path in R_BLAS_PATHS:  # dgemm("T", "N"), dgemv("T") or dsyrk: other sums than dot(a.T, b)
            return _R_BLAS[self.matprod_path].crossprod(a, b)
        a = np.asarray(a, dtype=np.float64)
        return self.dot(a.T, a if b is None else np.asarray(b, dtype=np.float64))


class NumpyExactKernels(ExactKernels):
    """ExactKernels in numpy alone: the reference implementation of the compiled loops (tests run
    both on the same inputs) and what ``exact`` is where python_impl/_exact.c could not be built."""

    compiled = None


def _numpy_sum(x):
    """R's rsum over the 1-d float64 ``x``: LDOUBLE s = 0.0; s += x[i] in order. add.accumulate is
    sequential; it starts from x[0], so "+ 0" gives R's +0 where every element is -0."""
    if not x.size:
        return 0.0
    return np.float64(np.add.accumulate(x.astype(np.longdouble))[-1] + np.longdouble(0.0))


KERNELS = {"float": FloatKernels(), "exact": ExactKernels()}


def get_kernels(name):
    """The namespace called ``name`` ("float" or "exact")."""
    try:
        return KERNELS[name]
    except KeyError:
        raise ValueError(f"unknown kernels {name!r}: choose one of {', '.join(KERNELS)}") from None
