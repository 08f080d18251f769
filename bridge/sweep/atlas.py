"""The divergence atlas: what a sweep's table says, drawn (``crossverify sweep --report DIR``).

* ``horizon_heatmap.png``: the median horizon over the weight seeds (the epoch from which the float
  kernels' weights and R's part by more than 2^-26 of their size) in each cell of two chosen
  parameters; a run that never parted counts as its length and is marked.
* ``printed_differ.png``: per checkpoint epoch, the fraction of configurations (of seeds, within
  each value of the heatmap's row parameter) whose loss printed to the sweep's precision reads
  differently in R and in numpy (float kernels).
* ``horizons.png``: the distribution of horizons.
* ``index.html``: the figures, the exact-kernel exceptions (configurations where Python's exact
  kernels did not equal R bit for bit: each is a finding), the failed configurations with why,
  and a copy of the table (results.parquet) beside them.

Everything is drawn in a temporary sibling folder first and each file then renamed into place,
so no file of the atlas is ever half written; files of the target folder that the atlas does not
write (a README, the sweep file) are kept.
"""
import html
import json
import os

import numpy as np

from crossverify.errors import CrossverifyError
from crossverify.files import replace_folder_atomically
from crossverify.sweep.storage import RESULTS, SWEEP, read_results, read_sweep

NOT_PARAMS = ("seed",)  # the axis the atlas aggregates over


def param_columns(frame, sweep):
    """The result columns that are sweep parameters, in the sweep's order."""
    if sweep and sweep.get("configurations"):
        names = list(sweep["configurations"][0]["params"])
        return [n.replace("data.", "data_") for n in names if n.replace("data.", "data_") in frame.columns]
    fixed = ("epochs", "seed", "discard", "hidden", "lr")
    return [c for c in frame.columns if c in fixed or c.startswith("data_") or c.startswith("dim_")]


def varying(frame, columns):
    """The parameters that take more than one value, most values first."""
    counts = {c: frame[c].nunique() for c in columns if c not in NOT_PARAMS}
    return [c for c, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n > 1]


def column_of(name):
    return name.replace("data.", "data_") if name else name


def choose_axes(frame, params, x=None, y=None):
    x, y = column_of(x), column_of(y)
    for given in (x, y):
        if given and given not in frame.columns:
            raise CrossverifyError(f"--x/--y {given}: not a column of the sweep's table. Parameters: {', '.join(params)}")
    free = [c for c in varying(frame, params) if c not in (x, y)]
    x = x or (free.pop(0) if free else None)
    y = y or (free.pop(0) if free else None)
    return x, y


def horizon_or_length(frame):
    """Each row's horizon, or its length in epochs when it never parted."""
    h = frame["horizon"].astype(float)
    return h.where(h.notna(), frame["epochs"].astype(float)), h.isna()


def heatmap(frame, x, y, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    values, never = horizon_or_length(frame)
    data = frame.assign(_h=values, _never=never)
    xs = sorted(data[x].unique())
    ys = sorted(data[y].unique()) if y else [None]
    grid = np.full((len(ys), len(xs)), np.nan)
    labels = [["" for _ in xs] for _ in ys]
    for i, yv in enumerate(ys):
        for j, xv in enumerate(xs):
            cell = data[(data[x] == xv) & ((data[y] == yv) if y else True)]
            if len(cell):
                grid[i, j] = float(np.median(cell["_h"]))
                n_never = int(cell["_never"].sum())
                labels[i][j] = f"{grid[i, j]:.0f}" + (f"\n{n_never}/{len(cell)} never" if n_never else f"\nn={len(cell)}")
    fig, ax = plt.subplots(figsize=(1.3 * len(xs) + 2.5, 0.9 * len(ys) + 2.0), dpi=110)
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(xs)), [str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [str(v) for v in ys] if y else [""])
    ax.set_xlabel(x)
    ax.set_ylabel(y or "")
    for i in range(len(ys)):
        for j in range(len(xs)):
            if labels[i][j]:
                ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=7,
                        color="white" if grid[i, j] < np.nanmean(grid) else "black")
    fig.colorbar(im, ax=ax, label="median horizon (epoch)")
    # two lines, so a narrow heatmap (one or two columns) does not clip its title
    ax.set_title("Horizon: first epoch where numpy's and R's weights\npart by > 2^-26 (median over seeds)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def differ_fractions(frame, by=None):
    """{group: (checkpoint epochs, fraction of rows whose printed loss differs there)}; group None is all rows."""
    out = {}
    groups = [(None, frame)] + ([(v, frame[frame[by] == v]) for v in sorted(frame[by].unique())] if by else [])
    for name, part in groups:
        rows = [(list(e), list(d)) for e, d in zip(part["checkpoint_epochs"], part["printed_differ"])
                if e is not None and d is not None and len(d)]
        if not rows:
            continue
        epochs = sorted({int(e) for es, _ in rows for e in es})
        counts = {e: [0, 0] for e in epochs}
        for es, ds in rows:
            for e, d in zip(es, ds):
                counts[int(e)][0] += bool(d)
                counts[int(e)][1] += 1
        out[name] = (epochs, [counts[e][0] / counts[e][1] for e in epochs])
    return out


def differ_figure(fractions, by, decimals, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    for name, (epochs, frac) in fractions.items():
        if name is None:
            ax.plot(epochs, frac, color="black", linewidth=2.2, marker="o", label="all configurations", zorder=3)
        else:
            ax.plot(epochs, frac, linewidth=1, marker=".", label=f"{by} = {name}")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("checkpoint epoch")
    ax.set_ylabel("fraction whose printed loss differs")
    ax.set_title(f"R vs numpy (float kernels): the loss printed to {decimals} decimals reads differently", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def horizon_histogram(frame, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    h = frame["horizon"].dropna().astype(float)
    never = int(frame["horizon"].isna().sum())
    fig, ax = plt.subplots(figsize=(7.5, 3.8), dpi=110)
    if len(h):
        ax.hist(h, bins=min(40, max(5, len(h) // 4)), color="#4c72b0")
    ax.set_xlabel("horizon (epoch)")
    ax.set_ylabel("configurations")
    ax.set_title(f"Distribution of horizons ({len(h)} parted; {never} never parted within their epochs)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _table_html(frame, columns):
    if frame.empty:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in columns) + "</tr>"
                   for _, r in frame.iterrows())
    return f"<table><tr>{head}</tr>{body}</table>"


def _fraction_table(fractions):
    overall = fractions.get(None)
    if not overall:
        return "<p>the twin declares no loss: nothing printed to compare</p>"
    epochs, frac = overall
    head = "".join(f"<th>{e}</th>" for e in epochs)
    row = "".join(f"<td>{f:.2f}</td>" for f in frac)
    return f"<table><tr><th>epoch</th>{head}</tr><tr><th>fraction differing</th>{row}</tr></table>"


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>crossverify divergence atlas</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;line-height:1.4}}
table{{border-collapse:collapse;font-size:12px;margin:0.5em 0}}td,th{{border:1px solid #ccc;padding:2px 6px}}
img{{max-width:100%}}code{{background:#f4f4f4}}</style></head><body>
<h1>Divergence atlas: twin {twin}</h1>
<p>{summary}</p>
<h2>Where the trajectories part</h2><img src="horizon_heatmap.png" alt="horizon heatmap">
<h2>Printed numbers that read differently</h2><img src="printed_differ.png" alt="printed differ">
{fraction_table}
<h2>Distribution of horizons</h2><img src="horizons.png" alt="horizons">
<h2>Configurations where the exact kernels did not equal R</h2>{exact_table}
<h2>Configurations that failed</h2>{failed_table}
<p>The table: <code>results.parquet</code> (one row per configuration; docs/SWEEP.md lists the columns).
Sweep: <code>{source}</code>.</p></body></html>
"""


def write_atlas(source, target, x=None, y=None):
    """Draw the atlas of the sweep folder (or results.parquet) ``source`` into the folder ``target``;
    returns the files written."""
    frame = read_results(source)
    sweep = read_sweep(source) if os.path.isdir(source) else None
    ok = frame[frame["status"] == "ok"]
    if ok.empty:
        raise CrossverifyError(f"{source}: no configuration finished yet; nothing to draw")
    params = param_columns(frame, sweep)
    x, y = choose_axes(ok, params, x, y)
    decimals = int(ok["decimals"].iloc[0]) if "decimals" in ok else 5
    parent = os.path.dirname(os.path.abspath(target)) or "."
    os.makedirs(parent, exist_ok=True)
    written = []

    def fill(tmp):
        if x:
            heatmap(ok, x, y, os.path.join(tmp, "horizon_heatmap.png"))
            written.append("horizon_heatmap.png")
        fractions = differ_fractions(ok, y)
        differ_figure(fractions, y, decimals, os.path.join(tmp, "printed_differ.png"))
        horizon_histogram(ok, os.path.join(tmp, "horizons.png"))
        written.extend(["printed_differ.png", "horizons.png"])
        exact = ok[ok["exact_identical"] == False]  # noqa: E712 - a column of booleans
        failed = frame[frame["status"] != "ok"]
        never = int(ok["horizon"].isna().sum())
        parted = (f"horizon median {np.nanmedian(ok['horizon'].astype(float)):.0f} over the {len(ok) - never} "
                  f"that parted, {never} never parted" if len(ok) > never else
                  f"none of the {len(ok)} parted within their epochs (no horizon)")
        axes = f"Heatmap axes: {x} x {y}." if x and y else f"Heatmap axis: {x}." if x else \
            "No heatmap: no parameter varies."
        summary = (f"{len(frame)} configurations ({len(ok)} finished, {len(failed)} failed); exact kernels equal to R "
                   f"bit for bit in {len(ok) - len(exact)} of {len(ok)}; {parted}. {axes}")
        twin = str(frame["twin"].iloc[0])
        page = PAGE.format(twin=html.escape(twin), summary=html.escape(summary),
                           fraction_table=_fraction_table(fractions),
                           exact_table=_table_html(exact, ["key"] + params + ["exact_first_detail"]),
                           failed_table=_table_html(failed, ["key"] + params + ["error_kind", "error"]),
                           source=html.escape(os.path.basename(os.path.abspath(source))))
        with open(os.path.join(tmp, "index.html"), "w", encoding="utf-8") as fh:
            fh.write(page)
        written.append("index.html")
        _copy_table(source, frame, tmp)
        written.append(RESULTS)
        if sweep:
            with open(os.path.join(tmp, SWEEP), "w", encoding="utf-8") as fh:
                json.dump(sweep, fh, indent=1)
            written.append(SWEEP)

    replace_folder_atomically(target, fill)
    return written


def _copy_table(source, frame, folder):
    import pyarrow as pa
    import pyarrow.parquet as pq
    if os.path.isdir(source):
        from crossverify.sweep.storage import Store
        sweep = read_sweep(source)
        order = [c["key"] for c in sweep["configurations"]] if sweep else None
        table = Store(source).table(order)
        if table is None:
            table = pq.read_table(os.path.join(source, RESULTS))
    else:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, os.path.join(folder, RESULTS))

