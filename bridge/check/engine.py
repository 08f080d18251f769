"""The comparison engine: two traces compared step by step at every recorded epoch.

``compare_traces`` applies one rule to every element of every intermediate:

* ``identical``: the two float64 values have the same 64 bits, or are both NaN (bits_differ);
* ``within-bound``: |left - right| <= P + c S, the step's floating-point bound (bridge/check/bounds.py).

It reports, per intermediate, the largest absolute difference, the largest difference in units
of u times the operands' scale S (u = 2^-53), the largest ratio to the bound, and the first
divergence: the earliest (epoch, step, element in row order) where the rule fails.
"""
from dataclasses import dataclass, field

import numpy as np

from crossverify.check import bounds
from crossverify.check.bitwise import same_bits
from crossverify.errors import CrossverifyError

HORIZON_RELATIVE = 2.0 ** -26  # half of float64's 53 significant bits


def bits_differ(a, b):
    """The ``identical`` rule's test, elementwise: the 64 bits differ and the two are not both NaN.
    Any NaN equals any NaN: IEEE 754 leaves the sign and payload of a NaN result to the hardware
    and to which operand comes first, and R's and numpy's loops order the operands of a*b
    differently (measured: a shipped network whose weights overflow gives NaNs of both signs, bit for bit
    alike in both languages until a NaN meets a NaN in a product). A NaN against a number differs."""
    return (a.view(np.uint64) != b.view(np.uint64)) & ~(np.isnan(a) & np.isnan(b))


@dataclass
class Divergence:
    epoch: int
    step: int
    name: str
    index: tuple
    left: float
    right: float
    bound: float = None
    labels: tuple = ("python", "r")

    def describe(self):
        i = ", ".join(str(k) for k in self.index)
        text = (f"epoch {self.epoch}, step {self.step}, {self.name}[{i}]: "
                f"{self.labels[0]} {self.left!r} ({float(self.left).hex()}) vs "
                f"{self.labels[1]} {self.right!r} ({float(self.right).hex()}), "
                f"difference {abs(self.left - self.right):.3g}")
        if not (np.isfinite(self.left) and np.isfinite(self.right)):
            return text.rsplit(", difference", 1)[0] + ": the two sides do not agree on a value that is not finite"
        if self.bound is not None:
            text += f" > bound {self.bound:.3g}"
        return text

    def key(self):
        return (self.epoch, self.step, self.name, tuple(self.index))

    def to_dict(self):
        return {"epoch": self.epoch, "step": self.step, "name": self.name, "index": list(self.index),
                "left": self.left, "right": self.right, "left_hex": float(self.left).hex(),
                "right_hex": float(self.right).hex(), "bound": self.bound, "labels": list(self.labels)}


@dataclass
class StepStats:
    name: str
    step: int
    max_abs: float
    max_scaled: float  # max |d| / (u S)
    max_ratio: float  # max |d| / bound
    bound_at_max: float

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class Comparison:
    rule: str
    first: Divergence = None
    stats: dict = field(default_factory=dict)
    horizon: int = None  # first epoch whose weights differ by more than HORIZON_RELATIVE
    epochs: int = 0

    @property
    def holds(self):
        return self.first is None

    @property
    def max_abs(self):
        return max((s.max_abs for s in self.stats.values()), default=0.0)


def _prev(trace, name, start):
    """The value of weight ``name`` each recorded epoch started from (``start`` before the first)."""
    series = trace.series(name)
    shape = np.broadcast_shapes(np.shape(start), series.shape[1:])
    index = trace.epochs - 1 - trace.first_epoch
    out = np.array(np.broadcast_to(series[np.maximum(index, 0)], (len(index),) + shape))
    out[index < 0] = np.broadcast_to(start, shape)
    return out


class _LeafReader:
    """Leaves of a step's expression: shared data (``X``, ``lr``), recorded intermediates, or
    the weights each epoch started from (``<state>@prev``). Called with a token: its Node;
    ``values(token)``: its two sides' arrays; ``has_nan(token)``: whether either holds a NaN."""

    def __init__(self, left, right, fixed, lockstep):
        self.left, self.right, self.fixed, self.lockstep = left, right, fixed, lockstep
        # one Node per leaf for the whole comparison: the rules never change a Node, and an intermediate
        # is a leaf of several steps' expressions (its difference and magnitude are computed once)
        self.nodes, self.arrays, self.nans = {}, {}, {}

    def values(self, token):
        if token not in self.arrays:
            self.arrays[token] = self._values(token)
        return self.arrays[token]

    def _values(self, token):
        left, right = self.left, self.right
        if token in self.fixed:
            value = np.asarray(self.fixed[token], dtype=np.float64)
            return value, value
        if token.endswith("@prev"):
            # Both sides were handed the same drawn weights; how a side lays them out (R's bias
            # matrices) is part of the step that uses them, so epoch 0 starts from the right
            # side's matrices on both sides, and a layout difference shows at its first use.
            base = token[:-5]
            r = _prev(right, base, right.start[base])
            if self.lockstep:
                return r, r
            # a chunk of a longer run starts from its own side's state
            left_start = right.start[base] if left.first_epoch == 0 else left.start[base]
            return _prev(left, base, left_start), r
        return left.steps[token], right.steps[token]

    def __call__(self, token):
        if token not in self.nodes:
            self.nodes[token] = bounds.Node.leaf(*self.values(token))
        return self.nodes[token]

    def has_nan(self, token):
        if token not in self.nans:
            # np.min is NaN where any element is: one pass, no temporary
            self.nans[token] = any(np.size(v) and np.isnan(np.min(v)) for v in self.values(token))
        return self.nans[token]


def _leaf_reader(left, right, fixed, lockstep):
    return _LeafReader(left, right, fixed, lockstep)


def step_bound(expr, left, right, fixed):
    """The derived bound on |left - right| of one step at one epoch (no epoch axis): ``expr`` is the
    step's expression (TwinRun.spec), ``left``/``right`` map its leaves (other intermediates and
    "<state>@prev") to each side's matrix, ``fixed`` holds what both sides share (data, hyper-parameters)."""

    def leaf(token):
        if token in fixed:
            value = np.asarray(fixed[token], dtype=np.float64)[None]
            return bounds.Node.leaf(value, value)
        return bounds.Node.leaf(np.asarray(left[token], dtype=np.float64)[None],
                                np.asarray(right[token], dtype=np.float64)[None])

    return bounds.evaluate(expr, leaf).d[0]


class Recorded:
    """A step's two recorded arrays (broadcast to one shape): ``d`` and ``m`` as bounds.Node.leaf gives them,
    computed on first use; ``moved()`` the positions where the values differ, without computing d."""

    def __init__(self, left, right):
        self.left, self.right = np.broadcast_arrays(np.asarray(left, dtype=np.float64),
                                                    np.asarray(right, dtype=np.float64))
        self.shape, self.size = self.left.shape, self.left.size
        self._leaf = self._moved = self._differ = None

    @property
    def d(self):
        if self._leaf is None:
            self._leaf = bounds.Node.leaf(self.left, self.right)
        return self._leaf.d

    @property
    def m(self):
        self.d
        return self._leaf.m

    def differ(self):
        """Where the two values differ (Node.leaf's d != 0: unequal, or a NaN on either side), flat."""
        if self._differ is None:
            self._differ = (self.left != self.right).reshape(-1)
        return self._differ

    def count(self):
        return int(np.count_nonzero(self.differ()))

    def moved(self):
        """The C-order positions where the two values differ."""
        if self._moved is None:
            self._moved = np.flatnonzero(self.differ())
        return self._moved


class Measured:
    """One step's figures on one chunk: (max |d|, max |d| / (u S), max |d| / bound, the bound there), and
    the first element (epoch row first) that breaks the rule with the bound there, or None."""

    def __init__(self, stats, first=None, bound=None):
        self.stats, self.first, self.bound = stats, first, bound


def _whole(z, node, rule):
    """measure_step on every element of the chunk at once: the reference the sparse path must equal."""
    limit = np.broadcast_to(node.d, z.d.shape)
    S = np.broadcast_to(node.S, z.d.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(z.d == 0, 0.0, z.d / limit)
        scaled = np.where(z.d == 0, 0.0, z.d / (bounds.U * np.maximum(S, bounds.TINY)))
    worst = np.unravel_index(np.argmax(ratio), ratio.shape) if ratio.size else None
    stats = (float(z.d.max(initial=0.0)), float(scaled.max(initial=0.0)), float(ratio.max(initial=0.0)),
             float(limit[worst]) if worst else 0.0)
    if rule == "identical":
        bad = bits_differ(z.left, z.right)
    else:
        # a NaN against a number diverges; NaN on both sides agrees, as under "identical" (bits_differ)
        bad = ~(z.d <= limit) & ~(np.isnan(z.left) & np.isnan(z.right))
    if not bad.any():
        return Measured(stats)
    flat = np.flatnonzero(bad.reshape(bad.shape[0], -1).any(axis=1))[0]
    at = (flat,) + np.unravel_index(np.flatnonzero(bad[flat])[0], bad.shape[1:])
    return Measured(stats, at, float(limit[at]))


def _whole_fast(z, node, rule):
    """_whole's figures (within-bound) in fewer passes and no more arrays than needed: the same
    divisions, maxima and masks on the same elements, so the same bits (tests/test_sparse_measure.py)."""
    shape = z.shape
    limit = np.broadcast_to(node.d, shape)
    ne = z.differ().reshape(shape)
    d = np.abs(np.subtract(z.left, z.right), where=ne, out=np.zeros(shape))  # Node.leaf's d: 0 where equal
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.divide(d, limit, where=ne, out=np.zeros(shape))  # np.where(d == 0, 0, d / limit)
        scale = np.multiply(bounds.U, np.maximum(np.broadcast_to(node.S, shape), bounds.TINY))
        scaled = np.divide(d, scale, where=ne, out=scale)
    flush = ne & (d == 0)  # a difference that flushed to 0 (FTZ) is 0 in _whole too
    if flush.any():
        ratio[flush], scaled[flush] = 0.0, 0.0
    worst = np.unravel_index(np.argmax(ratio), shape)
    stats = (float(d.max(initial=0.0)), float(scaled.max(initial=0.0)), float(ratio.max(initial=0.0)),
             float(limit[worst]))
    over = ~(d <= limit)
    if not over.any():
        return Measured(stats)
    bad = over & ~(np.isnan(z.left) & np.isnan(z.right))
    if not bad.any():
        return Measured(stats)
    flat = np.flatnonzero(bad.reshape(bad.shape[0], -1).any(axis=1))[0]
    at = (flat,) + np.unravel_index(np.flatnonzero(bad[flat])[0], bad.shape[1:])
    return Measured(stats, at, float(limit[at]))


def _first_outside(moved, size):
    """The first C-order position in range(size) that the sorted positions ``moved`` leave out, or None."""
    gap = np.flatnonzero(moved != np.arange(moved.size))
    first = int(gap[0]) if gap.size else moved.size
    return first if first < size else None


def moved_elements(z):
    """The C-order positions where the two recorded values differ (NaN != 0: a NaN on either side is one),
    and the first position where they do not (None if none): all a bound >= 0 is needed at."""
    moved = z.moved()
    return moved, _first_outside(moved, z.size)


def measure_step(z, node, rule, whole=False, at=None):
    """The figures of one step (z: its Recorded values; node: its bound's Node) over a chunk.

    An element whose two values are equal (d = 0) has ratio and scaled difference 0 and breaks no
    bound that is >= 0, so only the elements that moved are measured; the result equals _whole's bit
    for bit: the same divisions on the same elements, np.argmax's first maximum (a NaN first) found
    among the moved elements and the first unmoved one. A bound that is negative or NaN anywhere
    (a registered rule's) is measured whole. With ``at`` (moved_elements(z)), ``node`` holds the bound
    at the moved elements then at the first unmoved one only (bounds.evaluate_at), already known >= 0."""
    shape, size = z.shape, z.size
    if at is None and (whole or rule == "identical" or size == 0 or not np.min(node.d) >= 0):
        return _whole(z, node, rule)
    if at is None and z.count() > SPARSE_SHARE * size:
        return _whole_fast(z, node, rule)  # most elements moved: measuring every one is cheaper than picking them
    moved, outside = moved_elements(z) if at is None else at
    left, right = bounds.take(z.left, shape, moved), bounds.take(z.right, shape, moved)
    d = np.abs(left - right)  # Node.leaf's d where the values differ
    if at is None:
        limit, S = bounds.take(node.d, shape, moved), bounds.take(node.S, shape, moved)
    else:
        limit, S = node.d[:moved.size], node.S[:moved.size]
    with np.errstate(divide="ignore", invalid="ignore"):  # as _whole: a difference that flushed to 0 is 0
        ratio = np.where(d == 0, 0.0, d / limit)
        scaled = np.where(d == 0, 0.0, d / (bounds.U * np.maximum(S, bounds.TINY)))
    top = float(ratio.max(initial=0.0))
    nan = np.flatnonzero(np.isnan(ratio))
    if nan.size:
        bound = limit[nan[0]]
    elif top > 0 or outside is None or (moved.size and moved[0] < outside):
        # the first maximum: a moved element's, unless the maximum is 0 and an unmoved element comes first
        bound = limit[np.argmax(ratio)]
    else:
        bound = bounds.take(node.d, shape, np.array([outside]))[0] if at is None else node.d[moved.size]
    stats = (float(d.max(initial=0.0)), float(scaled.max(initial=0.0)), top, float(bound))
    # a NaN against a number diverges; NaN on both sides agrees, as under "identical" (bits_differ)
    bad = np.flatnonzero(~(d <= limit) & ~(np.isnan(left) & np.isnan(right)))
    if not bad.size:
        return Measured(stats)
    first = np.unravel_index(moved[bad[0]], shape)
    return Measured(stats, tuple(int(i) for i in first), float(limit[bad[0]]))


def _shape(recorded):
    """The per-epoch shape of a recorded intermediate (epochs first), as rows x columns."""
    return " x ".join(str(k) for k in np.shape(recorded)[1:]) or "scalar"


def _laid_out(left, right, name):
    """True for a state entry that the two sides started from in different shapes (a twin whose R start
    function lays the drawn state out its own way, the bias network's bias matrices): compared through
    broadcasting, as its starting matrices are. Every other intermediate must have one shape."""
    a, b = getattr(left, "start", {}).get(name), getattr(right, "start", {}).get(name)
    return a is not None and b is not None and np.shape(a) != np.shape(b)


SPARSE_SHARE = 0.7  # above this share of moved elements a step's bound is evaluated on every element


def _elementwise(expr):
    """Whether the top of ``expr`` is a leaf or an elementwise rule (bounds.ELEMENTWISE)."""
    return isinstance(expr, str) or (expr[0] in bounds.ELEMENTWISE and expr[0] in bounds.BUILT_IN)


def compare_traces(left, right, spec, fixed, rule, lockstep=False, labels=("python", "r"),
                   weights=(), whole=False):
    """Compare ``left`` with ``right`` under ``rule`` ("identical" or "within-bound").

    ``spec`` lists (step, name, expression) in the order one epoch computes them (bridge/twins/tracing.py);
    ``fixed`` holds the data and hyper-parameters both sides share; with ``lockstep`` the
    left trace took every epoch from the right trace's state; ``whole`` measures every element of every
    step (the reference the measurement of the moved elements alone is tested against).
    """
    if rule not in ("identical", "within-bound"):
        raise ValueError(f"unknown rule {rule!r}")
    epochs = left.epochs
    if not np.array_equal(epochs, right.epochs) or left.first_epoch != right.first_epoch:
        raise ValueError("the two traces recorded different epochs")
    result = Comparison(rule, epochs=len(epochs))
    candidates = []
    leaf = _leaf_reader(left, right, fixed, lockstep)
    for order, (step, name, expr) in enumerate(spec):
        if rule == "identical" and same_bits(left.steps[name], right.steps[name]):
            # bit for bit alike: nothing to measure, no bound to derive (bridge/check/bitwise.py)
            result.stats[name] = StepStats(name, step, 0.0, 0.0, 0.0, 0.0)
            continue
        try:
            if np.shape(left.steps[name])[1:] != np.shape(right.steps[name])[1:] and not _laid_out(left, right, name):
                raise ValueError("shapes differ")  # never compared through broadcasting: a 1 x 1 is not a 1 x 3
            z = Recorded(left.steps[name], right.steps[name])
        except ValueError:
            raise CrossverifyError(
                f"step {step}, {name}: {labels[0]} gives a {_shape(left.steps[name])} matrix and {labels[1]} a "
                f"{_shape(right.steps[name])} one, which cannot be compared element by element. Every intermediate "
                f"must be a matrix of the same shape in both languages (R drops dim for colSums, rowSums and "
                f"scalars: wrap them, e.g. matrix(colSums(d), nrow = 1))") from None
        at = None
        # where most elements moved, evaluating every one is cheaper than picking them
        if not whole and rule == "within-bound" and z.size and _elementwise(expr) \
                and z.count() <= SPARSE_SHARE * z.size and bounds.never_nan(expr, leaf.has_nan):
            at = moved_elements(z)
        if at is not None:
            positions = at[0] if at[1] is None else np.append(at[0], at[1])
            node = bounds.evaluate_at(expr, leaf, leaf.values, z.shape, positions)
        else:
            try:
                node = bounds.evaluate(expr, leaf)
            except bounds.UnknownOperationError:
                if rule != "identical":
                    raise
                node = bounds.Node(z.left, z.right, np.full(z.d.shape, np.inf), z.m)  # bits alone decide
        measured = measure_step(z, node, rule, whole=whole, at=at)
        result.stats[name] = StepStats(name, step, *measured.stats)
        if measured.first is not None:
            at = measured.first
            candidates.append((int(epochs[at[0]]), order, Divergence(
                int(epochs[at[0]]), step, name, tuple(int(i) for i in at[1:]),
                float(z.left[at]), float(z.right[at]), None if rule == "identical" else measured.bound, labels)))
    # between the recorded epochs only the series kept at every epoch (the weights) can be
    # compared: bit for bit under "identical"; under "within-bound" they feed the horizon
    order_of = {name: (order, step) for order, (step, name, _) in enumerate(spec)}
    for name in set(left.history) & set(right.history) & set(order_of):
        a, b = np.broadcast_arrays(left.series(name), right.series(name))
        d = np.abs(a - b)
        stats = result.stats.get(name)
        if stats is not None:
            stats.max_abs = max(stats.max_abs, float(d.max(initial=0.0)))
        if rule == "identical":
            bad = bits_differ(a, b)
            if bad.any():
                k = int(np.flatnonzero(bad.reshape(len(bad), -1).any(axis=1))[0])
                element = np.unravel_index(np.flatnonzero(bad[k])[0], bad.shape[1:])
                epoch = left.first_epoch + k
                order, step = order_of[name]
                candidates.append((epoch, order, Divergence(
                    epoch, step, name, tuple(int(i) for i in element), float(a[(k,) + element]),
                    float(b[(k,) + element]), None, labels)))
    if candidates:
        result.first = min(candidates, key=lambda c: (c[0], c[1]))[2]
    result.horizon = horizon(left, right, weights)
    return result


def horizon(left, right, weights):
    """First epoch at which some weight matrix differs by more than HORIZON_RELATIVE of its size."""
    first = None
    for w in weights:
        if w not in left.history or w not in right.history:
            continue
        a, b = np.broadcast_arrays(left.series(w), right.series(w))
        d = np.abs(a - b).reshape(len(a), -1).max(axis=1)
        scale = np.maximum(np.abs(a), np.abs(b)).reshape(len(a), -1).max(axis=1)
        over = np.flatnonzero(~(d <= HORIZON_RELATIVE * scale))
        if over.size:
            e = left.first_epoch + int(over[0])
            first = e if first is None else min(first, e)
    return first
