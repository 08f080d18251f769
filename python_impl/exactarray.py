"""Plain numpy with R's arithmetic: an array type that numpy hands every operation to.

A twin's Python side written as numpy users write it (``np.dot``, ``@``, ``np.sum(..., axis=,
keepdims=)``, methods, indexing) runs on :class:`ExactArray` operands when the exact kernels are
asked for. numpy's dispatch protocols route every ufunc (NEP 13, ``__array_ufunc__``) and every
public function (NEP 18, ``__array_function__``) to this module, which computes each one as R
does (python_impl/kernels.py, python_impl/libm.py) or, when no R counterpart is known, stops with
a message naming the function and the line, so that nothing leaves the exact kernels unseen.

Operations whose rounding is the same in both languages (+ - * /, comparisons, selections,
max/min, sorting, layout) are numpy's own; the others follow R:

    np.dot, @, np.outer      R's %*% (reference BLAS order, or matprod "internal") / outer (x * y)
    np.sum(axis=None|0|1)    R's sum / colSums / rowSums: one long-double accumulator per result
    np.mean(axis=None|0|1)   R's mean (with its correction pass) / colMeans / rowMeans
    np.var/std(ddof=1)       R's var / sd (long-double sums around R's mean)
    np.var/std(ddof=0)       R's mean((x - mean(x))^2), and its sqrt
    np.cumsum                R's cumsum (long-double running sum)
    exp log log1p expm1 tanh sqrt ** maximum minimum    R's functions (the C library, R's rules)
"""
import inspect
import os

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from crossverify.python_impl import libm
from crossverify.python_impl.kernels import ExactKernels

_R = ExactKernels()


class NotNumpyError(Exception):
    """A twin's code left numpy (math.exp, float(), a scipy call) or used a numpy function that has
    no counterpart in R's arithmetic here: the message names the line and what to write instead."""


def user_line():
    """"file:line: source" of the innermost frame outside numpy, scipy and crossverify's dispatch
    modules: the twin's line that made the call."""
    skip = (os.path.dirname(np.__file__), os.path.dirname(os.path.abspath(__file__)) + os.sep + "exactarray",
            "site-packages", os.path.join("twins", "tracing"))  # bridge/twins/tracing.py, installed or not
    for frame in inspect.stack(context=1)[1:]:
        name = frame.filename
        if any(s in name for s in skip) or name.startswith("<"):
            continue
        code = frame.code_context[0].strip() if frame.code_context else ""
        return f"{os.path.basename(name)}:{frame.lineno}: {code}"
    return "(line not found)"


def refuse(what, why, fix):
    """Raise NotNumpyError: what the code did, at which line, why it cannot be followed, the fix."""
    raise NotNumpyError(f"{what} at {user_line()}: {why}. To fix: {fix}")


# -- R's reductions ---------------------------------------------------------------------------------

def _axis(axis, ndim):
    """One axis (non-negative), or None for all of them."""
    if axis is None:
        return None
    if isinstance(axis, tuple):
        axes = sorted(a % ndim for a in axis)
        return None if len(axes) == ndim else axes[0] if len(axes) == 1 else refuse(
            f"a reduction over the axes {axis}", "R reduces over one margin or over everything",
            "reduce over one axis at a time, or over all of them")
    return axis % max(ndim, 1)


def _keep(result, a, axis, keepdims):
    """``result`` (kept dimensions) in numpy's shape for ``keepdims``."""
    if keepdims:
        return result
    return np.squeeze(result, axis=axis) if axis is not None else np.asarray(result).reshape(())


def r_sum(a, axis=None, keepdims=False):
    """R's sum (every element, storage order of the R matrix: columns) or colSums/rowSums."""
    a = np.asarray(a, dtype=np.float64)
    axis = _axis(axis, a.ndim)
    if a.ndim == 0:
        return a + 0.0
    return _keep(_R.sum(a, axis), a, axis, keepdims)


def r_mean(a, axis=None, keepdims=False):
    """R's mean(x) (long-double sum / n plus a correction pass), or colMeans/rowMeans (long-double
    sum / n, rounded once)."""
    a = np.asarray(a, dtype=np.float64)
    axis = _axis(axis, a.ndim)
    if axis is None:
        value = np.float64(_R.mean(a))
        return value.reshape((1,) * a.ndim) if keepdims else np.asarray(value)
    acc = np.zeros(np.delete(a.shape, axis), dtype=np.longdouble)
    for part in np.moveaxis(a, axis, 0):
        acc += part
    return _keep(np.expand_dims((acc / np.longdouble(a.shape[axis])).astype(np.float64), axis), a, axis, keepdims)


def _r_var_vector(x, ddof):
    """ddof 1: R's var(x) (cov.c: long-double sum of (x - mean)^2 around R's mean, / (n - 1));
    ddof 0: R's mean((x - mean(x))^2)."""
    xm = np.float64(_R.mean(x))
    if ddof == 0:
        return np.float64(_R.mean((x - xm) ** 2))
    d = x.astype(np.longdouble) - np.longdouble(xm)
    total = np.add.accumulate(d * d)[-1] if x.size else np.longdouble(0)
    return np.float64(total / np.longdouble(x.size - ddof))


def r_var(a, axis=None, ddof=0, keepdims=False):
    """np.var as R computes it: var(x) for ddof = 1, mean((x - mean(x))^2) for ddof = 0; per column
    or row, apply(X, margin, ...)."""
    a = np.asarray(a, dtype=np.float64)
    if ddof not in (0, 1):
        refuse(f"np.var/np.std with ddof={ddof}", "R's var divides by n - 1 and mean by n; no other divisor "
               "has an R counterpart here", "use ddof=0 or ddof=1")
    axis = _axis(axis, a.ndim)
    if axis is None:
        value = _r_var_vector(a.ravel(order="F"), ddof)
        return value.reshape((1,) * a.ndim) if keepdims else np.asarray(value)
    moved = np.moveaxis(a, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    out = np.array([_r_var_vector(row, ddof) for row in flat]).reshape(moved.shape[:-1])
    return _keep(np.expand_dims(out, axis), a, axis, keepdims)


def r_std(a, axis=None, ddof=0, keepdims=False):
    """sqrt of r_var: R's sd for ddof = 1 (sqrt is correctly rounded in both)."""
    return np.sqrt(r_var(a, axis, ddof, keepdims))


def r_cumsum(a, axis=None):
    """R's cumsum: a long-double running sum, each partial sum rounded once (numpy's order: a flat
    array is read in C order, as numpy's cumsum reads it)."""
    a = np.asarray(a, dtype=np.float64)
    if axis is None:
        a, axis = a.ravel(), 0
    return np.cumsum(a.astype(np.longdouble), axis=axis).astype(np.float64)


def r_dot(a, b):
    """R's %*% on numpy's operand shapes: a 1-d left operand is a row, a 1-d right one a column;
    the result drops what numpy drops."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim > 2 or b.ndim > 2:
        refuse("a product of arrays with more than two dimensions", "R's %*% multiplies matrices",
               "multiply 2-d slices")
    out = _R.dot(a.reshape(1, -1) if a.ndim == 1 else a, b.reshape(-1, 1) if b.ndim == 1 else b)
    if a.ndim == 1 and b.ndim == 1:
        return out.reshape(())
    if a.ndim == 1:
        return out.reshape(-1)
    return out.reshape(-1) if b.ndim == 1 else out


def r_pmin(a, b):
    """R's pmin(a, b): b where b is NaN or b < a, else a."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    return np.where(np.isnan(b) | (b < a), b, a)


def r_intdiv(a, b):
    """R's a %/% b on doubles (arithmetic.c's myfloor): the floor of the quotient, corrected by the
    remainder computed in long double; the quotient itself when it is not finite or b is 0."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    with np.errstate(all="ignore"):
        q = a / b
        fq = np.floor(q)
        tmp = a.astype(np.longdouble) - fq.astype(np.longdouble) * b.astype(np.longdouble)
        out = (fq.astype(np.longdouble) + np.floor(tmp / b.astype(np.longdouble))).astype(np.float64)
        # |q| < 1: -1 when the true quotient is negative (a quotient rounded to -0 included), else 0
        small = np.where((q < 0) | ((a < 0) & (b > 0)) | ((a > 0) & (b < 0)), -1.0, 0.0)
    out = np.where(np.abs(q) < 1, small, out)
    return np.where((b == 0) | ~np.isfinite(q), q, out)


def _floats(fn):
    return lambda *xs: fn(*(np.asarray(x, dtype=np.float64) for x in xs))


# ufuncs by what R computes: numpy's own where both languages round alike (correctly rounded
# arithmetic, exact selections and comparisons); R's functions where they differ
EXACT_UFUNCS = {
    np.add: np.add, np.subtract: np.subtract, np.multiply: np.multiply, np.true_divide: np.true_divide,
    np.floor_divide: r_intdiv,
    np.negative: np.negative, np.positive: np.positive, np.absolute: np.absolute,
    np.square: lambda x: np.multiply(x, x), np.exp: _floats(_R.exp), np.log: libm.log, np.log1p: libm.log1p,
    np.expm1: libm.expm1, np.tanh: libm.tanh, np.sqrt: libm.sqrt, np.power: libm.pow,
    np.maximum: libm.pmax, np.minimum: r_pmin, np.matmul: r_dot,
    np.greater: np.greater, np.greater_equal: np.greater_equal, np.less: np.less, np.less_equal: np.less_equal,
    np.equal: np.equal, np.not_equal: np.not_equal, np.logical_and: np.logical_and, np.logical_or: np.logical_or,
    np.logical_not: np.logical_not, np.logical_xor: np.logical_xor, np.invert: np.invert,
    np.bitwise_and: np.bitwise_and, np.bitwise_or: np.bitwise_or, np.isnan: np.isnan, np.isfinite: np.isfinite,
    np.isinf: np.isinf, np.sign: np.sign, np.floor: np.floor, np.ceil: np.ceil,
}


def _clip(a, a_min=None, a_max=None, **kwargs):
    out = np.asarray(a, dtype=np.float64)
    if a_min is not None:
        out = libm.pmax(out, a_min)
    if a_max is not None:
        out = r_pmin(out, a_max)
    return out


def _sum(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    return r_sum(a, axis, keepdims)


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    return r_mean(a, axis, keepdims)


def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kwargs):
    return r_var(a, axis, ddof, keepdims)


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kwargs):
    return r_std(a, axis, ddof, keepdims)


def _cumsum(a, axis=None, dtype=None, out=None):
    return r_cumsum(a, axis)


def _outer(a, b, out=None):
    return np.multiply(np.ravel(a)[:, None], np.ravel(b)[None, :])  # R's outer(x, y): x * y, correctly rounded


# numpy functions whose R counterpart rounds differently: computed here
EXACT_FUNCTIONS = {np.dot: lambda a, b, out=None: r_dot(a, b), np.matmul: r_dot, np.sum: _sum, np.mean: _mean,
                   np.var: _var, np.std: _std, np.cumsum: _cumsum, np.outer: _outer, np.clip: _clip,
                   np.inner: lambda a, b: r_dot(a, np.asarray(b).T)}
# numpy functions that select, move, compare or build arrays without rounding: numpy's own
NUMPY_FUNCTIONS = {np.max, np.min, np.amax, np.amin, np.argmax, np.argmin, np.where, np.concatenate,
                   np.hstack, np.vstack, np.column_stack, np.stack, np.sort, np.argsort, np.reshape,
                   np.transpose, np.ravel, np.squeeze, np.expand_dims, np.atleast_1d, np.atleast_2d,
                   np.broadcast_to, np.tile, np.repeat, np.shape, np.ndim, np.size, np.copy, np.zeros_like,
                   np.ones_like, np.full_like, np.empty_like, np.array_equal, np.any,
                   np.all, np.count_nonzero, np.nonzero, np.flatnonzero, np.unique, np.take, np.diag,
                   np.result_type, np.may_share_memory, np.shares_memory,
                   np.swapaxes, np.moveaxis, np.flip, np.roll, np.take_along_axis, np.argwhere, np.split,
                   np.array_split, np.broadcast_arrays, np.dstack, np.block, np.append, np.delete, np.insert,
                   np.tril, np.triu}


def register_kernel(numpy_op, fn):
    """The public way to teach the exact kernels a numpy operation they do not know, from a twin's
    own folder (docs/TWINS.md): ``numpy_op`` is a ufunc (np.sinh) or a numpy function, ``fn`` computes
    it on plain ndarrays exactly as the twin's R code does (e.g. the C library's function)."""
    (EXACT_UFUNCS if isinstance(numpy_op, np.ufunc) else EXACT_FUNCTIONS)[numpy_op] = fn
    return fn


def unwrap(x):
    """The ndarray inside an ExactArray; anything else (lists, tuples, dicts) walked through."""
    if isinstance(x, ExactArray):
        return x.value
    if isinstance(x, (list, tuple)):
        return type(x)(unwrap(v) for v in x)
    if isinstance(x, dict):
        return {k: unwrap(v) for k, v in x.items()}
    return x


def wrap(x):
    """Arrays (and arrays inside tuples/lists) as ExactArray; everything else as it is."""
    if isinstance(x, np.ndarray) or isinstance(x, np.generic):
        return ExactArray(x)
    if isinstance(x, (list, tuple)) and any(isinstance(v, (np.ndarray, np.generic)) for v in x):
        return type(x)(wrap(v) for v in x)
    return x


class ExactArray(NDArrayOperatorsMixin):
    """A numpy array whose every operation numpy dispatches here, computed with R's arithmetic."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value.value if isinstance(value, ExactArray) else np.asarray(value)

    # -- NEP 13 and NEP 18 ----------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        fn = EXACT_UFUNCS.get(ufunc)
        if method != "__call__" or fn is None or kwargs.get("where", True) is not True:
            name = ufunc.__name__ if getattr(np, ufunc.__name__, None) is ufunc else \
                f"{ufunc.__name__} (a ufunc from outside numpy)"
            refuse(f"np.{name}{'' if method == '__call__' else '.' + method}",
                   "this numpy operation has no counterpart in R's arithmetic here, and numpy's own result may "
                   "differ from R's in the last bit", "write it with the supported operations (docs/TWINS.md), "
                   "or register an exact kernel for it from the twin's folder "
                   "(crossverify.python_impl.exactarray.register_kernel)")
        kwargs.pop("dtype", None)
        kwargs.pop("casting", None)
        result = fn(*unwrap(inputs), **kwargs)
        if out is not None:
            target = out[0]
            np.copyto(unwrap(target), result)
            return target
        return wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        fn = EXACT_FUNCTIONS.get(func)
        if fn is None:
            if func not in NUMPY_FUNCTIONS:
                refuse(f"{func.__module__.replace('numpy', 'np', 1)}.{func.__name__}",
                       "crossverify does not know how R computes this numpy function, so "
                       "its exact result cannot be guaranteed", "write it with the supported operations "
                       "(docs/TWINS.md), or register an exact kernel for it from the twin's folder "
                       "(crossverify.python_impl.exactarray.register_kernel)")
            fn = func
        return wrap(fn(*unwrap(args), **unwrap(kwargs)))

    # -- leaving numpy ------------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        refuse("an array passed to code outside numpy (np.asarray by another library, e.g. scipy or pandas)",
               "crossverify follows numpy's own functions only; what the other library computes is invisible "
               "to exact checking", "compute this step with numpy functions")

    def __float__(self):
        # Python's math module is the C library's, as R's functions are: a number computed with it
        # keeps R's bits (the tracer, which cannot follow it, says so for the float rows)
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __index__(self):
        return int(self.value)

    def __bool__(self):
        return bool(self.value)

    def __len__(self):
        return len(self.value)

    def __iter__(self):
        return (wrap(v) for v in self.value)

    def __repr__(self):
        return f"ExactArray({self.value!r})"

    # -- what numpy arrays answer -----------------------------------------------------------------
    shape = property(lambda self: self.value.shape)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)
    dtype = property(lambda self: self.value.dtype)
    T = property(lambda self: ExactArray(self.value.T))

    def __getitem__(self, key):
        return wrap(self.value[unwrap(key)])

    def __setitem__(self, key, value):
        self.value[unwrap(key)] = unwrap(value)

    def item(self, *args):
        return self.value.item(*args)

    def tolist(self):
        return self.value.tolist()

    def copy(self):
        return ExactArray(self.value.copy())

    def astype(self, dtype, **kwargs):
        return ExactArray(self.value.astype(dtype, **kwargs))

    def reshape(self, *shape, **kwargs):
        return ExactArray(self.value.reshape(*shape, **kwargs))

    def transpose(self, *axes):
        return ExactArray(self.value.transpose(*axes))

    def ravel(self, order="C"):
        return ExactArray(self.value.ravel(order))

    def flatten(self, order="C"):
        return ExactArray(self.value.flatten(order))

    def squeeze(self, axis=None):
        return ExactArray(self.value.squeeze(axis))

    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return wrap(r_sum(self.value, axis, keepdims))

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return wrap(r_mean(self.value, axis, keepdims))

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return wrap(r_var(self.value, axis, ddof, keepdims))

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return wrap(r_std(self.value, axis, ddof, keepdims))

    def cumsum(self, axis=None):
        return wrap(r_cumsum(self.value, axis))

    def dot(self, other):
        return wrap(r_dot(self.value, unwrap(other)))

    def clip(self, a_min=None, a_max=None):
        return wrap(_clip(self.value, a_min, a_max))

    def max(self, axis=None, keepdims=False):
        return wrap(self.value.max(axis=axis, keepdims=keepdims))

    def min(self, axis=None, keepdims=False):
        return wrap(self.value.min(axis=axis, keepdims=keepdims))

    def argmax(self, axis=None):
        return wrap(self.value.argmax(axis=axis))

    def argmin(self, axis=None):
        return wrap(self.value.argmin(axis=axis))

    def argsort(self, axis=-1):
        return wrap(self.value.argsort(axis=axis))

    def any(self, axis=None):
        return wrap(self.value.any(axis=axis))

    def all(self, axis=None):
        return wrap(self.value.all(axis=axis))

    def sort(self, axis=-1):
        self.value.sort(axis=axis)
