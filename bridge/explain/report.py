"""One self-contained HTML page of the cross-verification of any twins' scenarios: the verdicts of
`crossverify run`, the printed numbers `crossverify reproduce` recomputes, and figures of the
training runs, Python and R overlaid (for the article's networks, the figures it draws: the error
per epoch and the decision boundary of a network trained on two features).

Every figure is derived from the twin's declaration (bridge/twins/protocol.py): the loss curve
from ``loss``, |Python - R| from the ``state``, one curve per R variant from ``variants`` (with
their descriptions), and a decision boundary when the twin predicts (``python_predict``,
``RSide.predict``) on data with 2 features.

Figures are drawn with matplotlib's Agg canvas (no display, no pyplot state) and embedded as base64
PNG. The page is rendered into a temporary folder beside the target and renamed into place, so a
failed or interrupted run leaves no half report.
"""
import base64
import html
import inspect
import io
import json
import os
from dataclasses import dataclass, field

import numpy as np

from crossverify.errors import CrossverifyError
from crossverify.explain.style import head, scrolling
from crossverify.twins.request import Kernels, NUMPY_ARITHMETIC, R_ARITHMETIC, epochs_for

REPORT_FILES = {"index.html", "report.json", "figures"}
FLOOR_NOTE = "0 at every epoch"
PYTHON_COLOR, R_COLOR = "#1f77b4", "#d62728"
REFERENCE_COLOR = "#2ca02c"
OTHER_VARIANT_COLORS = ("#d62728", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22")


class ReportError(CrossverifyError):
    """A figure or the page could not be made; nothing was written."""

    exit_code = 1


# -- the data ---------------------------------------------------------------------------------------

@dataclass
class ScenarioRun:
    """The free-running traces of one scenario the figures draw: Python per kernels, R per variant."""

    name: str
    net: object  # crossverify.twins.runner adapter
    python: dict  # kernels -> Trace
    r: dict  # variant -> Trace

    @property
    def network(self):
        return self.net.name

    @property
    def twin(self):
        return self.net.twin

    @property
    def reference(self):
        return self.r[self.net.reference_variant]

    def variant_colors(self):
        """One colour per R variant: the reference green, the others in declaration order."""
        others = iter(OTHER_VARIANT_COLORS * (1 + len(self.r) // len(OTHER_VARIANT_COLORS)))
        return {v: REFERENCE_COLOR if v == self.net.reference_variant else next(others) for v in self.r}


def run_from_verifier(verifier):
    """The traces a Verifier already computed for its rows (free-running, whole run)."""
    return ScenarioRun(verifier.scenario.name, verifier.net, {k: verifier.python(k) for k in (NUMPY_ARITHMETIC, R_ARITHMETIC)},
                       {v: verifier.r(v) for v in verifier.variants})


def scenario_run(session, scenario, epochs=None):
    """The traces the figures need, computed afresh: the state and the history series (the loss)
    at every epoch; every intermediate too when a whole run of them is small."""
    from crossverify.twins.runner import network_for
    net = network_for(scenario)
    n = epochs_for(epochs, scenario)
    record = None if net.checkpoints(n) is None else []
    return ScenarioRun(scenario.name, net, {k: net.python(k, n, record=record) for k in (NUMPY_ARITHMETIC, R_ARITHMETIC)},
                       {v: net.r(session, v, n, record=record) for v in net.variants})


@dataclass
class ReportData:
    runs: list  # ScenarioRun
    rows: list  # crossverify.check.verify.Row, in `crossverify run`'s order
    reproduced: list  # crossverify.explain.reproduce.Quantity, in `crossverify reproduce`'s order
    versions: dict = field(default_factory=dict)
    session: object = None


def check_rows(verifier, progress=None):
    """`crossverify run`'s rows of one scenario, from this verifier, so the figures reuse the
    traces the checks computed."""
    from crossverify.check.verify import scenario_rows
    return scenario_rows(verifier, progress=progress)


def reproduce_rows(session, names, fixtures_dir=None, progress=None, twin=None):
    """`crossverify reproduce`'s rows of the scenarios in ``names`` (those whose twin declares printed numbers)."""
    from crossverify.explain.reproduce import reproduce
    return reproduce(session, fixtures_dir, names, twin, progress)


def collect(session, names, fixtures_dir=None, progress=None, twin=None):
    """Every check, every printed number and every trace the figures need, for the scenarios ``names``
    (of ``twin`` when given)."""
    from importlib.metadata import version

    from crossverify.twins.scenarios import load_scenario
    from crossverify.check.verify import Verifier
    runs, rows = [], []
    for name in names:
        verifier = Verifier(session, load_scenario(name, fixtures_dir, twin))
        rows += check_rows(verifier, progress)
        runs.append(run_from_verifier(verifier))
    reproduced = reproduce_rows(session, names, fixtures_dir, progress, twin)
    versions = {"R": session.r_version, "rpy2": session.rpy2_version, "BLAS": os.path.basename(session.blas),
                "numpy": np.__version__, "matplotlib": version("matplotlib")}
    return ReportData(runs, rows, reproduced, versions, session)


# -- the figures ------------------------------------------------------------------------------------

def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def per_epoch(trace):
    """Every intermediate ``trace`` holds at every epoch, by name (epochs first): all of them when
    every epoch was recorded, else the history series (the state and the twin's ``history``)."""
    every = np.array_equal(trace.epochs, np.arange(trace.first_epoch, trace.first_epoch + trace.n_epochs))
    return {**(dict(trace.steps) if every else {}), **trace.history}


def loss_series(run, trace):
    """The per-epoch loss the twin declares (``loss``): the mean of an intermediate, or what its loss
    function returns from the intermediates it names; None when the twin declares none or the trace
    does not hold what it needs at every epoch."""
    return run.net.loss(per_epoch(trace))


def loss_label(twin):
    """What the loss axis shows: the intermediate's name, or the first line of the loss function's docstring."""
    if isinstance(twin.loss, str) and ":" not in twin.loss:
        return twin.loss
    fn = twin.resolve(twin.loss, "loss")
    doc = (inspect.getdoc(fn) or "").strip().splitlines()
    return doc[0] if doc else getattr(fn, "__name__", "loss")


def weight_difference(run, left, right):
    """max over every state element of |left - right| after each epoch (a one-row matrix numpy
    broadcasts compared as broadcast)."""
    worst = None
    for w in run.net.weights:
        a, b = np.broadcast_arrays(left.series(w), right.series(w))
        d = np.abs(a - b).reshape(len(a), -1).max(axis=1)
        worst = d if worst is None else np.maximum(worst, d)
    return worst


def _floor_for(series_list):
    """Where a log axis draws zeros: a few decades below the smallest value, more on a tall axis."""
    positive = np.concatenate([s[s > 0] for s in series_list] + [np.array([])])
    if not positive.size:
        return 1e-17
    low, high = np.log10(positive.min()), np.log10(positive.max())
    return 10.0 ** (np.floor(low) - max(2, int(np.ceil((high - low) / 6))))


def _zero_at_floor_formatter(floor):
    """Log-axis tick labels, with the floor (where zeros are drawn) labelled 0."""
    from matplotlib.ticker import LogFormatterSciNotation

    class ZeroAtFloor(LogFormatterSciNotation):
        def __call__(self, x, pos=None):
            if x > 0 and abs(np.log10(x) - np.log10(floor)) < 1e-6:
                return "0"
            return super().__call__(x, pos)

    return ZeroAtFloor()


def _legend_below(ax, ncol=1):
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol, frameon=False)


def log_lines(ax, epochs, series, floor):
    """Each (label, values, style) on a log axis; zeros, which a log axis cannot show, drawn at ``floor``,
    which the axis labels 0, and said so in the label."""
    for label, values, style in series:
        values = np.asarray(values, dtype=np.float64)
        zero = values == 0
        if zero.all():
            ax.plot(epochs, np.full(len(epochs), floor), label=f"{label}: {FLOOR_NOTE} (drawn at the floor, 0)",
                    **{**style, "linewidth": 2.5})
            continue
        n_zero = int(zero.sum())
        ax.plot(epochs, np.where(zero, np.nan, values), label=label if not n_zero else
                f"{label} ({n_zero} epoch{'s' if n_zero > 1 else ''} at 0, ticked at the floor)", **style)
        # a value between two zeros has no line to be part of: give it a dot
        left, right = np.r_[True, zero[:-1]], np.r_[zero[1:], True]
        alone = ~zero & left & right
        if alone.any():
            ax.plot(epochs[alone], values[alone], linestyle="none", marker=".", markersize=3, color=style.get("color"))
        if n_zero:
            ax.plot(epochs[zero], np.full(n_zero, floor), linestyle="none", marker="|", color=style.get("color"))
    ax.set_yscale("log")
    low, high = floor / 3, ax.get_ylim()[1]
    ax.set_ylim(low, high)
    # the floor always gets its tick, labelled 0, clear of the data's ticks
    ticks = [t for t in ax.yaxis.get_major_locator().tick_values(low, high) if floor * 30 <= t <= high]
    ax.set_yticks(sorted(ticks + [floor]))
    ax.set_ylim(low, high)
    ax.yaxis.set_major_formatter(_zero_at_floor_formatter(floor))


def runs_with_loss(runs):
    return [run for run in runs if loss_series(run, run.python[NUMPY_ARITHMETIC]) is not None]


def loss_figure(runs):
    runs = runs_with_loss(runs)
    fig = _figure(4.6 * len(runs), 4.2)
    axes = np.atleast_1d(fig.subplots(1, len(runs)))
    for ax, run in zip(axes, runs):
        epochs = np.arange(run.reference.n_epochs)
        python = loss_series(run, run.python[NUMPY_ARITHMETIC])
        ax.plot(epochs, python, color=PYTHON_COLOR, linewidth=4, alpha=0.45,
                label="Python (float kernels, as the article)")
        ax.plot(epochs, loss_series(run, run.reference), color=R_COLOR, linewidth=0.8,
                label=f"R ({run.net.reference_variant})")
        colors = run.variant_colors()
        for variant, trace in run.r.items():  # R's other variants train networks of their own
            other = None if variant == run.net.reference_variant else loss_series(run, trace)
            if other is not None:
                ax.plot(epochs, other, color=colors[variant], linestyle=":", linewidth=1.2, label=f"R ({variant})")
        if python.max() > 10 * python.min() > 0:
            ax.set_yscale("log")
        ax.set_title(run.name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(loss_label(run.twin))
        _legend_below(ax)
    return fig


def difference_figure(runs, horizons):
    fig = _figure(4.6 * len(runs), 4.4)
    axes = np.atleast_1d(fig.subplots(1, len(runs)))
    for ax, run in zip(axes, runs):
        epochs = np.arange(run.reference.n_epochs)
        lines = [(f"{k} kernels", weight_difference(run, run.python[k], run.reference),
                  {"color": "#2ca02c" if Kernels(k).bit_for_bit else PYTHON_COLOR, "linewidth": 1.0})
                 for k in (NUMPY_ARITHMETIC, R_ARITHMETIC)]
        log_lines(ax, epochs, lines, _floor_for([v for _, v, _ in lines]))
        if horizons.get(run.name) is not None:
            ax.axvline(horizons[run.name], color="#777777", linestyle="--", linewidth=1)
            ax.annotate(f"horizon: epoch {horizons[run.name]}", (horizons[run.name], 0.5),
                        xycoords=("data", "axes fraction"), rotation=90, fontsize=8, ha="right", va="center")
        ax.set_title(f"{run.name}: Python vs R ({run.net.reference_variant})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("max |Python - R| over the weights")
        _legend_below(ax)
    return fig


def variants_figure(run):
    fig = _figure(9, 4.6)
    ax = fig.subplots()
    epochs = np.arange(run.reference.n_epochs)
    colors = run.variant_colors()
    lines = [(f"R {v}", weight_difference(run, run.python[R_ARITHMETIC], run.r[v]),
              {"color": colors[v], "linewidth": 1.2}) for v in run.r]
    log_lines(ax, epochs, lines, _floor_for([v for _, v, _ in lines]))
    ax.set_title(f"{run.name}: the {len(run.r)} R variants against Python (exact kernels)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("max |R - Python| over the state")
    _legend_below(ax, ncol=2)
    return fig


def boundary_layout(net):
    """(input name, sample axis) when a decision boundary can be drawn for this twin and data: the
    twin predicts in both languages, its Python predict takes one data matrix, another data matrix
    (the targets) shares one of its axes (the samples), and the other axis holds 2 features. Else None."""
    twin = net.twin
    if not (twin.python_predict and twin.r.predict):
        return None
    params = inspect.signature(twin.resolve(twin.python_predict, "python_predict")).parameters
    inputs = [p for p in params if p in twin.data]
    if len(inputs) != 1:
        return None
    name = inputs[0]
    dims = twin.data[name]
    shared = {d for k, shape in twin.data.items() if k != name for d in shape if isinstance(d, str)}
    axes = [a for a, d in enumerate(dims) if isinstance(d, str) and d in shared]
    if len(dims) != 2 or len(axes) != 1 or np.shape(net.data[name])[1 - axes[0]] != 2:
        return None
    return name, axes[0]


def _features(X, sample_axis):
    """The data with one feature per row, one point per column."""
    return np.asarray(X) if sample_axis == 1 else np.asarray(X).T


def boundary_grid(X, n=200, sample_axis=1):
    """A grid over the input space around the data (2 features), laid out as the data is: one point
    per column when ``sample_axis`` is 1, per row when it is 0."""
    F = _features(X, sample_axis)
    margin = 0.05
    x0 = np.linspace(F[0].min() - margin, F[0].max() + margin, n)
    x1 = np.linspace(F[1].min() - margin, F[1].max() + margin, n)
    xx, yy = np.meshgrid(x0, x1)
    grid = np.vstack([xx.ravel(), yy.ravel()])
    return xx, yy, grid if sample_axis == 1 else grid.T


def boundary_values(run, session, xx_yy_grid=None):
    """[(title, output over the grid)]: Python with plain numpy (float kernels), and R's
    reference variant, each with its own trained state, through the twin's predict functions."""
    from crossverify.python_impl.kernels import get_kernels
    net = run.net
    name, axis = boundary_layout(net)
    xx, yy, grid = xx_yy_grid or boundary_grid(net.data[name], sample_axis=axis)
    python_state = {w: run.python[NUMPY_ARITHMETIC].series(w)[-1] for w in net.weights}
    python = net.python_predict(python_state, get_kernels(NUMPY_ARITHMETIC), {name: grid})
    r = _r_over_grid(run, session, name, grid, axis)
    return [("Python (float kernels, as the article)", np.asarray(python)), (f"R ({net.reference_variant})", r)]


def _r_over_grid(run, session, name, grid, axis):
    """R's reference variant scored over the grid, its trained state laid out for the grid's rows as
    `crossverify predict` lays it out for new rows (R keeps its biases once per training sample)."""
    from crossverify.errors import CrossverifyError
    from crossverify.explain.predict import Prediction, score_in_r
    net, twin = run.net, run.twin
    r_state = {w: run.reference.series(w)[-1] for w in net.weights}
    declared = {k: v.shape for k, v in net.scenario.init.items() if k in twin.state}
    points = np.shape(grid)[axis]
    result = Prediction(twin.name, run.name, net.reference_variant, twin.reference, NUMPY_ARITHMETIC, "trained", points)
    score_in_r(session, net, result, net.reference_variant, name, grid, r_state, declared, axis)
    if result.r is None:
        raise CrossverifyError(f"R could not score the grid: {result.r_error}")
    return np.ascontiguousarray(result.r.T) if axis == 1 else result.r  # back to the twin's layout, as Python's


def _targets(net, name, sample_axis):
    """One value per sample to colour the points by: the first other data matrix with one per sample."""
    n = np.shape(net.data[name])[sample_axis]
    for k, v in net.data.items():
        if k != name and np.size(v) == n:
            return np.ravel(v)
    return None


def decision_boundary_figure(run, session):
    name, axis = boundary_layout(run.net)
    X = run.net.data[name]
    F, y = _features(X, axis), _targets(run.net, name, axis)
    xx, yy, grid = boundary_grid(X, sample_axis=axis)
    sides = boundary_values(run, session, (xx, yy, grid))
    prepared = run.net.scenario.preprocessing
    after = "" if prepared == "none" else f", after '{prepared}'"
    fig = _figure(11, 4.0)
    axes = fig.subplots(1, 2)
    for ax, (title, z) in zip(axes, sides):
        z = np.asarray(z).reshape(xx.shape)
        filled = ax.contourf(xx, yy, z, levels=np.linspace(0, 1, 11), cmap="Spectral", alpha=0.85)
        ax.contour(xx, yy, z, levels=[0.5], colors="k", linewidths=1)
        ax.scatter(F[0], F[1], c=y, cmap="Spectral", edgecolors="k", linewidths=0.3, s=10)
        ax.set_title(f"{run.name}: {title}, after {run.reference.n_epochs} epochs", fontsize=10)
        ax.set_xlabel(f"{name}: feature 1{after}")
        ax.set_ylabel(f"{name}: feature 2{after}")
        ax.set_aspect("equal")
    fig.colorbar(filled, ax=list(axes), label="network output")
    return fig


@dataclass
class Drawn:
    """What write_report drew: the ids of the figures on the page, and (title, problem) of each it could not draw."""
    ids: list
    failed: list


@dataclass
class FigureSpec:
    id: str
    title: str
    caption: str
    draw: object  # () -> matplotlib Figure


def horizons_of(runs):
    """The first epoch the float-kernel weights part from R's by more than 2^-26 of their size."""
    from crossverify.check.engine import horizon
    return {run.name: horizon(run.python[NUMPY_ARITHMETIC], run.reference, run.net.weights) for run in runs}


def growth_of(run):
    """The growth figure of bridge/explain/growth.py for one run's float-kernel trajectory."""
    from crossverify.explain.growth import growth_plot, measure_growth
    return growth_plot(measure_growth(run.python[NUMPY_ARITHMETIC], run.reference, run.twin, run.name))


def figures_for(runs, session):
    """The figures of these scenario runs, each drawn only when its turn comes."""
    if not runs:
        return []
    horizons = horizons_of(runs)
    said = "; ".join(f"{name}: epoch {h}" for name, h in horizons.items() if h is not None) or "none"
    specs = []
    with_loss = runs_with_loss(runs)
    if with_loss:
        losses = "; ".join(f"{run.name}: {loss_label(run.twin)}" for run in with_loss)
        others = "; ".join(f"{run.name} {v}: {run.twin.variants[v].description or 'no description'}"
                           for run in with_loss for v in run.r if v != run.net.reference_variant)
        specs.append(FigureSpec(
            "loss", "Training loss, Python and R overlaid",
            f"Each scenario's loss per epoch from both languages ({losses}). R's reference variant (thin, red) "
            f"lies on Python's curve (broad, blue) until rounding, where a run is chaotic, sends the two "
            f"trajectories apart." + (f" R's other variants (dotted) train networks of their own: {others}."
                                      if others else ""),
            lambda: loss_figure(with_loss)))
    specs += [
        FigureSpec("differences", "|Python - R| per epoch, float versus exact kernels",
                   f"The largest difference over every weight after each epoch, free-running from the same "
                   f"weights, log scale. Exact kernels (R's arithmetic in numpy) are bit-identical to R: "
                   f"{FLOOR_NOTE}, drawn at the axis floor. Float kernels (plain numpy) start a few units of "
                   f"rounding apart; past the horizon (weights apart by more than 2^-26 of their size: {said}) "
                   f"each side follows its own rounding, which a chaotic training run amplifies.",
                   lambda: difference_figure(runs, horizons)),
    ]
    for run in runs:
        if len(run.r) > 1:
            reference = run.net.reference_variant
            described = "; ".join(f"{v}: {run.twin.variants[v].description or 'no description'}"
                                  for v in run.r if v != reference)
            specs.append(FigureSpec(
                "variants", f"{run.name}: the {len(run.r)} R variants against Python",
                f"The largest |R - Python| over the state after each epoch, per R variant (Python with exact "
                f"kernels). The reference variant, {reference}, is what Python computes: {FLOOR_NOTE} when the "
                f"two agree to the bit. The others, as the twin describes them: {described}.",
                lambda run=run: variants_figure(run)))
        if horizons.get(run.name) is not None:
            specs.append(FigureSpec(
                "growth", f"{run.name}: how the difference grows (crossverify explain)",
                f"The largest relative difference of the state after each epoch (float kernels against R, log "
                f"scale), the growth rate fitted where it grows, the horizon at epoch {horizons[run.name]} and the "
                f"level where the printed digits start to differ. `crossverify explain --scenario {run.name} "
                f"--kernels float` names the operation the first difference comes from.",
                lambda run=run: growth_of(run)))
        if boundary_layout(run.net) is not None:
            specs.append(FigureSpec(
                "boundary", f"{run.name}: the decision boundary",
                "The trained network's output over a grid of the input space (filled contours, the 0.5 level "
                "in black) with the data points coloured by their target; left Python (float kernels), "
                "right R.", lambda run=run: decision_boundary_figure(run, session)))
    return specs


# -- the page ---------------------------------------------------------------------------------------

def _divergence_text(d):
    return f"epoch {d.epoch} step {d.step} {d.name}{list(d.index)}" if d else "none"


def _td(field_name, value, num=False):
    cls = ' class="num"' if num else ""
    return f'<td data-field="{field_name}"{cls}>{html.escape(str(value))}</td>'


def run_table(rows):
    out = ['<table id="run-rows" class="nowrap"><tr><th>scenario</th><th>variant</th><th>kernels</th><th>mode</th>'
           "<th>expectation</th><th>verdict</th><th>first divergence</th><th>max |difference|</th>"
           "<th>horizon</th></tr>"]
    for r in rows:
        horizon = "-" if r.expectation != "within-bound" or r.mode == "lockstep" else (
            f"epoch {r.horizon}" if r.horizon is not None else "none")
        out.append(f'<tr class="{"meets" if r.ok else "fails"}">' + "".join([
            _td("scenario", r.scenario), _td("variant", r.variant), _td("kernels", r.kernels), _td("mode", r.mode),
            _td("expectation", r.expectation), _td("verdict", r.verdict_text),
            _td("first_divergence", _divergence_text(r.first_divergence)),
            _td("max_abs_difference", f"{r.max_abs:.3g}", num=True), _td("horizon", horizon)]) + "</tr>")
    out.append("</table>")
    return scrolling("\n".join(out)) + warnings_list(rows)


def warnings_list(rows):
    """The warnings `crossverify run` prints under its table (saturation, NaN or Inf, targets out of range), once each."""
    said = list(dict.fromkeys(f"{r.scenario}: {w}" for r in rows for w in r.warnings))
    if not said:
        return ""
    return '<ul id="run-warnings">' + "".join(f'<li class="bad">WARNING {html.escape(w)}</li>' for w in said) + "</ul>"


def reproduce_table(rows):
    out = ['<table id="reproduce-rows" class="nowrap"><tr><th>scenario</th><th>quantity</th><th>article</th>'
           "<th>Python</th><th>R</th><th>status</th><th>as expected</th></tr>"]
    for q in rows:
        out.append(f'<tr class="{"meets" if q.ok else "fails"}">' + "".join([
            _td("scenario", q.scenario), _td("quantity", q.quantity), _td("article", q.article, True),
            _td("python", q.python, True), _td("r", q.r, True), _td("status", q.status),
            _td("ok", "yes" if q.ok else "NO")]) + "</tr>")
    out.append("</table>")
    return scrolling("\n".join(out))


def summary_lines(data):
    met = sum(r.ok for r in data.rows)
    repro = sum(q.ok for q in data.reproduced)
    lines = [f'<span class="{"ok" if met == len(data.rows) else "bad"}">{met} of {len(data.rows)} checks meet '
             f"their expectation</span>"]
    if data.reproduced:
        lines.append(f'<span class="{"ok" if repro == len(data.reproduced) else "bad"}">{repro} of '
                     f"{len(data.reproduced)} printed numbers have their expected status</span>")
    return lines


def _subjects(runs):
    """What the page is about: each twin's title and source, from its declaration."""
    twins = {run.twin.name: run.twin for run in runs}
    return "; ".join(_lower_first(t.title or t.name) + (f" ({t.section})" if t.section else "") for t in twins.values())


def _lower_first(title):
    """A title inside a sentence: "The article's bias network" reads "the article's bias network" there."""
    first = title.split(" ", 1)[0]
    return title[0].lower() + title[1:] if first[:1].isupper() and first[1:].islower() else title


def _next_command(runs):
    """`crossverify steps`, shown with a variant that parts from Python when a twin declares one."""
    for run in runs:
        for v in run.r:
            if v != run.net.reference_variant:
                return f"crossverify steps --scenario {run.name} --variant {v}"
    return "crossverify steps"


def render_page(data, figures, failed=()):
    """The HTML page; ``figures`` is [(FigureSpec, png bytes)], ``failed`` [(FigureSpec, why it could not be drawn)]."""
    scenarios = ", ".join(run.name for run in data.runs)
    versions = ", ".join(f"{k} {v}" for k, v in data.versions.items())
    subjects = _subjects(data.runs) or "the twins' scenarios"
    out = head("crossverify report") + [
        "<h1>crossverify report: Python against R, step by step</h1>",
        f"<p>The numpy and R implementations of {html.escape(subjects)}, run from the same starting state "
        f"and compared at every step of every epoch. "
        f"Scenarios: {html.escape(scenarios)}. {html.escape(versions)}.</p>",
        "<p>" + "; ".join(summary_lines(data)) + ".</p>",
        f"<p>Next: <code>{html.escape(_next_command(data.runs))}</code> walks through one epoch cell by cell; "
        "<code>crossverify rosetta</code> puts each Python line beside its R line.</p>",
        '<h2 id="checks">Checks (<code>crossverify run</code>)</h2>',
        "<p>One row per scenario, R variant, Python kernels and comparison mode: what is expected, whether it "
        "is met, the first divergence and the largest difference.</p>", run_table(data.rows)]
    if data.reproduced:
        out += ['<h2 id="reproduce">The printed numbers (<code>crossverify reproduce</code>)</h2>',
                reproduce_table(data.reproduced)]
    out.append('<h2 id="figures">Figures</h2>')
    for spec, png in figures:
        data64 = base64.b64encode(png).decode("ascii")
        out.append(f'<figure id="figure-{spec.id}"><h3>{html.escape(spec.title)}</h3>'
                   f'<img alt="{html.escape(spec.title)}" src="data:image/png;base64,{data64}">'
                   f"<figcaption>{html.escape(spec.caption)}</figcaption></figure>")
    for spec, problem in failed:
        out.append(f'<figure id="figure-{spec.id}" class="failed"><h3>{html.escape(spec.title)}</h3>'
                   f'<p class="bad">This figure could not be drawn: {html.escape(problem)}.</p></figure>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def report_json(data, figures, failed=()):
    return {"scenarios": [run.name for run in data.runs], "versions": data.versions,
            "rows": [{k: v for k, v in r.to_dict().items() if k != "per_intermediate"} for r in data.rows],
            "reproduce": [q.to_dict() for q in data.reproduced],
            "figures": [{"id": spec.id, "title": spec.title, "file": f"figures/{spec.id}.png"} for spec, _ in figures],
            "figures_not_drawn": [{"id": spec.id, "title": spec.title, "problem": problem} for spec, problem in failed],
            "ok": all(r.ok is not False for r in data.rows) and all(q.ok for q in data.reproduced)}


# -- writing, atomically ----------------------------------------------------------------------------

def prepare_target(out_dir):
    """The absolute target, checked before anything is computed: a new folder, an empty one, or a
    previous report (which is replaced whole)."""
    target = os.path.abspath(out_dir)
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        raise CrossverifyError(f"cannot write the report to {out_dir}: the folder {parent} does not exist. "
                               f"Create it or choose another --out.")
    if not os.access(parent, os.W_OK):
        raise CrossverifyError(f"cannot write the report to {out_dir}: the folder {parent} is not writable. "
                               f"Choose another --out.")
    if os.path.exists(target):
        if not os.path.isdir(target):
            raise CrossverifyError(f"cannot write the report to {out_dir}: it is a file. --out takes a folder.")
        others = sorted(set(os.listdir(target)) - REPORT_FILES)
        if others:
            raise CrossverifyError(f"--out {out_dir} holds files a report did not write ({', '.join(others[:3])}"
                                   f"{', ...' if len(others) > 3 else ''}); the report replaces its folder whole, "
                                   f"so choose a new or empty folder, or a previous report's.")
    return target


def write_report(out_dir, data, progress=None):
    """Draw every figure and write DIR/index.html (figures embedded), DIR/figures/*.png and
    DIR/report.json through a temporary folder beside DIR, put in place at the end (bridge/files.py)."""
    from crossverify.files import replace_folder_atomically

    target = prepare_target(out_dir)
    figures, failed = [], []

    def fill(tmp):
        os.mkdir(os.path.join(tmp, "figures"))
        specs = figures_for(data.runs, data.session)
        for k, spec in enumerate(specs):
            if progress:
                progress(f"figure {k + 1} of {len(specs)}: {spec.title}")
            try:
                png = _png(spec.draw())
            except Exception as exc:  # one figure that cannot be drawn: the page says so in its place
                failed.append((spec, f"{type(exc).__name__}: {exc}"))
                continue
            with open(os.path.join(tmp, "figures", f"{spec.id}.png"), "wb") as fh:
                fh.write(png)
            figures.append((spec, png))
        with open(os.path.join(tmp, "index.html"), "w", encoding="utf-8") as fh:
            fh.write(render_page(data, figures, failed))
        with open(os.path.join(tmp, "report.json"), "w", encoding="utf-8") as fh:
            json.dump(report_json(data, figures, failed), fh, indent=1)
            fh.write("\n")

    replace_folder_atomically(target, fill)
    return Drawn([spec.id for spec, _ in figures], [(spec.title, problem) for spec, problem in failed])
