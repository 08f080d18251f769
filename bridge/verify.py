"""Cross-verification runs: traces from both languages, compared under stated expectations.

A row is (scenario, variant, kernels, mode). Its expectation is fixed in advance:

* ``identical``: Python and R ``corrected`` with exact kernels, 0 bits apart everywhere;
* ``within-bound``: the same pair with float kernels, inside the bound of bridge/bounds.py;
* ``differs-as-predicted``: the article's R variants. R must equal, under the kernels' rule,
  what the Python model of R's recycling (bridge/rmodel.py) predicts at every step of every
  epoch, and R's first divergence from Python must be the one that model predicts.

``lockstep`` steps Python from R's state at the start of every epoch; ``free-running`` lets
each side follow its own trajectory from the same initial weights.
"""
from dataclasses import dataclass, field

import numpy as np

from python_impl import bias_net
from python_impl.kernels import get_kernels
from python_impl.trace import Trace, run_epochs, run_lockstep

from . import rmodel
from .engine import compare_traces
from .errors import UnknownNameError
from .scenarios import list_scenarios, load_scenario

KERNELS = ("exact", "float")
MODES = ("lockstep", "free-running")
VARIANTS = tuple(rmodel.VARIANTS)

# (article step, intermediate, the expression both languages evaluate for it), in the order an
# epoch computes them; bridge/bounds.py turns each expression into a floating-point bound.
BIAS_NET_SPEC = (
    (2, "hidden_layer_input", ("add", ("matmul", "X", "wh@prev"), "bh@prev")),
    (3, "hiddenlayer_activations", ("sigmoid", "hidden_layer_input")),
    (4, "output_layer_input", ("add", ("matmul", "hiddenlayer_activations", "wout@prev"), "bout@prev")),
    (4, "output", ("sigmoid", "output_layer_input")),
    (5, "E", ("sub", "y", "output")),
    (6, "slope_output_layer", ("slope", "output")),
    (6, "slope_hidden_layer", ("slope", "hiddenlayer_activations")),
    (7, "d_output", ("mul", "E", "slope_output_layer")),
    (8, "Error_at_hidden_layer", ("matmul", "d_output", ("T", "wout@prev"))),
    (9, "d_hiddenlayer", ("mul", "Error_at_hidden_layer", "slope_hidden_layer")),
    (10, "wout", ("add", "wout@prev", ("mul", ("matmul", ("T", "hiddenlayer_activations"), "d_output"), "lr"))),
    (10, "wh", ("add", "wh@prev", ("mul", ("matmul", ("T", "X"), "d_hiddenlayer"), "lr"))),
    (11, "bout", ("add", "bout@prev", ("mul", ("sum", "d_output"), "lr"))),
    (11, "bh", ("add", "bh@prev", ("mul", ("sum", "d_hiddenlayer"), "lr"))),
)
assert tuple(s[1] for s in BIAS_NET_SPEC) == bias_net.NAMES


def expectation_for(variant, kernels):
    if variant != "corrected":
        return "differs-as-predicted"
    return "identical" if kernels == "exact" else "within-bound"


def rule_for(kernels):
    return "identical" if kernels == "exact" else "within-bound"


def check_name(kind, name, known):
    if name not in known:
        raise UnknownNameError(kind, name, known)
    return name


@dataclass
class Row:
    scenario: str
    variant: str
    kernels: str
    mode: str
    expectation: str
    ok: bool
    first_divergence: object = None
    predicted_divergence: object = None
    max_abs: float = 0.0
    horizon: object = None
    note: str = ""
    stats: dict = field(default_factory=dict)

    @property
    def verdict(self):
        return "meets" if self.ok else "FAILS"

    def to_dict(self):
        return {
            "scenario": self.scenario, "variant": self.variant, "kernels": self.kernels, "mode": self.mode,
            "expectation": self.expectation, "verdict": self.verdict, "ok": self.ok,
            "first_divergence": self.first_divergence.to_dict() if self.first_divergence else None,
            "predicted_divergence": self.predicted_divergence.to_dict() if self.predicted_divergence else None,
            "max_abs_difference": self.max_abs, "horizon": self.horizon, "note": self.note,
            "per_intermediate": {k: v.to_dict() for k, v in self.stats.items()},
        }


class Verifier:
    """Runs and caches the traces of one scenario; R is reached through ``session``."""

    def __init__(self, session, scenario, epochs=None):
        self.session = session
        self.scenario = scenario
        self.epochs = epochs or scenario.epochs
        self.X = scenario.data["X"]
        self.y = scenario.data["y"]
        self.lr = scenario.lr
        self._cache = {}

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # -- traces ------------------------------------------------------------------------------
    def python(self, kernels):
        xp = get_kernels(kernels)
        return self._cached(("python", kernels), lambda: bias_net.train(
            self.X, self.y, self.scenario.init, self.lr, self.epochs, xp))

    def r(self, variant):
        return self._cached(("r", variant), lambda: r_trace(self.session, self.scenario, variant, self.epochs))

    def python_lockstep(self, kernels, variant="corrected"):
        xp = get_kernels(kernels)
        return self._cached(("python-lockstep", kernels, variant), lambda: bias_net.train_lockstep(
            self.X, self.y, self.r(variant), self.lr, xp))

    def model(self, variant, kernels, lockstep=False):
        """The Python model of R's ``variant`` (bridge/rmodel.py), free-running or lockstep with R."""
        xp = get_kernels(kernels)

        def epoch(state):
            return rmodel.r_epoch(self.X, self.y, state, self.lr, variant, xp)

        if lockstep:
            return self._cached(("model-lockstep", variant, kernels),
                                lambda: run_lockstep(epoch, self.r(variant), bias_net.WEIGHTS))
        start = rmodel.r_initial_state(self.scenario.init, self.X.shape[0], variant)
        return self._cached(("model", variant, kernels), lambda: run_epochs(
            epoch, start, self.epochs, bias_net.NAMES, bias_net.WEIGHTS, init=self.scenario.init))

    # -- comparisons -------------------------------------------------------------------------
    def fixed(self, variant=None):
        """Data, learning rate and step 11's reducer: Python's, or R ``variant``'s as modelled."""
        n, h = self.X.shape[0], self.scenario.init["bh"].shape[1]
        out = {"X": self.X, "y": self.y, "lr": self.lr}
        if variant is None:
            out["reduce"], out["sum_terms"] = (lambda D: D.sum(axis=-2, keepdims=True)), n
        else:
            sums = rmodel.VARIANTS[variant]["bias_sums"]
            out["reduce"], out["sum_terms"] = rmodel.r_sum_reducer(variant, n), (h if sums == "rowSums" else n)
        return out

    def row(self, variant, kernels, mode):
        lockstep = mode == "lockstep"
        rule = rule_for(kernels)
        expectation = expectation_for(variant, kernels)
        name = self.scenario.name
        if variant == "corrected":
            left = self.python_lockstep(kernels) if lockstep else self.python(kernels)
            cmp = compare_traces(left, self.r("corrected"), BIAS_NET_SPEC, self.fixed(), rule, lockstep=lockstep)
            note = ""
            if kernels == "float" and not lockstep:
                note = ("weights agree to half their digits at every epoch" if cmp.horizon is None else
                        f"weights part by more than 2^-26 of their size from epoch {cmp.horizon}")
            return Row(name, variant, kernels, mode, expectation, cmp.holds, cmp.first, None,
                       cmp.max_abs, cmp.horizon, note, cmp.stats)
        # the article's R variants: R must match the model of R, and part from Python where predicted
        model_vs_r = compare_traces(self.model(variant, kernels, lockstep), self.r(variant), BIAS_NET_SPEC,
                                    self.fixed(variant), rule, lockstep=lockstep, labels=("model-of-R", "r"))
        actual = compare_traces(self.python(kernels), self.r(variant), BIAS_NET_SPEC, self.fixed(), rule).first
        predicted = compare_traces(self.python(kernels), self.model(variant, kernels), BIAS_NET_SPEC,
                                   self.fixed(), rule, labels=("python", "model-of-R")).first
        problems = []
        if not model_vs_r.holds:
            problems.append("R departs from the model of its recycling at " + model_vs_r.first.describe())
        if actual is None or predicted is None or actual.key() != predicted.key():
            problems.append(f"first divergence {actual.describe() if actual else 'none'} is not the predicted "
                            f"{predicted.describe() if predicted else 'none'}")
        elif kernels == "exact" and np.float64(actual.right).tobytes() != np.float64(predicted.right).tobytes():
            problems.append("R's value at the first divergence is not the predicted value")
        note = "; ".join(problems) or (f"R equals the model of R's recycling at every step ({model_vs_r.rule})")
        return Row(name, variant, kernels, mode, expectation, not problems, actual, predicted,
                   model_vs_r.max_abs, None, note, model_vs_r.stats)


def r_trace(session, scenario, variant, epochs):
    """R's free-running trace of ``variant`` (r_impl/R/bias_net.R), as a Trace."""
    init = scenario.init
    res = session.call("bias_net_train", session.to_r(scenario.data["X"]), session.to_r(scenario.data["y"]),
                       session.to_r(init["wh"]), session.to_r(init["bh"].ravel()), session.to_r(init["wout"]),
                       session.to_r(init["bout"].ravel()), scenario.lr, epochs, variant)
    part = dict(zip(res.names, res))

    def as_dict(obj):
        return {k: session.from_r(v) for k, v in zip(obj.names, obj)}

    steps = {k: np.ascontiguousarray(np.moveaxis(v, -1, 0)) for k, v in as_dict(part["steps"]).items()}
    return Trace(as_dict(part["init"]), np.arange(epochs), steps, bias_net.NAMES, start=as_dict(part["start"]))


def run(session, scenarios=None, variants=None, kernels=None, modes=None, fixtures_dir=None, progress=None):
    """Every requested row; defaults to every scenario, variant, kernels and mode."""
    names = scenarios or list_scenarios(fixtures_dir)
    rows = []
    for s in names:
        scenario = load_scenario(s, fixtures_dir)
        verifier = Verifier(session, scenario)
        for v in variants or VARIANTS:
            check_name("variant", v, VARIANTS)
            for k in kernels or KERNELS:
                check_name("kernels", k, KERNELS)
                for m in modes or MODES:
                    check_name("mode", m, MODES)
                    if progress:
                        progress(f"{s} {v} {k} {m}")
                    rows.append(verifier.row(v, k, m))
    return rows
