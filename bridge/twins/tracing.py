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
    return x.value if isinstance(x, Traced) else np.asarray(x, dtype=np.float64)


# numpy ufuncs a twin may call directly on a traced array, by registry name
UFUNCS = {np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div", np.negative: "neg",
          np.exp: "exp", np.log: "log", np.tanh: "tanh", np.sqrt: "sqrt", np.maximum: "maximum",
          np.absolute: "abs", np.square: "square", np.log1p: "log1p", np.expm1: "expm1"}
# numpy functions that only move elements: applied epoch by epoch to every array of a bound
LAYOUT = {np.ravel, np.resize, np.tile, np.reshape, np.transpose, np.expand_dims, np.broadcast_to, np.squeeze,
          np.atleast_2d}


class Traced:
    """A float64 array (computed with plain numpy) and the expression that computed it."""

    __array_priority__ = 1000

    def __init__(self, value, expr):
        self.value = np.asarray(value, dtype=np.float64)
        self.expr = expr

    # shape queries the twin's code may make
    shape = property(lambda self: self.value.shape)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)

    def __len__(self):
        return len(self.value)

    @property
    def T(self):
        return Traced(self.value.T, Expr("T", (self.expr,)))

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        value = self.value.reshape(shape)
        return Traced(value, Expr("reshape", (self.expr,), value.shape))

    def _binary(self, op, other, swap=False):
        a, b = (other, self) if swap else (self, other)
        value = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[op](_value(a), _value(b))
        return Traced(value, Expr(op, (_expr(a), _expr(b))))

    __add__ = lambda self, o: self._binary("add", o)  # noqa: E731
    __radd__ = lambda self, o: self._binary("add", o, True)  # noqa: E731
    __sub__ = lambda self, o: self._binary("sub", o)  # noqa: E731
    __rsub__ = lambda self, o: self._binary("sub", o, True)  # noqa: E731
    __mul__ = lambda self, o: self._binary("mul", o)  # noqa: E731
    __rmul__ = lambda self, o: self._binary("mul", o, True)  # noqa: E731
    __truediv__ = lambda self, o: self._binary("div", o)  # noqa: E731
    __rtruediv__ = lambda self, o: self._binary("div", o, True)  # noqa: E731

    def __neg__(self):
        return Traced(-self.value, Expr("neg", (self.expr,)))

    def __pow__(self, power):
        if power == 2:  # numpy and R both compute x^2 as x * x
            return Traced(self.value * self.value, Expr("square", (self.expr,)))
        return Traced(self.value ** _value(power), Expr("pow", (self.expr, _expr(power))))

    def __matmul__(self, other):
        return Traced(self.value @ _value(other), Expr("dot", (self.expr, _expr(other))))

    def __rmatmul__(self, other):
        return Traced(_value(other) @ self.value, Expr("dot", (_expr(other), self.expr)))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        values = [_value(x) for x in inputs]
        result = getattr(ufunc, method)(*values, **kwargs)
        if method != "__call__":
            name = f"{ufunc.__name__}.{method}"
        else:
            name = UFUNCS.get(ufunc, ufunc.__name__)
        return Traced(result, Expr(name, [_expr(x) for x in inputs], {"direct": True}))

    def __array_function__(self, func, types, args, kwargs):
        if func is np.reshape and isinstance(args[0], Traced):
            return args[0].reshape(args[1] if len(args) > 1 else kwargs.get("newshape", kwargs.get("shape")))
        if func in LAYOUT and isinstance(args[0], Traced):
            rest = args[1:]

            def apply(v, func=func, rest=rest, kwargs=kwargs):
                return func(v, *rest, **kwargs)

            return Traced(apply(self.value if args[0] is self else args[0].value),
                          Expr("layout", (args[0].expr,), (func.__name__, apply)))
        values = [_value(a) if isinstance(a, Traced) else a for a in args]
        result = func(*values, **{k: _value(v) if isinstance(v, Traced) else v for k, v in kwargs.items()})
        traced = [a.expr for a in args if isinstance(a, Traced)]
        return Traced(result, Expr(f"numpy.{func.__name__}", traced))

    def __bool__(self):
        raise TypeError("a twin's epoch branched on an array's value; its expression cannot be traced")

    def __float__(self):
        return float(self.value)


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
    args = tuple(to_tuple(a, cut) for a in e.args)
    if e.op in ("sum", "reshape", "layout"):
        return (e.op, args[0], e.params)
    return (e.op,) + args


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
