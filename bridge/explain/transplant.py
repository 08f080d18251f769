"""One step recomputed from the other side's inputs, with each operation rounded the way numpy
rounds it or the way R does, chosen occurrence by occurrence.

A step's expression is the nested tuple bridge/twins/tracing.py reads off the Python code
(leaves: data and hyper-parameter names, ``"<state>@prev"``, other intermediates' names,
``("const", v)``). :func:`evaluate` computes it on any leaf values; every operation whose rounding
differs between the two languages (the ``xp`` operations of docs/TWINS.md: ``dot``, ``exp``, ``sum``,
``mean``, ``tanh``, ...) takes the array namespace ``kernels_at(path)`` gives for its occurrence,
named by its path in the tree (the child positions from the root: ``()`` is the root, ``(1,)`` its
first operand). Elementwise ``+ - * /``, negation, squares, scaling by powers of two, transposes and
layout moves are correctly rounded or exact in both languages and are computed with plain numpy.

:func:`minimal_swap` then finds the smallest set of occurrences whose switch from one namespace
(the left side's kernels) to another (R's rounding) turns the recomputed value into R's bits: each
occurrence alone first, then delta debugging over sets (Zeller and Hildebrandt, "Simplifying and
isolating failure-inducing input", 2002: ddmin), whose result is 1-minimal (dropping any one
occurrence no longer reproduces R).

R's rounding is python_impl/kernels.py's ExactKernels, its methods bound when this module is
imported: a defect injected later into the exact kernels (a mutation test) does not change what
"R's rounding" means here.
"""
from fractions import Fraction

import numpy as np

from crossverify.check.ulp import ulp_distance
from crossverify.python_impl.kernels import ExactKernels, internal_matprod
from crossverify.twins.tracing import Params

# the fused nodes of tracing.py and every xp operation: the occurrences a swap may change
ROUNDING_OPS = ("dot", "exp", "sigmoid", "sum", "mean", "tanh", "log", "log1p", "expm1", "sqrt", "abs",
                "maximum", "pow")
PARAMETERISED = ("scale", "sum", "reshape", "layout")
ELEMENTWISE = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}
# operations whose output element [i, j] is computed from the operands' element [i, j] alone
POINTWISE = set(ELEMENTWISE) | {"neg", "square", "scale", "slope", "sigmoid", "exp", "tanh", "log", "log1p",
                                "expm1", "sqrt", "abs", "maximum", "pow"}

_R_METHODS = {k: v for k, v in vars(ExactKernels).items() if callable(v) and not k.startswith("__")}


class RRounding:
    """R's arithmetic as the exact kernels reproduce it, bound at import (see the module docstring)."""

    name = "R"
    compiled = ExactKernels.compiled  # the exact kernels' compiled loops (or None), bound at import too

    def __init__(self, matprod_path="reference"):
        self.matprod_path = matprod_path


for _name, _method in _R_METHODS.items():
    setattr(RRounding, _name, _method)


class Untransplantable(Exception):
    """An operation this evaluator cannot recompute (one the tracer recorded under a numpy name)."""

    def __init__(self, op):
        self.op = op
        super().__init__(f"the operation {op!r} cannot be recomputed from the recorded inputs")


def same_bits(a, b):
    """Same shape and the same 64 bits everywhere (two NaNs count as equal, as the engine's rule)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    return bool(np.all((a.view(np.uint64) == b.view(np.uint64)) | (np.isnan(a) & np.isnan(b))))


def differing(a, b):
    """Elementwise: the bits differ and the two are not both NaN (a and b broadcast)."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    return (a.view(np.uint64) != b.view(np.uint64)) & ~(np.isnan(a) & np.isnan(b))


# -- the expression ---------------------------------------------------------------------------------

def occurrences(expr, path=()):
    """[(path, op)] of every operation in ``expr`` whose rounding numpy and R may do differently,
    outermost first."""
    if isinstance(expr, str) or expr[0] == "const":
        return []
    op, *args = expr
    out = [(path, op)] if op in ROUNDING_OPS else []
    children = args[:1] if op in PARAMETERISED else args
    for i, child in enumerate(children):
        out += occurrences(child, path + (i + 1,))
    return out


def node_at(expr, path):
    for i in path:
        expr = expr[i]
    return expr


def leaves(expr):
    """The leaf tokens of ``expr`` (data, hyper-parameters, state@prev, intermediates), in order."""
    if isinstance(expr, str):
        return [expr]
    op, *args = expr
    if op == "const":
        return []
    children = args[:1] if op in PARAMETERISED else args
    return list(dict.fromkeys(t for child in children for t in leaves(child)))


def _apply(op, xs, param, k):
    if op in ELEMENTWISE:
        return ELEMENTWISE[op](xs[0], xs[1])
    x = xs[0]
    if op == "T":
        return np.swapaxes(x, -1, -2) if np.ndim(x) >= 2 else x
    if op == "neg":
        return -x
    if op == "square":  # x^2 is x * x in numpy and in R
        return x * x
    if op == "scale":  # a power of two: exact on both sides
        return x * param
    if op == "slope":
        return x * (1 - x)
    if op == "sigmoid":
        return 1 / (1 + k.exp(-x))
    if op == "dot":
        return k.dot(xs[0], xs[1])
    if op == "sum":
        if isinstance(param, tuple):  # plain numpy's axes (bridge/twins/tracing.py): all of them, or one
            param = None if len(param) == np.ndim(x) else param[0]
        return k.sum(x, axis=None if param is None else np.ndim(x) + param)
    if op == "mean":
        return k.mean(x)
    if op in ("exp", "tanh", "log", "log1p", "expm1", "sqrt", "abs"):
        return getattr(k, op)(x)
    if op == "maximum":
        return k.maximum(xs[0], xs[1])
    if op == "pow":
        return k.power(xs[0], xs[1])
    if op == "reshape":
        return np.reshape(x, param)
    if op == "floordiv":  # numpy's //; R's %/% differs from it only where the quotient is huge
        return np.floor_divide(xs[0], xs[1])
    if op == "sort":  # a permutation of its operand: no rounding on either side
        return np.sort(xs[0], axis=param)
    if op == "layout":
        return np.asarray(param[1](x), dtype=np.float64)
    raise Untransplantable(op)


def evaluate(expr, leaf, kernels_at, path=(), seen=None):
    """The value of ``expr``: ``leaf(token)`` for each leaf, ``kernels_at(path)`` the namespace of
    the rounding operation at ``path``. ``seen`` (a dict), when given, receives path -> (op,
    operand values, value) for every operation node."""
    if isinstance(expr, str):
        return np.asarray(leaf(expr), dtype=np.float64)
    op, *args = expr
    if op == "const":
        return np.asarray(args[0], dtype=np.float64)
    param = args[1] if op in PARAMETERISED else None
    children = args[:1] if op in PARAMETERISED else args
    if args and isinstance(args[-1], Params):  # plain numpy's operations carry their axis last
        param, children = args[-1].value, args[:-1]
    xs = [evaluate(child, leaf, kernels_at, path + (i + 1,), seen) for i, child in enumerate(children)]
    with np.errstate(all="ignore"):
        value = np.asarray(_apply(op, xs, param, kernels_at(path) if op in ROUNDING_OPS else None),
                           dtype=np.float64)
    if seen is not None:
        seen[path] = (op, xs, value)
    return value


def chooser(default, swapped=(), other=None):
    """kernels_at for :func:`evaluate`: ``other`` at the paths in ``swapped``, ``default`` elsewhere."""
    swapped = frozenset(swapped)
    return lambda path: other if path in swapped else default


# -- the smallest swap -------------------------------------------------------------------------------

def ddmin(items, test):
    """A 1-minimal sublist of ``items`` for which ``test`` holds (``test(items)`` must hold)."""
    items, n = list(items), 2
    while len(items) >= 2:
        size = -(-len(items) // n)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        for chunk in chunks:
            if test(chunk):
                items, n = chunk, 2
                break
        else:
            for chunk in chunks:
                rest = [x for x in items if x not in chunk]
                if test(rest):
                    items, n = rest, max(n - 1, 2)
                    break
            else:
                if n >= len(items):
                    break
                n = min(len(items), 2 * n)
    return items


def minimal_swap(expr, leaf, left, right, reproduces, paths=None):
    """The smallest list of occurrence paths (among ``paths``, default all) whose switch from namespace
    ``left`` to ``right`` makes ``reproduces(value)`` true: single occurrences first, then ddmin from all
    of them. None when switching every one of them does not reproduce either."""
    paths = [p for p, _ in occurrences(expr)] if paths is None else list(paths)

    def test(subset):
        return reproduces(evaluate(expr, leaf, chooser(left, subset, right)))

    for p in paths:
        if test([p]):
            return [p]
    if not paths or not test(paths):
        return None
    return ddmin(paths, test)


# -- naming what one operation did ----------------------------------------------------------------------

def _fma(a, b, c):
    """a * b + c rounded once (exact rational arithmetic; int / int true division rounds correctly)."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


SEQUENTIAL = "products rounded one by one and added in term order (the reference BLAS's loop)"
FUSED = "fused multiply-adds (each product added to the running sum before it is rounded)"
LONG_DOUBLE = "products rounded one by one and summed in long double (R's internal loop)"


def dot_orders(a_row, b_col):
    """How a k-term product-sum comes out under each order of rounding, by name."""
    a_row, b_col = [float(v) for v in a_row], [float(v) for v in b_col]
    products = [x * y for x, y in zip(a_row, b_col)]
    sequential = 0.0
    for p in products:
        sequential += p
    fused = products[0] if products else 0.0
    for x, y in list(zip(a_row, b_col))[1:]:
        fused = _fma(x, y, fused)
    long_double = float(internal_matprod(np.array([a_row]), np.array([b_col]).T)[0, 0]) if products else 0.0
    return {SEQUENTIAL: sequential + 0.0, FUSED: fused, LONG_DOUBLE: long_double}


def _how(orders, value, names):
    """The first of ``names`` (most likely first) whose order gives ``value``."""
    return next((n for n in names if same_bits(orders[n], value)), None)


def map_index(expr, path, index, seen):
    """The element of the node at ``path`` that the root's element ``index`` is computed from, when
    every node between them works element by element (or transposes); None otherwise."""
    node, idx = expr, tuple(index)
    for step, i in enumerate(path):
        op = node[0]
        child_path = path[:step + 1]
        child_shape = np.shape(seen[child_path][2]) if child_path in seen else None
        if op == "T":
            idx = tuple(reversed(idx))
        elif op in POINTWISE and child_shape is not None:
            if len(child_shape) != len(idx):
                if not child_shape:
                    return None
                idx = idx[-len(child_shape):]
            idx = tuple(0 if n == 1 else k for k, n in zip(idx, child_shape))
        else:
            return None
        node = node[i]
    return idx


def _fmt(index):
    return "[" + ", ".join(str(int(k)) for k in index) + "]"


def _ulps(a, b):
    return int(ulp_distance(a, b))


def _ulp_text(n):
    return f"{n} ULP" + ("" if n == 1 else "s")


def _direction(a, b):
    return "above" if a > b else "below"


def describe_operation(op, xs, param, left, right, index, left_label, right_label, engine=""):
    """(sentence, element) on what the operation ``op`` computes from operands ``xs`` with namespace
    ``left`` against namespace ``right`` (R's rounding): both values at element ``index`` (else the
    first element where they differ), its inputs, and how far apart they are in ULPs; (None, None)
    when the two namespaces agree on every element."""
    with np.errstate(all="ignore"):
        a_all = np.asarray(_apply(op, xs, param, left), dtype=np.float64)
        b_all = np.asarray(_apply(op, xs, param, right), dtype=np.float64)
    bad = differing(a_all, b_all)
    if not bad.any():
        return None, None
    if bad.ndim == 0:
        index = ()
    elif index is None or len(index) != bad.ndim or not bad[tuple(index)]:
        index = tuple(int(k) for k in np.argwhere(bad)[0])
    index = tuple(index)
    a, b = float(a_all[index]), float(b_all[index])
    where = f" at {_fmt(index)}" if index else ""
    also = f" ({int(bad.sum())} of {a_all.size} elements differ)" if a_all.size > 1 else ""
    if op == "sigmoid":
        x = float(np.asarray(xs[0])[index])
        with np.errstate(all="ignore"):  # the whole operand, as the step computed it (numpy's SIMD lanes)
            el, er = float(left.exp(-np.asarray(xs[0]))[index]), float(right.exp(-np.asarray(xs[0]))[index])
        return (f"{left_label} exp({-x!r}) = {el!r} is {_ulp_text(_ulps(el, er))} {_direction(el, er)} "
                f"{right_label} {er!r} (R calls the C library's exp); the sigmoid 1/(1 + exp(-x)){where} "
                f"inherits it: {a!r} against {b!r}, "
                f"{_ulp_text(_ulps(a, b))} apart{also}"), index
    if op in ("exp", "tanh", "log", "log1p", "expm1", "sqrt", "abs"):
        x = float(np.asarray(xs[0])[index]) if np.ndim(xs[0]) else float(xs[0])
        return (f"{left_label} {op}({x!r}){where} = {a!r} is {_ulp_text(_ulps(a, b))} {_direction(a, b)} "
                f"{right_label} {b!r} (R calls the C library's {op}){also}"), index
    if op == "dot":
        A, B = np.asarray(xs[0]), np.asarray(xs[1])
        i, j = index
        row, col = A[i, :], B[:, j]
        orders = dot_orders(row, col)
        # what each side's value is, among the orders that side may take (several may give one value)
        numpyish = getattr(left, "bit_for_bit", None) is False  # numpy's own rounding, not R's
        how_left = _how(orders, a, (SEQUENTIAL, FUSED) if numpyish else (SEQUENTIAL, LONG_DOUBLE))
        internal = getattr(right, "matprod_path", "reference") == "internal"
        how_right = _how(orders, b, (LONG_DOUBLE, SEQUENTIAL) if internal else (SEQUENTIAL, LONG_DOUBLE))
        terms = " + ".join(f"{float(x)!r} * {float(y)!r}" for x, y in zip(row[:2], col[:2]))
        terms += " + ..." if len(row) > 2 else ""
        text = (f"{left_label} matrix product{where}, a sum of {len(row)} products ({terms}), is {a!r}, "
                f"{_ulp_text(_ulps(a, b))} {_direction(a, b)} {right_label} {b!r}{also}")
        if how_left or how_right:
            unknown = "other orders of addition (blocked, vectorised BLAS sums)"
            text += (f"; {left_label} value is what {how_left or unknown} give, {right_label} what "
                     f"{how_right or 'other orders of addition'} give")
        if engine:
            text += f" ({engine})"
        return text, index
    if op in ("sum", "mean"):
        terms = int(np.size(xs[0]) // max(1, a_all.size)) if op == "sum" else int(np.size(xs[0]))
        return (f"{left_label} {op} of {terms} terms{where} gives {a!r}, {_ulp_text(_ulps(a, b))} {_direction(a, b)} "
                f"{right_label} {b!r}{also} (numpy adds pairwise in double; R accumulates in long double, as its "
                f"colSums, rowSums, sum and mean do)"), index
    return (f"{left_label} {op}{where} gives {a!r}, {_ulp_text(_ulps(a, b))} {_direction(a, b)} {right_label} "
            f"{b!r}{also}"), index
