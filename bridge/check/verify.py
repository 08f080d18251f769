"""Cross-verification runs: traces from both languages, compared under stated expectations.

A row is (scenario, variant, kernels, mode). Its expectation is fixed in advance:

* ``identical``: Python against R's reference variant (the one the twin declares as
  its ``reference``) with exact kernels, 0 bits apart everywhere;
* ``within-bound``: the same pair with float kernels, inside the bound of bridge/check/bounds.py;
* ``differs-as-predicted``: any other R variant a twin declares with a Python model of R. R must equal, under the
  kernels' rule, what the Python model of R's recycling (twins/bias_net/rmodel.py) predicts at every
  step of every epoch, and R's first divergence from Python must be the one that model predicts.

``lockstep`` steps Python from R's state at the start of every epoch; ``free-running`` lets
each side follow its own trajectory from the same initial weights. Long runs keep every
intermediate at checkpoint epochs and the weights at every epoch; ``audit="full"`` streams every
intermediate of every epoch through the comparison in chunks instead, in bounded memory.
"""
import gc
from dataclasses import dataclass, field

import numpy as np

from crossverify.check import bounds
from crossverify.check.engine import Comparison, compare_traces
from crossverify.check.nonfinite import first_nonfinite, nonfinite_data, targets_out_of_range
from crossverify.check.saturation import saturated_steps
from crossverify.python_impl.trace import Trace
from crossverify.twins.request import AUDITS, KERNELS, MODES, Kernels, RunRequest, check_name, epochs_for  # noqa: F401
from crossverify.twins.runner import network_for

AUDIT_CHUNK = 25  # epochs per chunk of a full audit: ~10 MB of moons intermediates per trace


def rule_for(kernels, session=None):
    """The comparison rule of ``kernels`` (a name or Kernels) on this session (Kernels.rule)."""
    return Kernels(kernels).rule(session)


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
    audit: str = "checkpoints"
    epochs_checked: int = 0
    warnings: list = field(default_factory=list)  # what a reader must know about the run itself
    r_matprod: str = ""  # the path R's %*% took (bridge/session/platform.py, MatprodPlan.label)
    nonfinite: list = field(default_factory=list)  # first NaN/Inf of each side (bridge/check/nonfinite.py)

    @property
    def verdict(self):
        return "not checked" if self.ok is None else "meets" if self.ok else "FAILS"

    @property
    def compared(self):
        """What the row's differences are measured between."""
        return "model of R vs R" if self.expectation == "differs-as-predicted" else "python vs R"

    @property
    def verdict_text(self):
        """The verdict as a reader should take it: a free-running float row past its horizon meets
        step by step (each step against its own inputs), not trajectory against trajectory."""
        if self.ok and self.nonfinite:
            first = min(self.nonfinite, key=lambda f: f.epoch)
            return f"meets, but not finite at epoch {first.epoch} (see WARNING)"
        if self.ok and not Kernels(self.kernels).bit_for_bit and self.mode == "free-running" and self.horizon is not None:
            return f"meets (each step; trajectories part at epoch {self.horizon})"
        return self.verdict

    def to_dict(self):
        return {
            "scenario": self.scenario, "variant": self.variant, "kernels": self.kernels, "mode": self.mode,
            "expectation": self.expectation, "verdict": self.verdict, "verdict_text": self.verdict_text,
            "ok": self.ok, "audit": self.audit, "differences_between": self.compared,
            "epochs_with_every_intermediate": self.epochs_checked,
            "first_divergence": self.first_divergence.to_dict() if self.first_divergence else None,
            "predicted_divergence": self.predicted_divergence.to_dict() if self.predicted_divergence else None,
            "max_abs_difference": self.max_abs, "horizon": self.horizon, "note": self.note,
            "r_matprod_path": self.r_matprod,
            "per_intermediate": {k: v.to_dict() for k, v in self.stats.items()},
            "warnings": list(self.warnings),
            "nonfinite": [f.to_dict() for f in self.nonfinite],
        }


def merge(parts):
    """One Comparison from the Comparisons of consecutive chunks of a run."""
    out = Comparison(parts[0].rule)
    for part in parts:
        out.epochs += part.epochs
        if out.first is None:
            out.first = part.first
        if out.horizon is None:
            out.horizon = part.horizon
        for name, s in part.stats.items():
            have = out.stats.get(name)
            if have is None:
                out.stats[name] = s
                continue
            if s.max_ratio > have.max_ratio:
                have.max_ratio, have.bound_at_max = s.max_ratio, s.bound_at_max
            have.max_abs = max(have.max_abs, s.max_abs)
            have.max_scaled = max(have.max_scaled, s.max_scaled)
    return out


class Verifier:
    """Runs and caches the traces of one scenario; R is reached through ``session``."""

    def __init__(self, session, scenario, epochs=None):
        self.session = session
        self.scenario = scenario
        self.net = network_for(scenario)
        self.epochs = epochs_for(epochs, scenario)
        self.lr = scenario.lr
        self.record = self.net.checkpoints(self.epochs)
        self._cache = {}

    @property
    def variants(self):
        return self.net.variants

    def __getattr__(self, name):  # the scenario's prepared data matrices by name (verifier.X)
        net = self.__dict__.get("net")
        if net is not None and name in net.data:
            return net.data[name]
        raise AttributeError(name)

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # -- traces ------------------------------------------------------------------------------
    def python(self, kernels):
        return self._cached(("python", kernels), lambda: self.net.python(kernels, self.epochs, record=self.record))

    def r(self, variant=None):
        variant = variant or self.net.reference_variant
        return self._cached(("r", variant), lambda: self.net.r(self.session, variant, self.epochs, record=self.record))

    def python_lockstep(self, kernels, variant=None):
        variant = variant or self.net.reference_variant
        return self._cached(("python-lockstep", kernels, variant),
                            lambda: self.net.python_lockstep(kernels, self.r(variant)))

    def model(self, variant, kernels, lockstep=False):
        """The Python model of R's ``variant`` (twins/bias_net/rmodel.py), free-running or lockstep with R."""
        return self._cached(("model", variant, kernels, lockstep), lambda: self.net.model(
            variant, kernels, self.epochs, reference=self.r(variant) if lockstep else None))

    def fixed(self, variant=None):
        return self.net.fixed(variant)

    # -- rows --------------------------------------------------------------------------------
    def expectation(self, variant, kernels):
        if variant != self.net.reference_variant:
            return "differs-as-predicted"
        kernels = Kernels(kernels)
        if kernels.bit_for_bit and kernels.rule(self.session) != "identical":
            return self.session.matprod.expectation  # e.g. "within-bound: R's BLAS is OpenBLAS"
        return "identical" if kernels.bit_for_bit else "within-bound"

    def _row(self, variant, kernels, mode, cmp):
        audit = "full" if cmp.epochs == self.epochs else "checkpoints"
        note = ""
        if not cmp.holds:
            note = ("a step leaves its bound (below)" if Kernels(kernels).rule(self.session) == "within-bound"
                    else "the bits differ (below)")
        elif not Kernels(kernels).bit_for_bit and mode == "free-running":
            note = ("the weights agree to half their digits at every epoch" if cmp.horizon is None else
                    f"the weights part by more than 2^-26 of their size from epoch {cmp.horizon}: "
                    f"each side follows its own rounding from there" +
                    (", and every step stays within its bound" if cmp.holds else ""))
        return Row(self.scenario.name, variant, kernels, mode, self.expectation(variant, kernels), cmp.holds,
                   cmp.first, None, cmp.max_abs, cmp.horizon, note, cmp.stats, audit, cmp.epochs)

    def row(self, variant, kernels, mode, audit="checkpoints"):
        check_name("variant", variant, self.variants)
        kernels = Kernels(kernels)
        check_name("mode", mode, MODES)
        check_name("audit", audit, AUDITS)
        lockstep = mode == "lockstep"
        rule = rule_for(kernels, self.session)
        if audit == "full" and self.record is not None:
            return self.audit_rows(variant, [kernels], [mode])[0]
        unchecked = self.unchecked(variant, kernels)
        if unchecked is not None:
            return Row(self.scenario.name, variant, kernels, mode, f"not checked: {unchecked}", None,
                       note=f"{unchecked}; the exact-kernel rows still compare every bit. To fix: register a rule for this "
                            f"operation from the twin's twin.py (crossverify.check.bounds.register_rule, docs/TWINS.md), or "
                            f"give --allow-unchecked to accept the row unchecked")
        if variant == self.net.reference_variant:
            left = self.python_lockstep(kernels) if lockstep else self.python(kernels)
            cmp = compare_traces(left, self.r(variant), self.net.spec, self.fixed(), rule, lockstep=lockstep,
                                 weights=self.net.weights)
            return self._row(variant, kernels, mode, cmp)
        return self._variant_row(variant, kernels, mode)

    def warnings(self):
        """What the reference R run itself did that a verdict does not show: activations saturated
        (exactly at their limits, where no gradient flows), or a state that never moved."""
        if "warnings" not in self._cache:
            r = self.r()
            out = [f"saturated: {s.describe()} ({100 * s.count / s.elements:.3g}% of the recorded elements)"
                   for s in saturated_steps(r, self.net.spec)]
            out.extend(nonfinite_data(self.net.data))
            out.extend(targets_out_of_range(self.net.data, self.net.spec))
            moved = any(not np.array_equal(r.series(w), np.broadcast_to(r.start[w], r.series(w).shape))
                        for w in self.net.weights if w in r.history)
            if not moved:
                out.append(f"training cannot move: every update of {', '.join(self.net.weights)} is exactly zero at "
                           f"every epoch (the gradients vanish); agreement here says nothing about learning")
            self._cache["warnings"] = out
        return self._cache["warnings"]

    def nonfinite(self, row):
        """The first NaN or Inf of each side of ``row`` among the traces this verifier ran (R's variant,
        Python's kernels free-running or lockstep, the model of R), earliest first."""
        spec = self.net.spec_for(row.variant)
        python = (("python-lockstep", row.kernels, row.variant) if row.mode == "lockstep"
                  else ("python", row.kernels))
        sides = {f"R ({row.variant})": ("r", row.variant),
                 f"python ({row.kernels} kernels, {row.mode})": python,
                 f"the model of R ({row.variant}, {row.kernels} kernels)":
                     ("model", row.variant, row.kernels, row.mode == "lockstep")}
        if row.variant == self.net.reference_variant and ("r", row.variant) not in self._cache:
            self.r(row.variant)  # a full audit streamed R; the checkpoint run answers where it went non-finite
        found = [first_nonfinite(self._cache[key], spec, side) for side, key in sides.items() if key in self._cache]
        return sorted((f for f in found if f is not None), key=lambda f: (f.epoch, f.step or 0))

    def unchecked(self, variant, kernels):
        """Why a float-kernel row cannot be checked (its bound needs an operation the registry has no
        rule for), or None."""
        if Kernels(kernels).bit_for_bit:
            return None
        try:
            bounds.check_known(self.net.spec_for(variant))
        except bounds.UnknownOperationError as exc:
            return str(exc)
        return None

    def _variant_row(self, variant, kernels, mode):
        """A non-reference R variant: equal to its Python model of R, parting from Python where the model predicts."""
        lockstep = mode == "lockstep"
        rule = rule_for(kernels, self.session)
        spec = self.net.spec
        model_vs_r = compare_traces(self.model(variant, kernels, lockstep), self.r(variant), self.net.spec_for(variant),
                                    self.fixed(variant), rule, lockstep=lockstep, labels=("model-of-R", "r"))
        actual = compare_traces(self.python(kernels), self.r(variant), spec, self.fixed(), rule).first
        predicted = compare_traces(self.python(kernels), self.model(variant, kernels), spec, self.fixed(), rule,
                                   labels=("python", "model-of-R")).first
        problems = []
        if not model_vs_r.holds:
            problems.append("R departs from the model of its recycling at " + model_vs_r.first.describe())
        if (actual is None) != (predicted is None) or (actual is not None and actual.key() != predicted.key()):
            problems.append(f"first divergence {actual.describe() if actual else 'none'} is not the predicted "
                            f"{predicted.describe() if predicted else 'none'}")
        elif actual is not None and rule == "identical" and \
                np.float64(actual.right).tobytes() != np.float64(predicted.right).tobytes():
            problems.append("R's value at the first divergence is not the predicted value")
        note = "; ".join(problems) or f"R equals the model of R's recycling at every step ({model_vs_r.rule})"
        return Row(self.scenario.name, variant, kernels, mode, "differs-as-predicted", not problems, actual,
                   predicted, model_vs_r.max_abs, None, note, model_vs_r.stats,
                   "full" if model_vs_r.epochs == self.epochs else "checkpoints", model_vs_r.epochs)

    def audit_rows(self, variant, kernels_list, modes, chunk=AUDIT_CHUNK, progress=None):
        """Every intermediate of every epoch, streamed: R, Python free-running and Python lockstep run
        chunk by chunk, each chunk is compared and dropped. One R run serves every row, and its
        checkpoint epochs become the R trace the warnings read (the checkpoint run's, bit for bit)."""
        net = self.net
        parts = {(k, m): [] for k in kernels_list for m in modes}
        r_state = None
        py_state = {k: None for k in kernels_list}
        kept = _CheckpointKeeper(self.record)
        for first in range(0, self.epochs, chunk):
            n = min(chunk, self.epochs - first)
            r = net.r(self.session, variant, n, start=r_state, first_epoch=first)
            r_state = {w: r.series(w)[-1] for w in net.weights}
            kept.add(r)
            for k in kernels_list:
                rule = rule_for(k, self.session)
                if "free-running" in modes:
                    py = net.python(k, n, start=py_state[k], first_epoch=first)
                    py_state[k] = {w: py.series(w)[-1] for w in net.weights}
                    parts[(k, "free-running")].append(
                        compare_traces(py, r, net.spec, net.fixed(), rule, weights=net.weights))
                    del py
                if "lockstep" in modes:
                    parts[(k, "lockstep")].append(compare_traces(net.python_lockstep(k, r), r, net.spec, net.fixed(),
                                                                 rule, lockstep=True, weights=net.weights))
            del r
            # rpy2's R objects sit in reference cycles: the chunk's R vectors are freed (and R's heap stays
            # flat) only once Python collects them; the youngest generation holds them (0.2 ms a chunk)
            gc.collect(0)
            if progress:
                progress(f"{self.scenario.name}: full audit, epoch {first + n} of {self.epochs}")
        if variant == net.reference_variant and self.record is not None and ("r", variant) not in self._cache:
            self._cache[("r", variant)] = kept.trace(self.scenario.init, net.twin.names, self.epochs)
        return [self._row(variant, k, m, merge(parts[(k, m)])) for k in kernels_list for m in modes]


class _CheckpointKeeper:
    """The checkpoint trace of a run gathered from its chunks: every intermediate at the ``record``
    epochs, the history series at every epoch, the first chunk's start."""

    def __init__(self, record):
        self.record = None if record is None else np.asarray(record, dtype=np.int64)
        self.steps, self.history, self.start = {}, {}, None

    def add(self, chunk):
        if self.start is None:
            self.start = chunk.start
        if self.record is None:
            return
        rows = np.flatnonzero(np.isin(chunk.epochs, self.record))
        for name, v in chunk.steps.items():
            self.steps.setdefault(name, []).append(v[rows])
        for name, v in chunk.history.items():
            self.history.setdefault(name, []).append(v)

    def trace(self, init, names, epochs):
        if self.record is None:
            return None
        steps = {k: np.concatenate(v) for k, v in self.steps.items()}
        history = {k: np.concatenate(v) for k, v in self.history.items()}
        return Trace(init, self.record, steps, names, start=self.start, history=history, first_epoch=0,
                     n_epochs=epochs)


def scenario_rows(verifier, variants=None, kernels=None, modes=None, audit="checkpoints", progress=None):
    """The rows of one scenario, in `crossverify run`'s order: its variants, then kernels, then modes."""
    rows = []
    vs = [v for v in verifier.variants if not variants or v in variants]
    ks, ms = list(kernels or KERNELS), list(modes or MODES)
    total = len(vs) * len(ks) * len(ms)
    for v in vs:
        if audit == "full" and verifier.record is not None and v == verifier.net.reference_variant:
            rows.extend(verifier.audit_rows(v, ks, ms, progress=progress))
            continue
        for k in ks:
            for m in ms:
                if progress:
                    progress(f"{verifier.scenario.name}: check {len(rows) + 1} of {total} ({v}, {k}, {m})")
                rows.append(verifier.row(v, k, m))
    plan = getattr(verifier.session, "matprod", None)
    warnings = verifier.warnings()
    for r in rows:
        r.r_matprod = plan.label if plan is not None else ""
        r.nonfinite = verifier.nonfinite(r)
        r.warnings = warnings + [f"not finite: {f.describe()}" for f in r.nonfinite]
    return rows


def run(session, scenarios=None, variants=None, kernels=None, modes=None, fixtures_dir=None, progress=None,
        audit="checkpoints", twin=None, epochs=None):
    """Every requested row; defaults to every scenario, its variants, both kernels and both modes."""
    request = RunRequest.build(scenarios, variants, kernels, modes, fixtures_dir, twin, epochs, audit)
    return run_request(session, request, progress)


def run_request(session, request, progress=None):
    """The rows of a RunRequest (bridge/twins/request.py), already checked, in `crossverify run`'s order."""
    rows = []
    for scenario in request.scenarios:
        verifier = Verifier(session, scenario, request.epochs)
        rows.extend(scenario_rows(verifier, request.variants, request.kernels, request.modes, request.audit, progress))
    return rows
