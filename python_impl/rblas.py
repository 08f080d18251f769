"""R's matrix products on the BLAS R loaded, called from Python: exact on any BLAS under R's default path.

R and Python share one process, so the BLAS library R loaded is within reach: this module calls
its ``dgemm_``, ``dgemv_`` and ``dsyrk_`` with the arguments, the branches and the column-major
layout R 4.2 uses (src/main/array.c), so the bits are whatever that library gives R, whichever
library it is (docs/FACTS.md section 8):

* ``x %*% y`` (``matprod``): ``dgemv("N")`` when y has one column, ``dgemv("T")`` on y with x as the
  vector when x has one row, else ``dgemm("N", "N")``;
* ``crossprod(x, y)``: ``dgemv("T")`` on x when y has one column, ``dgemv("T")`` on y when x has one
  column, else ``dgemm("T", "N")``; ``crossprod(x)`` is ``dsyrk("U", "T")``, upper triangle copied down;
* under ``matprod = "default"`` an operand that may hold NaN or Inf (``mayHaveNaNOrInf``: some
  pair of neighbouring elements does not add to a finite number) goes to R's own double loop
  instead, which sums in term order from +0, as the compiled reference loop does;
* ``matprod = "blas"`` calls the BLAS whatever the operands hold.

The result depends on the library, the CPU and, for a threaded library, the thread count: the
same in R's call and in this one, since they run in one process with one configuration.
"""
import ctypes

import numpy as np

try:  # R's NaN/Inf test, compiled (python_impl/_exact.c); the numpy version below gives the same answer
    from ._exact import may_have_nan_or_inf as _compiled_test
except ImportError:  # pragma: no cover - where no compiler built the extension
    _compiled_test = None
try:  # x %*% y's branches, the NaN/Inf test and the BLAS call in one compiled call (matprod below)
    from ._exact import blas_matprod as _compiled_matprod
except ImportError:  # pragma: no cover - where no compiler built the extension
    _compiled_matprod = None

# every pointer argument as a plain address (c_void_p): numpy hands out addresses cheaply, and the
# integer arguments live in preallocated c_int cells, so a call builds no ctypes objects
_ptr_t, _len_t = ctypes.c_void_p, ctypes.c_size_t  # _len_t: the hidden length of each character argument


def _addr(a):
    return a.__array_interface__["data"][0]


class RBlas:
    """dgemm/dgemv/dsyrk of the BLAS loaded at ``path`` (already loaded by R: nothing new is loaded)."""

    def __init__(self, path, nan_switch=True):
        import os
        handle = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_LAZY", 1))
        self.path, self.nan_switch = path, nan_switch
        self.dgemm = handle.dgemm_
        self.dgemm.argtypes = [_ptr_t] * 13 + [_len_t, _len_t]
        self.dgemv = handle.dgemv_
        self.dgemv.argtypes = [_ptr_t] * 11 + [_len_t]
        self.dsyrk = handle.dsyrk_
        self.dsyrk.argtypes = [_ptr_t] * 10 + [_len_t, _len_t]
        for fn in (self.dgemm, self.dgemv, self.dsyrk):
            fn.restype = None
        # the routines' addresses, for python_impl/_exact.c's blas_matprod
        self._gemm_addr = ctypes.cast(self.dgemm, ctypes.c_void_p).value
        self._gemv_addr = ctypes.cast(self.dgemv, ctypes.c_void_p).value
        # the scalar arguments R passes: one, zero, the increment 1, and cells for the sizes
        self._one, self._zero, self._ione = ctypes.c_double(1.0), ctypes.c_double(0.0), ctypes.c_int(1)
        self._ints = [ctypes.c_int(0) for _ in range(4)]
        self._const = [ctypes.addressof(c) for c in (self._one, self._zero, self._ione)]
        self._cells = [ctypes.addressof(c) for c in self._ints]
        self._chars = {c: ctypes.create_string_buffer(c) for c in (b"N", b"T", b"U")}
        self._char = {c: ctypes.addressof(b) for c, b in self._chars.items()}

    def _sizes(self, *values):
        """Addresses of c_int cells holding ``values`` (valid until the next call)."""
        for cell, v in zip(self._ints, values):
            cell.value = int(v)
        return self._cells[:len(values)]

    # -- R's branches ------------------------------------------------------------------------
    def may_have_nan_or_inf(self, x):
        """R's mayHaveNaNOrInf over x in storage order: the first element alone when the count is odd,
        then each pair's sum (imprecise on purpose: an overflowing pair counts too)."""
        v = x.ravel(order="F")
        if _compiled_test is not None:
            return _compiled_test(v)
        if v.size % 2 and not np.isfinite(v[0]):
            return True
        pairs = v[v.size % 2:]
        with np.errstate(over="ignore", invalid="ignore"):
            return not np.isfinite(pairs[0::2] + pairs[1::2]).all()

    def _simple(self, x, y):
        """R's simple_matprod / simple_crossprod: double sums in term order from +0."""
        from .kernels import internal_matprod  # here: kernels imports this module
        return internal_matprod(x, y, np.float64)

    def _falls_back(self, *operands):
        return self.nan_switch and any(self.may_have_nan_or_inf(o) for o in operands)

    # -- x %*% y -----------------------------------------------------------------------------
    def matprod(self, a, b):
        x, y = np.asfortranarray(a, dtype=np.float64), np.asfortranarray(b, dtype=np.float64)
        (nrx, ncx), (nry, ncy) = x.shape, y.shape
        if nrx == 0 or ncx == 0 or nry == 0 or ncy == 0:
            return np.zeros((nrx, ncy))
        if _compiled_matprod is not None and ncx == nry:
            z = np.empty((nrx, ncy), order="F")
            if _compiled_matprod(x, y, z, self._gemm_addr, self._gemv_addr, self.nan_switch):
                return z
            return self._simple(x, y)
        if self._falls_back(x, y):
            return self._simple(x, y)
        z = np.empty((nrx, ncy), order="F")
        one, zero, ione = self._const
        if ncy == 1:
            m, n = self._sizes(nrx, ncx)
            self.dgemv(self._char[b"N"], m, n, one, _addr(x), m, _addr(y), ione, zero, _addr(z), ione, 1)
        elif nrx == 1:  # (xY)^T = Y^T x^T: a vector either way
            m, n = self._sizes(nry, ncy)
            self.dgemv(self._char[b"T"], m, n, one, _addr(y), m, _addr(x), ione, zero, _addr(z), ione, 1)
        else:
            m, n, k, ldy = self._sizes(nrx, ncy, ncx, nry)
            self.dgemm(self._char[b"N"], self._char[b"N"], m, n, k, one, _addr(x), m, _addr(y), ldy, zero, _addr(z), m,
                       1, 1)
        return z

    # -- crossprod(x, y) and crossprod(x) -----------------------------------------------------
    def crossprod(self, a, b=None):
        if b is None:
            return self.symcrossprod(a)
        x, y = np.asfortranarray(a, dtype=np.float64), np.asfortranarray(b, dtype=np.float64)
        (nrx, ncx), (nry, ncy) = x.shape, y.shape
        if nrx == 0 or ncx == 0 or nry == 0 or ncy == 0:
            return np.zeros((ncx, ncy))
        if self._falls_back(x, y):
            return self._simple(x.T, y)
        z = np.empty((ncx, ncy), order="F")
        one, zero, ione = self._const
        if ncy == 1:
            m, n = self._sizes(nrx, ncx)
            self.dgemv(self._char[b"T"], m, n, one, _addr(x), m, _addr(y), ione, zero, _addr(z), ione, 1)
        elif ncx == 1:
            m, n = self._sizes(nry, ncy)
            self.dgemv(self._char[b"T"], m, n, one, _addr(y), m, _addr(x), ione, zero, _addr(z), ione, 1)
        else:
            m, n, k, ldy = self._sizes(ncx, ncy, nrx, nry)
            self.dgemm(self._char[b"T"], self._char[b"N"], m, n, k, one, _addr(x), k, _addr(y), ldy, zero, _addr(z), m,
                       1, 1)
        return z

    def symcrossprod(self, a):
        x = np.asfortranarray(a, dtype=np.float64)
        nr, nc = x.shape
        if nr == 0 or nc == 0:
            return np.zeros((nc, nc))
        if self._falls_back(x):
            return self._simple(x.T, x)
        z = np.zeros((nc, nc), order="F")
        one, zero, _ = self._const
        n, k = self._sizes(nc, nr)
        self.dsyrk(self._char[b"U"], self._char[b"T"], n, k, one, _addr(x), k, zero, _addr(z), n, 1, 1)
        upper = np.triu_indices(nc, 1)
        z[upper[1], upper[0]] = z[upper]  # R copies the upper triangle into the lower one
        return z
