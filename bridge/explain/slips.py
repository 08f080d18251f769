"""A catalogue of the classic slips of a numpy-to-R translation, each recognised by its fingerprint
at a step whose two sides compute different formulas, and reported only when replaying its fix
reproduces R (``crossverify explain``; the gallery is examples/slips/, docs/SLIPS.md its output).

At a local difference (every input of the step agrees, yet no switch of rounding gives R's bits;
bridge/explain/causes.py), each entry proposes a *correction* of the left side's formula, the
step's traced expression (bridge/twins/tracing.py): a vector laid out as R recycles it, a sum taken
along the other axis, a constant or hyper-parameter replaced, the result transposed or refilled.
The corrected expression is evaluated on R's own inputs, with R's rounding (the exact kernels) and
then with the left side's, and the entry is reported only when that value equals R's at every
element of the step: to the bit, or within the step's float bound (whose size is the rounding both
sides may do; bridge/check/bounds.py). At the starting state, the same is done with the two sides'
starting matrices; a start that no layout explains is a different random stream when R, started
from the left side's state, computes the left side's first epoch to the bit.

Nothing here names a twin: every entry reads the expression, the shapes, the data sizes and the
hyper-parameters of whatever twin it is given.
"""
import inspect
import os
import re
from dataclasses import dataclass, field

import numpy as np

from crossverify.check import bounds
from crossverify.explain import transplant as tp
from crossverify.paths import PROJECT_ROOT
from crossverify.twins.tracing import Params

# the catalogue: key -> (title, the fix a teacher would write on the board)
CATALOGUE = {
    "recycling": ("R's recycling of a shorter vector",
                  "spread the row explicitly: matrix(v, nrow(X), length(v), byrow = TRUE), or sweep(X, 2, v)"),
    "axis": ("rowSums and colSums swapped (numpy's axis=)",
             "numpy's axis=0 is R's colSums (one value per column), axis=1 is rowSums (one per row)"),
    "n-1": ("sd/var divide by n - 1, np.std/np.var by n",
            "in R use sqrt(mean((x - mean(x))^2)) for np.std, or give numpy ddof=1 for sd()"),
    "factor-missing": ("a constant factor left out",
                       "apply the factor in R as the Python line does"),
    "factor-twice": ("a constant factor applied twice",
                     "apply the factor once"),
    "constant": ("a constant typed differently",
                 "pass the hyper-parameter to the R function instead of typing its value"),
    "transpose": ("apply returns the transpose",
                  "apply(M, 1, f) returns one column per row of M: wrap it in t()"),
    "index-shift": ("an index shifted by one",
                    "numpy's a[1:] is R's a[2:length(a)]; numpy's range(a, b) is R's a:(b - 1), shifted by one for "
                    "a 1-based index"),
    "drop": ("drop = TRUE losing a dimension",
             "keep the matrix: matrix(colSums(x), nrow = 1), or x[, j, drop = FALSE]"),
    "fill-order": ("fill order: matrix() fills columns, numpy's reshape fills rows",
                   "matrix(v, nrow, ncol, byrow = TRUE) fills as numpy's reshape does (or reshape(..., order='F'))"),
    "integer-division": ("integer division (R's %/%, Python's //) against float division (/)",
                         "R's %/% and Python's // drop the fraction, / keeps it: write the same division on both sides"),
    "sort-order": ("a sort in the other order (R's sort() and order() are ascending unless decreasing = TRUE)",
                   "numpy's -np.sort(-x) or np.sort(x)[::-1] is R's sort(x, decreasing = TRUE)"),
    "random-stream": ("a random draw that is not the same stream",
                      "read the draws from the scenario in R: set.seed(s) with runif is not numpy's generator"),
}

BITS, WITHIN = "to the bit", "within the step's float bound"
TYPO_RATIO = (0.5, 2.0)  # a constant typed otherwise lies within a factor of two of the intended one


@dataclass
class Slip:
    """One recognised slip: what it is, where, and the replay that proves it."""

    key: str
    name: str  # the step's intermediate, or the state matrices of the start
    detail: str  # what the correction does, in words
    lines: dict  # {"python": ["path:line: text"], "r": [...]}
    reproduces: str  # BITS or WITHIN
    replay: object = field(default=None, repr=False)  # () -> True when the correction still reproduces R
    proof: str = None  # what the replay shows, when it is not the correction reproducing R

    @property
    def title(self):
        return CATALOGUE[self.key][0]

    @property
    def fix(self):
        return CATALOGUE[self.key][1]

    def sentence(self):
        """The slip in one sentence, with the line on each side."""
        py = "; ".join(_short_line(s) for s in self.lines.get("python", [])) or "(not marked)"
        r = "; ".join(_short_line(s) for s in self.lines.get("r", [])) or "(not marked)"
        proof = self.proof or (f"replaying that correction on R's inputs reproduces R {self.reproduces} at every "
                               f"element")
        return f"{self.title}: {self.detail}; {proof} (Python {py}; R {r}). Fix: {self.fix}."

    def to_dict(self):
        return {"key": self.key, "title": self.title, "name": self.name, "detail": self.detail,
                "fix": self.fix, "lines": self.lines, "reproduces": self.reproduces, "sentence": self.sentence()}


def _short_line(text):
    """'path:line: code' -> 'path:line `code`'."""
    where, _, code = text.partition(": ")
    return f"{where} `{code.strip()}`"


# -- replaying a correction ---------------------------------------------------------------------------

class _Step:
    """One step of one epoch as the explainer holds it: its expression, R's leaves and value, the
    namespaces to evaluate a correction with, and the float bound at every element."""

    def __init__(self, explainer, acc, left_leaf):
        self.ex, self.acc, self.expr = explainer, acc, acc.expr
        self.leaf = acc.right_leaf
        self.R = np.asarray(acc.right_value, dtype=np.float64)
        self.namespaces = [explainer.alternatives[0][1], explainer.left_kernels]
        self.bound = _step_bound(explainer, acc.expr, left_leaf, acc.right_leaf, self.R.shape)

    def value(self, expr, namespace, leaf=None):
        return tp.evaluate(expr, leaf or self.leaf, tp.chooser(namespace))

    def reproduces(self, value):
        """BITS, WITHIN or None: how the corrected value meets R's at every element."""
        return _meets(value, self.R, self.bound)

    def first(self, expr, leaf=None):
        """How ``expr`` (on R's inputs, in R's rounding then the left side's) reproduces R, or None."""
        for ns in self.namespaces:
            try:
                got = self.reproduces(self.value(expr, ns, leaf))
            except (tp.Untransplantable, ValueError, TypeError):
                return None
            if got:
                return got
        return None


def _meets(value, R, bound):
    value = np.asarray(value, dtype=np.float64)
    if value.shape != R.shape:
        return None
    if tp.same_bits(value, R):
        return BITS
    if bound is not None and np.all(np.isfinite(value)):
        with np.errstate(invalid="ignore"):
            if np.all(np.abs(value - R) <= bound):
                return WITHIN
    return None


def _step_bound(explainer, expr, left_leaf, right_leaf, shape):
    """The step's derived float bound at every element (None when an operation has no rule)."""
    def leaf(token):
        a = np.asarray(left_leaf(token), dtype=np.float64)
        b = np.asarray(right_leaf(token), dtype=np.float64)
        if explainer.kind_of(token) in ("state", "intermediate"):
            a, b = a[None], b[None]
        return bounds.Node.leaf(a, b)

    try:
        d = np.asarray(bounds.evaluate(expr, leaf).d, dtype=np.float64)
        return np.broadcast_to(d, (1,) + tuple(shape))[0] if d.ndim > len(shape) else np.broadcast_to(d, shape)
    except Exception:  # noqa: BLE001 - an operation without a rule: bits alone decide
        return None


def _replace(expr, path, new):
    """``expr`` with the node at ``path`` replaced by ``new``."""
    if not path:
        return new
    node = list(expr)
    node[path[0]] = _replace(expr[path[0]], path[1:], new)
    return tuple(node)


def _nodes(expr, path=()):
    """(path, node) of every node, outermost first (a parameterised node's parameter is not a child)."""
    yield path, expr
    if isinstance(expr, str) or expr[0] == "const":
        return
    children = expr[1:2] if expr[0] in tp.PARAMETERISED else expr[1:]
    if children and isinstance(children[-1], Params):  # plain numpy's axis, not an operand
        children = children[:-1]
    for i, child in enumerate(children):
        yield from _nodes(child, path + (i + 1,))


def _text(node):
    """A node in a few characters: a leaf's name, or its operation."""
    if isinstance(node, str):
        return node.replace("@prev", "")
    return node[0] if node[0] != "const" else repr(float(np.asarray(node[1]).ravel()[0]))


def _shape_text(shape):
    return " x ".join(str(k) for k in shape)


# -- the entries at a step ------------------------------------------------------------------------------

def _dropped(st, seen):
    """R's value has the left side's values in another shape with a dimension of 1: a vector where a
    one-row (or one-column) matrix was meant, which R's as.matrix turns into a column."""
    for ns in st.namespaces:
        try:
            T = np.asarray(st.value(st.expr, ns), dtype=np.float64)
        except (tp.Untransplantable, ValueError):
            return None
        if T.shape != st.R.shape and T.size == st.R.size and 1 in T.shape and tp.same_bits(T.ravel(), st.R.ravel()):
            detail = (f"R's {st.acc.name} is {_shape_text(st.R.shape)} where Python's is {_shape_text(T.shape)}, with "
                      f"the same values in the same order: R dropped a dimension (colSums, rowSums, x[i, ] and x[, j] "
                      f"return plain vectors), and a plain vector is kept as a column")
            return "drop", detail, BITS
    return None


def _recycling(st, seen):
    """A row numpy broadcasts over the rows, which R (given a bare vector) recycles down the columns."""
    for path, node in _nodes(st.expr):
        if isinstance(node, str) or node[0] not in tp.ELEMENTWISE or path not in seen:
            continue
        xs = seen[path][1]
        for i, (a, b) in enumerate(((xs[0], xs[1]), (xs[1], xs[0]))):
            if np.ndim(a) != 2 or np.ndim(b) != 2 or a.shape[0] != 1 or b.shape[0] < 2 or a.shape[1] != b.shape[1] \
                    or a.shape[1] < 2:
                continue
            n, k = b.shape
            recycled = np.resize(a.ravel(), n * k).reshape((n, k), order="F")  # R's vector, down the columns
            how = st.first(_replace(st.expr, path + (i + 1,), ("const", recycled)))
            if how:
                name = _text(node[i + 1])
                detail = (f"{name} ({_shape_text(a.shape)}) is a row numpy repeats for each of the {n} rows, but R "
                          f"recycles it as a vector down the columns (element [i, j] takes element (i + {n} j) mod "
                          f"{k}); laid out that way it gives R's {st.acc.name}")
                return "recycling", detail, how
    return None


def _axis(st, seen):
    """A sum along the other axis, its vector used where the intended one was."""
    for path, node in _nodes(st.expr):
        if isinstance(node, str) or node[0] != "sum" or node[2] not in (-1, -2) or path not in seen:
            continue
        x, value = seen[path][1][0], seen[path][2]
        if np.ndim(x) != 2:
            continue
        other = -1 if node[2] == -2 else -2
        for ns in st.namespaces:
            flipped = np.asarray(ns.sum(x, axis=np.ndim(x) + other), dtype=np.float64)
            if flipped.size != value.size:
                continue
            how = st.first(_replace(st.expr, path, ("const", flipped.reshape(value.shape))))
            if how:
                numpy_axis = {-2: 0, -1: 1}[node[2]]
                detail = (f"Python sums {_text(node[1])} with axis={numpy_axis} "
                          f"({'colSums' if numpy_axis == 0 else 'rowSums'}), R's line sums the other way "
                          f"({'rowSums' if numpy_axis == 0 else 'colSums'}); those sums in its place give R's "
                          f"{st.acc.name}")
                return "axis", detail, how
    return None


def _dims(ex):
    """The sizes of the data matrices (sample counts, feature counts, ...)."""
    return {int(k) for v in ex.net.data.values() for k in np.shape(v) if int(k) > 2}


def _constants(st, seen):
    """A constant divided by n - 1 for n, left out, applied twice, or a hyper-parameter typed otherwise."""
    dims = _dims(st.ex)
    for path, node in _nodes(st.expr):
        if isinstance(node, str):
            continue
        if node[0] == "const" and np.ndim(node[1]) == 0:
            c = float(node[1])
            parent = tp.node_at(st.expr, path[:-1])
            divisor = not isinstance(parent, str) and parent[0] == "div" and path[-1:] == (2,)
            tries = []
            if c in dims and divisor:
                tries.append(("n-1", c - 1, f"dividing by {c - 1:g} (n - 1) where Python divides by {c:g} (n)"))
            if c not in (0.0, 1.0):
                verb = "division by" if divisor else "factor"
                tries.append(("factor-missing", 1.0, f"the {verb} {c:g} that Python's line applies is left out"))
                if divisor:  # x / c / c, as R's line computes it
                    tries.append(("factor-twice", ("div", parent, ("const", c)), f"the division by {c:g} is "
                                                                                 f"applied twice"))
                else:
                    tries.append(("factor-twice", c * c, f"the factor {c:g} is applied twice"))
            for key, new, detail in tries:
                where = path[:-1] if isinstance(new, tuple) else path
                how = st.first(_replace(st.expr, where, new if isinstance(new, tuple) else ("const", new)))
                if how:
                    return key, detail + f" (the step computes {st.acc.name})", how
        if node[0] == "scale":  # a division by a power of two, folded by the tracer into one exact factor
            p = float(node[2])
            x = node[1]
            tries = [("factor-missing", x, f"the factor {p:g} that Python's line applies is left out"),
                     ("factor-twice", ("scale", x, p * p), f"the factor {p:g} is applied twice")]
            if p and float(1 / p).is_integer() and int(1 / p) in dims:
                tries.insert(0, ("n-1", ("div", x, ("const", 1 / p - 1)),
                                 f"dividing by {1 / p - 1:g} (n - 1) where Python divides by {1 / p:g} (n)"))
            for key, new, detail in tries:
                how = st.first(_replace(st.expr, path, new))
                if how:
                    return key, detail + f" (the step computes {st.acc.name})", how
    return _hyper(st)


def _hyper(st):
    """A hyper-parameter R's line types in with another value: solved from R's values, then replayed."""
    hyper = st.ex.net.hyper
    for token in dict.fromkeys(t for t in tp.leaves(st.expr) if t in hyper):
        h = float(hyper[token])

        def with_value(v, token=token):
            return lambda t: np.float64(v) if t == token else st.leaf(t)

        ns = st.namespaces[0]
        try:
            v0, v1 = st.value(st.expr, ns, with_value(0.0)), st.value(st.expr, ns, with_value(h))
        except (tp.Untransplantable, ValueError):
            continue
        slope = v1 - v0
        if slope.shape != st.R.shape or not np.any(slope):
            continue
        k = np.unravel_index(np.argmax(np.abs(slope)), slope.shape)
        guess = h * float((st.R[k] - v0[k]) / slope[k])  # the value R used, if the step is linear in it
        for digits in range(1, 7):
            typed = float(f"{guess:.{digits}g}")
            # a mistyped value has the sign and the size of the intended one; a sign flipped (ascent for
            # descent) or a factor of ten is another formula, not a typo
            if typed == h or not h or not TYPO_RATIO[0] <= typed / h <= TYPO_RATIO[1]:
                continue
            how = st.first(st.expr, with_value(typed))
            if how:
                detail = (f"R's line computes {st.acc.name} with {token} = {typed!r} where Python uses the "
                          f"scenario's {token} = {h!r}")
                return "constant", detail, how
    return None


def _integer_division(st, seen):
    """A quotient one side floors (R's ``%/%``, Python's ``//``) where the other's ``/`` keeps the
    fraction: R's floored, or Python's divided exactly, gives R's value."""
    for path, node in _nodes(st.expr):
        if isinstance(node, str) or node[0] not in ("div", "floordiv") or path not in seen:
            continue
        a, b = seen[path][1]
        if node[0] == "floordiv":  # Python floors: R's line may divide with /
            how = st.first(_replace(st.expr, path, ("div",) + tuple(node[1:])))
            whole, kept = "Python's //", "R's / keeps it"
        else:
            with np.errstate(all="ignore"):
                floored = np.floor_divide(a, b)
            if not np.all(np.isfinite(floored)) or tp.same_bits(floored, seen[path][2]):
                continue  # a quotient already whole is no fingerprint
            how = st.first(_replace(st.expr, path, ("const", floored)))
            whole, kept = "R's %/%", "Python's / keeps it"
        if how:
            by = f"{float(node[2][1]):g}" if not isinstance(node[2], str) and node[2][0] == "const" else _text(node[2])
            detail = (f"{_text(node[1])} is divided by {by} with {whole}, which drops the fraction, where {kept}; "
                      f"divided that way it gives R's {st.acc.name}")
            return "integer-division", detail, how
    return None


def _sort_order(st, seen):
    """R's value is Python's sorted the other way along the sort's axis: the direction forgotten."""
    for path, node in _nodes(st.expr):
        if isinstance(node, str) or node[0] != "sort" or path not in seen:
            continue
        axis = node[-1].value
        for ns in st.namespaces:
            try:
                T = np.asarray(st.value(st.expr, ns), dtype=np.float64)
            except (tp.Untransplantable, ValueError):
                return None
            if T.ndim == 0 or T.shape[axis] < 2:
                return None
            flipped = np.flip(T, axis=axis)
            if not tp.same_bits(flipped, T) and tp.same_bits(flipped, st.R):
                order = "ascending" if np.all(np.diff(st.R, axis=axis) >= 0) else "descending"
                detail = (f"R's {st.acc.name} holds Python's values in the reverse order along the sorted axis "
                          f"({order} where Python's are {'descending' if order == 'ascending' else 'ascending'})")
                return "sort-order", detail, BITS
    return None


def _layouts(st, seen):
    """The left side's own value (in R's rounding) transposed or refilled in the other order is R's."""
    for ns in st.namespaces:
        try:
            T = np.asarray(st.value(st.expr, ns), dtype=np.float64)
        except (tp.Untransplantable, ValueError):
            return None
        if T.ndim != 2 or min(T.shape) < 2:
            return None
        if T.shape[0] == T.shape[1] and not tp.same_bits(T, T.T) and tp.same_bits(T.T, st.R):
            return "transpose", (f"R's {st.acc.name} is Python's transposed: each row's result came back as a "
                                 f"column"), BITS
        for refill in _refills(T):
            if tp.same_bits(refill, st.R):
                return "fill-order", (f"R's {st.acc.name} holds Python's values filled column by column where "
                                      f"numpy fills row by row"), BITS
    return None


def _refills(T):
    """T's elements laid out in the other fill order, both ways round."""
    return [np.reshape(T.ravel(order="C"), T.shape, order="F"), np.reshape(T.ravel(order="F"), T.shape, order="C")]


STEP_RULES = (_dropped, _recycling, _axis, _constants, _integer_division, _sort_order, _layouts)


def recognise_step(explainer, acc, left_leaf):
    """The Slip at a step whose formula differs (``acc``: causes.Account with ``expr``, ``right_leaf``,
    ``right_value``), or None when no entry of the catalogue reproduces R there."""
    if acc.expr is None or acc.right_leaf is None:
        return None
    st = _Step(explainer, acc, left_leaf)
    seen = {}
    try:
        tp.evaluate(st.expr, st.leaf, tp.chooser(st.namespaces[0]), seen=seen)
    except (tp.Untransplantable, ValueError):
        return None
    if st.first(st.expr):  # the left side's own formula already gives R (within the bound): rounding, no slip
        return None
    for rule in STEP_RULES:
        found = rule(st, seen)
        if found:
            key, detail, how = found
            replay = _step_replay(explainer, acc, left_leaf, rule, key)
            return Slip(key, acc.name, detail, explainer.source_lines(acc.name), how, replay)
    return None


def _step_replay(explainer, acc, left_leaf, rule, key):
    """Recompute the claim from scratch: the rule, run again, names the same slip."""
    def replay():
        st = _Step(explainer, acc, left_leaf)
        seen = {}
        tp.evaluate(st.expr, st.leaf, tp.chooser(st.namespaces[0]), seen=seen)
        found = rule(st, seen)
        return bool(found) and found[0] == key
    return replay


# -- the entries at the starting state --------------------------------------------------------------------

def recognise_start(explainer, names):
    """The Slip of a starting state the two sides build differently (``names``: its differing matrices)."""
    left, right = explainer.left.start, explainer.right.start
    pairs = [(np.asarray(left[w], dtype=np.float64), np.asarray(right[w], dtype=np.float64)) for w in names]
    if all(a.shape == b.shape and a.ndim == 2 and min(a.shape) >= 2 for a, b in pairs):
        if all(any(tp.same_bits(f, b) for f in _refills(a)) for a, b in pairs):
            detail = (f"R's starting {', '.join(names)} holds Python's values filled column by column where numpy "
                      f"fills row by row")
            return Slip("fill-order", ", ".join(names), detail, start_lines(explainer, names), BITS,
                        lambda: all(any(tp.same_bits(f, b) for f in _refills(a)) for a, b in pairs),
                        proof="Python's starting values refilled in the other order give R's to the bit at every "
                              "element")
        if all(a.shape[0] == a.shape[1] and tp.same_bits(a.T, b) for a, b in pairs):
            return Slip("transpose", ", ".join(names), f"R's starting {', '.join(names)} is Python's transposed",
                        start_lines(explainer, names), BITS, lambda: all(tp.same_bits(a.T, b) for a, b in pairs),
                        proof="Python's starting values transposed give R's to the bit at every element")
    data = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in explainer.data["right"].values()]
                          or [np.zeros(0)])
    shifts = [_shift(a, b, data) for a, b in pairs]
    if all(shifts):
        moved = {1: "element k is Python's element k - 1 (R's index starts one place early)",
                 -1: "element k is Python's element k + 1 (R's index starts one place late)"}[shifts[0]]
        detail = (f"in the order both fill it, R's starting {', '.join(names)}'s {moved}, its one other element a "
                  f"value of the data: an index off by one (R counts from 1, numpy from 0; seq and : include their "
                  f"end, range and slices do not)")
        return Slip("index-shift", ", ".join(names), detail, start_lines(explainer, names), BITS,
                    lambda: all(_shift(a, b, data) for a, b in pairs),
                    proof="Python's values moved by one place give R's to the bit at every element they share")
    # drawn afresh: every element differs, and none of R's is a value of the data or of the left side's start
    every = all(a.shape == b.shape and not np.any(a == b) and not np.isin(b, data).any()
                and not np.isin(b, a).any() for a, b in pairs)
    if every and _same_epoch_from(explainer, left):
        detail = (f"every element of R's starting {', '.join(names)} differs from Python's and no layout relates "
                  f"them: R draws its own numbers")
        return Slip("random-stream", ", ".join(names), detail, start_lines(explainer, names), BITS,
                    lambda: _same_epoch_from(explainer, left),
                    proof="R started from Python's state computes Python's first epoch to the bit at every step")
    return None


def _shift(a, b, data):
    """+1 when b's elements are a's moved one place later (b[k] = a[k - 1], in a fill order both share),
    -1 when one place earlier; b's one element left over must be a value of the data. 0 otherwise."""
    if a.shape != b.shape or a.size < 2:
        return 0
    for order in ("C", "F"):
        x, y = a.ravel(order=order), b.ravel(order=order)
        if tp.same_bits(x[:-1], y[1:]) and np.isin(y[:1], data).all():
            return 1
        if tp.same_bits(x[1:], y[:-1]) and np.isin(y[-1:], data).all():
            return -1
    return 0


def _same_epoch_from(explainer, start):
    """R's first epoch from ``start`` equals the left side's first epoch (in R's rounding) at every step."""
    net = explainer.net
    state = {w: np.asarray(start[w], dtype=np.float64) for w in net.weights}
    try:
        r = net.r(explainer.session, explainer.variant, 1, start=state)
        left = net.python_epoch(state, explainer.alternatives[0][1])
    except Exception:  # noqa: BLE001 - R refuses this start: no claim
        return False
    return all(tp.same_bits(left[n], r.steps[n][0]) for n in explainer.twin.names)


def start_lines(explainer, names):
    """The line of each side's start function that builds the first of ``names``."""
    twin = explainer.twin
    out = {"python": [], "r": []}
    fn = twin.resolve(twin.python_start, "python_start") if twin.python_start else None
    if fn is not None:
        try:
            src, first = inspect.getsourcelines(fn)
            path = inspect.getsourcefile(fn)
            out["python"] = _lines_naming(path, [(first + k, s) for k, s in enumerate(src)], names)
        except (OSError, TypeError):
            pass
    if twin.r.start:
        for path in twin.r_files:
            with open(path, encoding="utf-8") as fh:
                text = fh.read().splitlines()
            head = re.compile(rf"^\s*{re.escape(twin.r.start)}\s*(<-|=)\s*function")
            begin = next((k for k, s in enumerate(text) if head.match(s)), None)
            if begin is not None:
                end = next((k for k in range(begin + 1, len(text)) if text[k].startswith("}")), len(text))
                out["r"] = _lines_naming(path, [(k + 1, text[k] + "\n") for k in range(begin + 1, end)], names)
    return out


def _lines_naming(path, numbered, names):
    shown = _display_path(path)
    for number, line in numbered:
        if any(re.search(rf"\b{re.escape(w)}\b", line) for w in names) and not line.lstrip().startswith(("#", '"')):
            return [f"{shown}:{number}: {line.strip()}"]
    return []


def _display_path(path):
    """A path relative to the project when it is inside it (no machine's folders in what is printed)."""
    path = os.path.abspath(path)
    try:
        rel = os.path.relpath(path, PROJECT_ROOT)
    except ValueError:
        return os.path.basename(path)
    return rel if not rel.startswith("..") else os.path.basename(path)
