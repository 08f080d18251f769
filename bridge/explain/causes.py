"""Why two sides part: a causal account of a comparison's divergences, down to the operation
(``crossverify explain``).

For any comparison crossverify makes (a twin's scenario, an R variant, the Python kernels, lockstep or
free-running) the account answers four questions.

1. **Local or inherited.** A step is recomputed on the Python side from the R side's own inputs (a
   *transplant*: the step's traced expression, bridge/twins/tracing.py, evaluated on R's recorded
   data, state and intermediates with the left side's kernels). If that gives R's bits, the step's
   difference was inherited from its inputs; if its inputs agree and it does not, the difference
   arose here (local); both can hold at once. Inherited differences are followed back, input by
   input, to the *origin*: the first step whose difference is local (or the starting state).
2. **Which operation.** At a local difference each rounding operation of the step (every ``xp``
   operation: dot, exp, sums, ...) is switched, one occurrence at a time and then by delta debugging
   over sets (bridge/explain/transplant.py), from the left side's rounding to R's (the exact kernels'
   arithmetic, python_impl/kernels.py) until the smallest set that reproduces R's bits is found. A
   cause is reported only when that switch reproduces R's bits. Otherwise, for a non-reference R
   variant, the variant's Python model (its traced expression) is tried: when it reproduces R, the R
   variant computes a different formula, which its model predicts. Otherwise the formula differs,
   shown with both sides' source lines (the ``# rosetta:`` markers), the size of the difference in
   multiples of the step's derived float bound, and the step's inputs shown to agree.
3. **How it grew** (free-running): the carried state's difference per epoch, its growth rate and the
   horizon it predicts, and what that means for the numbers the source prints (bridge/explain/growth.py).
4. **In ULPs**: every printed difference is given in ULPs beside its absolute size (bridge/check/ulp.py).

Nothing here names a twin: everything is read from the declaration (bridge/twins/protocol.py).
"""
from dataclasses import dataclass, field

import numpy as np

from crossverify.check import bounds
from crossverify.check.engine import compare_traces
from crossverify.check.ulp import apart_text, ulp_distance
from crossverify.check.verify import MODES, check_name
from crossverify.errors import CrossverifyError
from crossverify.twins.request import Kernels, NUMPY_ARITHMETIC, R_ARITHMETIC, epochs_for
from crossverify.explain import transplant as tp
from crossverify.twins.runner import network_for
from crossverify.python_impl.kernels import MATPROD_PATHS, ExactKernels, FloatKernels, get_kernels

# verdicts of a local difference
ROUNDING = "rounding"  # switching the named operations to R's rounding reproduces R's bits
VARIANT = "variant formula"  # the R variant computes a different formula, which its Python model predicts
FORMULA = "formula differs"  # no switch of rounding reproduces R: the two sides compute different formulas
ENGINE = "not reproduced: R's matrix-product engine"  # R's %*% runs on a BLAS crossverify cannot emulate
UNTRANSPLANTABLE = "not recomputable"  # the step uses an operation the transplant cannot evaluate
INCONSISTENT = "inconsistent"  # the left side's own value is not what its traced expression gives
SLIP = "translation slip"  # a catalogued slip (bridge/explain/slips.py) whose fix, replayed, reproduces R

AGAINST = ("python", "model")


# -- what an account holds --------------------------------------------------------------------------

@dataclass
class InputDifference:
    """One leaf of a step's expression on which the two sides differ."""

    token: str
    kind: str  # data, hyper-parameter, state, intermediate
    left_shape: tuple
    right_shape: tuple
    elements: int
    max_abs: float
    max_ulps: int

    def describe(self):
        if self.left_shape != self.right_shape:
            return (f"{self.token} ({self.kind}) has shape {self.left_shape} on the left and {self.right_shape} "
                    f"in R")
        return (f"{self.token} ({self.kind}): {self.elements} elements differ, by up to {self.max_abs:.3g} "
                f"({_ulps_text(self.max_ulps)})")

    def to_dict(self):
        return {"token": self.token, "kind": self.kind, "left_shape": list(self.left_shape),
                "right_shape": list(self.right_shape), "elements": self.elements, "max_abs": self.max_abs,
                "max_ulps": self.max_ulps}


@dataclass
class Operation:
    """One occurrence of a rounding operation in a step's expression, and what it did."""

    path: tuple
    op: str
    text: str
    index: tuple = None

    def to_dict(self):
        return {"path": list(self.path), "op": self.op, "text": self.text,
                "index": None if self.index is None else list(self.index)}


@dataclass
class Cause:
    verdict: str
    summary: str
    operations: list = field(default_factory=list)  # the smallest switch that reproduces R at the element
    matrix_operations: list = None  # ... at every element of the step (None: no switch does)
    reproduces_element: bool = False
    reproduces_matrix: bool = False
    alternative: str = None  # the rounding switched to (R's, or R's internal loop, ...)
    lines: dict = None  # {"python": [...], "r": [...]} for a formula difference
    bound: float = None  # the step's float bound at the element
    multiple: float = None  # |left - right| / bound
    # for replaying the claim (not printed)
    swap: list = None
    matrix_swap: list = None
    namespace: object = None  # the rounding switched to
    base: object = None  # the left side's kernels
    element: tuple = None
    model_expr: object = None
    slip: object = None  # the Slip, for a translation slip

    def to_dict(self):
        return {"verdict": self.verdict, "summary": self.summary, "alternative": self.alternative,
                "slip": None if self.slip is None else self.slip.to_dict(),
                "operations": [o.to_dict() for o in self.operations],
                "matrix_operations": None if self.matrix_operations is None else
                [o.to_dict() for o in self.matrix_operations],
                "reproduces_element": self.reproduces_element, "reproduces_matrix": self.reproduces_matrix,
                "source_lines": self.lines, "bound": self.bound, "difference_in_bounds": self.multiple}


@dataclass
class Account:
    """One step at one epoch: how the two sides' values differ, and whether the difference arose here."""

    epoch: int
    step: int
    name: str
    formula: str
    index: tuple  # the element the account is told at
    left: float
    right: float
    transplant: float  # the left side's formula on R's inputs, at the element
    elements: int  # elements whose bits differ
    size: int
    max_abs: float
    max_ulps: int
    kind: str  # agrees, local, inherited, both, inconsistent, untransplantable
    local_elements: int = 0  # where the transplant is not R's bits
    inherited_elements: int = 0  # where the left's value is not the transplant's
    inputs: list = field(default_factory=list)  # InputDifference of the inputs that differ
    inputs_checked: list = field(default_factory=list)  # every input token
    cause: Cause = None
    labels: tuple = ("python", "r")
    shapes: tuple = None  # (left shape, right shape) when the two sides' shapes cannot be paired
    # for replaying the claims (not printed)
    expr: object = None
    right_leaf: object = None
    right_value: object = None

    @property
    def site(self):
        return (self.epoch, self.step, self.name)

    def where(self):
        return f"epoch {self.epoch}, step {self.step}, {self.name}{_fmt(self.index)}"

    def to_dict(self):
        return {"epoch": self.epoch, "step": self.step, "name": self.name, "formula": self.formula,
                "index": list(self.index), "left": self.left, "right": self.right, "left_hex": float(self.left).hex(),
                "right_hex": float(self.right).hex(), "transplant": self.transplant,
                "ulps": _ulps(self.left, self.right), "difference": abs(self.left - self.right),
                "elements_differing": self.elements, "size": self.size, "max_abs": self.max_abs,
                "max_ulps": self.max_ulps, "kind": self.kind, "local_elements": self.local_elements,
                "inherited_elements": self.inherited_elements, "inputs_differing": [i.to_dict() for i in self.inputs],
                "rounding_operations": [op for _, op in tp.occurrences(self.expr)] if self.expr is not None else [],
                "inputs": self.inputs_checked, "cause": None if self.cause is None else self.cause.to_dict()}


@dataclass
class StartAccount:
    """The state the first epoch starts from, when the two sides build it differently."""

    names: list
    shapes: dict  # name -> (left shape, right shape)
    cause: Cause
    kind: str = "start"

    @property
    def site(self):
        return ("start", None, tuple(self.names))

    def to_dict(self):
        return {"kind": "start", "names": self.names,
                "shapes": {k: [list(a), list(b)] for k, (a, b) in self.shapes.items()}, "cause": self.cause.to_dict()}


@dataclass
class Carried:
    """The state an epoch starts from differs because an earlier epoch's did."""

    epoch: int
    since: int  # the first epoch after which the carried state differs
    names: list
    max_abs: float
    max_ulps: int
    kind: str = "carried"

    @property
    def site(self):
        return ("carried", self.epoch, tuple(self.names))

    def to_dict(self):
        return {"kind": "carried", "epoch": self.epoch, "since": self.since, "names": self.names,
                "max_abs": self.max_abs, "max_ulps": self.max_ulps}


@dataclass
class Explanation:
    twin: str
    scenario: str
    variant: str
    reference: bool
    kernels: str
    mode: str
    against: str
    epochs: int
    labels: tuple
    platform: str
    first: Account = None  # the first bit difference
    origin: list = field(default_factory=list)  # the chain from the origin to the first difference
    spread: list = field(default_factory=list)  # every step of the first difference's epoch that differs
    asked: list = field(default_factory=list)  # [chain] for each later site asked about
    growth: object = None
    horizon: int = None
    row: object = None  # the RowChoice, when the caller asked which row this is (crossverify explain)
    explainer: object = field(default=None, repr=False)  # the Explainer, for replaying its claims

    @property
    def origin_account(self):
        return self.origin[0] if self.origin else None

    def accounts(self):
        """Every account with a cause, each once."""
        seen, out = set(), []
        for a in list(self.origin) + list(self.spread) + [x for chain in self.asked for x in chain]:
            if getattr(a, "cause", None) is not None and id(a) not in seen:
                seen.add(id(a))
                out.append(a)
        return out


def _fmt(index):
    return "[" + ", ".join(str(int(k)) for k in index) + "]" if index else ""


def _ulps(a, b):
    return int(ulp_distance(a, b))


# past 2^53 ULPs two doubles are a factor of 2 or a sign apart: the count says nothing a reader can use
HUGE_ULPS = 2 ** 53


def _ulps_text(n):
    if n >= HUGE_ULPS:
        return "more than 2^53 ULPs (a sign or a factor of 2 apart)"
    return f"{n} ULP" + ("" if n == 1 else "s")


def _pair(a, b, labels):
    return (f"{labels[0]} {a!r} ({float(a).hex()}) vs {labels[1]} {b!r} ({float(b).hex()}): "
            f"{apart_text(a, b)}, difference {abs(a - b):.3g}")


# -- the explainer --------------------------------------------------------------------------------------

class Explainer:
    """One comparison: its traces, each side's values at any epoch, and the accounts of its steps."""

    def __init__(self, session, scenario, variant=None, kernels=NUMPY_ARITHMETIC, mode="free-running", epochs=None,
                 against="python"):
        self.session = session
        self.scenario = scenario
        self.net = net = network_for(scenario)
        self.twin = net.twin
        self.variant = check_name("variant", variant or net.reference_variant, net.variants)
        self.kernels = Kernels(kernels)
        self.mode = check_name("mode", mode, MODES)
        self.against = check_name("against", against, AGAINST)
        if against == "model" and self.variant == net.reference_variant:
            self.against = "python"  # the reference variant's model is Python itself
        self.lockstep = mode == "lockstep"
        self.epochs = epochs_for(epochs, scenario)
        self.model = self.against == "model"
        self.labels = ("model-of-R", "r") if self.model else ("python", "r")
        self.spec = net.spec_for(self.variant) if self.model else net.spec
        self.by_name = {name: (step, expr) for step, name, expr in self.spec}
        self.order = {name: k for k, (_, name, _) in enumerate(self.spec)}
        self.formulas = {s.name: s.formula for s in self.twin.steps}
        # the variant's model of R, when Python is compared with a non-reference variant
        self.model_spec = None
        if not self.model and self.variant != net.reference_variant:
            self.model_spec = {name: expr for _, name, expr in net.spec_for(self.variant)}
        self.left_kernels = get_kernels(kernels)  # live: a defect injected into them is the left side's
        self.left_label = "the exact kernels'" if self.kernels.bit_for_bit else "numpy's"
        self.alternatives = self._alternatives()
        self._values = {}
        self._accounts = {}
        self._rosetta = None
        self.left = self.right = None

    # -- R's rounding, and the alternatives a local difference is switched to -----------------------
    def engine(self):
        plan = getattr(self.session, "matprod", None)
        platform = getattr(self.session, "platform", None)
        if plan is None:
            return ""
        blas = "its BLAS" if platform is None else platform.blas_name + (
            f" ({platform.blas_path})" if platform.blas_path else "")
        if plan.exact:
            return f'matprod "{plan.option}": {plan.description}'
        return f'matprod "{plan.option}" on {blas}, which the exact kernels do not reproduce ({plan.reason})'

    def engine_name(self):
        """R's matrix-product engine in a few words: its BLAS and the matprod path."""
        plan = getattr(self.session, "matprod", None)
        platform = getattr(self.session, "platform", None)
        if plan is None:
            return "R's %*%"
        return f'R\'s %*% on {platform.blas_name if platform else "its BLAS"} under matprod "{plan.option}"'

    def engine_exact(self):
        plan = getattr(self.session, "matprod", None)
        return True if plan is None else bool(plan.exact)

    def _alternatives(self):
        """(label, namespace, operations or None for all) to switch a local difference's operations to, in
        order: R's arithmetic as this session runs it, then R's other %*% path, then numpy's BLAS (for an
        exact-kernel left side, whose own dot is R's when R's BLAS is the reference)."""
        path = ExactKernels.matprod_path  # the session sets it to the path R's %*% takes here
        out = [("R's", tp.RRounding(path), None)]
        # R's other %*% path and numpy's BLAS are candidates for R's matrix product alone (R's exp, sums
        # and the rest do not change with its BLAS)
        for other in MATPROD_PATHS:
            if other != path:
                out.append((f"R's %*% under matprod \"{other}\"", tp.RRounding(other), ("dot",)))
        if self.kernels.bit_for_bit:
            out.append(("numpy's", FloatKernels(), ("dot",)))
        return out

    # -- traces and values ------------------------------------------------------------------------
    def run(self):
        net, rec = self.net, self.net.checkpoints(self.epochs)
        self.right = net.r(self.session, self.variant, self.epochs, record=rec)
        if self.model:
            self.left = net.model(self.variant, self.kernels, self.epochs, self.right if self.lockstep else None, rec)
        elif self.lockstep:
            self.left = net.python_lockstep(self.kernels, self.right)
        else:
            self.left = net.python(self.kernels, self.epochs, record=rec)
        self.data = {"left": dict(net.data), "right": self._r_data()}
        return self

    def _r_data(self):
        r = self.net.r_data(self.session)
        out = dict(self.net.data)
        for name in self.twin.data:
            if name in r:
                out[name] = self.session.from_r(r[name])
        return out

    def prev(self, side, epoch):
        """The state ``side`` started ``epoch`` from (in lockstep the left side starts from R's)."""
        trace = self.right if side == "right" or self.lockstep else self.left
        return trace.state_before(epoch, self.net.weights)

    def _left_epoch(self, state):
        return self.net.epoch_fn(self.left_kernels, self.variant if self.model else None)(state)

    def values(self, epoch):
        """(left, right): every intermediate of ``epoch`` on each side, recorded or recomputed (one epoch
        from the state that side started it from)."""
        if epoch not in self._values:
            names = self.twin.names
            if epoch in self.left.epochs and epoch in self.right.epochs:
                lv = {n: self.left.at(epoch, n) for n in names}
                rv = {n: self.right.at(epoch, n) for n in names}
            else:
                r = self.net.r(self.session, self.variant, 1, start=self.prev("right", epoch), first_epoch=epoch)
                rv = {n: r.steps[n][0] for n in names}
                lv = {n: np.asarray(v, dtype=np.float64) for n, v in self._left_epoch(self.prev("left", epoch)).items()}
            self._values[epoch] = (lv, rv)
        return self._values[epoch]

    def leaf(self, side, epoch):
        lv, rv = self.values(epoch)
        vals, prev, data = (lv if side == "left" else rv), self.prev(side, epoch), self.data[side]
        hyper = self.net.hyper

        def leaf(token):
            if token in data:
                return data[token]
            if token in hyper:
                return np.float64(hyper[token])
            if token.endswith("@prev"):
                return prev[token[:-5]]
            return vals[token]

        return leaf

    def kind_of(self, token):
        if token in self.twin.data or token in self.net.data:
            return "data"
        if token in self.net.hyper:
            return "hyper-parameter"
        if token.endswith("@prev"):
            return "state"
        return "intermediate"

    # -- the first bit difference -------------------------------------------------------------------
    def first_difference(self):
        """(epoch, name, index) of the first bit difference, in the order a run computes its steps;
        an epoch whose intermediates were not recorded is recomputed to find its first step. None when
        the two sides agree to the bit at every recorded step and after every epoch."""
        try:
            cmp = compare_traces(self.left, self.right, self.spec, self.net.fixed(), "identical",
                                 lockstep=self.lockstep, labels=self.labels, weights=self.net.weights)
        except (ValueError, CrossverifyError):
            # an intermediate whose shapes the two sides disagree on cannot be compared element by element:
            # the account starts at the first recorded epoch, where that step differs entirely
            epoch = self.left.first_epoch
            if not any(_mismatched(self.left.at(epoch, n), self.right.at(epoch, n)) for _, n, _ in self.spec):
                raise
            self.horizon = None
        else:
            self.horizon = cmp.horizon
            if cmp.first is None:
                return None
            epoch = cmp.first.epoch
        lv, rv = self.values(epoch)
        for _, name, _ in self.spec:
            bad = _bad(lv[name], rv[name])
            if bad.any():
                return epoch, name, tuple(int(k) for k in np.argwhere(bad)[0])
        return epoch, cmp.first.name, tuple(cmp.first.index)

    # -- one step at one epoch ------------------------------------------------------------------------
    def account(self, epoch, name, index=None):
        key = (epoch, name, None if index is None else tuple(index))
        if key not in self._accounts:
            self._accounts[key] = self._account(epoch, name, index)
        return self._accounts[key]

    def _account(self, epoch, name, index):
        step, expr = self.by_name[name]
        lv, rv = self.values(epoch)
        L, R = np.asarray(lv[name], dtype=np.float64), np.asarray(rv[name], dtype=np.float64)
        left_leaf, right_leaf = self.leaf("left", epoch), self.leaf("right", epoch)
        bad = _bad(L, R)
        if index is None or not _inside(bad, index) or not bad[tuple(index)]:
            index = tuple(int(k) for k in np.argwhere(bad)[0]) if bad.any() else tuple(0 for _ in bad.shape)
        index = tuple(index)
        tokens = tp.leaves(expr)
        inputs = [d for d in (self._input_difference(t, left_leaf, right_leaf) for t in tokens) if d is not None]
        largest, ulps = (float("nan"), 0) if _mismatched(L, R) else _largest(L, R)
        acc = Account(epoch, step, name, self.formulas.get(name, ""), index, _at(L, index), _at(R, index),
                      float("nan"), int(bad.sum()), int(bad.size), largest, ulps, "agrees", inputs=inputs,
                      inputs_checked=tokens, labels=self.labels, expr=expr, right_leaf=right_leaf, right_value=R,
                      shapes=(L.shape, R.shape) if _mismatched(L, R) else None)
        try:
            T = tp.evaluate(expr, right_leaf, tp.chooser(self.left_kernels))
        except tp.Untransplantable as exc:
            acc.kind = "untransplantable" if bad.any() else "agrees"
            if bad.any():
                acc.cause = Cause(UNTRANSPLANTABLE, f"{exc}; the difference cannot be followed through this step")
            return acc
        local = _differ(T, R) if T.shape == R.shape else np.ones(R.shape, dtype=bool)
        acc.transplant = _at(T, index) if T.shape == R.shape else float("nan")
        acc.local_elements = int(local.sum())
        acc.inherited_elements = int(_differ(L, T).sum())
        if not bad.any():
            return acc
        if not local.any():
            acc.kind = "inherited" if inputs else "inconsistent"
            if not inputs:
                acc.cause = Cause(INCONSISTENT, f"the step's inputs agree and its formula gives R's bits on them, "
                                                f"yet the {self.labels[0]} side recorded other bits: its code computes "
                                                f"this step outside the traced expression (an operation not called "
                                                f"through xp?)")
            return acc
        acc.kind = "both" if inputs else "local"
        acc.cause = self._cause(acc, expr, right_leaf, T, R, local, left_leaf, L)
        return acc

    def _input_difference(self, token, left_leaf, right_leaf):
        try:
            a = np.asarray(left_leaf(token), dtype=np.float64)
            b = np.asarray(right_leaf(token), dtype=np.float64)
        except KeyError:
            return None
        if _alike(a, b):
            return None
        try:
            x, y = np.broadcast_arrays(a, b)
        except ValueError:
            return InputDifference(token, self.kind_of(token), a.shape, b.shape, int(max(a.size, b.size)),
                                   float("nan"), 0)
        largest, ulps = _largest(x, y)
        return InputDifference(token, self.kind_of(token), a.shape, b.shape, int(_differ(x, y).sum()), largest, ulps)

    # -- why a local difference arose ----------------------------------------------------------------
    def _cause(self, acc, expr, right_leaf, T, R, local, left_leaf, L):
        """The verdict on a local difference. Rounding only when one switch reproduces R's bits at every
        element of the step: a switch that fits one element alone is a coincidence of two roundings, not
        an explanation (a formula that differs by a rounding can match a swapped operation somewhere)."""
        element = acc.index if local[acc.index] else tuple(int(k) for k in np.argwhere(local)[0])

        def at_element(v):
            return v.shape == R.shape and tp.same_bits(v[element], R[element])

        def everywhere(v):
            return tp.same_bits(v, R)

        partial = None  # (label, paths): a switch that reproduces the element only
        for label, namespace, ops in self.alternatives:
            paths = [p for p, op in tp.occurrences(expr) if ops is None or op in ops]
            matrix_swap = tp.minimal_swap(expr, right_leaf, self.left_kernels, namespace, everywhere, paths)
            if matrix_swap is not None:
                swap = tp.minimal_swap(expr, right_leaf, self.left_kernels, namespace, at_element, matrix_swap)
                return self._rounding_cause(element, expr, right_leaf, label, namespace, swap or matrix_swap,
                                            matrix_swap)
            if partial is None:
                swap = tp.minimal_swap(expr, right_leaf, self.left_kernels, namespace, at_element, paths)
                if swap is not None:
                    partial = (label, [tp.node_at(expr, p)[0] for p in swap])
        note = "" if partial is None else (
            f"; switching {' and '.join(partial[1])} to {partial[0]} arithmetic gives R's bits at {_fmt(element)} "
            f"but not at every element, so it explains nothing")
        if self.model_spec is not None and acc.name in self.model_spec:
            for label, namespace in [("R's", self.alternatives[0][1]), (self.left_label, self.left_kernels)]:
                try:
                    M = tp.evaluate(self.model_spec[acc.name], right_leaf, tp.chooser(namespace))
                except tp.Untransplantable:
                    break
                if tp.same_bits(M, R):
                    return Cause(VARIANT, f"the R variant {self.variant!r} computes a different formula, which its "
                                          f"model predicts: the model's expression for {acc.name}, evaluated on R's "
                                          f"inputs with {label} arithmetic, gives R's bits at every element",
                                 reproduces_element=True, reproduces_matrix=True, alternative=label,
                                 lines=self.source_lines(acc.name), namespace=namespace, element=element,
                                 model_expr=self.model_spec[acc.name])
        bound, multiple = (None, None) if _mismatched(L, R) else \
            self._bound_multiple(acc, expr, left_leaf, right_leaf, L, R, element)
        size = "" if multiple is None else \
            f"; the difference is {multiple:.3g} times the step's float bound ({bound:.3g})"
        if not self.engine_exact() and any(op == "dot" for _, op in tp.occurrences(expr)):
            return Cause(ENGINE, f"{self.engine_name()} sums in an order crossverify cannot "
                                 f"reproduce bit for bit, and no switch of rounding gives R's bits at every element"
                                 f"{size}{note}", bound=bound, multiple=multiple, lines=self.source_lines(acc.name),
                         element=element)
        from crossverify.explain import slips
        slip = slips.recognise_step(self, acc, left_leaf) if not acc.inputs else None
        if slip is not None:
            return Cause(SLIP, slip.sentence(), reproduces_element=True, reproduces_matrix=True, bound=bound,
                         multiple=multiple, lines=slip.lines, element=element, slip=slip)
        agree = [t for t in tp.leaves(expr) if t not in {i.token for i in acc.inputs}]
        summary = (f"no switch of rounding reproduces R's bits: the two sides compute different formulas for "
                   f"{acc.name}{size}")
        summary += (f"; its inputs {', '.join(agree)} agree to the bit" if agree and not acc.inputs else
                    f"; inputs agreeing to the bit: {', '.join(agree) or 'none'}") + note
        return Cause(FORMULA, summary, bound=bound, multiple=multiple, lines=self.source_lines(acc.name),
                     element=element)

    def _rounding_cause(self, element, expr, right_leaf, label, namespace, swap, matrix_swap):
        ops = self.name_operations(expr, right_leaf, namespace, swap, element)
        same = set(matrix_swap) == set(swap)
        matrix_ops = ops if same else self.name_operations(expr, right_leaf, namespace, matrix_swap, element)
        engine = ""
        if not self.engine_exact() and any(o.op == "dot" for o in matrix_ops):
            # R's %*% runs on a BLAS the exact kernels do not reproduce: that engine is the cause
            engine = (f"R's matrix-product engine: {self.engine_name()} sums otherwise than the exact kernels; "
                      f"on R's inputs, ")
        summary = engine + (f"switching {' and '.join(o.op for o in matrix_ops)} to {label} arithmetic reproduces "
                            f"R's bits at every element of the step" +
                            ("" if same else f" ({' and '.join(o.op for o in ops)} alone at {_fmt(element)})"))
        return Cause(ROUNDING, summary, ops, matrix_ops, True, True, label, swap=list(swap),
                     matrix_swap=list(matrix_swap), namespace=namespace, base=self.left_kernels,
                     element=tuple(element))

    def name_operations(self, expr, leaf, namespace, swap, element):
        seen = {}
        tp.evaluate(expr, leaf, tp.chooser(self.left_kernels, swap, namespace), seen=seen)
        out = []
        for path in swap:
            op, xs, _ = seen[path]
            node = tp.node_at(expr, path)
            param = node[2] if op in tp.PARAMETERISED else None
            index = tp.map_index(expr, path, element, seen)
            unusual = op == "dot" and not self.engine_exact()
            platform = getattr(self.session, "platform", None)
            right = f"R's ({platform.blas_name})" if unusual and platform is not None else "R's"
            text, where = tp.describe_operation(op, xs, param, self.left_kernels, namespace, index, self.left_label,
                                                right, self.engine_name() if unusual else "")
            out.append(Operation(tuple(path), op, text or f"{op}: no element differs on R's inputs", where))
        return out

    def _bound_multiple(self, acc, expr, left_leaf, right_leaf, L, R, element):
        def leaf(token):
            a, b = np.asarray(left_leaf(token), dtype=np.float64), np.asarray(right_leaf(token), dtype=np.float64)
            if self.kind_of(token) in ("state", "intermediate"):
                a, b = a[None], b[None]
            return bounds.Node.leaf(a, b)

        try:
            node = bounds.evaluate(expr, leaf)
            d = np.broadcast_to(node.d, (1,) + np.broadcast_shapes(L.shape, R.shape))
            bound = float(d[(0,) + tuple(element)])
        except Exception:  # noqa: BLE001 - an operation without a rule, or shapes the sides disagree on
            return None, None
        diff = abs(_at(L, element) - _at(R, element))
        return bound, (diff / bound if bound > 0 else float("inf"))

    def source_lines(self, name):
        """{"python": [...], "r": [...]}: the lines marked ``# rosetta: KEY STEP`` that compute ``name``."""
        try:
            if self._rosetta is None:
                from crossverify.explain import rosetta
                self._rosetta = rosetta.build([self.twin])
            rows = [row for section in self._rosetta.sections for row in section.rows if row.name == name]
        except Exception as exc:  # noqa: BLE001 - the account stands without the lines
            return {"python": [], "r": [], "note": f"source lines unavailable: {exc}"}
        if not rows:
            return {"python": [], "r": []}
        row = rows[0]
        r_lines = [s for tag, s in row.r_alternatives if tag == self.variant] or row.r
        return {"python": [f"{s.path}:{s.line}: {s.text}" for s in row.python],
                "r": [f"{s.path}:{s.line}: {s.text}" for s in r_lines]}

    # -- the starting state --------------------------------------------------------------------------
    def start_account(self):
        # a side may lay a matrix out for its own broadcasting (one row per sample): only values count
        diffs = {w: (self.left.start[w], self.right.start[w]) for w in self.net.weights
                 if not _alike(self.left.start[w], self.right.start[w])}
        if not diffs:
            return None
        shapes = {w: (np.shape(a), np.shape(b)) for w, (a, b) in diffs.items()}
        layout = "; ".join(_layout_text(w, a, b, self.labels) for w, (a, b) in diffs.items())
        if self.model_spec is not None:
            start = self.net.python_start(self.variant)
            if all(_alike(start[w], self.right.start[w]) for w in diffs):
                return StartAccount(list(diffs), shapes, Cause(
                    VARIANT, f"the R variant {self.variant!r} computes a different formula, which its model predicts: "
                             f"it starts from another state ({layout}); the variant's Python model of R's start gives "
                             f"R's bits", reproduces_element=True, reproduces_matrix=True, alternative="R's"))
        from crossverify.explain import slips
        slip = slips.recognise_start(self, list(diffs))
        if slip is not None:
            return StartAccount(list(diffs), shapes, Cause(SLIP, slip.sentence(), reproduces_element=True,
                                                           reproduces_matrix=True, lines=slip.lines, slip=slip))
        return StartAccount(list(diffs), shapes, Cause(
            FORMULA, f"the two sides build different starting states ({layout}): the left side's start and R's "
                     f"{self.twin.r.start or 'drawn state'} differ"))

    def carried(self, epoch):
        """The Carried link into ``epoch``: which state matrices differ, since when."""
        lp, rp = self.prev("left", epoch), self.prev("right", epoch)
        names = [w for w in self.net.weights if not _alike(lp[w], rp[w])]
        since = None
        for w in names:
            a, b = np.broadcast_arrays(self.left.series(w), self.right.series(w))
            bad = _differ(a, b).reshape(len(a), -1).any(axis=1)
            if bad.any():
                e = self.left.first_epoch + int(np.flatnonzero(bad)[0])
                since = e if since is None else min(since, e)
        diffs = [np.abs(np.subtract(*np.broadcast_arrays(lp[w], rp[w]))) for w in names]
        ulps = [np.max(ulp_distance(*np.broadcast_arrays(lp[w], rp[w])), initial=0) for w in names]
        return Carried(epoch, since, names, float(max((d.max(initial=0.0) for d in diffs), default=0.0)),
                       int(max(ulps, default=0)))

    # -- walking back -------------------------------------------------------------------------------------
    def chain_to(self, epoch, name, index=None, depth=0):
        """[origin, ..., the account of (epoch, name)]: inherited differences followed back input by input."""
        acc = self.account(epoch, name, index)
        if acc.kind not in ("inherited", "both") or depth > len(self.spec) + 2:
            return [acc]
        intermediates = sorted((i for i in acc.inputs if i.kind == "intermediate" and i.token in self.order),
                               key=lambda i: self.order[i.token])
        if intermediates:
            return self.chain_to(epoch, intermediates[0].token, None, depth + 1) + [acc]
        if any(i.kind == "state" for i in acc.inputs):
            if epoch == self.left.first_epoch:
                start = self.start_account()
                return ([start] if start is not None else []) + [acc]
            link = self.carried(epoch)
            before = self.origin_chain() if self._first is not None and self._first[0] < epoch else []
            return before + [link, acc]
        return [acc]

    def origin_chain(self):
        if getattr(self, "_origin", None) is None:
            self._origin = []
            if self._first is not None:
                e, name, index = self._first
                self._origin = self.chain_to(e, name, index)
        return self._origin

    def spread(self, epoch):
        """The account of every step of ``epoch`` whose bits differ."""
        lv, rv = self.values(epoch)
        return [self.account(epoch, name) for _, name, _ in self.spec if _differ(lv[name], rv[name]).any()]

    def explain(self, at=(), growth=True, spread=True):
        if self.left is None:
            self.run()
        self._first = self.first_difference()
        ex = Explanation(self.twin.name, self.scenario.name, self.variant,
                         self.variant == self.net.reference_variant, self.kernels, self.mode, self.against,
                         self.epochs, self.labels, self.engine(), horizon=self.horizon)
        if self._first is None:
            start = self.start_account()
            ex.origin = [start] if start else []
            return ex
        e, name, index = self._first
        ex.first = self.account(e, name, index)
        ex.origin = self.origin_chain()
        if spread:
            ex.spread = self.spread(e)
        for epoch, step_name in at:
            ex.asked.append(self.chain_to(epoch, step_name))
        if growth and not self.lockstep:
            from crossverify.explain.growth import measure_growth
            ex.growth = measure_growth(self.left, self.right, self.twin, self.scenario.name, self.labels)
        return ex


def _differ(a, b):
    try:
        return tp.differing(a, b)
    except ValueError:  # shapes that do not broadcast: every element differs
        return np.ones(np.shape(b), dtype=bool)


def _mismatched(a, b):
    """Shapes no broadcasting reconciles with either side's own (1 x 3 against 3 x 1, 2 x 3 against 3 x 2):
    a step whose elements cannot be paired."""
    try:
        return np.broadcast_shapes(np.shape(a), np.shape(b)) not in (np.shape(a), np.shape(b))
    except ValueError:
        return True


def _bad(L, R):
    """The elements of R's value whose bits the left side's does not give; all of them when the shapes
    cannot be paired."""
    return np.ones(np.shape(R), dtype=bool) if _mismatched(L, R) else _differ(L, R)


def _largest(a, b):
    """(largest |a - b|, largest distance in ULPs) over the elements, a and b broadcast; NaN, 0 when
    their shapes do not broadcast."""
    try:
        a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    except ValueError:
        return float("nan"), 0
    with np.errstate(invalid="ignore"):
        d = np.abs(a - b)
    return float(np.nanmax(d, initial=0.0)), int(np.max(ulp_distance(a, b), initial=0))


def _alike(a, b):
    """The same values once broadcast to one shape (a side may lay a matrix out for its own
    broadcasting, as R's one row per sample): no element's bits differ."""
    try:
        return not tp.differing(a, b).any()
    except ValueError:
        return False


def _inside(bad, index):
    return len(index) == bad.ndim and all(0 <= k < n for k, n in zip(index, bad.shape))


def _at(v, index):
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 0:
        return float(v)
    index = tuple(0 if n == 1 else k for k, n in zip(index[-v.ndim:], v.shape))
    return float(v[index])


SIDE = {"python": "Python's", "model-of-R": "the model's"}


def _layout_text(name, a, b, labels):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    side = SIDE.get(labels[0], labels[0])
    text = f"{name} is {'x'.join(map(str, b.shape))} in R, {'x'.join(map(str, a.shape))} in {side}"
    if set(b.ravel().view(np.uint64).tolist()) <= set(a.ravel().view(np.uint64).tolist()) and a.shape != b.shape:
        text += f" (the same values laid out again: R repeats {side} values)"
    return text


# -- the public API -------------------------------------------------------------------------------------

def parse_site(text, twin):
    """``EPOCH:STEP`` (a step number, its first intermediate) or ``EPOCH:NAME`` -> (epoch, name)."""
    from crossverify.errors import CrossverifyError
    epoch, _, step = str(text).partition(":")
    try:
        epoch = int(epoch)
    except ValueError:
        raise CrossverifyError(f"--at {text}: give EPOCH:STEP, e.g. 3926:16 or 3926:{twin.steps[-1].name}") from None
    if step in twin.names:
        return epoch, step
    if step.isdigit():
        names = [s.name for s in twin.steps if s.number == int(step)]
        if names:
            return epoch, names[0]
    raise CrossverifyError(f"--at {text}: {step!r} is neither a step number nor an intermediate of {twin.name} "
                           f"({', '.join(twin.names)})")


# the rows explain tries when told none, in order: exact kernels first (bit for bit, so any slip shows
# where it is made), then float kernels (whose rounding may hide a slip behind an earlier difference)
ROW_ORDER = tuple((k, m) for k in (R_ARITHMETIC, NUMPY_ARITHMETIC) for m in ("free-running", "lockstep"))
WHEN_ALL_MEET = (NUMPY_ARITHMETIC, "free-running")  # rounding's growth across epochs: the account worth reading then


@dataclass
class RowChoice:
    """The row an explanation is of, and whether it meets its expectation in ``crossverify run``."""

    kernels: str
    mode: str
    expectation: str
    meets: bool  # None: the row could not be checked
    chosen: bool  # True when explain chose it (no --kernels, no --mode)
    beyond: object = None  # the row's first divergence beyond its expectation (engine.Divergence), if any

    def sentence(self):
        row = f"{self.kernels} kernels, {self.mode}"
        if self.chosen and self.meets is False:
            return (f"explaining the first row that does not meet its expectation ({row}: expected {self.expectation}; "
                    f"rows are tried exact kernels first)")
        if self.chosen:
            return (f"every row meets its expectation; explaining {row} (expected {self.expectation}), which meets: "
                    f"what follows is rounding, not a defect")
        if self.meets is False:
            text = f"this row ({row}) does not meet its expectation ({self.expectation})"
            if self.beyond is not None and not Kernels(self.kernels).bit_for_bit:
                text += (f"; it first fails at epoch {self.beyond.epoch}, step {self.beyond.step}, {self.beyond.name}, "
                         f"while the origin below may be harmless rounding that comes first: --kernels exact (or no "
                         f"--kernels) starts the account at the failure")
            return text
        if self.meets is None:
            return f"this row ({row}) cannot be checked against an expectation ({self.expectation})"
        return f"this row ({row}) meets its expectation ({self.expectation}): what follows is not a defect"


def row_choice(session, scenario, variant=None, kernels=None, mode=None, epochs=None):
    """The RowChoice for ``kernels`` and ``mode``; with neither given, the first row of ROW_ORDER that does
    not meet its expectation (WHEN_ALL_MEET when every row meets). A row given only in part is completed
    from the first of ROW_ORDER that matches it."""
    from crossverify.check.verify import Verifier
    verifier = Verifier(session, scenario, epochs)
    variant = check_name("variant", variant or verifier.net.reference_variant, verifier.variants)
    chosen = kernels is None and mode is None
    candidates = [(k, m) for k, m in ROW_ORDER if kernels in (None, k) and mode in (None, m)]
    rows = {}
    for k, m in candidates:
        try:
            rows[k, m] = verifier.row(variant, k, m)
        except (ValueError, CrossverifyError):  # the two sides' shapes differ at a step: the row fails
            return RowChoice(k, m, verifier.expectation(variant, k), False, chosen)
        if rows[k, m].ok is False or not chosen:
            beyond = rows[k, m].first_divergence if rows[k, m].ok is False else None
            return RowChoice(k, m, rows[k, m].expectation, rows[k, m].ok, chosen, beyond)
    k, m = WHEN_ALL_MEET
    row = rows.get((k, m)) or verifier.row(variant, k, m)
    return RowChoice(k, m, row.expectation, row.ok, chosen)


def explain(session, scenario, variant=None, kernels=NUMPY_ARITHMETIC, mode="free-running", epochs=None, at=(),
            against="python", growth=True, spread=True, default_sites=True):
    """The Explanation of one comparison (see the module docstring). ``at``: later sites to account for,
    as (epoch, intermediate); free-running with a horizon, the last state step at the horizon is added
    unless ``default_sites`` is false."""
    ex_ = Explainer(session, scenario, variant, kernels, mode, epochs, against).run()
    sites = list(at)
    if default_sites and not sites and mode == "free-running":
        first = ex_.first_difference()
        if ex_.horizon is not None and first is not None and ex_.horizon > first[0]:
            last_state = max((n for n in ex_.net.weights if n in ex_.order), key=ex_.order.get, default=None)
            if last_state is not None:
                sites.append((ex_.horizon, last_state))
    for epoch, _ in sites:
        if not 0 <= epoch < ex_.epochs:
            from crossverify.errors import CrossverifyError
            raise CrossverifyError(f"--at {epoch}: the run has epochs 0 to {ex_.epochs - 1}")
    out = ex_.explain(sites, growth=growth, spread=spread)
    out.explainer = ex_
    return out


def replay(account, matrix=False):
    """Recompute a reported cause's claim from scratch: the step's expression on R's inputs with the
    named operations switched (or the variant model's expression); True when it gives R's bits at the
    cause's element (``matrix``: at every element)."""
    cause = account.cause
    if cause is None:
        return False
    R = np.asarray(account.right_value, dtype=np.float64)
    if cause.verdict == ROUNDING:
        swap = cause.matrix_swap if matrix else cause.swap
        if swap is None:
            return False
        value = tp.evaluate(account.expr, account.right_leaf, tp.chooser(cause.base, swap, cause.namespace))
    elif cause.verdict == VARIANT and cause.model_expr is not None:
        value = tp.evaluate(cause.model_expr, account.right_leaf, tp.chooser(cause.namespace))
    else:
        return False
    if matrix:
        return tp.same_bits(value, R)
    return value.shape == R.shape and tp.same_bits(value[cause.element], R[cause.element])


# -- mutants ---------------------------------------------------------------------------------------------

@dataclass
class MutantVerdict:
    name: str
    site: tuple  # (epoch, step, intermediate) of the first bit difference, or None
    origin: tuple  # the origin's site: the same, or ("start", None, names) for the starting state
    verdict: str  # the origin's cause verdict, or "no divergence"
    summary: str

    def to_dict(self):
        return dict(self.__dict__)


def classify_mutant(mutant, session, kernels=R_ARITHMETIC, mode="free-running"):
    """Inject ``mutant`` (bridge/check/mutants.py's Mutant: ``load()``, ``applied(session)``,
    ``variant_of(net)``), explain the comparison its checks run (Python against R for the reference
    variant; the model of R against R for another) and return where the two sides first part and the
    origin's classification."""
    scenario = mutant.load()
    with mutant.applied(session):
        net = network_for(scenario)
        variant = mutant.variant_of(net)
        against = "python" if variant == net.reference_variant else "model"
        ex = explain(session, scenario, variant, kernels, mode, against=against, growth=False, spread=False,
                     default_sites=False)
    origin = ex.origin_account
    if origin is None:
        return MutantVerdict(mutant.name, None, None, "no divergence", "the two sides agree to the bit")
    first = None if ex.first is None else ex.first.site
    cause = origin.cause
    return MutantVerdict(mutant.name, first, origin.site, cause.verdict if cause else origin.kind,
                         cause.summary if cause else origin.kind)
