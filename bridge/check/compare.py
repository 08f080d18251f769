"""Two traces from anywhere (a Python run, an R script, another machine), compared element by element.

One rule is applied to every element of every intermediate at every epoch both traces recorded,
and to the initial matrices and the series kept after every epoch:

* ``identical``: the two float64 values have the same 64 bits;
* ``N ulp``:     at most N representable doubles apart (bridge/check/ulp.py);
* ``R rel``:     |a - b| <= R max(|a|, |b|).

It reports the verdict, the tolerance it was judged by, the first divergence (the earliest
epoch, then the intermediate computed first, then the element in row order, as
bridge/check/engine.py orders them) and per-intermediate statistics. A matrix one side stores
once per sample and the other once (R's bias matrices laid out per sample against numpy's
broadcast row) is compared by numpy broadcasting, and the report says so.
"""
import re
from dataclasses import dataclass, field

import numpy as np

from crossverify.errors import CrossverifyError

try:
    from crossverify.check.ulp import ulp_distance
except ImportError:  # pragma: no cover - the module is part of the project; kept for a partial checkout
    def ulp_distance(a, b):
        """ULPs between doubles: |key(a) - key(b)|, key = bits, or -(magnitude bits) when negative."""
        def key(x):
            bits = np.asarray(x, dtype=np.float64).view(np.int64)
            return np.where(bits < 0, -(bits & np.int64(0x7FFFFFFFFFFFFFFF)), bits)
        a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
        with np.errstate(over="ignore"):
            return np.abs(key(a) - key(b)).view(np.uint64)

TOLERANCE = re.compile(r"^\s*(?P<value>[0-9.eE+-]+)\s*(?P<unit>ulps?|rel)\s*$", re.IGNORECASE)  # 4ulp, 4 ULPs


@dataclass(frozen=True)
class Tolerance:
    kind: str  # "identical", "ulp" or "rel"
    value: float = 0

    def text(self):
        if self.kind == "identical":
            return "identical: the same 64 bits"
        if self.kind == "ulp":
            n = int(self.value)
            return f"within {n} ULP{'s' if n != 1 else ''}: at most {n} representable doubles apart"
        return f"within relative {self.value:g}: |a - b| <= {self.value:g} max(|a|, |b|)"

    def to_dict(self):
        return {"kind": self.kind, "value": self.value, "text": self.text()}


def parse_tolerance(text):
    """"identical" (or None, "0", "0ulp"), "4ulp", "1e-12rel"."""
    if text is None or text.strip().lower() in ("identical", "0", "exact"):
        return Tolerance("identical")
    m = TOLERANCE.match(text)
    if m:
        try:
            value = float(m.group("value"))
        except ValueError:
            value = None
        unit = m.group("unit").lower()
        if unit.startswith("ulp") and value is not None and value == int(value) and value >= 0:
            return Tolerance("identical") if value == 0 else Tolerance("ulp", int(value))
        if unit == "rel" and value is not None and 0 <= value < 1:
            return Tolerance("identical") if value == 0 else Tolerance("rel", value)
    raise CrossverifyError(f"--tolerance {text!r} is not a tolerance. Give a whole number of ULPs such as 4ulp, a "
                           f"relative tolerance below 1 such as 1e-12rel, or identical.")


@dataclass
class Divergence:
    """The first element the tolerance fails at: epoch ("init" before the first), step, name, element."""

    epoch: object
    step: object
    name: str
    index: tuple
    left: float
    right: float
    labels: tuple = ("A", "B")

    @property
    def ulps(self):
        return int(ulp_distance(self.left, self.right))

    def where(self):
        at = "initial matrices" if self.epoch == "init" else f"epoch {self.epoch}"
        step = "" if self.step is None else f", step {self.step}"
        return f"{at}{step}, {self.name}[{', '.join(map(str, self.index))}]"

    def describe(self):
        from crossverify.check.ulp import describe_pair
        return f"{self.where()}: {describe_pair(self.left, self.right, self.labels)}"

    def to_dict(self):
        return {"epoch": self.epoch, "step": self.step, "name": self.name, "index": list(self.index),
                "left": self.left, "right": self.right, "left_hex": float(self.left).hex(),
                "right_hex": float(self.right).hex(), "ulps": self.ulps,
                "abs_difference": abs(self.left - self.right)}


@dataclass
class Stats:
    name: str
    step: object
    elements: int = 0
    differing: int = 0  # not the same bits
    over: int = 0  # beyond the tolerance
    max_abs: float = 0.0
    max_ulps: int = 0
    max_rel: float = 0.0
    first_epoch: object = None  # first epoch where a bit differs
    broadcast: str = None  # "(1, 3) against (3, 3)" when the shapes differ

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class TraceComparison:
    tolerance: Tolerance
    labels: tuple
    epochs: list
    stats: list = field(default_factory=list)
    first: Divergence = None  # first element beyond the tolerance
    first_difference: Divergence = None  # first element whose bits differ
    notes: list = field(default_factory=list)

    @property
    def identical(self):
        return self.first_difference is None and not self.problems

    @property
    def within(self):
        return self.first is None and not self.problems

    problems: list = field(default_factory=list)  # what could not be compared at all (a shape, no common epoch)

    @property
    def verdict(self):
        if self.identical:
            return "identical"
        if self.within:
            return "within tolerance"
        return "different"

    def to_dict(self):
        return {"verdict": self.verdict, "ok": self.within, "tolerance": self.tolerance.to_dict(),
                "labels": list(self.labels), "epochs_compared": len(self.epochs),
                "first_epoch": self.epochs[0] if self.epochs else None,
                "last_epoch": self.epochs[-1] if self.epochs else None,
                "first_divergence": self.first.to_dict() if self.first else None,
                "first_difference": self.first_difference.to_dict() if self.first_difference else None,
                "intermediates": [s.to_dict() for s in self.stats], "notes": self.notes, "problems": self.problems}


def _beyond(a, b, tolerance, ulps, same):
    if tolerance.kind == "identical":
        return ~same
    if tolerance.kind == "ulp":
        return ~same & (ulps > np.uint64(tolerance.value))
    with np.errstate(invalid="ignore"):
        ok = np.abs(a - b) <= tolerance.value * np.maximum(np.abs(a), np.abs(b))
    return ~same & ~ok  # a NaN is beyond any tolerance unless both have its bits


def _first(mask):
    """The first True of a (k, r, c) mask in (k, then row-major) order, or None."""
    if not mask.any():
        return None
    flat = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))[0]
    element = np.unravel_index(np.flatnonzero(mask[flat])[0], mask.shape[1:])
    return (int(flat),) + tuple(int(i) for i in element)


class _Collector:
    def __init__(self, tolerance, labels):
        self.tolerance, self.labels = tolerance, labels
        self.beyond, self.differ = [], []  # (epoch order key, step order, Divergence)

    def compare(self, stats, a, b, epochs, order, step, name):
        """Fold (k, r, c) stacks ``a`` and ``b`` (k = len(epochs)) into ``stats``, noting the first
        element beyond the tolerance and the first whose bits differ."""
        if a.shape != b.shape:
            try:
                a, b = np.broadcast_arrays(a, b)
            except ValueError:
                return f"{name}: shapes {a.shape[1:]} and {b.shape[1:]} cannot be compared element by element"
        if a.size == 0:
            return None
        same = a.view(np.uint64) == b.view(np.uint64)
        ulps = ulp_distance(a, b)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.abs(a - b)
            rel = np.where(same, 0.0, d / np.maximum(np.abs(a), np.abs(b)))
        beyond = _beyond(a, b, self.tolerance, ulps, same)
        stats.elements += int(a.size)
        stats.differing += int((~same).sum())
        stats.over += int(beyond.sum())
        stats.max_abs = max(stats.max_abs, float(np.nanmax(np.where(same, 0.0, d), initial=0.0)))
        stats.max_ulps = max(stats.max_ulps, int(np.where(same, 0, ulps).max(initial=0)))
        stats.max_rel = max(stats.max_rel, float(np.nanmax(rel, initial=0.0)))
        for mask, into in ((beyond, self.beyond), (~same, self.differ)):
            at = _first(mask)
            if at is None:
                continue
            epoch = epochs[at[0]]
            if into is self.differ and (stats.first_epoch is None or _key(epoch) < _key(stats.first_epoch)):
                stats.first_epoch = epoch
            into.append(((_key(epoch), order), Divergence(epoch, step, name, at[1:], float(a[at]), float(b[at]),
                                                          self.labels)))
        return None

    @staticmethod
    def earliest(found):
        return min(found, key=lambda c: c[0])[1] if found else None


def _key(epoch):
    return -1 if epoch == "init" else int(epoch)


def compare(a, b, tolerance=None, labels=("A", "B")):
    """Compare TraceData ``a`` with ``b`` (bridge/check/traceio.py) under ``tolerance``."""
    tolerance = tolerance or Tolerance("identical")
    names = [n for n in a.steps if n in b.steps]
    notes, problems = [], []
    for side, trace, other in ((labels[0], a, b), (labels[1], b, a)):
        only = [n for n in trace.steps if n not in other.steps]
        if only:
            notes.append(f"only {side} holds {', '.join(only)}: not compared")
    if not names:
        problems.append("the two traces have no intermediate in common")
    twins = [t.meta.get("twin") for t in (a, b)]
    if all(twins) and twins[0] != twins[1]:  # nothing to compare: say so rather than match names by chance
        problems.append(f"{labels[0]} is a trace of twin {twins[0]!r} and {labels[1]} of twin {twins[1]!r}: "
                        f"intermediates of the same name in two twins are not the same quantity; compare two "
                        f"traces of one twin")
        return TraceComparison(tolerance, labels, [], notes=notes, problems=problems)
    common, ia, ib = np.intersect1d(a.epochs, b.epochs, return_indices=True)
    if len(common) < max(len(a.epochs), len(b.epochs)):
        notes.append(f"{labels[0]} recorded {len(a.epochs)} epochs and {labels[1]} {len(b.epochs)}: the {len(common)} "
                     f"both recorded are compared")
    if not len(common) and names:
        problems.append("the two traces recorded no epoch in common")
    numbered = all(a.step_numbers.get(n) is not None or b.step_numbers.get(n) is not None for n in names)
    if names and not numbered:
        notes.append("step numbers are not recorded in either trace: steps are the intermediates' positions")

    def step_of(n, position):
        s = a.step_numbers.get(n)
        s = b.step_numbers.get(n) if s is None else s
        return s if numbered else position + 1

    result = TraceComparison(tolerance, labels, [int(e) for e in common], notes=notes, problems=problems)
    collect = _Collector(tolerance, labels)
    stats = {}
    for name in [n for n in a.init if n in b.init]:
        s = stats.setdefault(("init", name), Stats(name, None))
        _compare_into(collect, s, a.init[name][None], b.init[name][None], ["init"], -1, None, name, problems)
    for position, name in enumerate(names):
        s = stats.setdefault(name, Stats(name, step_of(name, position)))
        _compare_into(collect, s, a.steps[name][ia], b.steps[name][ib], [int(e) for e in common], position,
                      s.step, name, problems)
    # between recorded epochs, the series kept after every epoch (the state) are compared too
    for name in [n for n in a.history if n in b.history]:
        first = max(a.first_epoch, b.first_epoch)
        last = min(a.first_epoch + len(a.history[name]), b.first_epoch + len(b.history[name]))
        if last <= first:
            continue
        # epochs whose full intermediates were compared above are not counted twice
        between = [e for e in range(first, last) if name not in names or e not in set(common.tolist())]
        if not between:
            continue
        x = a.history[name][np.asarray(between) - a.first_epoch]
        y = b.history[name][np.asarray(between) - b.first_epoch]
        position = names.index(name) if name in names else len(names)
        s = stats.setdefault(name, Stats(name, step_of(name, position) if name in names else None))
        _compare_into(collect, s, x, y, between, position, s.step, name, problems)
    result.stats = [s for s in stats.values()]
    result.first = collect.earliest(collect.beyond)
    result.first_difference = collect.earliest(collect.differ)
    return result


def _compare_into(collect, stats, a, b, epochs, order, step, name, problems):
    if a.shape[1:] != b.shape[1:] and not _laid_out_per_sample(a.shape[1:], b.shape[1:]):
        problems.append(f"{name} is {a.shape[1]}x{a.shape[2]} in one trace and {b.shape[1]}x{b.shape[2]} in the "
                        f"other: not the same matrix (traces of different twins or data?)")
        return
    problem = collect.compare(stats, a, b, epochs, order, step, name)
    if problem:
        problems.append(problem)
    elif a.shape[1:] != b.shape[1:]:
        stats.broadcast = f"{a.shape[1]}x{a.shape[2]} against {b.shape[1]}x{b.shape[2]}, by broadcasting"


def _laid_out_per_sample(x, y):
    """Whether one shape is the other's single row (or column) repeated: R's bias matrices, one row
    per sample, against numpy's one row per neuron."""
    (r1, c1), (r2, c2) = x, y
    return (c1 == c2 and 1 in (r1, r2)) or (r1 == r2 and 1 in (c1, c2))


def render(result, paths, metas=None):
    """The comparison as text."""
    lines = []
    for label, path, meta in zip(result.labels, paths, metas or [{}, {}]):
        about = ", ".join(x for x in (meta.get("label"), meta.get("twin") and f"twin {meta['twin']}",
                                      meta.get("scenario") and f"scenario {meta['scenario']}") if x)
        lines.append(f"{label}: {path}" + (f" ({about})" if about else ""))
    span = f"epochs {result.epochs[0]}-{result.epochs[-1]}" if result.epochs else "no epochs"
    lines.append(f"compared: {len(result.epochs)} recorded epochs ({span}), {len(result.stats)} matrices")
    lines.append(f"tolerance: {result.tolerance.text()}")
    if result.identical:
        lines.append("verdict: IDENTICAL: every element has the same 64 bits")
    elif result.within:
        worst = max(result.stats, key=lambda s: s.max_ulps)
        n = sum(s.differing for s in result.stats)
        lines.append(f"verdict: WITHIN TOLERANCE, not identical: {_count(n, 'element')} differ, at most "
                     f"{_count(worst.max_ulps, 'ULP')} apart ({worst.name})")
        lines.append(f"first difference: {result.first_difference.describe()}")
    else:
        lines.append("verdict: NOT COMPARABLE (below)" if result.problems and not result.first else
                     "verdict: DIFFERENT" + (f": {_count(sum(s.over for s in result.stats), 'element')} beyond the "
                                             f"tolerance" if result.first else ""))
        if result.first:
            lines.append(f"first divergence: {result.first.describe()}")
    for p in result.problems:
        lines.append(f"not comparable: {p}")
    for n in result.notes:
        lines.append(f"note: {n}")
    rows = [("step", "intermediate", "elements", "differing", "beyond", "max |difference|", "max ULPs",
             "max relative", "first differs")]
    for s in result.stats:
        rows.append(("init" if s.step is None else str(s.step), s.name + (" *" if s.broadcast else ""),
                     str(s.elements), str(s.differing), str(s.over), f"{s.max_abs:.3g}", str(s.max_ulps),
                     f"{s.max_rel:.3g}", "-" if s.first_epoch is None else f"epoch {s.first_epoch}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines.append("")
    lines += ["  ".join(c.rjust(w) if i >= 2 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
              for r in rows]
    shaped = [s for s in result.stats if s.broadcast]
    if shaped:
        lines.append("")
        lines += [f"* {s.name}: {s.broadcast} (one side lays the matrix out once per sample)" for s in shaped]
    return "\n".join(lines) + "\n"


def _count(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"
