"""Prediction on new data, in both languages: the article's readers asked how to score new rows
with the trained network, and the answer differs between its two scripts.

Both sides train (or a trace gives the trained state), then score the new rows through the
twin's declared ``python_predict`` and ``r.predict``. The R state is laid out for the new rows
the way R laid it out for the training rows: a state matrix that R stores once per training
sample where the declaration has one row (R's bias matrices) is reduced to that row when every
copy is the same, then R's own start function lays it out again for as many rows as the new data
has. When the copies differ (the article's R bias layout: one bias per *sample*), there is
nothing to lay out: R's predict is called with its trained state as it is, and for any other
number of rows R refuses with its own error, which is shown and explained.
"""
import os
from dataclasses import dataclass, field

import numpy as np

from crossverify.errors import CrossverifyError, RCallError
from crossverify.twins.builder import sample_axis, sample_size
from crossverify.twins.request import Kernels, R_ARITHMETIC, epochs_for


class PredictInputError(CrossverifyError):
    """New rows that the twin cannot score as given."""

    def __init__(self, problem, fix):
        super().__init__(f"predict: {problem}. To fix: {fix}.")


@dataclass
class Prediction:
    twin: str
    scenario: str
    variant: str
    reference: str
    kernels: str
    source: str  # what the trained state is: "trained N epochs" or the trace's path
    rows: int
    python: np.ndarray = None  # one sample per row
    r: np.ndarray = None
    python_error: str = None
    r_error: str = None
    explanation: str = None
    r_layout: str = None  # how R's state was laid out for the new rows
    notes: list = field(default_factory=list)

    @property
    def compared(self):
        return self.python is not None and self.r is not None and self.python.shape == self.r.shape

    @property
    def agree(self):
        return self.compared and np.array_equal(self.python.view(np.uint64), self.r.view(np.uint64))

    @property
    def max_ulps(self):
        from crossverify.check.ulp import ulp_distance
        return int(np.max(ulp_distance(self.python, self.r), initial=0)) if self.compared else None

    @property
    def first_difference(self):
        if not self.compared or self.agree:
            return None
        at = tuple(int(i) for i in np.argwhere(self.python.view(np.uint64) != self.r.view(np.uint64))[0])
        return at, float(self.python[at]), float(self.r[at])

    @property
    def ok(self):
        """False only where the two must agree and do not: the reference variant with exact kernels."""
        if self.variant != self.reference or not Kernels(self.kernels).bit_for_bit:
            return self.python is not None
        return self.agree

    def to_dict(self):
        first = self.first_difference
        return {
            "twin": self.twin, "scenario": self.scenario, "variant": self.variant, "reference_variant": self.reference,
            "kernels": self.kernels, "state": self.source, "rows": self.rows,
            "python": None if self.python is None else self.python.tolist(),
            "r": None if self.r is None else self.r.tolist(),
            "python_hex": None if self.python is None else [[float(v).hex() for v in row] for row in self.python],
            "r_hex": None if self.r is None else [[float(v).hex() for v in row] for row in self.r],
            "agree_bit_for_bit": self.agree, "max_ulps": self.max_ulps,
            "first_difference": None if first is None else {"index": list(first[0]), "python": first[1], "r": first[2]},
            "python_error": self.python_error, "r_error": self.r_error, "explanation": self.explanation,
            "r_layout": self.r_layout, "notes": self.notes, "ok": self.ok,
        }


# -- the new rows -----------------------------------------------------------------------------------

def input_names(twin):
    """The data matrices the twin's Python predict takes (its parameters named after data)."""
    import inspect
    fn = twin.resolve(twin.python_predict, "python_predict")
    if fn is None or not twin.r.predict:
        raise PredictInputError(f"the twin {twin.name!r} declares no prediction (python_predict and r.predict)",
                                "declare both in its twin.py (docs/TWINS.md)")
    names = [p for p in inspect.signature(fn).parameters if p in twin.data]
    if len(names) != 1:
        raise PredictInputError(f"the twin {twin.name!r} predicts from {len(names)} data matrices "
                                f"({', '.join(names) or 'none'}); --input gives one", "score it from Python directly")
    return names[0]


def read_rows(path):
    """A table of numbers, one sample per row: .csv (optionally a header row) or .npy."""
    from crossverify.twins.builder import BuildError, _as_rows, read_csv
    if not os.path.isfile(path):
        raise PredictInputError(f"--input {path}: no such file", "give a .csv or .npy, one sample per row")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".csv":
            return read_csv(path)[0]
        if ext == ".npy":
            return _as_rows(np.load(path, allow_pickle=False), path)
    except BuildError as exc:
        raise PredictInputError(exc.problem, exc.fix) from None
    except (ValueError, OSError) as exc:
        raise PredictInputError(f"--input {path} cannot be read ({exc})", "give a .csv or .npy") from None
    raise PredictInputError(f"--input {path}: {ext or 'no extension'} is neither .csv nor .npy",
                            "give a .csv or .npy, one sample per row")


def orient_rows(twin, name, rows, prepared):
    """``rows`` (one sample per row) in the orientation the twin declares for ``name``, checked
    against the training data's other dimension."""
    dims = twin.data[name]
    axis = sample_axis(dims, sample_size(twin))
    if axis is None:
        raise PredictInputError(f"the twin {twin.name!r} declares {name} ({', '.join(map(str, dims))}) with no "
                                f"sample axis",
                                "score it from Python directly")
    matrix = np.ascontiguousarray(rows.T) if axis == 1 else rows
    want = prepared.shape[1 - axis]
    got = rows.shape[1]
    if got != want:
        raise PredictInputError(f"--input has {got} column{'s' if got != 1 else ''} and the network takes {want} "
                                f"(the training {name} is {prepared.shape[0]}x{prepared.shape[1]}, "
                                f"declared ({', '.join(map(str, dims))}))",
                                f"give {want} values per row, one sample per row")
    return matrix, axis


# -- trained states ---------------------------------------------------------------------------------

def final_state(trace_data, names):
    """The state after the last epoch a trace holds (its every-epoch series, else its last recorded epoch)."""
    out = {}
    for k in names:
        series = trace_data.history.get(k)
        steps = trace_data.steps.get(k)
        recorded_last = trace_data.epochs[-1] if steps is not None and len(steps) else -1
        if series is not None and len(series) and trace_data.first_epoch + len(series) - 1 >= recorded_last:
            out[k] = series[-1]
        elif steps is not None and len(steps):
            out[k] = steps[-1]
        else:
            raise PredictInputError(f"the trace holds no {k!r}, part of the trained state",
                                    "give a trace of this twin (crossverify trace --format folder)")
    return out


def reduce_to_declared(state, declared):
    """Each state matrix in its declared shape: as it is, or, where R stores copies along an axis the
    declaration has as 1, the first copy when every copy has the same bits. Returns (reduced or None,
    {name: (shape, declared shape)} of the matrices whose copies differ)."""
    reduced, per_sample = {}, {}
    for k, v in state.items():
        v, want = np.asarray(v, dtype=np.float64), tuple(declared[k])
        if v.shape == want:
            reduced[k] = v
            continue
        squeeze = [a for a in range(v.ndim) if want[a] == 1 and v.shape[a] != 1]
        fits = all(v.shape[a] == want[a] for a in range(v.ndim) if a not in squeeze)
        first = v[tuple(slice(0, 1) if a in squeeze else slice(None) for a in range(v.ndim))] if fits else None
        if fits and np.array_equal(np.broadcast_to(first, v.shape).view(np.uint64), v.view(np.uint64)):
            reduced[k] = np.ascontiguousarray(first)
        else:
            per_sample[k] = (v.shape, want)
    return (reduced if not per_sample else None), per_sample


def _shape(s):
    return "x".join(map(str, s))


# -- scoring ----------------------------------------------------------------------------------------

def predict(session, scenario, rows, variant=None, kernels=R_ARITHMETIC, trace=None, epochs=None):
    """Score ``rows`` (one sample per row) with ``scenario``'s twin trained on it (or the state in
    ``trace``, a TraceData), in Python and in R."""
    from crossverify.python_impl.kernels import get_kernels

    from crossverify.twins.runner import network_for

    run = network_for(scenario)
    twin = run.twin
    variant = variant or twin.reference
    name = input_names(twin)
    matrix, axis = orient_rows(twin, name, rows, run.data[name])
    xp = get_kernels(kernels)
    epochs = epochs_for(epochs, scenario)
    if trace is not None:
        state = final_state(trace, twin.state)
        py_state, r_state = state, state
        source = f"the final state of the trace ({trace.label()})"
    else:
        last = [epochs - 1]
        py = run.python(kernels, epochs, record=last)
        py_state = {k: py.series(k)[-1] for k in twin.state}
        r = run.r(session, variant, epochs, record=last)
        r_state = {k: r.series(k)[-1] for k in twin.state}
        source = f"trained {epochs} epoch{'s' if epochs != 1 else ''} ({kernels} kernels; R variant {variant})"
    result = Prediction(twin.name, scenario.name, variant, twin.reference, kernels, source, rows.shape[0])
    if axis == 1:
        result.notes.append(f"the twin takes {name} with one sample per column: the rows were transposed to "
                            f"{_shape(matrix.shape)}")
    if scenario.preprocessing != "none":
        step = twin.preprocessing.get(scenario.preprocessing)
        result.notes.append(f"the scenario's preprocessing {scenario.preprocessing!r} "
                            f"({step.description if step else ''}) is not applied to new rows: give them as the "
                            f"network sees its data")
    if variant != twin.reference:
        result.notes.append(f"R's variant {variant!r} is not the reference {twin.reference!r}: it trains other "
                            f"numbers than Python, so the two predictions need not agree")
    declared = {k: v.shape for k, v in scenario.init.items() if k in twin.state}
    reduced, _ = reduce_to_declared(py_state, declared)
    try:
        out = run.python_predict(reduced or py_state, xp, {name: matrix})
        result.python = _as_samples(out, axis)
    except (ValueError, TypeError) as exc:
        result.python_error = f"{type(exc).__name__}: {exc}"
    score_in_r(session, run, result, variant, name, matrix, r_state, declared, axis)
    return result


def _as_samples(out, axis):
    out = np.atleast_2d(np.asarray(out, dtype=np.float64))
    return np.ascontiguousarray(out.T) if axis == 1 else out


def score_in_r(session, run, result, variant, name, matrix, r_state, declared, axis):
    """R's prediction, with its state laid out for the new rows when it can be (module docstring)."""
    twin = run.twin
    new = {name: matrix}
    reduced, per_sample = reduce_to_declared(r_state, declared)
    if reduced is not None and twin.r.start:
        # R lays the drawn state out for its data (its start function); so it does for the new rows
        state_r = run.r_start(session, variant, state=reduced, data=new)
        result.r_layout = (f"the trained state, in its declared shapes, laid out for the {result.rows} new rows by "
                           f"{twin.r.start}(), as R laid out the drawn one for the training rows")
    else:
        state_r = r_state
    try:
        result.r = _as_samples(run.r_predict(session, state_r, variant, new), axis)
    except RCallError as exc:
        result.r_error = str(exc)
        result.explanation = _explain(result, per_sample, variant, twin, run.data[name].shape[axis])
        return
    if per_sample:
        which = ", ".join(per_sample)
        result.notes.append(f"R scored the rows with its trained {which} as it is, one row per training sample: new "
                            f"row i took training sample i's values")


def _explain(result, per_sample, variant, twin, n_training):
    """One sentence on why R refused: the state matrices it keeps once per training sample."""
    if not per_sample:
        return f"R's {twin.r.predict}() refused these {result.rows} rows (its message above)."
    parts = [f"{k} is {_shape(shape)} where the twin declares {_shape(want)}"
             for k, (shape, want) in per_sample.items()]
    return (f"R's variant {variant!r} keeps its trained {', '.join(per_sample)} once per training sample "
            f"({'; '.join(parts)}, one differing copy for each of the {n_training} training rows), so it has no "
            f"values for {result.rows} new rows; the reference variant {twin.reference!r} keeps them in their declared "
            f"shapes and scores any number of rows.")


# -- text -------------------------------------------------------------------------------------------

def render(p):
    lines = [f"twin {p.twin}, scenario {p.scenario}: {p.rows} new row{'s' if p.rows != 1 else ''}, state {p.source}"]
    for note in p.notes:
        lines.append(f"note: {note}")
    if p.r_layout:
        lines.append(f"R: {p.r_layout}")
    lines.append("")
    width = max(p.python.shape[1] if p.python is not None else 1, p.r.shape[1] if p.r is not None else 1)
    head = f"{'row':>4}  {'python':>24}  {'r':>24}  {'ULPs':>6}"
    lines.append(head if width == 1 else head + "   (first output column)")
    from crossverify.check.ulp import ulp_distance
    for i in range(p.rows):
        a = p.python[i, 0] if p.python is not None and i < len(p.python) else None
        b = p.r[i, 0] if p.r is not None and i < len(p.r) else None
        u = str(int(ulp_distance(a, b))) if a is not None and b is not None else "-"
        lines.append(f"{i + 1:>4}  {_num(a):>24}  {_num(b):>24}  {u:>6}")
    lines.append("")
    if p.python_error:
        lines.append(f"Python could not score them: {p.python_error}")
    if p.r_error:
        lines.append(f"R could not score them: {p.r_error}")
        lines.append(f"Why: {p.explanation}")
    if p.compared:
        if p.agree:
            lines.append("Python and R agree bit for bit.")
        else:
            (at, a, b) = p.first_difference
            lines.append(f"Python and R differ: at most {p.max_ulps} ULPs; first at row {at[0] + 1}, "
                         f"column {at[1] + 1}: "
                         f"{a!r} ({a.hex()}) vs {b!r} ({b.hex()}).")
    return "\n".join(lines) + "\n"


def _num(v):
    return "-" if v is None else repr(float(v))
