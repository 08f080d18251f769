"""How a difference grows along a free-running comparison, and what that means for printed numbers.

Both sides start from the same state and each follows its own rounding. After every epoch the
carried state (the twin's ``state`` intermediates, kept in every trace's history) differs by

    d(e) = max over the state matrices of  max |left - right| / max(|left|, |right|)

the relative measure whose crossing of 2^-26 is the engine's *horizon* (bridge/check/engine.py).
Where a training is chaotic d grows roughly like e^(lambda e): lambda is a finite-time Lyapunov
exponent, estimated here as the least-squares slope of ln d(e) over a stated window, from the last
epoch at which d was within 10x its floor (its median over the first tenth of the epochs before the
horizon) up to the horizon. The fitted line predicts the horizon; the epoch where d reaches the
printed precision (10^-k relative for numbers printed with k decimals) predicts which of the
source's printed numbers depend on rounding: those printed at or after it.
"""
from dataclasses import dataclass, field

import numpy as np

from crossverify.check.engine import HORIZON_RELATIVE, horizon
from crossverify.check.ulp import ulp_distance

FLOOR_FACTOR = 10.0  # growth starts at the last epoch before the horizon where d <= 10 x its floor
SUSTAINED = 100.0  # without a horizon, growth counts only when d ends >= 100 x its floor
MIN_POINTS = 4


@dataclass
class PrintedCheck:
    """One printed number beside both languages, and whether the growth predicts it reproducible."""

    quantity: str
    name: str
    epoch: int
    source: str  # the text the source printed
    python: str
    r: str
    difference: float
    ulps: int
    predicted: str  # "reproducible" or "depends on rounding"
    languages_agree: bool  # both print the same digits
    expected: str  # the status the twin declares for it

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class Growth:
    first_epoch: int
    state: tuple
    absolute: dict  # state name -> max |left - right| after each epoch
    relative: np.ndarray  # d(e), the module docstring's measure
    threshold: float = HORIZON_RELATIVE
    measured_horizon: int = None
    floor: float = None
    window: tuple = None  # (first epoch, last epoch) of the fit
    rate: float = None  # lambda, per epoch
    intercept: float = None  # ln d at epoch 0 on the fitted line
    rate_halves: tuple = None  # lambda over each half of the window
    predicted_horizon: float = None
    decimals: int = None
    precision: float = None  # 10^-decimals
    precision_epoch: int = None  # measured: first epoch with d >= precision
    precision_epoch_fitted: float = None  # where the fitted line reaches it
    printed: list = field(default_factory=list)
    labels: tuple = ("python", "r")

    @property
    def epochs(self):
        return np.arange(self.first_epoch, self.first_epoch + len(self.relative))

    @property
    def doubling(self):
        return None if not self.rate or self.rate <= 0 else float(np.log(2) / self.rate)

    @property
    def identical(self):
        return not np.any(self.relative > 0)

    def fitted(self, epochs):
        return np.exp(self.intercept + self.rate * np.asarray(epochs, dtype=np.float64))

    def at(self, epoch):
        return float(self.relative[epoch - self.first_epoch])

    def to_dict(self):
        keep = ("first_epoch", "threshold", "measured_horizon", "floor", "window", "rate", "rate_halves",
                "predicted_horizon", "decimals", "precision", "precision_epoch", "precision_epoch_fitted")
        out = {k: getattr(self, k) for k in keep}
        out.update(state=list(self.state), doubling_epochs=self.doubling, identical=self.identical,
                   printed=[p.to_dict() for p in self.printed],
                   relative_every_100=[[int(e), float(v)] for e, v in zip(self.epochs[::100], self.relative[::100])])
        return out


def _state_differences(left, right, state):
    absolute, relative = {}, None
    for w in state:
        a, b = np.broadcast_arrays(left.series(w), right.series(w))
        d = np.abs(a - b).reshape(len(a), -1).max(axis=1)
        scale = np.maximum(np.abs(a), np.abs(b)).reshape(len(a), -1).max(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(d == 0, 0.0, d / scale)
        absolute[w] = d
        relative = r if relative is None else np.maximum(relative, r)
    return absolute, relative


def _slope(epochs, values):
    keep = values > 0
    if keep.sum() < 2:
        return None, None
    rate, intercept = np.polyfit(epochs[keep].astype(np.float64), np.log(values[keep]), 1)
    return float(rate), float(intercept)


def fit(g):
    """Fill in the floor, the window, the rate and the predictions of ``g`` (module docstring)."""
    d = g.relative
    end = len(d) - 1 if g.measured_horizon is None else g.measured_horizon - g.first_epoch
    head = d[:max(1, end // 10)]
    head = head[head > 0]
    positive = d[:end + 1][d[:end + 1] > 0]
    if not positive.size:
        return g
    g.floor = float(np.median(head)) if head.size else float(positive.min())
    if g.measured_horizon is None and d[end] < SUSTAINED * g.floor:
        return g  # no sustained growth to fit
    below = np.flatnonzero(d[:end + 1] <= FLOOR_FACTOR * g.floor)
    start = int(below[-1]) if below.size else 0
    if end - start + 1 < MIN_POINTS:
        start = max(0, end - MIN_POINTS + 1)
    epochs = np.arange(start, end + 1) + g.first_epoch
    rate, intercept = _slope(epochs, d[start:end + 1])
    if rate is None or rate <= 0:
        return g
    g.window, g.rate, g.intercept = (int(epochs[0]), int(epochs[-1])), rate, intercept
    half = len(epochs) // 2
    g.rate_halves = (_slope(epochs[:half + 1], d[start:start + half + 1])[0],
                     _slope(epochs[half:], d[start + half:end + 1])[0])
    g.predicted_horizon = float((np.log(g.threshold) - intercept) / rate)
    if g.precision:
        g.precision_epoch_fitted = float((np.log(g.precision) - intercept) / rate)
    return g


def _decimals(text):
    return len(text.split(".")[1]) if "." in text else 0


def _kept(trace, name, epoch):
    """``name`` after ``epoch``: from the series kept after every epoch, else from a recorded epoch."""
    if name in trace.history:
        return trace.series(name)[epoch - trace.first_epoch]
    if name in trace.steps and epoch in trace.epochs:
        return trace.at(epoch, name)
    return None


def printed_checks(g, left, right, twin, scenario_name):
    """The source's printed numbers for this scenario whose intermediate both traces keep after every
    epoch, with both languages' values printed the same way and the growth's prediction."""
    from crossverify.explain.reproduce import printed_like
    out = []
    n = len(g.relative)
    for p in twin.printed:
        epoch = g.first_epoch + n - 1 if p.epoch == -1 else p.epoch
        if p.scenario != scenario_name or not 0 <= epoch - g.first_epoch < n:
            continue
        a, b = _kept(left, p.name, epoch), _kept(right, p.name, epoch)
        if a is None or b is None:
            continue
        a, b = float(np.asarray(a)[tuple(p.index)]), float(np.asarray(b)[tuple(p.index)])
        pa, pb = printed_like(a, p.text), printed_like(b, p.text)
        chaotic = g.precision_epoch is not None and epoch >= g.precision_epoch
        out.append(PrintedCheck(p.quantity, p.name, int(epoch), p.text, pa, pb, abs(a - b), int(ulp_distance(a, b)),
                                "depends on rounding" if chaotic else "reproducible", pa == pb, p.expected))
    return out


def measure_growth(left, right, twin, scenario_name, labels=("python", "r")):
    """The Growth of a free-running comparison of ``left`` with ``right`` (Traces holding the twin's
    state after every epoch)."""
    state = tuple(w for w in twin.state if w in left.history and w in right.history)
    absolute, relative = _state_differences(left, right, state)
    g = Growth(left.first_epoch, state, absolute, relative, labels=labels,
               measured_horizon=horizon(left, right, state))
    texts = [p.text for p in twin.printed if p.scenario == scenario_name]
    if texts:
        g.decimals = max(_decimals(t) for t in texts)
        g.precision = 10.0 ** -g.decimals
        over = np.flatnonzero(relative >= g.precision)
        g.precision_epoch = int(over[0]) + g.first_epoch if over.size else None
    fit(g)
    g.printed = printed_checks(g, left, right, twin, scenario_name)
    return g


# -- the figure ---------------------------------------------------------------------------------------

def growth_plot(g, title=None):
    """A matplotlib Figure (Agg, no pyplot): d(e) per state matrix and overall, log scale; the fitted
    line over its window, extended to the horizon; the horizon and printed-precision levels; the
    epochs of the printed numbers."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    epochs = g.epochs
    floor = (g.floor or 1e-17) / 10 if not g.identical else 1e-17
    if g.identical:
        ax.text(0.5, 0.5, "bit-identical after every epoch: no difference to grow", transform=ax.transAxes,
                ha="center", va="center")
    else:
        ax.plot(epochs, np.where(g.relative > 0, g.relative, floor), color="black", lw=1.6,
                label="d(e): largest relative difference of the carried state")
    if g.rate:
        to = max(g.window[1], g.predicted_horizon if g.predicted_horizon else g.window[1])
        xs = np.linspace(g.window[0], min(to, epochs[-1]), 50)
        ax.plot(xs, g.fitted(xs), color="tab:red", lw=1.2, ls="--",
                label=f"fit over epochs {g.window[0]}-{g.window[1]}: lambda = {g.rate:.3g} per epoch")
    ax.axhline(g.threshold, color="tab:blue", lw=0.8, ls=":", label="horizon level 2^-26")
    if g.precision:
        ax.axhline(g.precision, color="tab:green", lw=0.8, ls=":",
                   label=f"printed precision 1e-{g.decimals} (the source prints {g.decimals} decimals)")
    if g.measured_horizon is not None:
        ax.axvline(g.measured_horizon, color="tab:blue", lw=0.8, alpha=0.6)
    for k, p in enumerate(g.printed):
        keep = p.predicted == "reproducible"
        first = k == next(j for j, q in enumerate(g.printed) if (q.predicted == "reproducible") == keep)
        ax.axvline(p.epoch, color="tab:green" if keep else "tab:orange", lw=0.6, alpha=0.5,
                   label=(f"a printed number predicted {p.predicted}" if first else None))
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("relative difference |left - right|")
    ax.set_title(title or f"How the difference between {g.labels[0]} and {g.labels[1]} grows")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize=8, frameon=False)
    return fig


def growth_figure(g, title=None):
    """The growth figure as PNG bytes."""
    import io
    buf = io.BytesIO()
    growth_plot(g, title).savefig(buf, format="png")
    return buf.getvalue()
