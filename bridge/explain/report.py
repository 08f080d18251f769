"""One self-contained HTML page of the cross-verification: the verdicts of `crossverify run`, the
article's printed numbers as `crossverify reproduce` recomputes them, and figures of the article's
training runs ("Implementing NN using Numpy (Python)" / "...using R"; the detail section's error
plot and its moons decision boundary), Python and R overlaid.

Figures are drawn with matplotlib's Agg canvas (no display, no pyplot state) and embedded as base64
PNG. The page is rendered into a temporary folder beside the target and renamed into place, so a
failed or interrupted run leaves no half report.
"""
import base64
import html
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field

import numpy as np

from bridge.errors import CrossverifyError

REPORT_FILES = {"index.html", "report.json", "figures"}
FLOOR_NOTE = "0 at every epoch"
PYTHON_COLOR, R_COLOR = "#1f77b4", "#d62728"
VARIANT_COLORS = {"article": "#d62728", "corrected": "#2ca02c", "rowsums-only": "#9467bd", "colsums-only": "#ff7f0e"}


class ReportError(CrossverifyError):
    """A figure or the page could not be made; nothing was written."""

    exit_code = 1


# -- the data ---------------------------------------------------------------------------------------

@dataclass
class ScenarioRun:
    """The free-running traces of one scenario the figures draw: Python per kernels, R per variant."""

    name: str
    net: object  # bridge.twins.runner adapter
    python: dict  # kernels -> Trace
    r: dict  # variant -> Trace

    @property
    def network(self):
        return self.net.name

    @property
    def reference(self):
        return self.r[self.net.reference_variant]


def run_from_verifier(verifier):
    """The traces a Verifier already computed for its rows (free-running, whole run)."""
    return ScenarioRun(verifier.scenario.name, verifier.net, {k: verifier.python(k) for k in ("float", "exact")},
                       {v: verifier.r(v) for v in verifier.variants})


def scenario_run(session, scenario, epochs=None):
    """The traces the figures need, computed afresh: the weights and the loss at every epoch."""
    from bridge.twins.runner import network_for
    net = network_for(scenario)
    n = epochs or scenario.epochs
    record = [] if net.name == "detail" else None  # the bias network keeps everything; it is small
    return ScenarioRun(scenario.name, net, {k: net.python(k, n, record=record) for k in ("float", "exact")},
                       {v: net.r(session, v, n, record=record) for v in net.variants})


@dataclass
class ReportData:
    runs: list  # ScenarioRun
    rows: list  # bridge.check.verify.Row, in `crossverify run`'s order
    reproduced: list  # bridge.explain.reproduce.Quantity, in `crossverify reproduce`'s order
    versions: dict = field(default_factory=dict)
    session: object = None


def check_rows(verifier, progress=None):
    """`crossverify run`'s rows of one scenario, from this verifier, so the figures reuse the
    traces the checks computed."""
    from bridge.check.verify import scenario_rows
    return scenario_rows(verifier, progress=progress)


REPRODUCED = ("detail-toy", "detail-moons", "bias-net")  # bridge/explain/reproduce.py's order


def reproduce_rows(session, names, fixtures_dir=None, progress=None):
    """`crossverify reproduce`'s rows of the scenarios in ``names``."""
    from bridge.explain import reproduce
    makers = {"detail-toy": reproduce.toy_rows, "detail-moons": reproduce.moons_rows,
              "bias-net": reproduce.bias_net_rows}
    rows = []
    for name in REPRODUCED:
        if name in names:
            if progress:
                progress(f"{name}: the article's printed numbers")
            rows += makers[name](session, fixtures_dir)
    return rows


def collect(session, names, fixtures_dir=None, progress=None):
    """Every check, every printed number and every trace the figures need, for the scenarios ``names``."""
    from importlib.metadata import version

    from bridge.twins.scenarios import load_scenario
    from bridge.check.verify import Verifier
    runs, rows = [], []
    for name in names:
        verifier = Verifier(session, load_scenario(name, fixtures_dir))
        rows += check_rows(verifier, progress)
        runs.append(run_from_verifier(verifier))
    reproduced = reproduce_rows(session, names, fixtures_dir, progress)
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


def loss_series(run, trace):
    """The per-epoch loss: the detail network's mean error; the bias network's mean of E^2 / 2."""
    if run.network == "detail":
        return trace.series("mean_error").reshape(len(trace.series("mean_error")), -1)[:, 0]
    E = trace.steps["E"]
    return (E * E / 2).reshape(len(E), -1).mean(axis=1)


def weight_difference(run, left, right):
    """max over every weight element of |left - right| after each epoch (biases broadcast as added)."""
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


def loss_figure(runs):
    fig = _figure(4.6 * len(runs), 4.2)
    axes = np.atleast_1d(fig.subplots(1, len(runs)))
    for ax, run in zip(axes, runs):
        epochs = np.arange(run.reference.n_epochs)
        python = loss_series(run, run.python["float"])
        ax.plot(epochs, python, color=PYTHON_COLOR, linewidth=4, alpha=0.45,
                label="Python (float kernels, as the article)")
        ax.plot(epochs, loss_series(run, run.reference), color=R_COLOR, linewidth=0.8,
                label=f"R ({run.net.reference_variant})")
        if run.network == "bias_net" and "article" in run.r:
            ax.plot(epochs, loss_series(run, run.r["article"]), color="#555555", linestyle=":", linewidth=1.2,
                    label="R (article's script)")
        if python.max() > 10 * python.min() > 0:
            ax.set_yscale("log")
        ax.set_title(run.name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean of (y - output)^2 / 2" if run.network == "bias_net" else "mean error")
        _legend_below(ax)
    return fig


def difference_figure(runs, horizons):
    fig = _figure(4.6 * len(runs), 4.4)
    axes = np.atleast_1d(fig.subplots(1, len(runs)))
    for ax, run in zip(axes, runs):
        epochs = np.arange(run.reference.n_epochs)
        lines = [(f"{k} kernels", weight_difference(run, run.python[k], run.reference),
                  {"color": PYTHON_COLOR if k == "float" else "#2ca02c", "linewidth": 1.0})
                 for k in ("float", "exact")]
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
    py = run.python["exact"].steps["output"]
    lines = [(f"R {v}", np.abs(run.r[v].steps["output"] - py).reshape(len(py), -1).max(axis=1),
              {"color": VARIANT_COLORS.get(v), "linewidth": 1.2}) for v in run.r]
    log_lines(ax, epochs, lines, _floor_for([v for _, v, _ in lines]))
    ax.set_title(f"{run.name}: the four R variants against Python (exact kernels)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("max |output_R - output_Python|")
    _legend_below(ax, ncol=2)
    return fig


def boundary_grid(X, n=200):
    """A grid over the normalised input space around the data, one point per column."""
    margin = 0.05
    x0 = np.linspace(X[0].min() - margin, X[0].max() + margin, n)
    x1 = np.linspace(X[1].min() - margin, X[1].max() + margin, n)
    xx, yy = np.meshgrid(x0, x1)
    return xx, yy, np.vstack([xx.ravel(), yy.ravel()])


def boundary_values(run, session, xx_yy_grid=None):
    """[(title, output over the grid)]: Python as the article runs it, and R, with their trained weights."""
    from python_impl import detail
    from python_impl.kernels import get_kernels
    xx, yy, grid = xx_yy_grid or boundary_grid(run.net.X)
    python_state = {w: run.python["float"].series(w)[-1] for w in run.net.weights}
    r_state = session.ro.ListVector({w: session.to_r(run.reference.series(w)[-1]) for w in run.net.weights})
    return [("Python (float kernels, as the article)", detail.predict(grid, python_state, get_kernels("float"))),
            (f"R ({run.net.reference_variant})",
             session.from_r(session.call("detail_predict", session.to_r(grid), r_state)))]


def decision_boundary_figure(run, session):
    X, y = run.net.X, run.net.y.ravel()
    xx, yy, grid = boundary_grid(X)
    sides = boundary_values(run, session, (xx, yy, grid))
    fig = _figure(11, 4.0)
    axes = fig.subplots(1, 2)
    for ax, (title, z) in zip(axes, sides):
        z = np.asarray(z).reshape(xx.shape)
        filled = ax.contourf(xx, yy, z, levels=np.linspace(0, 1, 11), cmap="Spectral", alpha=0.85)
        ax.contour(xx, yy, z, levels=[0.5], colors="k", linewidths=1)
        ax.scatter(X[0], X[1], c=y, cmap="Spectral", edgecolors="k", linewidths=0.3, s=10)
        ax.set_title(f"{run.name}: {title}, after {run.reference.n_epochs} epochs", fontsize=10)
        ax.set_xlabel("x1 (normalised)")
        ax.set_ylabel("x2 (normalised)")
        ax.set_aspect("equal")
    fig.colorbar(filled, ax=list(axes), label="network output")
    return fig


@dataclass
class FigureSpec:
    id: str
    title: str
    caption: str
    draw: object  # () -> matplotlib Figure


def horizons_of(runs):
    """The first epoch the float-kernel weights part from R's by more than 2^-26 of their size."""
    from bridge.check.engine import horizon
    return {run.name: horizon(run.python["float"], run.reference, run.net.weights) for run in runs}


def figures_for(runs, session):
    """The figures of these scenario runs, each drawn only when its turn comes."""
    if not runs:
        return []
    horizons = horizons_of(runs)
    said = "; ".join(f"{name}: epoch {h}" for name, h in horizons.items() if h is not None) or "none"
    specs = [
        FigureSpec("loss", "Training loss, Python and R overlaid",
                   "Each scenario's loss per epoch from both languages: the detail network's mean error, the bias "
                   "network's mean of (y - output)^2 / 2. R's curve (thin, red) lies on Python's (broad, blue) until "
                   "rounding sends the moons run's two chaotic trajectories apart; for bias-net the article's "
                   "own R script (dotted) trains a different network, as its biases belong to samples.",
                   lambda: loss_figure(runs)),
        FigureSpec("differences", "|Python - R| per epoch, float versus exact kernels",
                   f"The largest difference over every weight after each epoch, free-running from the same "
                   f"weights, log scale. Exact kernels (R's arithmetic in numpy) are bit-identical to R: "
                   f"{FLOOR_NOTE}, drawn at the axis floor. Float kernels (plain numpy) start a few units of "
                   f"rounding apart; past the horizon (weights apart by more than 2^-26 of their size: {said}) "
                   f"each side follows its own rounding, which the moons run's chaotic training amplifies.",
                   lambda: difference_figure(runs, horizons)),
    ]
    for run in runs:
        if run.network == "bias_net" and len(run.r) > 1:
            specs.append(FigureSpec(
                "variants", f"{run.name}: the four R bias variants against Python",
                "The largest |R - Python| of the output per epoch (Python with exact kernels). corrected "
                f"(per-neuron biases, column sums) is {FLOOR_NOTE}; the article's script and the commenter's "
                "colSums fix part at epoch 0 (step 2, the bias layout), rowsums-only at epoch 0's step 11.",
                lambda run=run: variants_figure(run)))
        if run.network == "detail" and run.net.X.shape[0] == 2:
            specs.append(FigureSpec(
                "boundary", f"{run.name}: the decision boundary, as the article draws it",
                "The trained network's output over a grid of the normalised input space (filled contours, the "
                "0.5 level in black) with the data points coloured by class; left Python as the article runs "
                "it, right R.", lambda run=run: decision_boundary_figure(run, session)))
    return specs


# -- the page ---------------------------------------------------------------------------------------

STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1300px;padding:0 1em;color:#222;
line-height:1.45}table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:90%}th,td{border:1px solid #ccc;
padding:3px 7px;text-align:left;vertical-align:top}th{background:#f0f0f0}td.num{font-family:ui-monospace,
monospace;text-align:right}tr.fails td{background:#fde2e2}img{max-width:100%;border:1px solid #ddd}
figure{margin:1em 0 2.5em}figcaption{max-width:60em;color:#444}code{font-family:ui-monospace,monospace;
background:#f6f6f6;padding:0 2px}.ok{color:#1a7f37;font-weight:600}.bad{color:#c62828;font-weight:600}"""


def _divergence_text(d):
    return f"epoch {d.epoch} step {d.step} {d.name}{list(d.index)}" if d else "none"


def _td(field_name, value, num=False):
    cls = ' class="num"' if num else ""
    return f'<td data-field="{field_name}"{cls}>{html.escape(str(value))}</td>'


def run_table(rows):
    out = ['<table id="run-rows"><tr><th>scenario</th><th>variant</th><th>kernels</th><th>mode</th>'
           "<th>expectation</th><th>verdict</th><th>first divergence</th><th>max |difference|</th>"
           "<th>horizon</th></tr>"]
    for r in rows:
        horizon = "-" if r.expectation != "within-bound" or r.mode == "lockstep" else (
            f"epoch {r.horizon}" if r.horizon is not None else "none")
        out.append(f'<tr class="{"meets" if r.ok else "fails"}">' + "".join([
            _td("scenario", r.scenario), _td("variant", r.variant), _td("kernels", r.kernels), _td("mode", r.mode),
            _td("expectation", r.expectation), _td("verdict", r.verdict),
            _td("first_divergence", _divergence_text(r.first_divergence)),
            _td("max_abs_difference", repr(float(r.max_abs)), num=True), _td("horizon", horizon)]) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def reproduce_table(rows):
    out = ['<table id="reproduce-rows"><tr><th>scenario</th><th>quantity</th><th>article</th><th>Python</th>'
           "<th>R</th><th>status</th><th>as expected</th></tr>"]
    for q in rows:
        out.append(f'<tr class="{"meets" if q.ok else "fails"}">' + "".join([
            _td("scenario", q.scenario), _td("quantity", q.quantity), _td("article", q.article, True),
            _td("python", q.python, True), _td("r", q.r, True), _td("status", q.status),
            _td("ok", "yes" if q.ok else "NO")]) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def summary_lines(data):
    met = sum(r.ok for r in data.rows)
    repro = sum(q.ok for q in data.reproduced)
    lines = [f'<span class="{"ok" if met == len(data.rows) else "bad"}">{met} of {len(data.rows)} checks meet '
             f"their expectation</span>"]
    if data.reproduced:
        lines.append(f'<span class="{"ok" if repro == len(data.reproduced) else "bad"}">{repro} of '
                     f"{len(data.reproduced)} printed numbers have their expected status</span>")
    return lines


def render_page(data, figures):
    """The HTML page; ``figures`` is [(FigureSpec, png bytes)]."""
    scenarios = ", ".join(run.name for run in data.runs)
    versions = ", ".join(f"{k} {v}" for k, v in data.versions.items())
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>crossverify report</title>", f"<style>{STYLE}</style></head><body>",
           "<h1>crossverify report: Python against R, step by step</h1>",
           f"<p>The numpy and R implementations of the article \"Understanding and coding Neural Networks From "
           f"Scratch in Python and R\", run from the same weights and compared at every step of every epoch. "
           f"Scenarios: {html.escape(scenarios)}. {html.escape(versions)}.</p>",
           "<p>" + "; ".join(summary_lines(data)) + ".</p>",
           "<p>Next: <code>crossverify steps --variant article</code> walks through one epoch cell by cell; "
           "<code>crossverify rosetta</code> puts each Python line beside its R line.</p>",
           '<h2 id="checks">Checks (<code>crossverify run</code>)</h2>',
           "<p>One row per scenario, R variant, Python kernels and comparison mode: what is expected, whether it "
           "is met, the first divergence and the largest difference.</p>", run_table(data.rows)]
    if data.reproduced:
        out += ['<h2 id="reproduce">The article\'s printed numbers (<code>crossverify reproduce</code>)</h2>',
                reproduce_table(data.reproduced)]
    out.append('<h2 id="figures">Figures</h2>')
    for spec, png in figures:
        data64 = base64.b64encode(png).decode("ascii")
        out.append(f'<figure id="figure-{spec.id}"><h3>{html.escape(spec.title)}</h3>'
                   f'<img alt="{html.escape(spec.title)}" src="data:image/png;base64,{data64}">'
                   f"<figcaption>{html.escape(spec.caption)}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def report_json(data, figures):
    return {"scenarios": [run.name for run in data.runs], "versions": data.versions,
            "rows": [{k: v for k, v in r.to_dict().items() if k != "per_intermediate"} for r in data.rows],
            "reproduce": [q.to_dict() for q in data.reproduced],
            "figures": [{"id": spec.id, "title": spec.title, "file": f"figures/{spec.id}.png"} for spec, _ in figures],
            "ok": all(r.ok for r in data.rows) and all(q.ok for q in data.reproduced)}


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
    DIR/report.json through a temporary folder beside DIR, renamed into place at the end."""
    target = prepare_target(out_dir)
    parent, name = os.path.split(target)
    tmp = tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent)
    old = None
    try:
        os.mkdir(os.path.join(tmp, "figures"))
        specs = figures_for(data.runs, data.session)
        figures = []
        for k, spec in enumerate(specs):
            if progress:
                progress(f"figure {k + 1} of {len(specs)}: {spec.title}")
            try:
                png = _png(spec.draw())
            except Exception as exc:  # a figure that cannot be drawn: say which, write nothing
                raise ReportError(f"the figure '{spec.title}' could not be drawn ({type(exc).__name__}: {exc}); "
                                  f"nothing was written to {out_dir}.") from exc
            with open(os.path.join(tmp, "figures", f"{spec.id}.png"), "wb") as fh:
                fh.write(png)
            figures.append((spec, png))
        with open(os.path.join(tmp, "index.html"), "w", encoding="utf-8") as fh:
            fh.write(render_page(data, figures))
        with open(os.path.join(tmp, "report.json"), "w", encoding="utf-8") as fh:
            json.dump(report_json(data, figures), fh, indent=1)
            fh.write("\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a report is for reading
        moved = None
        if os.path.exists(target):
            old = tempfile.mkdtemp(prefix=f".{name}.", suffix=".old", dir=parent)
            moved = os.path.join(old, name)
            os.rename(target, moved)
        try:
            os.rename(tmp, target)
        except OSError:
            if moved:
                os.rename(moved, target)  # the previous report stays where it was
            raise
        return [spec.id for spec, _ in figures]
    except OSError as exc:
        raise CrossverifyError(f"cannot write the report to {out_dir}: {exc.strerror}. Nothing was written.") from None
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
