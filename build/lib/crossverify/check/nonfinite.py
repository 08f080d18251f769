"""Where a run's values stopped being numbers: the first epoch, step and element at which a trace
holds NaN or an infinity, and targets that lie outside the range of the output they are compared to.

Two sides that both produce NaN agree bit for bit (engine.py counts two NaNs as equal), so a
verdict alone cannot show that a run went non-finite: constant data under the moons
normalisation divides 0 by 0 at the preparation step, a learning rate of 1e308 overflows the
first update. This module finds the first place, so every row can carry it as a warning.

The search reads each recorded intermediate (``trace.steps``, epochs on the first axis) and the
per-epoch series (``trace.history``), and reports the earliest epoch; within it, the lowest step
number of the twin's derived spec (the state series, recorded after the epoch's last step, rank
after every step).
"""
from dataclasses import dataclass

import numpy as np

from crossverify.check.saturation import LIMITS


@dataclass
class NonFinite:
    """The first non-finite element of one side's trace."""

    side: str
    epoch: int
    step: object  # the step number, or None for a series the spec does not name
    name: str
    index: tuple
    value: float
    count: int  # how many recorded elements of that intermediate are not finite

    def where(self):
        """Epoch, step, element and value: the same text for every side that went non-finite there."""
        kind = "NaN" if np.isnan(self.value) else repr(float(self.value))
        step = f"step {self.step} " if self.step is not None else ""
        return f"{kind} first seen at epoch {self.epoch}, {step}{self.name}[{', '.join(str(i) for i in self.index)}]"

    def describe(self):
        return (f"{self.side} produces {self.where()} ({self.count} non-finite recorded elements of {self.name}); "
                f"agreement on NaN or Inf says nothing about the computation")

    def to_dict(self):
        return {"side": self.side, "epoch": self.epoch, "step": self.step, "name": self.name,
                "index": list(self.index), "value": float(self.value), "count": self.count}


def _first_bad_row(values):
    """The first index along the first axis whose slice holds a non-finite value, and that slice's
    first bad element; (None, None) when every value is finite."""
    bad = ~np.isfinite(values.reshape(len(values), -1))
    rows = bad.any(axis=1)
    if not rows.any():
        return None, None
    j = int(np.argmax(rows))
    element = int(np.argmax(bad[j]))
    return j, np.unravel_index(element, values.shape[1:])


def first_nonfinite(trace, spec, side):
    """The first NaN or Inf of ``trace`` (a crossverify.python_impl.trace.Trace), or None when there is none.
    ``spec`` is the twin's derived spec ((step, name, expression) per intermediate)."""
    steps = {name: step for step, name, _ in spec}
    last_step = max(steps.values(), default=0) + 1
    best = None
    candidates = [(name, trace.steps[name], trace.epochs) for name in trace.names if name in trace.steps]
    candidates += [(name, values, np.arange(trace.first_epoch, trace.first_epoch + len(values)))
                   for name, values in trace.history.items() if name not in trace.steps]
    for name, values, labels in candidates:
        values = np.asarray(values)
        if values.size == 0:
            continue
        j, index = _first_bad_row(values)
        if j is None:
            continue
        step = steps.get(name)
        key = (int(labels[j]), step if step is not None else last_step)
        if best is None or key < best[0]:
            count = int(np.count_nonzero(~np.isfinite(values)))
            best = (key, NonFinite(side, int(labels[j]), step, name, tuple(int(i) for i in index),
                                   float(values[j][index]), count))
    return None if best is None else best[1]


def nonfinite_warnings(traces, spec):
    """One warning per side of ``traces`` ({side: Trace}) whose values became NaN or Inf."""
    found = [first_nonfinite(trace, spec, side) for side, trace in traces.items()]
    return [f"not finite: {f.describe()}" for f in found if f is not None]


def nonfinite_data(data):
    """A warning for every prepared data matrix holding NaN or Inf (a preparation step that divided
    by zero, e.g. constant data under normalisation), or an empty list."""
    out = []
    for name, values in data.items():
        values = np.asarray(values, dtype=np.float64)
        bad = ~np.isfinite(values)
        if values.ndim and bad.any():
            index = np.unravel_index(int(np.argmax(bad)), values.shape)
            out.append(f"data not finite: {name}[{', '.join(str(int(i)) for i in index)}] is "
                       f"{float(values[index])!r} after preparation ({int(bad.sum())} of {values.size} elements); "
                       f"every value computed from it is meaningless. To fix: check the data (a constant column "
                       f"divides by zero when normalised) or the scenario's preprocessing")
    return out


def _compared_pairs(expr):
    """(a, b) of every subtraction a - b inside ``expr``, whose operands are names (leaves)."""
    if not isinstance(expr, tuple) or not expr:
        return
    if expr[0] == "sub" and len(expr) == 3 and all(isinstance(e, str) for e in expr[1:]):
        yield expr[1], expr[2]
    for part in expr[1:]:
        yield from _compared_pairs(part)


def targets_out_of_range(data, spec):
    """Warnings for data matrices subtracted from a bounded activation's output (E = y - output)
    whose values lie outside what that activation can return: labels 0, 1, 2 given to a sigmoid,
    whose outputs lie in [0, 1]. ``spec`` is the twin's derived spec."""
    activations = {name: (step, expr[0]) for step, name, expr in spec
                   if isinstance(expr, tuple) and expr and expr[0] in LIMITS}
    out, seen = [], set()
    for _, _, expr in spec:
        for a, b in _compared_pairs(expr):
            for target, output in ((a, b), (b, a)):
                if target not in data or output not in activations or (target, output) in seen:
                    continue
                seen.add((target, output))
                step, kind = activations[output]
                low, high = LIMITS[kind]
                values = np.asarray(data[target], dtype=np.float64)
                outside = np.isfinite(values) & ((values < low) | (values > high))
                if outside.any():
                    index = np.unravel_index(int(np.argmax(outside)), values.shape)
                    out.append(f"targets out of range: {target}[{', '.join(str(int(i)) for i in index)}] = "
                               f"{float(values[index])!r} ({int(outside.sum())} of {values.size} values) lies outside "
                               f"[{low!r}, {high!r}], the range of step {step} {output} ({kind}) it is compared "
                               f"with; the training cannot reach it. To fix: scale the targets into that range "
                               f"(one output per class for more than two classes)")
    return out
