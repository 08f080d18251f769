"""Which sigmoid outputs saturated: elements that are exactly 0.0 or exactly 1.0 in float64.

Legal but extreme inputs (pre-activations of +-1000) are not errors. There exp(-x) overflows to
inf or underflows to 0 (numpy warns "overflow encountered in exp", R says nothing), and
1 / (1 + e^-x) rounds to exactly 0.0 or 1.0. Both languages must still agree there; this module
says where it happened, so a table can show that a run went through saturated steps (where the
sigmoid's slope x(1 - x) is exactly 0 and no gradient flows).

A sigmoid output is exactly 1.0 once e^-x <= 2^-53, so 1 + e^-x rounds to 1 (x >= 53 ln 2, ~36.7);
it is exactly 0.0 only once e^-x overflows to inf (x < ~-709.8): below that, 1 / (1 + e^-x) is
at least 2^-1024, a (subnormal) positive number.
"""
from dataclasses import dataclass

import numpy as np


@dataclass
class Saturation:
    """Of the ``elements`` values ``name`` took over the recorded epochs, how many were exactly 0 or 1."""

    step: int
    name: str
    at_zero: int
    at_one: int
    elements: int
    first_epoch: object = None  # the first recorded epoch with a saturated element, or None

    @property
    def count(self):
        return self.at_zero + self.at_one

    @property
    def saturated(self):
        return self.count > 0

    def describe(self):
        if not self.saturated:
            return f"step {self.step} {self.name}: no element saturated"
        return (f"step {self.step} {self.name}: {self.count} of {self.elements} elements saturated "
                f"(exactly 0.0: {self.at_zero}, exactly 1.0: {self.at_one}), first at epoch {self.first_epoch}")

    def to_dict(self):
        return {"step": self.step, "name": self.name, "at_zero": self.at_zero, "at_one": self.at_one,
                "count": self.count, "elements": self.elements, "first_epoch": self.first_epoch}


def sigmoid_steps(spec=None):
    """(step, name) of every intermediate that is a sigmoid's output, from the network's spec."""
    if spec is None:
        from bridge.twins.runner import network_for
        from bridge.twins.scenarios import load_scenario
        spec = network_for(load_scenario("bias-net")).spec
    return tuple((step, name) for step, name, expr in spec if isinstance(expr, tuple) and expr[0] == "sigmoid")


def saturation(trace, spec=None):
    """Per sigmoid step of ``trace`` (a python_impl.trace.Trace), the count of saturated elements.

    ``trace.steps[name]`` has the recorded epochs on its first axis; ``trace.epochs`` labels them.
    """
    report = []
    for step, name in sigmoid_steps(spec):
        values = np.asarray(trace.steps[name])
        zero, one = values == 0.0, values == 1.0  # -0.0 == 0.0: a sigmoid cannot return it anyway
        per_epoch = (zero | one).reshape(len(values), -1).any(axis=1)
        first = int(trace.epochs[np.argmax(per_epoch)]) if per_epoch.any() else None
        report.append(Saturation(step, name, int(zero.sum()), int(one.sum()), int(values.size), first))
    return report


def saturated_steps(trace, spec=None):
    """Only the steps that saturated somewhere (an empty list when none did)."""
    return [s for s in saturation(trace, spec) if s.saturated]


def describe(report):
    """One line per step, for a table's note."""
    return "; ".join(s.describe() for s in report) if report else "no sigmoid step saturated"
