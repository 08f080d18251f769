"""Floating-point error bounds for comparing float-kernel numpy with R, step by step: one rule per
operation, in one registry (``RULES``).

Each intermediate z is the expression the Python side evaluates (read off the code by
bridge/twins/tracing.py). The bound on |z_py - z_r| is built up that expression: every node
carries its value on both sides (recomputed from the recorded operands, stacked over epochs on
the first axis), a bound d on the difference of the two sides' values, and a bound m on their
magnitude. A rule for z = op(a, b) with operand bounds (d_a, m_a), (d_b, m_b) returns

    d_z = P + c * S

* P propagates the operands' differences (triangle inequality, or a Lipschitz/derivative bound
  over the interval both sides' operands lie in);
* c * S is the rounding allowance of *both* sides: the standard bounds of Higham, Accuracy and
  Stability of Numerical Algorithms, ch. 3 (u = 2^-53; a correctly rounded operation is within
  u|z|; a k-term dot product or sum within gamma_k |A||B| whatever the order or FMA use,
  gamma_k = k u / (1 - k u)), and the documented accuracy of libm and numpy's SIMD functions.

Leaves are recorded matrices (d = the measured difference) or data both sides share (d = 0).
Nothing here is tuned to data: a change to any step larger than rounding lands outside the bound.
Every rule has a hypothesis test (tests/test_bound_rules.py) on adversarial inputs.
"""
import numpy as np

try:  # Node.leaf and _finish in one pass each (python_impl/_exact.c), the same operations in the same order
    from crossverify.python_impl._exact import finish_bounds as _finish_compiled, leaf_bounds as _leaf_compiled
except ImportError:  # pragma: no cover - where no C compiler built the extension
    _finish_compiled = _leaf_compiled = None

U = 2.0 ** -53
ULP = 2.0 ** -52  # one unit in the last place, relative to |z|
SLACK = 1 + 2.0 ** -20  # the bound is itself computed in floating point; this covers its own rounding
SMALLEST_NORMAL = 2.0 ** -1022
ETA = 2.0 ** -1074  # the smallest subnormal: the spacing of doubles below SMALLEST_NORMAL
TINY = 4 * 2.0 ** -1074  # below this, subnormal rounding is absolute, not relative
EXP_SIGMOID = 2 * (2.0 ** -52 + 2 * U) * (1 + 4 * U)
# libm (glibc) and numpy's SIMD paths: the largest documented error of each function, in ulps,
# per side; glibc's table of known ulps for x86_64 and numpy's SVML/AVX-512 notes (<= 4 ulp)
FUNCTION_ULPS = {"exp": 1, "log": 4, "log1p": 4, "expm1": 4, "tanh": 4, "pow": 4}

RULES = {}
BUILT_IN = set()  # the rules this module defines (each has a hypothesis test); the rest were registered


from crossverify.twins.tracing import Params  # noqa: E402,F401 - defined with the expressions it parametrises


class UnknownOperationError(Exception):
    """An operation the registry has no rule for: the float bound of that step cannot be derived."""

    def __init__(self, op, step=None, name=None, reason=False):
        self.op, self.step, self.name = op, step, name
        where = f" in step {step} ({name})" if name else ""
        if reason:  # the tracer could not follow the code: ``op`` is its message
            super().__init__(f"the bound of step {step} ({name}) cannot be derived: {op}")
        else:
            super().__init__(f"no bound rule for the operation {op!r}{where}")


def rule(name):
    """Register the decorated function as the bound rule of operation ``name`` (this module's own)."""
    def register(fn):
        RULES[name] = fn
        BUILT_IN.add(name)
        return fn
    return register


def register_rule(name, fn):
    """The public way to give crossverify a bound for an operation it does not know, from a twin's
    own folder (docs/TWINS.md): ``fn(*operand_nodes)`` returns the Node of the result, whose ``d``
    bounds |left - right| elementwise (build it with ``finish(left, right, P, S, c)``). ``name`` is
    the operation as the tracer records it: a numpy function's name ("numpy.erf" style names are
    what ``not checked`` messages quote) or a ufunc's. Registering a name again replaces the
    registered rule (a twin.py loaded twice); a built-in rule is never replaced."""
    if not callable(fn):
        raise TypeError(f"the rule for {name!r} must be a function of the operand nodes")
    if name in BUILT_IN:
        raise ValueError(f"operation {name!r} has a built-in rule, which cannot be replaced")
    RULES[name] = fn
    return fn


def unregister_rule(name):
    """Remove a rule registered with register_rule (built-in rules stay)."""
    if name not in BUILT_IN:
        RULES.pop(name, None)


def gamma(k):
    return k * U / (1 - k * U)


class Node:
    """A (sub)expression on both sides: values, a bound on their difference, and its parts."""

    def __init__(self, left, right, d, m, P=None, S=None):
        self.left, self.right = left, right
        self.d, self.m = d, m
        self.P = d if P is None else P  # the propagated part of d
        self.S = m if S is None else S  # the operand scale the rounding part is measured against

    @classmethod
    def leaf(cls, left, right):
        left, right = np.broadcast_arrays(np.asarray(left, dtype=np.float64), np.asarray(right, dtype=np.float64))
        if _leaf_compiled is not None and left.flags.c_contiguous and right.flags.c_contiguous and left.size > 1:
            d, m = np.empty(left.shape), np.empty(left.shape)
            _leaf_compiled(left.reshape(-1), right.reshape(-1), d.reshape(-1), m.reshape(-1))
            return cls(left, right, d, m)
        with np.errstate(invalid="ignore"):  # inf - inf: equal infinities are 0 apart
            d = np.where(left == right, 0.0, np.abs(left - right))
        return cls(left, right, d, np.maximum(np.abs(left), np.abs(right)))

    def apply(self, fn):
        """The same node with ``fn`` (a pure rearrangement of elements) applied to every array."""
        return Node(fn(self.left), fn(self.right), fn(self.d), fn(self.m), fn(self.P), fn(self.S))


def _t(a):
    return np.swapaxes(a, -1, -2) if np.ndim(a) >= 2 else a


def _one_layout(*arrays):
    """All float64 arrays of one shape (more than one element), C-contiguous: one pass reads them all."""
    first = arrays[0]
    return all(isinstance(a, np.ndarray) and a.dtype == np.float64 and a.shape == first.shape and a.flags.c_contiguous
               for a in arrays) and first.size > 1


def _finish(left, right, P, S, c, floor=TINY):
    """A node whose value is rounded once more on each side: d = P + c S (+ the subnormal floor)."""
    if _finish_compiled is not None and np.ndim(c) == 0 and np.ndim(floor) == 0 and _one_layout(left, right, P, S):
        S_out, d, m = np.empty(left.shape), np.empty(left.shape), np.empty(left.shape)
        _finish_compiled(left.reshape(-1), right.reshape(-1), P.reshape(-1), S.reshape(-1), float(c), SLACK,
                         float(floor), S_out.reshape(-1), d.reshape(-1), m.reshape(-1))
        return Node(left, right, d, m, P, S_out)
    S = np.maximum(S, np.maximum(np.abs(left), np.abs(right)))
    d = (P + c * S) * SLACK + floor
    # inf * 0 (an overflowed magnitude times a zero difference) leaves no bound: infinite, never NaN,
    # which would fail even two equal values
    d = np.where(np.isnan(d), np.inf, d)
    return Node(left, right, d, S + d, P, S)


def _span(x):
    """The interval both sides' operands lie in, elementwise: [lo, hi]."""
    with np.errstate(invalid="ignore"):  # inf - inf gives NaN as before (an infinite operand); only numpy's warning goes
        return np.minimum(x.left, x.right) - x.d, np.maximum(x.left, x.right) + x.d


# -- exact rearrangements ----------------------------------------------------------------------------

@rule("T")
def transpose(a):
    """z = a^T: no rounding; d and m move with the elements."""
    return a.apply(_t)


@rule("neg")
def neg(a):
    """z = -a: exact; d_z = d_a."""
    return Node(-a.left, -a.right, a.d, a.m, a.P, a.S)


@rule("abs")
def absolute(a):
    """z = |a|: exact and 1-Lipschitz; d_z = d_a."""
    return Node(np.abs(a.left), np.abs(a.right), a.d, a.m, a.P, a.S)


@rule("scale")
def scale(a, factor):
    """z = a * 2^k: exact on both sides, d_z = 2^k d_a, except where a side's result is subnormal
    (rounded there, by at most half the smallest subnormal: + TINY) or overflows (infinite)."""
    left, right = a.left * factor, a.right * factor
    d = a.d * abs(factor)
    d = np.where(np.minimum(np.abs(left), np.abs(right)) < SMALLEST_NORMAL, d + TINY, d)
    d = np.where(np.isinf(left) | np.isinf(right), np.inf, d)
    return Node(left, right, d, a.m * abs(factor) + d)


@rule("reshape")
def reshape(a, shape):
    """The same elements under another shape, every epoch."""
    return a.apply(lambda v: v.reshape((v.shape[0],) + tuple(shape)))


@rule("layout")
def layout(a, params):
    """A numpy function that only moves elements (ravel, resize, tile, ...), applied epoch by epoch:
    applied once to the positions of one epoch's elements, the map then gathers every epoch at once."""
    fn = params[1]

    def move(v):
        positions = np.arange(v[0].size, dtype=np.float64).reshape(v.shape[1:])  # exact below 2^53
        where = np.asarray(fn(positions)).astype(np.int64)
        return v.reshape(len(v), -1)[:, where.ravel()].reshape((len(v),) + where.shape)

    return a.apply(move)


@rule("maximum")
def maximum(a, b):
    """z = max(a, b): exact, 1-Lipschitz in each operand; d_z = max(d_a, d_b)."""
    left, right = np.maximum(a.left, b.left), np.maximum(a.right, b.right)
    d = np.maximum(a.d, b.d)
    return Node(left, right, d, np.maximum(a.m, b.m), d, np.maximum(a.S, b.S))


# -- correctly rounded arithmetic --------------------------------------------------------------------

@rule("add")
def add(a, b):
    """z = a + b: P = d_a + d_b, S = m_a + m_b, c = 2u."""
    return _finish(a.left + b.left, a.right + b.right, a.d + b.d, a.m + b.m, 2 * U)


@rule("sub")
def sub(a, b):
    """z = a - b: P = d_a + d_b, S = m_a + m_b, c = 2u."""
    return _finish(a.left - b.left, a.right - b.right, a.d + b.d, a.m + b.m, 2 * U)


@rule("mul")
def mul(a, b):
    """z = a b: P = m_a d_b + d_a m_b, S = m_a m_b, c = 2u."""
    return _finish(a.left * b.left, a.right * b.right, a.m * b.d + a.d * b.m, a.m * b.m, 2 * U)


@rule("square")
def square(a):
    """z = a * a (numpy's a**2 and R's a^2): as mul(a, a)."""
    return mul(a, a)


@rule("div")
def div(a, b):
    """z = a / b, with |b| >= lo > 0 on both sides: P = (d_a + m_a d_b / lo) / lo, S = m_a / lo, c = 2u.
    Where b's interval reaches 0 the bound is infinite (the step is checked bit for bit only)."""
    lo = np.maximum(np.minimum(np.abs(b.left), np.abs(b.right)) - b.d, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # an overflowing bound is an infinite one
        # grouped so that no intermediate underflows: a.m * b.d can be far below the smallest double
        # while a.m * b.d / lo^2 is large (a divisor near the bottom of the normal range)
        P = np.where(lo > 0, a.d / lo + (a.m / lo) * (b.d / lo), np.inf)
        S = np.where(lo > 0, a.m / lo, np.inf)
        return _finish(a.left / b.left, a.right / b.right, P, S, 2 * U)


@rule("floordiv")
def floordiv(a, b):
    """z = floor(a / b) (numpy's //, R's %/%): both sides' results lie between the floors of the ends of
    the quotient's interval (the div rule's), so d = floor(hi) - floor(lo): 0 where no integer lies in it."""
    lo, hi = _span(div(a, b))
    with np.errstate(invalid="ignore"):
        d = np.floor(hi) - np.floor(lo)
    d = np.where(np.isnan(d), np.inf, d)  # a divisor that may be 0, or a quotient that overflows: no bound
    with np.errstate(all="ignore"):
        left, right = np.floor_divide(a.left, b.left), np.floor_divide(a.right, b.right)
    return Node(left, right, d, np.maximum(np.abs(left), np.abs(right)) + d)


@rule("sqrt")
def sqrt(a):
    """z = sqrt(a) (correctly rounded): P = d_a / (sqrt(lo_l) + sqrt(lo_r)) over the operands' interval,
    lo = its lower end clipped at 0 (infinite where it reaches 0 with d_a > 0); c = 2u."""
    lo, _ = _span(a)
    lo = np.maximum(lo, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        P = np.where(a.d == 0, 0.0, a.d / (2 * np.sqrt(lo)))
    return _finish(np.sqrt(a.left), np.sqrt(a.right), P, np.sqrt(a.m), 2 * U)


@rule("dot")
def matmul(a, b):
    """Z = A B with k terms per element: P = d_A m_B + m_A d_B, S = m_A m_B, c = 2 gamma_k, and a floor
    of TINY + k ETA: gamma_k is relative, but each of the k products (or fused multiply-adds) may be
    rounded in the subnormal range, by up to ETA / 2 on each side (tests/test_bound_rules.py: 64
    products of 2^-537 by 2^-537 or 2^-538, numpy's dot and the reference order 32 ETA apart)."""
    k = a.left.shape[-1]
    return _finish(a.left @ b.left, a.right @ b.right, a.d @ b.m + a.m @ b.d, a.m @ b.m, 2 * gamma(k),
                   floor=TINY + k * ETA)


@rule("sum")
def reduce_sum(a, axis):
    """z = sum of k elements (an axis, keepdims; or all when axis is None): P = sum d, S = sum m,
    c = 2 gamma_k (numpy's pairwise sum and R's long-double sum both obey it)."""
    axes = tuple(range(1, a.left.ndim)) if axis is None else tuple(axis) if isinstance(axis, tuple) else (axis,)
    k = int(np.prod([a.left.shape[x] for x in axes]))
    total = lambda v: v.sum(axis=axes, keepdims=True)  # noqa: E731
    return _finish(total(a.left), total(a.right), total(a.d), total(a.m), 2 * gamma(k))


@rule("mean")
def mean(a):
    """z = mean of n elements: P = mean d, S = mean m, c = 2 gamma_(n+1) (the sum, then one division)."""
    axes = tuple(range(1, a.left.ndim))
    n = int(np.prod([a.left.shape[x] for x in axes]))
    avg = lambda v: v.mean(axis=axes, keepdims=True)  # noqa: E731
    return _finish(avg(a.left), avg(a.right), avg(a.d), avg(a.m), 2 * gamma(n + 1))


# -- elementary functions ----------------------------------------------------------------------------

@rule("exp")
def exp(x):
    """z = e^x: P = e^(hi) d_x over the operands' interval [lo, hi]; c = 2 FUNCTION_ULPS ulp (libm's and
    numpy's exp each within 1 ulp)."""
    _, hi = _span(x)
    with np.errstate(over="ignore", invalid="ignore"):  # inf * 0 where d = 0 is masked
        P = np.where(x.d == 0, 0.0, np.exp(hi) * x.d)
        return _finish(np.exp(x.left), np.exp(x.right), P, np.zeros_like(x.m), 2 * FUNCTION_ULPS["exp"] * ULP)


@rule("tanh")
def tanh(x):
    """z = tanh x, 1-Lipschitz with tanh' = 1 - tanh^2 <= 1 - tanh(min |x| over the interval)^2:
    P = (1 - tanh(a)^2) d_x with a the interval's point nearest 0; c = 2 FUNCTION_ULPS ulp."""
    lo, hi = _span(x)
    nearest = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    P = (1 - np.tanh(nearest) ** 2) * x.d * (1 + 4 * U)
    return _finish(np.tanh(x.left), np.tanh(x.right), P, np.zeros_like(x.m), 2 * FUNCTION_ULPS["tanh"] * ULP)


@rule("log")
def log(x):
    """z = log x, x > 0: P = d_x / lo over the operands' interval (infinite where it reaches 0);
    c = 2 FUNCTION_ULPS ulp, measured against |z| (and the TINY floor near x = 1)."""
    lo, _ = _span(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        P = np.where(x.d == 0, 0.0, np.where(lo > 0, x.d / lo, np.inf))
        return _finish(np.log(x.left), np.log(x.right), P, np.zeros_like(x.m), 2 * FUNCTION_ULPS["log"] * ULP)


@rule("log1p")
def log1p(x):
    """z = log(1 + x), x > -1: P = d_x / (1 + lo); c = 2 FUNCTION_ULPS ulp."""
    lo, _ = _span(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        P = np.where(x.d == 0, 0.0, np.where(lo > -1, x.d / (1 + lo), np.inf))
        return _finish(np.log1p(x.left), np.log1p(x.right), P, np.zeros_like(x.m), 2 * FUNCTION_ULPS["log1p"] * ULP)


@rule("expm1")
def expm1(x):
    """z = e^x - 1: P = e^(hi) d_x; c = 2 FUNCTION_ULPS ulp."""
    _, hi = _span(x)
    with np.errstate(over="ignore", invalid="ignore"):  # inf * 0 where d = 0 is masked
        P = np.where(x.d == 0, 0.0, np.exp(hi) * x.d)
        return _finish(np.expm1(x.left), np.expm1(x.right), P, np.zeros_like(x.m), 2 * FUNCTION_ULPS["expm1"] * ULP)


@rule("pow")
def power(a, p):
    """z = a^p with the same exponent on both sides (d_p = 0; where it differs the bound is infinite).
    |dz/da| = |p| |a|^(p-1) is monotone in |a|, so over the operands' interval it is largest at the
    interval's largest |a| (p >= 1) or at its point nearest 0 (p < 1): P = |p| that^(p-1) d_a. A
    non-integer p needs the interval in a >= 0 (else infinite); p = 0 gives 1 on both sides, P = 0.
    c = 2 FUNCTION_ULPS ulp against |z| (the C library's pow; numpy's SIMD pow, or its a * a, sqrt,
    1 / a for p = 2, 0.5, -1)."""
    lo, hi = _span(a)
    pw = np.broadcast_to(p.left, a.left.shape)
    integer = np.isfinite(pw) & (pw == np.floor(pw))
    nearest = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    at = np.where(pw >= 1, np.maximum(np.abs(lo), np.abs(hi)), nearest)
    with np.errstate(all="ignore"):
        # in long double, whose range keeps |a|^(p-1) from underflowing or overflowing in between
        slope = np.abs(pw) * np.power(at.astype(np.longdouble), (pw - 1).astype(np.longdouble))
        P = (slope * a.d.astype(np.longdouble)).astype(np.float64) * (1 + 8 * U)
        P = np.where(a.d == 0, 0.0, P)
        P = np.where(pw == 0, 0.0, P)
        P = np.where((~integer & (lo < 0)) | np.isnan(P) | (np.broadcast_to(p.d, P.shape) > 0), np.inf, P)
        return _finish(np.power(a.left, pw), np.power(a.right, pw), P, np.zeros_like(a.m),
                       2 * FUNCTION_ULPS["pow"] * ULP)


# -- composite patterns (tracing.py recognises them) -------------------------------------------------

@rule("sigmoid")
def sigmoid(x):
    """z = 1 / (1 + e^-x), as one node: 1/4-Lipschitz, P = d_x / 4; to first order exp's ulp, the add
    and the division give (2^-52 + 2u)|z| per side: c = EXP_SIGMOID. Tighter than composing exp, add
    and div, whose propagation would pass through e^-x's magnitude."""
    f = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731 - the values only locate the bound, which covers either exp
    with np.errstate(over="ignore"):  # e^-x = Inf for x < -709.78: sigmoid 0, as on both sides
        return _finish(f(x.left), f(x.right), x.d / 4, np.zeros_like(x.m), EXP_SIGMOID)


@rule("slope")
def slope(x):
    """z = x (1 - x), the sigmoid's slope from its output, as one node: x_py(1 - x_py) - x_r(1 - x_r)
    = (x_py - x_r)(1 - x_py - x_r), so P = d (|1 - x_l - x_r| + 2d), S = m (1 + m), c = 2 gamma_2."""
    P = x.d * (np.abs(1 - x.left - x.right) + 2 * x.d)
    S = x.m * (1 + x.m)
    return _finish(x.left * (1 - x.left), x.right * (1 - x.right), P, S, 2 * gamma(2))


PARAMETERISED = {"scale", "sum", "reshape", "layout"}


def operations(expr):
    """Every operation name in ``expr``."""
    if isinstance(expr, str) or expr[0] == "const":
        return set()
    op, *args = expr
    if op in PARAMETERISED:
        return {op} | operations(args[0])
    return {op}.union(*(operations(a) for a in args if not isinstance(a, Params)))


def check_known(spec):
    """Raise UnknownOperationError for the first step whose expression uses an operation with no rule."""
    for step, name, expr in spec:
        if isinstance(expr, tuple) and expr and expr[0] == "untraced":
            raise UnknownOperationError(expr[1].value, step, name, reason=True)
        unknown = sorted(operations(expr) - set(RULES))
        if unknown:
            raise UnknownOperationError(unknown[0], step, name)


def evaluate(expr, leaf):
    """The Node of ``expr``: a leaf token, ("const", v), or (op, operands...) with op in RULES."""
    if isinstance(expr, str):
        return leaf(expr)
    op, *args = expr
    if op == "const":
        value = np.asarray(args[0], dtype=np.float64)
        return Node.leaf(value, value)
    fn = RULES.get(op)
    if fn is None:
        raise UnknownOperationError(op)
    # values that overflowed (a run gone wrong) make inf * 0 and inf - inf in the rules' arithmetic:
    # quietly, as _finish turns a NaN bound into an infinite one
    with np.errstate(over="ignore", invalid="ignore"):
        if op in PARAMETERISED:
            return fn(evaluate(args[0], leaf), args[1])
        if args and isinstance(args[-1], Params):
            return fn(*(evaluate(a, leaf) for a in args[:-1]), args[-1].value)
        return fn(*(evaluate(a, leaf) for a in args))


# -- plain numpy: selections, reductions without rounding, and what numpy users write ---------------
# (bridge/twins/tracing.py records these from numpy's dispatch; each rule's last argument is its
# Params value. Axes are negative, counted from the end, so that an operand with or without the
# leading epoch axis reads the same.)

finish = _finish  # for rules registered from a twin's folder: d = (P + c S)(1 + 2^-20) + floor


def _flat(v, shape):
    """``v`` (one operand's array, with or without the epoch axis) as (epochs, elements)."""
    v = np.asarray(v)
    lead = v.ndim - len(shape)
    return v.reshape(v.shape[:lead] + (-1,)) if lead else v.reshape(1, -1), lead


@rule("gather")
def gather(*args):
    """z = elements picked from the operands (indexing and slicing with fixed keys, .T, reshape,
    ravel, concatenate, hstack, vstack, stack, broadcasting, assignment to a fixed slice): no
    rounding; each element of z carries the d and m of the element it was picked from. Params:
    (the operands' per-epoch shapes, the index of each element of z in the operands' raveled
    concatenation)."""
    *operands, (shapes, index) = args
    index = np.asarray(index, dtype=np.int64)

    def pick(field):
        parts, leads = zip(*(_flat(getattr(o, field), s) for o, s in zip(operands, shapes)))
        epochs = max(p.shape[0] for p in parts)
        joined = np.concatenate([np.broadcast_to(p, (epochs, p.shape[1])) for p in parts], axis=1)
        out = joined[:, index.ravel()].reshape((epochs,) + index.shape)
        return out if any(leads) else out[0]

    return Node(pick("left"), pick("right"), pick("d"), pick("m"), pick("P"), pick("S"))


@rule("minimum")
def minimum(a, b):
    """z = min(a, b): exact, 1-Lipschitz in each operand; d_z = max(d_a, d_b)."""
    left, right = np.minimum(a.left, b.left), np.minimum(a.right, b.right)
    d = np.maximum(a.d, b.d)
    return Node(left, right, d, np.maximum(a.m, b.m), d, np.maximum(a.S, b.S))


def _reduce(fn, v, axes, keepdims=True):
    return fn(v, axis=axes, keepdims=keepdims)


@rule("amax")
def amax(a, params):
    """z = max over axes (np.max, .max()): no rounding, and |max x - max y| <= max |x - y| (max is
    1-Lipschitz in the largest-element norm): d_z = max of d_a over the axes. Params: (axes, keepdims)."""
    axes, keepdims = params
    return Node(_reduce(np.max, a.left, axes, keepdims), _reduce(np.max, a.right, axes, keepdims),
                _reduce(np.max, a.d, axes, keepdims), _reduce(np.max, a.m, axes, keepdims))


@rule("amin")
def amin(a, params):
    """z = min over axes: as amax (min x = -max(-x)), d_z = max of d_a over the axes."""
    axes, keepdims = params
    return Node(_reduce(np.min, a.left, axes, keepdims), _reduce(np.min, a.right, axes, keepdims),
                _reduce(np.max, a.d, axes, keepdims), _reduce(np.max, a.m, axes, keepdims))


def _certain_winner(a, axis, sign):
    """Where the largest element of ``sign * a`` along ``axis`` is the same on both sides whatever the
    operands within their bounds: its interval's low end lies above every other element's high end."""
    lo, hi = _span(a)
    if sign < 0:
        lo, hi = -hi, -lo
    winner = np.argmax(sign * a.left, axis=axis)
    w = np.expand_dims(winner, axis)
    low_of_winner = np.take_along_axis(lo, w, axis)
    others = np.where(np.arange(a.left.shape[axis]).reshape((-1,) + (1,) * (-axis - 1)) == w, -np.inf, hi)
    return np.squeeze(low_of_winner, axis) > np.max(others, axis=axis, initial=-np.inf)


def _arg_rule(a, axis, sign):
    fn = np.argmax if sign > 0 else np.argmin
    left, right = fn(a.left, axis=axis), fn(a.right, axis=axis)
    d = np.where(_certain_winner(a, axis, sign), 0.0, np.inf)
    m = np.full(d.shape, float(a.left.shape[axis]))
    return Node(left.astype(np.float64), right.astype(np.float64), d, m, d, m)


@rule("argmax")
def argmax(a, axis):
    """z = the index of the largest element along ``axis``: no rounding. Both sides pick the same
    index (d = 0) where the winner's interval [lo, hi] (both sides' values +- d) lies above every
    other element's; elsewhere the index is not determined by the bound (d = infinite)."""
    return _arg_rule(a, axis, 1)


@rule("argmin")
def argmin(a, axis):
    """z = the index of the smallest element along ``axis``: as argmax of -a."""
    return _arg_rule(a, axis, -1)


@rule("sort")
def sort(a, axis):
    """z = a sorted along ``axis``: no rounding; sorting is 1-Lipschitz in the largest-element norm
    (|sort(x)_i - sort(y)_i| <= max_j |x_j - y_j|): d_z = max of d_a along the axis, everywhere on it."""
    d = np.broadcast_to(np.max(a.d, axis=axis, keepdims=True), a.d.shape)
    m = np.broadcast_to(np.max(a.m, axis=axis, keepdims=True), a.m.shape)
    return Node(np.sort(a.left, axis=axis), np.sort(a.right, axis=axis), d, m)


@rule("argsort")
def argsort(a, axis):
    """z = the permutation that sorts ``a`` along ``axis``: no rounding; the same on both sides (d = 0)
    where every element's interval lies strictly between its neighbours' in the sorted order, else
    not determined by the bound (d = infinite, along the whole axis)."""
    lo, hi = _span(a)
    order = np.argsort(a.left, axis=axis)
    lo_s, hi_s = np.take_along_axis(lo, order, axis), np.take_along_axis(hi, order, axis)
    n = a.left.shape[axis]
    separated = np.all(np.take(lo_s, range(1, n), axis=axis) > np.take(hi_s, range(n - 1), axis=axis),
                       axis=axis, keepdims=True)
    d = np.broadcast_to(np.where(separated, 0.0, np.inf), a.d.shape)
    m = np.full(a.d.shape, float(n))
    return Node(order.astype(np.float64), np.argsort(a.right, axis=axis).astype(np.float64), d, m, d, m)


@rule("cumsum")
def cumsum(a, axis):
    """z_j = sum of the first j + 1 elements along ``axis``: as the sum rule with k = j + 1 terms,
    P = cumsum d, S = cumsum m, c = 2 gamma_(j+1) (numpy's sequential running sum, R's long-double one)."""
    k = np.arange(1, a.left.shape[axis] + 1, dtype=np.float64).reshape((-1,) + (1,) * (-axis - 1))
    c = 2 * k * U / (1 - k * U)
    return _finish(np.cumsum(a.left, axis=axis), np.cumsum(a.right, axis=axis), np.cumsum(a.d, axis=axis),
                   np.cumsum(a.m, axis=axis), c)


@rule("mean_axes")
def mean_axes(a, axes):
    """z = mean over ``axes`` (np.mean(axis=...), R's colMeans/rowMeans/mean) of n elements: P = mean d,
    S = mean m, c = 2 gamma_(n+1) (the sum, then one division)."""
    n = int(np.prod([a.left.shape[x] for x in axes]))
    avg = lambda v: v.mean(axis=axes, keepdims=True)  # noqa: E731
    return _finish(avg(a.left), avg(a.right), avg(a.d), avg(a.m), 2 * gamma(n + 1))


def _const(value, like):
    v = np.full(np.shape(like), value, dtype=np.float64)
    return Node.leaf(v, v)


@rule("var")
def var(a, params):
    """z = sum((a - mean a)^2) / (n - ddof) over ``axes``: composed from the rules of its steps
    (mean_axes, sub, mul, sum, div by the exact count), which bound numpy's two-pass variance and R's
    var (long-double sums: more accurate than each step assumes) alike. Params: (axes, ddof)."""
    axes, ddof = params
    n = int(np.prod([a.left.shape[x] for x in axes]))
    dev = sub(a, mean_axes(a, axes))
    total = reduce_sum(mul(dev, dev), tuple(axes))
    return div(total, _const(n - ddof, total.left))


@rule("std")
def std(a, params):
    """z = sqrt(var): the sqrt rule on the var rule's node."""
    return sqrt(var(a, params))


@rule("where")
def where(c, a, b):
    """z = a where c else b (np.where): no rounding. Where both sides take the same branch (d_c = 0)
    d_z is the chosen operand's d; where they may not, d_z = max(d_a, d_b, |a_l - b_r|, |b_l - a_r|),
    every pairing of the two sides' candidates."""
    cl, cr = np.asarray(c.left, dtype=bool), np.asarray(c.right, dtype=bool)
    left, right = np.where(cl, a.left, b.left), np.where(cr, a.right, b.right)
    with np.errstate(invalid="ignore"):
        crossed = np.maximum(np.maximum(a.d, b.d), np.maximum(np.abs(a.left - b.right), np.abs(b.left - a.right)))
    d = np.where(c.d == 0, np.where(cl, a.d, b.d), crossed)
    d = np.where(np.isnan(d), np.inf, d)
    m = np.maximum(a.m, b.m)
    return Node(left, right, d, np.broadcast_to(m, np.shape(d)))


COMPARISONS = {"greater": np.greater, "greater_equal": np.greater_equal, "less": np.less,
               "less_equal": np.less_equal, "equal": np.equal, "not_equal": np.not_equal}
LOGICAL = {"logical_and": np.logical_and, "logical_or": np.logical_or, "logical_xor": np.logical_xor,
           "bitwise_and": np.logical_and, "bitwise_or": np.logical_or}


@rule("compare")
def compare(a, b, name):
    """z = a OP b (>, >=, <, <=, ==, !=), 0 or 1: no rounding. Both sides agree (d = 0) where neither
    operand moved (d_a = d_b = 0) or their intervals are disjoint (the comparison is constant over
    them); elsewhere they may differ by 1."""
    fn = COMPARISONS[name]
    la, ha = _span(a)
    lb, hb = _span(b)
    settled = ((a.d == 0) & (b.d == 0)) | (la > hb) | (ha < lb)
    d = np.where(settled, 0.0, 1.0)
    return Node(fn(a.left, b.left), fn(a.right, b.right), d, np.ones_like(d))


@rule("logical")
def logical(a, b, name):
    """z = a AND/OR/XOR b on 0/1 operands: d = 0 where both operands agree on both sides, else 1."""
    fn = LOGICAL[name]
    d = np.where((a.d == 0) & (b.d == 0), 0.0, 1.0)
    return Node(fn(a.left, b.left), fn(a.right, b.right), d, np.ones_like(d))


@rule("logical_not")
def logical_not(a):
    """z = NOT a on a 0/1 operand: d_z = d_a."""
    return Node(np.logical_not(a.left), np.logical_not(a.right), a.d, np.ones_like(a.d))


def _masked(a, mask, shape, mean):
    """The sum or mean over the first per-epoch axis of the rows of ``a`` where ``mask``."""
    axis = -len(shape)
    extra = (1,) * (len(shape) - 1)
    wl = np.asarray(mask.left, dtype=np.float64).reshape(np.shape(mask.left) + extra)
    wr = np.asarray(mask.right, dtype=np.float64).reshape(np.shape(mask.right) + extra)
    agree = np.all(mask.d.reshape(mask.d.shape + extra) == 0, axis=axis, keepdims=True)
    total = lambda v, w: np.sum(np.where(w > 0, v, 0.0), axis=axis, keepdims=True)  # noqa: E731
    kl, kr = np.sum(wl, axis=axis, keepdims=True), np.sum(wr, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        left, right = total(a.left, wl), total(a.right, wr)
        P, S = total(a.d, wl), total(a.m, wl)
        k = np.maximum(kl, 1.0)
        c = 2 * (k + mean) * U / (1 - (k + mean) * U)
        if mean:
            left, right, P, S = left / kl, right / kr, P / k, S / k
        node = _finish(left, right, P, S, c)
    node.d = np.where(agree, node.d, np.inf)
    return node


@rule("masked_sum")
def masked_sum(a, mask, shape):
    """z = a[mask].sum(axis=0) for a mask computed from the epoch's values (k-means' clusters): where
    both sides select the same rows (d_mask = 0 on every row), the sum rule over the k selected rows
    (P = sum d, S = sum m, c = 2 gamma_k); where they may select different rows, infinite."""
    return _masked(a, mask, shape, mean=False)


@rule("masked_mean")
def masked_mean(a, mask, shape):
    """z = a[mask].mean(axis=0) (R: colMeans(a[mask, , drop = FALSE])): the mean_axes rule over the k
    selected rows (c = 2 gamma_(k+1)) where both sides select the same rows, else infinite."""
    return _masked(a, mask, shape, mean=True)


# -- evaluation at some elements only (a full audit's float rows: bridge/check/engine.py) -------------

# rules computed element by element, each result element from the operands' elements at its position
# (after broadcasting): on the operands' elements at some positions they give those positions' bits
ELEMENTWISE = {"add", "sub", "mul", "square", "div", "floordiv", "sqrt", "exp", "tanh", "log", "log1p", "expm1",
               "pow", "sigmoid", "slope", "neg", "abs", "scale", "maximum", "minimum", "where", "compare",
               "logical", "logical_not"}
# rules whose d is never NaN nor negative when their operands' d and m are >= 0 or NaN (every built-in
# rule's are): _finish maps a NaN bound to inf, the others give 0, 1, inf or differences of floors
NEVER_NAN = {"add", "sub", "mul", "square", "div", "floordiv", "sqrt", "dot", "sum", "mean", "exp", "tanh", "log",
             "log1p", "expm1", "pow", "sigmoid", "slope", "cumsum", "mean_axes", "var", "std", "masked_sum",
             "masked_mean", "where", "compare", "logical", "argmax", "argmin", "argsort"}
# rules whose d is their operands' d moved, scaled by a factor, or their largest
PASSING = {"neg", "abs", "logical_not", "maximum", "minimum", "scale"}


def never_nan(expr, has_nan):
    """True when ``expr``'s bound is >= 0 and not NaN at every element, for any values: then an element
    whose two values are equal is within it, and needs no bound. ``has_nan(token)``: may that leaf hold a
    NaN (its d is NaN there)? Only built-in rules are trusted; a registered one may return anything."""
    if isinstance(expr, str):
        return not has_nan(expr)
    op, *args = expr
    if op == "const":
        return not np.isnan(np.asarray(args[0], dtype=np.float64)).any()
    if not operations(expr) <= BUILT_IN:
        return False
    if op in NEVER_NAN:
        return True
    if op == "scale":  # inf * 0 is NaN
        return bool(np.isfinite(args[1]) and args[1] != 0) and never_nan(args[0], has_nan)
    if op in PASSING:
        return all(never_nan(a, has_nan) for a in args if not isinstance(a, Params))
    return False


def take(a, shape, flat):
    """The elements of ``a`` broadcast to ``shape`` at C-order positions ``flat``, without broadcasting it."""
    a = np.asarray(a)
    if a.shape == shape and a.flags.c_contiguous:
        return a.reshape(-1)[flat]
    return np.broadcast_to(a, shape)[np.unravel_index(flat, shape)]


def evaluate_at(expr, leaf, values, shape, flat):
    """The Node of ``expr`` broadcast to ``shape``, at the C-order positions ``flat`` only (1-d arrays),
    with the bits evaluate() gives there: elementwise rules run on the operands' elements at those
    positions, any other subexpression is evaluated whole and its elements taken. ``leaf(token)`` is a
    leaf's whole Node, ``values(token)`` its two sides' arrays."""
    if isinstance(expr, str):
        left, right = values(expr)
        return Node.leaf(take(left, shape, flat), take(right, shape, flat))
    op, *args = expr
    if op not in ELEMENTWISE or op not in BUILT_IN:
        whole = evaluate(expr, leaf)
        return Node(*(take(getattr(whole, k), shape, flat) for k in ("left", "right", "d", "m", "P", "S")))
    fn = RULES[op]
    with np.errstate(over="ignore", invalid="ignore"):  # as evaluate()
        if op in PARAMETERISED:
            return fn(evaluate_at(args[0], leaf, values, shape, flat), args[1])
        if args and isinstance(args[-1], Params):
            return fn(*(evaluate_at(a, leaf, values, shape, flat) for a in args[:-1]), args[-1].value)
        return fn(*(evaluate_at(a, leaf, values, shape, flat) for a in args))
