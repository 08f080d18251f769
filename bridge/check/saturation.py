"""Which bounded activations saturated: sigmoid outputs exactly 0.0 or 1.0, tanh outputs exactly
-1.0 or 1.0, in float64.

Legal but extreme inputs (pre-activations of +-1000) are not errors. There exp(-x) overflows to
inf or underflows to 0 (numpy warns "overflow encountered in exp", R says nothing), and
1 / (1 + e^-x) rounds to exactly 0.0 or 1.0. Both languages must still agree there; this module
says where it happened, so a table can show that a run went through saturated steps (where the
activation's slope, x(1 - x) or 1 - x^2, is exactly 0 and no gradient flows).

A sigmoid output is exactly 1.0 once e^-x <= 2^-53, so 1 + e^-x rounds to 1 (x >= 53 ln 2, ~36.7);
it is exactly 0.0 only once e^-x overflows to inf (x < ~-709.8): below that, 1 / (1 + e^-x) is
at least 2^-1024, a (subnormal) positive number. tanh(x) rounds to exactly +-1 once |x| >~ 19.1.

Which steps are activations is read from the twin's derived spec (``network_for(scenario).spec``,
bridge/twins/tracing.py): a step whose expression is ("sigmoid", x) or ("tanh", x).
"""
from dataclasses import dataclass

import numpy as np

# operation of the spec -> the two values its output saturates at
LIMITS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


@dataclass
class Saturation:
    """Of the ``elements`` values ``name`` took over the recorded epochs, how many were exactly at
    the activation's lower and upper limits."""

    step: int
    name: str
    at_low: int
    at_high: int
    elements: int
    first_epoch: object = None  # the first recorded epoch with a saturated element, or None
    limits: tuple = LIMITS["sigmoid"]

    # a sigmoid's limits are 0 and 1
    at_zero = property(lambda self: self.at_low)
    at_one = property(lambda self: self.at_high)

    @property
    def count(self):
        return self.at_low + self.at_high

    @property
    def saturated(self):
        return self.count > 0

    def describe(self):
        if not self.saturated:
            return f"step {self.step} {self.name}: no element saturated"
        low, high = self.limits
        return (f"step {self.step} {self.name}: {self.count} of {self.elements} elements saturated "
                f"(exactly {low!r}: {self.at_low}, exactly {high!r}: {self.at_high}), first at epoch {self.first_epoch}")

    def to_dict(self):
        return {"step": self.step, "name": self.name, "limits": list(self.limits), "at_low": self.at_low,
                "at_high": self.at_high, "count": self.count, "elements": self.elements,
                "first_epoch": self.first_epoch}


def activation_steps(spec):
    """(step, name, limits) of every intermediate that is a bounded activation's output."""
    return tuple((step, name, LIMITS[expr[0]]) for step, name, expr in spec
                 if isinstance(expr, tuple) and expr and expr[0] in LIMITS)


def saturation(trace, spec):
    """Per activation step of ``spec`` (a twin's derived spec), the count of saturated elements of
    ``trace`` (a crossverify.python_impl.trace.Trace: ``steps[name]`` has the recorded epochs on its first axis,
    ``epochs`` labels them)."""
    report = []
    for step, name, (low, high) in activation_steps(spec):
        values = np.asarray(trace.steps[name])
        at_low, at_high = values == low, values == high  # -0.0 == 0.0: a sigmoid cannot return it anyway
        per_epoch = (at_low | at_high).reshape(len(values), -1).any(axis=1)
        first = int(trace.epochs[np.argmax(per_epoch)]) if per_epoch.any() else None
        report.append(Saturation(step, name, int(at_low.sum()), int(at_high.sum()), int(values.size), first,
                                 (low, high)))
    return report


def saturated_steps(trace, spec):
    """Only the steps that saturated somewhere (an empty list when none did)."""
    return [s for s in saturation(trace, spec) if s.saturated]


def describe(report):
    """One line per step, for a table's note."""
    return "; ".join(s.describe() for s in report) if report else "no bounded activation saturated"
