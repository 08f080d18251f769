"""The expression each intermediate is computed by, read off the Python code itself.

One epoch of a twin's Python side runs on :class:`Traced` arrays through :class:`TracingKernels`
(an array namespace like python_impl/kernels.py's). Every operation records a node, so each
returned intermediate carries the expression DAG that computed it from the data, the
hyper-parameters, the state the epoch started from and constants. :func:`derive_spec` cuts that
DAG at the other named intermediates (which are recorded, so their measured differences enter
the bound) and writes each step as a nested tuple for bridge/check/bounds.py:

    "X", "lr", "W@prev", "delta"          leaves: data, hyper-parameter, state at the epoch's start, intermediate
    ("const", 1.0)                        a constant both sides use
    ("add", a, b), ("dot", a, b), ...      an operation of the registry (bounds.RULES)

An operation the registry has no rule for is recorded under its own name; bounds.check_known
then names it and the step, and the twin's float rows are not checked rather than passed.
"""
import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from crossverify.python_impl.exactarray import refuse


class Params(tuple):
    """The parameters of an operation (axes, an index map, shapes), carried as the last element of
    its expression tuple: ``(op, a, b, ..., Params(value))``, passed to the rule after the operands.
    To code that walks expressions it reads as a constant, ("const", None): no operation, no leaf."""

    def __new__(cls, value):
        self = super().__new__(cls, ("const", None))
        self.value = value
        return self

    def __repr__(self):
        return f"Params({self.value!r})"

    def __eq__(self, other):
        return isinstance(other, Params) and _same(self.value, other.value)

    def __hash__(self):
        return hash("Params")


def _same(a, b):
    try:
        return bool(np.all(a == b)) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else a == b
    except (ValueError, TypeError):
        return a is b


class Expr:
    """One node of the DAG: an operation, its operand nodes and its parameters."""

    __slots__ = ("op", "args", "params")

    def __init__(self, op, args=(), params=None):
        self.op, self.args, self.params = op, tuple(args), params


def _expr(x):
    if isinstance(x, Traced):
        return x.expr
    value = np.asarray(x, dtype=np.float64)
    if value.ndim == 0:
        return Expr("const", params=float(value))
    return Expr("const", params=value)  # an array constant: exact on both sides, d = 0


def _value(x):
    if isinstance(x, Traced):
        return x.value
    value = np.asarray(x)
    return value if value.dtype.kind in "biu" else value.astype(np.float64)


# numpy ufuncs a twin may call on a traced array, by registry name
UFUNCS = {np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div", np.negative: "neg",
          np.floor_divide: "floordiv",
          np.exp: "exp", np.log: "log", np.tanh: "tanh", np.sqrt: "sqrt", np.maximum: "maximum",
          np.minimum: "minimum", np.absolute: "abs", np.square: "square", np.log1p: "log1p", np.expm1: "expm1",
          np.power: "pow"}
COMPARISONS = {np.greater: "greater", np.greater_equal: "greater_equal", np.less: "less",
               np.less_equal: "less_equal", np.equal: "equal", np.not_equal: "not_equal"}
LOGICAL = {np.logical_and: "logical_and", np.logical_or: "logical_or", np.logical_xor: "logical_xor",
           np.bitwise_and: "bitwise_and", np.bitwise_or: "bitwise_or"}
# numpy functions that only move the elements of their first argument: each becomes a gather
MOVES = {np.reshape, np.transpose, np.ravel, np.squeeze, np.expand_dims, np.atleast_1d, np.atleast_2d,
         np.broadcast_to, np.tile, np.repeat, np.flip, np.swapaxes, np.moveaxis, np.roll, np.copy, np.resize}
# numpy functions that join several arrays: a gather from all of them
JOINS = {np.concatenate, np.hstack, np.vstack, np.stack, np.column_stack, np.dstack, np.append}
# the old, xp-era nodes (kept so that the shipped twins' expressions stay as they were)
LAYOUT = {np.ravel, np.resize, np.tile, np.reshape, np.transpose, np.expand_dims, np.broadcast_to, np.squeeze,
          np.atleast_2d}


def _positions(shape, offset=0):
    return offset + np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)


def _gather(operands, fn):
    """A Traced whose elements ``fn`` picks from ``operands`` (a list): fn applied to the values and,
    once, to the operands' element positions, which gives the bound's index map."""
    if len(operands) == 1 and isinstance(operands[0], Traced) and operands[0].ndim == 0 and _xp_mean(operands[0].expr):
        # xp.mean's node keeps every dimension while its value is a number: reshaped the xp-era way
        value = fn(operands[0].value)
        return Traced(value, Expr("reshape", (operands[0].expr,), value.shape))
    values = [_value(o) for o in operands]
    offsets = np.cumsum([0] + [v.size for v in values])
    index = np.asarray(fn(*[_positions(v.shape, k) for v, k in zip(values, offsets)]))
    shapes = tuple(v.shape for v in values)
    return Traced(fn(*values), Expr("gather", [_expr(o) for o in operands], Params((shapes, index))))


def _xp_mean(e, budget=64):
    """Whether a number's expression holds xp.mean's node (whose bound keeps every dimension) without
    a reshape in between: such a number is reshaped the xp-era way."""
    todo = [e]
    while todo and budget:
        e, budget = todo.pop(), budget - 1
        if e.op == "mean":
            return True
        if e.op not in ("reshape", "gather", "layout", "leaf", "const"):
            todo.extend(e.args)
    return False


def _reshaped(x, shape):
    return x if _value(x).shape == tuple(shape) else _gather([x], lambda v: np.reshape(v, shape))


def _has_epochs(x):
    """Whether ``x``'s bound nodes carry the epoch axis: everything but data, hyper-parameters and constants."""
    return isinstance(x, Traced) and not (x.expr.op == "leaf" and not str(x.expr.params).endswith("@prev"))


def _aligned(inputs):
    """Operands padded with leading 1s to the result's number of dimensions where they carry the epoch
    axis (numpy aligns shapes from the right; the epoch axis must stay the first)."""
    ndim = max((np.ndim(_value(x)) for x in inputs), default=0)
    return [(_reshaped(x, (1,) * (ndim - np.ndim(x.value)) + x.value.shape)
             if _has_epochs(x) and 0 < ndim and x.value.ndim < ndim else x) for x in inputs]


def _axes(axis, ndim):
    """Negative axes, a tuple: every axis for None."""
    if axis is None:
        return tuple(range(-ndim, 0))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(sorted(a % ndim - ndim for a in axes))


def _key_traced(key):
    keys = key if isinstance(key, tuple) else (key,)
    return [k for k in keys if isinstance(k, Traced)]


def untraceable(what, why, fix):
    """Raise NotNumpyError naming the twin's line (the tracer cannot follow the code)."""
    refuse(what, why, fix)


class Traced(NDArrayOperatorsMixin):
    """A numpy value (computed with plain numpy) and the expression that computed it. numpy hands
    every ufunc and function on it here (NEP 13 and NEP 18)."""

    __array_priority__ = 1000

    def __init__(self, value, expr):
        value = np.asarray(value)
        self.value = value if value.dtype.kind in "biu" else value.astype(np.float64, copy=False)
        self.expr = expr

    # shape queries the twin's code may make
    shape = property(lambda self: self.value.shape)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)
    dtype = property(lambda self: self.value.dtype)

    def __len__(self):
        return len(self.value)

    def __iter__(self):
        return (self[i] for i in range(len(self.value)))

    def __repr__(self):
        return f"Traced({self.value!r})"

    @property
    def T(self):
        if self.value.ndim == 2:
            return Traced(self.value.T, Expr("T", (self.expr,)))
        return _gather([self], np.transpose)

    # -- NEP 13: ufuncs and the operators --------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        if method != "__call__" or kwargs.get("where", True) is not True:
            untraceable(f"np.{ufunc.__name__}.{method}", "the tracer follows ufunc calls, not their methods",
                        "use the numpy function (np.sum, np.max, np.cumsum) instead")
        result = self._ufunc(ufunc, inputs)
        if out is not None:  # in place (x -= y): the target takes the new value and expression
            target = out[0]
            if not isinstance(target, Traced):
                untraceable(f"np.{ufunc.__name__}(..., out=an untraced array)", "the result would leave the trace",
                            "assign the result to a name instead")
            target.value, target.expr = result.value, result.expr
            return target
        return result

    def _ufunc(self, ufunc, inputs):
        values = [_value(x) for x in inputs]
        with np.errstate(all="ignore"):
            result = ufunc(*values)
        if ufunc is np.power and not isinstance(inputs[1], Traced) and np.ndim(inputs[1]) == 0 and inputs[1] == 2:
            return Traced(result, Expr("square", (_expr(inputs[0]),)))  # numpy and R both compute x^2 as x * x
        if ufunc is np.positive:
            return Traced(result, _expr(inputs[0]))
        inputs = _aligned(inputs)
        if ufunc in COMPARISONS:
            return Traced(result, Expr("compare", [_expr(x) for x in inputs], Params(COMPARISONS[ufunc])))
        if ufunc in LOGICAL:
            return Traced(result, Expr("logical", [_expr(x) for x in inputs], Params(LOGICAL[ufunc])))
        if ufunc in (np.logical_not, np.invert) and result.dtype == bool:
            return Traced(result, Expr("logical_not", [_expr(inputs[0])]))
        if ufunc is np.matmul:
            return _dot(*inputs)
        return Traced(result, Expr(UFUNCS.get(ufunc, ufunc.__name__), [_expr(x) for x in inputs]))

    # -- NEP 18: numpy's functions ---------------------------------------------------------------
    def __array_function__(self, func, types, args, kwargs):
        handler = FUNCTIONS.get(func)
        if handler is not None:
            return handler(*args, **kwargs)
        if func in LAYOUT and _has_epochs(args[0]) and not _key_traced(tuple(args[1:]) + tuple(kwargs.values())):
            # the xp-era node, which explain's transplant recomputes (an operand with the epoch axis)
            rest = args[1:]

            def apply(v, func=func, rest=rest, kwargs=kwargs):
                return func(v, *rest, **kwargs)

            return Traced(apply(args[0].value), Expr("layout", (args[0].expr,), (func.__name__, apply)))
        if func in MOVES and isinstance(args[0], Traced) and not _key_traced(tuple(args[1:]) + tuple(kwargs.values())):
            rest = args[1:]
            return _gather([args[0]], lambda v: func(v, *rest, **kwargs))
        if func in JOINS:
            seq = list(args[0])
            rest = args[1:]
            return _gather(seq, lambda *vs: func(list(vs), *rest, **kwargs))
        if func in (np.shape, np.ndim, np.size):
            return func(_value(args[0]))
        # a function without a rule: recorded under its own name, so the float rows say which
        values = [_value(a) if isinstance(a, Traced) else a for a in args]
        result = func(*values, **{k: _value(v) if isinstance(v, Traced) else v for k, v in kwargs.items()})
        traced = [a.expr for a in args if isinstance(a, Traced)]
        return Traced(result, Expr(f"numpy.{func.__name__}", traced))

    # -- indexing --------------------------------------------------------------------------------
    def __getitem__(self, key):
        dynamic = _key_traced(key)
        if not dynamic:
            return _gather([self], lambda v: v[key])
        mask = dynamic[0]
        if key is mask and mask.dtype == bool and mask.ndim == 1 and len(mask.value) == len(self.value):
            # rows chosen by a mask computed this epoch (k-means' clusters): its sum or mean has a rule
            return Traced(self.value[mask.value], Expr("select", (self.expr, mask.expr), self.value.shape))
        plain = tuple(_value(k) for k in key) if isinstance(key, tuple) else _value(key)
        return Traced(self.value[plain],
                      Expr("index by computed values", (self.expr,) + tuple(k.expr for k in dynamic)))

    def __setitem__(self, key, value):
        dynamic = _key_traced(key)
        if not dynamic:
            def assign(old, new):
                out = np.array(old, copy=True)
                out[key] = new
                return out
            result = _gather([self, value], assign)
        elif key is dynamic[0] and key.shape == self.shape and np.ndim(_value(value)) == 0:
            result = where(key, value, self)  # x[mask] = v is np.where(mask, v, x)
        else:
            values = self.value.copy()
            values[tuple(_value(k) for k in key) if isinstance(key, tuple) else _value(key)] = _value(value)
            result = Traced(values, Expr("assignment at computed positions", (self.expr, _expr(value))))
        self.value, self.expr = result.value, result.expr

    # -- methods numpy arrays have -----------------------------------------------------------------
    def reshape(self, *shape, order="C"):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        if order == "C" and _has_epochs(self) and self.value.ndim > 0:  # the xp-era node (explain recomputes it)
            value = self.value.reshape(shape)
            return Traced(value, Expr("reshape", (self.expr,), value.shape))
        return _gather([self], lambda v: np.reshape(v, shape, order=order))

    def transpose(self, *axes):
        return _gather([self], lambda v: np.transpose(v, *axes))

    def ravel(self, order="C"):
        return _gather([self], lambda v: np.ravel(v, order))

    flatten = ravel

    def squeeze(self, axis=None):
        return _gather([self], lambda v: np.squeeze(v, axis))

    def copy(self):
        return Traced(self.value.copy(), self.expr)

    def astype(self, dtype, **kwargs):
        if np.dtype(dtype) == np.float64 or (np.dtype(dtype).kind == "f" and self.value.dtype.kind in "biu"):
            return Traced(self.value.astype(np.float64), self.expr)
        return Traced(self.value.astype(dtype), Expr(f"astype {np.dtype(dtype).name}", (self.expr,)))

    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return reduce_sum(self, axis, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return mean(self, axis, keepdims=keepdims)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return var(self, axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return std(self, axis, ddof=ddof, keepdims=keepdims)

    def max(self, axis=None, out=None, keepdims=False):
        return amax(self, axis, keepdims=keepdims)

    def min(self, axis=None, out=None, keepdims=False):
        return amin(self, axis, keepdims=keepdims)

    def argmax(self, axis=None):
        return argmax(self, axis)

    def argmin(self, axis=None):
        return argmin(self, axis)

    def argsort(self, axis=-1):
        return argsort(self, axis)

    def cumsum(self, axis=None):
        return cumsum(self, axis)

    def clip(self, a_min=None, a_max=None):
        return clip(self, a_min, a_max)

    def dot(self, other):
        return _dot(self, other)

    def item(self, *args):
        untraceable("x.item()", "the number leaves numpy, so the bound cannot follow what is computed with it",
                    "keep it an array (x.reshape(()) or x[0, 0])")

    # -- leaving numpy ---------------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        untraceable("an array passed to code outside numpy (np.asarray, or another library such as scipy)",
                    "crossverify follows numpy's own functions only; what the other code computes is invisible "
                    "to the bound", "compute this step with numpy functions")

    def __float__(self):
        if not _has_epochs(self):  # a hyper-parameter or a datum: the same number at every epoch, a constant
            return float(self.value)
        untraceable("float() of an array (or math.* on it)", "the number leaves numpy, so the bound cannot "
                    "follow what is computed with it", "use numpy functions (np.exp, not math.exp)")

    def __int__(self):
        untraceable("int() of a computed array", "a number computed this epoch used as a Python integer "
                    "(an index, a loop bound) would be fixed at the traced epoch's value", "index with the array")

    __index__ = __int__

    def __bool__(self):
        untraceable("a branch on an array's value (if, while, and/or)", "the expression of the step would "
                    "depend on which way the branch went", "compute both branches and choose with np.where")


def _dot(a, b):
    """a @ b and np.dot: 1-d operands as numpy takes them (a row on the left, a column on the right)."""
    va, vb = _value(a), _value(b)
    if va.ndim == 0 or vb.ndim == 0:
        return np.multiply(a, b) if isinstance(a, Traced) or isinstance(b, Traced) else va * vb
    left = _reshaped(a, (1, va.size)) if va.ndim == 1 else a
    right = _reshaped(b, (vb.size, 1)) if vb.ndim == 1 else b
    out = Traced(_value(left) @ _value(right), Expr("dot", (_expr(left), _expr(right))))
    return _reshaped(out, np.shape(va @ vb))


def reduce_sum(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    v = _value(a)
    axes = _axes(axis, v.ndim)
    if v.ndim == 0:
        return a
    kept = Traced(np.sum(v, axis=axes, keepdims=True), Expr("sum", (_expr(a),), axes[0] if len(axes) == 1 else axes))
    return kept if keepdims else _reshaped(kept, np.sum(v, axis=axes).shape)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    v = _value(a)
    axes = _axes(axis, v.ndim)
    if v.ndim == 0:
        return a
    kept = Traced(np.mean(v, axis=axes, keepdims=True), Expr("mean_axes", (_expr(a),), Params(axes)))
    return kept if keepdims else _reshaped(kept, np.mean(v, axis=axes).shape)


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, op="var", **kwargs):
    v = _value(a)
    axes = _axes(axis, v.ndim)
    fn = np.var if op == "var" else np.std
    kept = Traced(fn(v, axis=axes, ddof=ddof, keepdims=True), Expr(op, (_expr(a),), Params((axes, ddof))))
    return kept if keepdims else _reshaped(kept, fn(v, axis=axes, ddof=ddof).shape)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kwargs):
    return var(a, axis, ddof=ddof, keepdims=keepdims, op="std")


def _extreme(op, fn):
    def reduce(a, axis=None, out=None, keepdims=False, **kwargs):
        v = _value(a)
        axes = _axes(axis, v.ndim)
        return Traced(fn(v, axis=axes, keepdims=keepdims), Expr(op, (_expr(a),), Params((axes, keepdims))))
    return reduce


amax, amin = _extreme("amax", np.max), _extreme("amin", np.min)


def _along(op, fn):
    """argmax, argmin, sort, argsort, cumsum: one axis; None reads the array flattened."""
    def along(a, axis=-1 if op in ("sort", "argsort") else None, **kwargs):
        if axis is None:
            a, axis = _reshaped(a, (_value(a).size,)), -1
        v = _value(a)
        axis = axis % v.ndim - v.ndim
        return Traced(fn(v, axis=axis), Expr(op, (_expr(a),), Params(axis)))
    return along


argmax, argmin = _along("argmax", np.argmax), _along("argmin", np.argmin)
sort, argsort, cumsum = _along("sort", np.sort), _along("argsort", np.argsort), _along("cumsum", np.cumsum)


def where(condition, x=None, y=None):
    if x is None or y is None:
        untraceable("np.where(condition) with one argument", "the positions it returns depend on the values",
                    "use np.where(condition, x, y)")
    shape = np.broadcast_shapes(np.shape(_value(condition)), np.shape(_value(x)), np.shape(_value(y)))
    if not isinstance(condition, Traced):  # a fixed choice: a gather from x and y
        c = np.asarray(condition, dtype=bool)
        return _gather([x, y], lambda a, b: np.where(c, a, b))
    c, a, b = (_reshaped(t, shape) if isinstance(t, Traced) and _value(t).shape != shape else t
               for t in (condition, x, y))
    return Traced(np.where(_value(c), _value(a), _value(b)), Expr("where", (_expr(c), _expr(a), _expr(b))))


def clip(a, a_min=None, a_max=None, out=None, **kwargs):
    out = a
    if a_min is not None:
        out = np.maximum(out, a_min)
    if a_max is not None:
        out = np.minimum(out, a_max)
    return out


def outer(a, b, out=None):
    return np.multiply(_reshaped(a, (_value(a).size, 1)), _reshaped(b, (1, _value(b).size)))


FUNCTIONS = {np.dot: lambda a, b, out=None: _dot(a, b), np.matmul: _dot, np.sum: reduce_sum, np.mean: mean,
             np.var: var, np.std: std, np.max: amax, np.amax: amax, np.min: amin, np.amin: amin, np.argmax: argmax,
             np.argmin: argmin, np.sort: sort, np.argsort: argsort, np.cumsum: cumsum, np.where: where,
             np.clip: clip, np.outer: outer}


class TracingKernels:
    """The array namespace of python_impl/kernels.py, recording each call (values as plain numpy)."""

    name = "tracing"

    @staticmethod
    def _unary(op, fn, x):
        return Traced(fn(_value(x)), Expr(op, (_expr(x),)))

    def dot(self, a, b):
        return Traced(np.dot(_value(a), _value(b)), Expr("dot", (_expr(a), _expr(b))))

    def exp(self, x):
        return self._unary("exp", np.exp, x)

    def tanh(self, x):
        return self._unary("tanh", np.tanh, x)

    def log(self, x):
        return self._unary("log", np.log, x)

    def log1p(self, x):
        return self._unary("log1p", np.log1p, x)

    def expm1(self, x):
        return self._unary("expm1", np.expm1, x)

    def sqrt(self, x):
        return self._unary("sqrt", np.sqrt, x)

    def abs(self, x):
        return self._unary("abs", np.abs, x)

    def maximum(self, a, b):
        return Traced(np.maximum(_value(a), _value(b)), Expr("maximum", (_expr(a), _expr(b))))

    def power(self, a, p):
        if not isinstance(p, Traced) and np.ndim(p) == 0 and p == 2:  # a * a in numpy and in R (R_POW)
            return Traced(_value(a) * _value(a), Expr("square", (_expr(a),)))
        return Traced(np.power(_value(a), _value(p)), Expr("pow", (_expr(a), _expr(p))))

    def crossprod(self, a, b=None):
        # t(a) %*% b: the same products summed as a dot of the transpose
        b = a if b is None else b
        at = Expr("T", (_expr(a),))
        return Traced(np.dot(_value(a).T, _value(b)), Expr("dot", (at, _expr(b))))

    def sum(self, a, axis=None):
        v = _value(a)
        value = np.sum(v, axis=axis, keepdims=True)
        return Traced(value, Expr("sum", (_expr(a),), None if axis is None else axis - v.ndim))

    def mean(self, a):
        return self._unary("mean", np.mean, a)


def trace_epoch(call, data, hyper, state):
    """Run ``call(data=..., hyper=..., state=..., xp=...)`` on traced leaves; its outputs by name."""
    wrap = {}
    for name, value in data.items():
        wrap[name] = Traced(value, Expr("leaf", params=name))
    for name, value in hyper.items():
        wrap[name] = Traced(np.float64(value), Expr("leaf", params=name))
    traced_state = {name: Traced(value, Expr("leaf", params=f"{name}@prev")) for name, value in state.items()}
    return call({k: wrap[k] for k in data}, {k: wrap[k] for k in hyper}, traced_state, TracingKernels())


def _fused(e, cut):
    """Composite patterns with rules of their own: 1 / (1 + exp(-x)) and x * (1 - x)."""
    if e.op == "div" and _is_const(e.args[0], 1.0) and e.args[1].op == "add":
        a, b = e.args[1].args
        inner = b if _is_const(a, 1.0) else a if _is_const(b, 1.0) else None
        if inner is not None and inner.op == "exp" and inner.args[0].op == "neg":
            return ("sigmoid", inner.args[0].args[0])
    if e.op == "mul":
        a, b = e.args
        for x, other in ((a, b), (b, a)):
            if other.op == "sub" and _is_const(other.args[0], 1.0) and other.args[1] is x:
                return ("slope", x)
    return None


def _is_const(e, value):
    return e.op == "const" and np.ndim(e.params) == 0 and e.params == value


def _power_of_two(v):
    if np.ndim(v) or v == 0 or not np.isfinite(v):
        return False
    m, _ = np.frexp(abs(v))
    return m == 0.5


def to_tuple(e, cut):
    """The nested-tuple form of ``e``, with the nodes in ``cut`` (recorded intermediates) as leaves."""
    if id(e) in cut:
        return cut[id(e)]
    if e.op == "leaf":
        return e.params
    if e.op == "const":
        return ("const", e.params)
    fused = _fused(e, cut)
    if fused is not None:
        return (fused[0], to_tuple(fused[1], cut))
    # a product or quotient by a power of two only moves the exponent: exact on both sides
    if e.op in ("mul", "div"):
        a, b = e.args
        if b.op == "const" and _power_of_two(b.params):
            return ("scale", to_tuple(a, cut), b.params if e.op == "mul" else 1.0 / b.params)
        if e.op == "mul" and a.op == "const" and _power_of_two(a.params):
            return ("scale", to_tuple(b, cut), a.params)
    masked = _masked(e, cut)
    if masked is not None:
        return masked
    args = tuple(to_tuple(a, cut) for a in e.args)
    if e.op in ("sum", "reshape", "layout"):
        return (e.op, args[0], e.params)
    if isinstance(e.params, Params):
        return (e.op,) + args + (e.params,)
    return (e.op,) + args


def _masked(e, cut):
    """a[mask].sum(axis=0) / .mean(axis=0) with a mask computed this epoch: one node with a rule
    (bounds.masked_sum, masked_mean); the selection alone has none (its shape changes by epoch)."""
    if e.op not in ("sum", "mean_axes") or not e.args or e.args[0].op != "select" or id(e.args[0]) in cut:
        return None
    a, mask = e.args[0].args
    axes = e.params.value if isinstance(e.params, Params) else e.params
    shape = e.args[0].params
    if (tuple(axes) if isinstance(axes, tuple) else (axes,)) != (-len(shape),):
        return None
    return ("masked_sum" if e.op == "sum" else "masked_mean", to_tuple(a, cut), to_tuple(mask, cut),
            Params(shape))


def derive_spec(steps, outputs):
    """((step, name, expression), ...) for every step, in the order the twin lists them."""
    cut, spec = {}, []
    for step in steps:
        value = outputs[step.name]
        e = value.expr if isinstance(value, Traced) else _expr(value)
        if id(e) in cut:  # the same value as an earlier intermediate (the chain rule's links)
            expr = cut[id(e)]
        else:
            expr = to_tuple(e, cut)
            if e.op not in ("leaf", "const"):
                cut[id(e)] = step.name
        spec.append((step.number, step.name, expr))
    return tuple(spec)
