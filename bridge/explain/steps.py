"""A twin's iteration, step by step, Python beside R: the article's spreadsheet walk-through
("Visualization of steps for Neural Network methodology") computed, for any twin.

For one epoch of a scenario, every step's title, its formulas and its matrices from Python and
from R side by side, read from the twin's declaration (bridge/twins/protocol.py: ``steps``,
``titles``, ``inputs``, ``input_steps``); a cell whose 64 bits differ from the other language's is
marked. A differing step gets a sentence on why: the twin's own ``explain_step`` hook when it has
one (e.g. how R's recycling lays a matrix out), otherwise what the variant and kernels imply.
Prediction on new data closes the walk-through when the twin declares predict functions; its
``new_data`` hook chooses the new inputs and says why R may refuse them.
"""
from dataclasses import dataclass, field

import numpy as np

from crossverify.python_impl.kernels import get_kernels

from crossverify.errors import CrossverifyError, RCallError
from crossverify.explain import machine
from crossverify.twins.protocol import call_by_name
from crossverify.twins.runner import network_for
from crossverify.check.verify import check_name
from crossverify.twins.request import Kernels, R_ARITHMETIC

MARK = "*"
DEFAULT_COLUMNS = 4  # wider matrices (a data set's 1000 samples) show this many columns


def kernel_text(kernels):
    """What the Python kernels are; the float kernels' facts measured on this machine."""
    if Kernels(kernels).bit_for_bit:
        return ("exact: numpy arrays with R's arithmetic (products summed left to right as the reference BLAS "
                "does, the C library's exp, long-double colSums/rowSums/mean)")
    blas = machine.numpy_blas()
    return (f"float: plain numpy ({blas + ' ' if blas else ''}dot, numpy's exp "
            f"({machine.exp_phrase()}), pairwise sums)")


def float_reason():
    blas = machine.numpy_blas()
    return (f"float kernels: numpy's dot{' (' + blas + ')' if blas else ''}, its exp ({machine.exp_phrase()}) "
            f"and its pairwise sums round differently from R's %*%, the C library's exp and long-double sums; "
            f"`crossverify run` checks every such difference against its floating-point bound.")


# -- the steps and their formulas -----------------------------------------------------------------

def title_of(twin, number):
    """A step's title: the declaration's ``titles``, else the title of the step's first intermediate."""
    if number in twin.titles:
        return twin.titles[number]
    return next((s.title for s in twin.steps if s.number == number and s.title), "")


def input_steps(twin):
    """{step: input names} as declared; by default every data matrix and state at step 0."""
    return dict(twin.input_steps) or {0: tuple(twin.data) + tuple(twin.init)}


def step_table(twin):
    """(step, title, [(name, formula)]) for every step of ``twin`` in the order one epoch computes
    them, the inputs' steps first (their "formula" is what the input is)."""
    table = {}
    for k, names in input_steps(twin).items():
        table.setdefault(k, []).extend((n, twin.inputs.get(n, n)) for n in names)
    for s in twin.steps:
        table.setdefault(s.number, []).append((s.name, s.formula or s.name))
    return [(k, title_of(twin, k), items) for k, items in table.items()]


# -- one matrix, both languages -------------------------------------------------------------------

@dataclass
class Pair:
    """One matrix from both languages; ``python`` may be a row numpy broadcasts to ``r``'s shape."""

    name: str
    python: np.ndarray
    r: np.ndarray
    label: str = ""
    note: str = ""
    r_only: bool = False  # shown for R alone (how R lays a matrix out); never marked

    def __post_init__(self):
        self.python = np.atleast_2d(np.asarray(self.python, dtype=np.float64))
        self.r = np.atleast_2d(np.asarray(self.r, dtype=np.float64))
        if self.r_only:
            self.r_marks = np.zeros(self.r.shape, dtype=bool)
            self.python_marks = np.zeros(self.python.shape, dtype=bool)
            return
        try:
            shape = np.broadcast_shapes(self.python.shape, self.r.shape)
        except ValueError:
            raise CrossverifyError(f"{self.name}: Python's {self.python.shape} and R's {self.r.shape} cannot be "
                                   f"compared cell by cell.") from None
        p, q = np.broadcast_to(self.python, shape), np.broadcast_to(self.r, shape)
        differ = p.view(np.uint64) != q.view(np.uint64)  # 64 bits, so -0 and +0 differ too
        self.python_marks = _fold(differ, self.python.shape)
        self.r_marks = _fold(differ, self.r.shape)
        self.max_abs = float(np.abs(p - q).max(initial=0.0))
        self.n_differ = int(differ.sum())
        first = np.argwhere(differ)
        self.first = tuple(int(i) for i in first[0]) if len(first) else None
        self.first_values = (float(p[self.first]), float(q[self.first])) if self.first else None

    @property
    def differs(self):
        return not self.r_only and self.n_differ > 0


def _fold(differ, shape):
    """Marks for a matrix of ``shape`` that was broadcast to ``differ.shape``: any copy differing."""
    axes = tuple(i for i, (a, b) in enumerate(zip(shape, differ.shape)) if a == 1 and b > 1)
    return differ.any(axis=axes, keepdims=True) if axes else differ


@dataclass
class StepView:
    number: int
    title: str
    formulas: list
    pairs: list
    note: str = ""  # why the step's cells differ, or (when they do not) what the twin says about it

    @property
    def differs(self):
        return any(p.differs for p in self.pairs)


@dataclass
class Prediction:
    data: dict  # the new inputs by name
    python: np.ndarray
    r: np.ndarray = None
    r_error: str = ""
    r_code: str = ""
    note: str = ""
    pair: Pair = None
    description: str = ""  # what the new inputs are
    about: str = ""  # what predicting computes (the Python predict function's first docstring line)

    @property
    def inputs(self):
        return next(iter(self.data.values()))


@dataclass
class Walkthrough:
    scenario: str
    network: str  # the twin's name
    variant: str
    kernels: str
    epoch: int
    steps: list = field(default_factory=list)
    prediction: Prediction = None
    header: list = field(default_factory=list)

    def first_difference(self):
        for s in self.steps:
            for p in s.pairs:
                if p.differs:
                    return s, p
        return None


# -- why the cells differ -------------------------------------------------------------------------

def explain(view, walk, first, twin):
    """The generic sentence on why ``view``'s cells differ; ``first`` is the first step that differs."""
    reference = walk.variant == twin.reference
    if view is not first:
        if reference and not Kernels(walk.kernels).bit_for_bit:
            return f"rounding, as at step {first.number}: each step adds its own and carries the earlier ones."
        return f"carried from step {first.number}, where the two first part."
    if reference:
        if not Kernels(walk.kernels).bit_for_bit:
            return float_reason()
        return ("unexpected: with exact kernels Python should equal R bit for bit here; "
                "`crossverify run` names the first divergence.")
    if walk.epoch > 0:
        return (f"the state this epoch starts from already differs: variant {walk.variant} parts from Python "
                f"earlier (`crossverify steps --scenario {walk.scenario} --variant {walk.variant} --epoch 0` "
                f"shows where and why).")
    description = twin.variants[walk.variant].description
    return f"variant {walk.variant} first parts from Python here" + (f" ({description})" if description else "") + "."


def _notes(walk, twin, py, r, scenario):
    """Each step's note: the twin's explain_step hook first, else the generic reason for differing cells."""
    hook = twin.resolve(twin.explain_step, "explain_step")
    first = next((s for s in walk.steps if s.differs), None)
    for view in walk.steps:
        text = None
        if hook is not None:
            text = call_by_name(hook, {
                "view": view, "first": first, "walk": walk, "epoch": walk.epoch, "variant": walk.variant,
                "kernels": walk.kernels, "r_trace": r, "python_trace": py, "scenario": scenario,
            }, f"{twin.name!r} explain_step")
        view.note = text or (explain(view, walk, first, twin) if view.differs else "")


# -- building the walk-through --------------------------------------------------------------------

# how a step uses an input it reads directly, from the operation the traced expression applies
USE = {"add": "as added", "sub": "as subtracted", "mul": "as multiplied", "dot": "as multiplied", "div": "as divided"}


def _reads(expr, parent="", out=None):
    """[(state name, how it is used)] for the state leaves (``name@prev``) of one traced expression."""
    out = [] if out is None else out
    if isinstance(expr, str):
        if expr.endswith("@prev"):
            out.append((expr[:-len("@prev")], USE.get(parent, "as read")))
    elif isinstance(expr, tuple) and expr and isinstance(expr[0], str):
        for arg in expr[1:]:
            _reads(arg, expr[0], out)
    return out


def _first_reads(net):
    """{intermediate: [(state name, use)]}: where each state is first read by the epoch (from the
    expressions bridge/twins/tracing.py derives from the Python code); {} when it cannot be traced."""
    try:
        spec = net.spec
    except Exception:  # a twin whose epoch cannot run on traced arrays just shows no inputs where used
        return {}
    seen, out = set(), {}
    for _, name, expr in spec:
        for state, use in _reads(expr):
            if state not in seen:
                seen.add(state)
                out.setdefault(name, []).append((state, use))
    return out


def _input_pairs(name, walk, net, py, r, r_data, py_before, r_before):
    twin, e = net.twin, walk.epoch
    if name in twin.data:
        prepared = net.data[name] is not net.scenario.data.get(name)
        note = ""
        if prepared:
            step = twin.preprocessing[net.scenario.preprocessing]
            note = (f"prepared by each language's own code ({net.scenario.preprocessing}"
                    + (f": {step.description}" if step.description else "") + ")")
        return [Pair(name, net.data[name], r_data[name], note=note)]
    if name in twin.init:
        if e == 0:
            return [Pair(name, py.init[name], r.init[name], label="as drawn")]
        return [Pair(name, py_before[name], r_before[name], label=f"after epoch {e - 1}")]
    return []


def _r_start_pairs(names, r):
    """R-only views of the state R's start function built from the drawn one, where it differs."""
    out = []
    for name in names:
        drawn, start = r.init.get(name), r.start.get(name)
        if drawn is None or start is None:
            continue
        if np.shape(drawn) != np.shape(start) or not np.array_equal(np.asarray(drawn).view(np.uint64),
                                                                   np.asarray(start).view(np.uint64)):
            out.append(Pair(name, start, start, label="as R's start lays it out", r_only=True))
    return out


def _views(walk, net, py, r, r_data):
    twin, e = net.twin, walk.epoch
    py_before = py.state_before(e, twin.state)
    r_before = r.state_before(e, twin.state)
    first_reads = _first_reads(net)
    inputs = input_steps(twin)
    views = []
    for number, title, items in step_table(twin):
        pairs = []
        for name, _ in items:
            if number in inputs and name in inputs[number]:
                pairs += _input_pairs(name, walk, net, py, r, r_data, py_before, r_before)
                continue
            # a state R holds in another shape than numpy (a row numpy broadcasts) is shown where it is read
            for state, use in first_reads.get(name, ()):
                if state in py_before and np.shape(py_before[state]) != np.shape(r_before[state]):
                    pairs.append(Pair(state, py_before[state], r_before[state], label=use))
            pairs.append(Pair(name, py.at(e, name), r.at(e, name)))
        if e == 0 and number in inputs:
            pairs += _r_start_pairs([n for n in inputs[number] if n in twin.init], r)
        views.append(StepView(number, title, [f for _, f in items], pairs))
    return views


# -- prediction on new data -----------------------------------------------------------------------

def _doc_line(fn):
    doc = (getattr(fn, "__doc__", None) or "").strip()
    return doc.splitlines()[0].strip() if doc else ""


def prediction(session, net, py_state, r_state, variant, kernels):
    """The twin's predict functions on new inputs (its new_data hook's, else the training data) with the
    state after an epoch, in both languages; None when the twin declares no predict functions."""
    twin = net.twin
    predict = twin.resolve(twin.python_predict, "python_predict")
    if predict is None or not twin.r.predict:
        return None
    hook = twin.resolve(twin.new_data, "new_data")
    plan = {}
    if hook is not None:
        plan = dict(call_by_name(hook, {
            **net.data, **net.hyper, "state": py_state, "r_state": r_state, "variant": variant,
            "preprocessing": net.scenario.preprocessing, "scenario": net.scenario,
            "r_call": net.r_caller(session)}, f"{twin.name!r} new_data"))
    data = plan.get("data") or {k: net.data[k] for k in twin.data}
    python = net.python_predict(py_state, get_kernels(kernels), data)
    out = Prediction(data, np.asarray(python, dtype=np.float64),
                     description=plan.get("description") or ("" if hook else "the training data"),
                     about=_doc_line(predict))
    formals = net.r_formals(session, twin.r.predict)
    out.r_code = plan.get("r_code") or f"{twin.r.predict}({', '.join(formals)})"
    try:
        out.r = net.r_predict(session, plan.get("r_state", r_state), variant, data)
    except RCallError as exc:
        out.r_error = str(exc)
        out.note = plan.get("refused") or "R cannot score these inputs with the state it trained (its error above)."
        return out
    out.pair = Pair("prediction", out.python, out.r)
    same = ("R matches Python bit for bit." if not out.pair.differs else
            f"R matches Python to {out.pair.max_abs:.3g} ({kernels} kernels).")
    out.note = f"{plan['note']}; {same}" if plan.get("note") else same
    return out


# -- the walk-through -------------------------------------------------------------------------------

def check_arguments(scenario, variant=None, kernels=R_ARITHMETIC, epoch=0):
    """The variant to use, once every argument is known to be usable (before R starts)."""
    twin = scenario.twin
    variant = variant or twin.reference
    check_name("variant", variant, tuple(twin.variants))
    Kernels(kernels)
    if epoch < 0:
        raise CrossverifyError(f"--epoch {epoch}: epochs are counted from 0 (the first is epoch 0).")
    if epoch >= scenario.epochs:
        raise CrossverifyError(f"--epoch {epoch}: scenario {scenario.name} trains for {scenario.epochs} epochs, "
                               f"counted from 0, so its last is epoch {scenario.epochs - 1}. To fix: give an "
                               f"--epoch from 0 to {scenario.epochs - 1}.")
    return variant


def walkthrough(session, scenario, variant=None, kernels=R_ARITHMETIC, epoch=0):
    """Every step of epoch ``epoch`` of ``scenario`` from both languages, cells compared bit for bit."""
    variant = check_arguments(scenario, variant, kernels, epoch)
    net = network_for(scenario)
    twin = net.twin
    py = net.python(kernels, epoch + 1, record=[epoch])
    r = net.r(session, variant, epoch + 1, record=[epoch])
    walk = Walkthrough(scenario.name, twin.name, variant, kernels, epoch)
    r_data = {k: session.from_r(v) for k, v in net.r_data(session).items() if k in twin.data}
    walk.steps = _views(walk, net, py, r, r_data)
    _notes(walk, twin, py, r, scenario)
    py_state = {w: py.at(epoch, w) for w in twin.state}
    r_state = {w: r.at(epoch, w) for w in twin.state}
    walk.prediction = prediction(session, net, py_state, r_state, variant, kernels)
    description = twin.variants[variant].description
    walk.header = [
        f"Twin: {twin.title or twin.name}" + (f" ({twin.section})" if twin.section else "") + ".",
        f"Scenario {scenario.name}, epoch {epoch} as the article counts (R's loop calls it i = {epoch + 1}).",
        f"R variant: {variant}" + (f" ({description})" if description else "") + ".",
        f"Python kernels: {kernel_text(kernels)}.",
        f"A cell marked {MARK} differs from the other language's in at least one of its 64 bits.",
    ]
    return walk


# -- output -----------------------------------------------------------------------------------------

def _format_cells(m, columns):
    """Text of each shown cell (one format per matrix, so columns line up)."""
    shown = m[:, :columns] if columns else m
    finite = shown[np.isfinite(shown)]
    if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max(initial=0) < 1e6:
        return [[f"{v:g}" for v in row] for row in shown]
    big = np.abs(finite).max(initial=0.0)
    small = np.abs(finite[finite != 0]).min(initial=1.0)
    if big >= 1e4 or small < 1e-4:
        return [[f"{v:.8e}" for v in row] for row in shown]
    return [[f"{v:.10f}" for v in row] for row in shown]


def _block(m, marks, columns):
    """Rows of text for one matrix, marked cells followed by MARK."""
    cells = _format_cells(m, columns)
    width = max((len(c) for row in cells for c in row), default=0)
    lines = []
    for i, row in enumerate(cells):
        parts = [c.rjust(width) + (MARK if marks[i, j] else " ") for j, c in enumerate(row)]
        lines.append("[ " + " ".join(parts) + "]")
    return lines


def _columns_for(m, columns):
    if columns is None:
        columns = DEFAULT_COLUMNS
    return None if columns == 0 or m.shape[1] <= columns else columns


def _shape(m):
    return f"{m.shape[0]}x{m.shape[1]}"


def _pair_lines(p, columns, indent="    "):
    cols = _columns_for(p.r, columns)
    title = f"{p.name}" + (f" ({p.label})" if p.label else "")
    lines = []
    if p.r_only:
        lines.append(f"{indent}{title}, R only, {_shape(p.r)}:")
        lines += [indent + "  " + s for s in _block(p.r, p.r_marks, cols)]
        if p.note:
            lines.append(f"{indent}  {p.note}")
        return lines
    shapes = f"Python {_shape(p.python)}" + (
        f" (numpy broadcasts it to {_shape(p.r)})" if p.python.shape != p.r.shape else "") + f", R {_shape(p.r)}"
    lines.append(f"{indent}{title}: {shapes}")
    left = _block(p.python, p.python_marks, _columns_for(p.python, columns))
    right = _block(p.r, p.r_marks, cols)
    width = max(len("Python"), *(len(s) for s in left))
    lines.append(f"{indent}  {'Python'.ljust(width)}   R")
    for k in range(max(len(left), len(right))):
        a = left[k] if k < len(left) else ""
        b = right[k] if k < len(right) else ""
        lines.append(f"{indent}  {a.ljust(width)}   {b}".rstrip())
    hidden = p.r.shape[1] - cols if cols else 0
    if hidden:
        hidden_differ = int(p.r_marks[:, cols:].sum())
        lines.append(f"{indent}  ({hidden} of {p.r.shape[1]} columns hidden; differing cells among them: "
                     f"{hidden_differ}; --columns 0 shows all)")
    if p.differs:
        i = ", ".join(str(k) for k in p.first)
        lines.append(f"{indent}  {p.n_differ} cell(s) differ; first [{i}]: Python {p.first_values[0]!r} "
                     f"({p.first_values[0].hex()}) vs R {p.first_values[1]!r} ({p.first_values[1].hex()}); "
                     f"largest |difference| {p.max_abs:.3g}")
    if p.note:
        lines.append(f"{indent}  {p.note}")
    return lines


def render_table(walk, columns=None):
    out = [f"crossverify steps: {walk.scenario}", ""] + walk.header + [""]
    for s in walk.steps:
        out.append(f"Step {s.number}" + (f": {s.title}" if s.title else "") + ("   <- differs" if s.differs else ""))
        out += [f"  {f}" for f in s.formulas]
        for p in s.pairs:
            out += _pair_lines(p, columns)
        if s.note:
            out.append(f"  {'Why' if s.differs else 'Note'}: {s.note}")
        out.append("")
    first = walk.first_difference()
    if first:
        s, p = first
        i = ", ".join(str(k) for k in p.first)
        out.append(f"First difference: step {s.number}, {p.name}" + (f" ({p.label})" if p.label else "") + f"[{i}].")
    else:
        out.append("No cell differs: Python and R agree bit for bit at every step of this epoch.")
    if walk.prediction is not None:
        out += [""] + _prediction_lines(walk.prediction, walk.epoch, columns)
    return "\n".join(out) + "\n"


def _values(m):
    return ", ".join(f"{v:.8f}" for v in np.ravel(m))


def _prediction_lines(pred, epoch, columns):
    out = [f"Prediction on new data with the state after epoch {epoch}" + (f": {pred.about}" if pred.about else "")]
    for k, (name, m) in enumerate(pred.data.items()):
        what = f" ({pred.description})" if pred.description and k == 0 else ""
        out.append(f"  new {name}, {_shape(m)}{what}:")
        out += ["    " + s for s in _block(m, np.zeros(m.shape, bool), _columns_for(m, columns))]
    out.append(f"  R: {pred.r_code}")
    if pred.r_error:
        out.append(f"  Python scores them all: {_values(pred.python)}")
        out.append(f"  R says: {pred.r_error}")
    elif pred.pair is not None:
        out += _pair_lines(pred.pair, columns, indent="  ")
    out.append(f"  {pred.note}")
    return out


def _matrix_json(m, columns):
    cols = _columns_for(m, columns)
    return (m[:, :cols] if cols else m).tolist()


def _pair_json(p, columns):
    cols = _columns_for(p.r, columns)
    out = {"name": p.name, "label": p.label, "r_only": p.r_only, "python_shape": list(p.python.shape),
           "r_shape": list(p.r.shape), "python": _matrix_json(p.python, columns), "r": _matrix_json(p.r, columns),
           "columns_shown": cols or p.r.shape[1], "columns_hidden": p.r.shape[1] - cols if cols else 0,
           "note": p.note}
    if not p.r_only:
        shown = (lambda m: m[:, :cols] if cols else m)
        out.update({
            "differing_cells": p.n_differ, "max_abs_difference": p.max_abs,
            "python_marked": [list(map(int, ij)) for ij in np.argwhere(shown(p.python_marks))],
            "r_marked": [list(map(int, ij)) for ij in np.argwhere(shown(p.r_marks))],
            "first_difference": None if not p.differs else {
                "index": list(p.first), "python": p.first_values[0], "r": p.first_values[1],
                "python_hex": p.first_values[0].hex(), "r_hex": p.first_values[1].hex()},
        })
    return out


def to_json(walk, columns=None):
    first = walk.first_difference()
    pred = walk.prediction
    return {
        "scenario": walk.scenario, "network": walk.network, "variant": walk.variant, "kernels": walk.kernels,
        "kernels_description": kernel_text(walk.kernels), "epoch": walk.epoch, "r_loop_index": walk.epoch + 1,
        "mark": MARK,
        "steps": [{"step": s.number, "title": s.title, "formulas": s.formulas, "differs": s.differs, "why": s.note,
                   "matrices": [_pair_json(p, columns) for p in s.pairs]} for s in walk.steps],
        "first_difference": None if first is None else {
            "step": first[0].number, "name": first[1].name, "label": first[1].label,
            "index": list(first[1].first)},
        "prediction": None if pred is None else {
            "inputs": pred.inputs.tolist(), "data": {k: v.tolist() for k, v in pred.data.items()},
            "description": pred.description, "python": pred.python.tolist(),
            "r": None if pred.r is None else pred.r.tolist(), "r_code": pred.r_code, "r_error": pred.r_error or None,
            "matches": None if pred.pair is None else not pred.pair.differs, "note": pred.note},
    }
