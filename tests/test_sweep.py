"""crossverify sweep (bridge/sweep/): configurations built like the article's, rows stored as they
finish and skipped on a rerun, failures recorded with R's own message, a dead worker costing one
configuration, Ctrl-C keeping what finished, the same table from the local runner and from a real
Dask cluster of several processes, and the atlas drawn from it. Workers start their own R."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from crossverify.sweep import spec as sweep_spec
from crossverify.sweep.build import scenario_for
from crossverify.sweep.local import LocalRunner
from crossverify.sweep.run import sweep
from crossverify.errors import CrossverifyError
from crossverify.files import write_atomically
from crossverify.sweep.storage import RESULTS, Store, read_results
from tests.conftest import ROOT

# a few cheap configurations of the detail network: 3 weight seeds x 2 noise levels, 40 moons, 25 epochs
SMALL = ["twin=detail", "preprocessing=normalise", "seed=0:3", "hidden=3", "lr=0.5", "epochs=25",
         "checkpoint_every=10", "data.n_samples=40", "data.noise=0.1,0.3"]
RUN_DEPENDENT = ("worker",)  # columns that say where and how fast, not what was computed


def comparable(frame):
    drop = [c for c in frame.columns if c.startswith("seconds_") or c in RUN_DEPENDENT]
    return frame.drop(columns=drop).sort_values("key").reset_index(drop=True)


@pytest.fixture(scope="module")
def small_local(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sweep-local"))
    spec = sweep_spec.load(params=SMALL)
    summary = sweep(spec, out, LocalRunner(2), progress=False)
    return spec, out, summary


# -- configurations --------------------------------------------------------------------------------

def test_the_articles_moons_configuration_builds_the_shipped_scenario_bit_for_bit():
    from crossverify.twins.scenarios import load_scenario
    spec = sweep_spec.load(params=["twin=detail", "preprocessing=normalise", "seed=42", "discard=30", "hidden=10",
                                   "lr=0.1", "epochs=10000", "data.n_samples=1000", "data.noise=0.1"])
    built, shipped = scenario_for(spec.configs[0]), load_scenario("detail-moons")
    for group in ("data", "init"):
        for name, value in getattr(shipped, group).items():
            assert np.array_equal(getattr(built, group)[name].view(np.uint64), value.view(np.uint64)), (group, name)
    assert built.hyper == shipped.hyper and built.preprocessing == shipped.preprocessing


def test_a_grid_expands_to_every_combination_and_keys_do_not_depend_on_the_order_given(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('twin = "detail"\n[grid]\nseed = {from = 0, to = 3}\nhidden = [4, 6]\nlr = 0.1\n'
                    '[data]\nnoise = {low = 0.1, high = 0.3, num = 3}\n')
    spec = sweep_spec.load(str(path))
    assert len(spec.configs) == 3 * 2 * 3
    again = sweep_spec.load(params=["data.noise=0.1,0.2,0.3", "lr=0.1", "hidden=4,6", "seed=0:3", "twin=detail"])
    assert sorted(c.key for c in spec.configs) == sorted(c.key for c in again.configs)


def test_a_seeded_sample_draws_the_same_configurations_every_time():
    params = SMALL + ["hidden=2,3,4,5", "sample.n=5", "sample.seed=7"]
    first, second = sweep_spec.load(params=params), sweep_spec.load(params=params)
    assert len(first.configs) == 5 and [c.key for c in first.configs] == [c.key for c in second.configs]
    assert [c.key for c in sweep_spec.load(params=params[:-1] + ["sample.seed=8"]).configs] != \
        [c.key for c in first.configs]


def test_a_misspelt_key_or_a_random_axis_outside_a_sample_is_refused():
    with pytest.raises(sweep_spec.SweepError, match="unknown key"):
        sweep_spec.parse({"twin": "detail", "gird": {}})
    with pytest.raises(sweep_spec.SweepError, match="needs a \\[sample\\] table"):
        sweep_spec.parse({"twin": "detail", "grid": {"lr": {"low": 0.1, "high": 0.2}}})



def test_the_first_differing_bit_needs_no_bound_and_is_found_between_checkpoints_by_replay(r_session):
    """first_divergence decides by the bits alone, at a checkpoint or, between them, by replaying
    one epoch: the same divergence as every intermediate of every epoch compared under the spec
    with its derived bounds."""
    from crossverify.check.engine import compare_traces
    from crossverify.sweep.worker import first_divergence
    from crossverify.twins.runner import TwinRun
    config = sweep_spec.load(params=["twin=detail", "preprocessing=normalise", "seed=3", "hidden=4", "lr=0.5",
                                     "epochs=12", "data.n_samples=50", "data.noise=0.2"]).configs[0]
    scenario = scenario_for(config)
    net = TwinRun(scenario.twin, scenario)
    r_every = net.r(r_session, None, 12)
    found = {}
    for kernels in ("exact", "float"):
        want = compare_traces(net.python(kernels, 12), r_every, net.spec, net.fixed(), "identical", weights=net.weights)
        found[kernels] = want.first
        for record in (None, [0, 11], [5, 11]):
            cmp, first = first_divergence(net, r_session, kernels, net.python(kernels, 12, record=record),
                                          net.r(r_session, None, 12, record=record))
            assert (first is None) == (want.first is None), (kernels, record)
            assert first is None or first.describe() == want.first.describe(), (kernels, record)
            assert cmp.horizon == want.horizon
    assert found["exact"] is None and found["float"] is not None and found["float"].epoch < 5  # [5, 11] replays


# -- storage -----------------------------------------------------------------------------------------

def test_a_write_that_fails_halfway_leaves_no_file(tmp_path):
    target = tmp_path / "part.parquet"

    def half(fh):
        fh.write(b"PAR1 half")
        raise OSError("disk full")

    with pytest.raises(CrossverifyError, match="disk full. Nothing was written"):
        write_atomically(str(target), half)
    assert os.listdir(tmp_path) == []


# -- running: local ----------------------------------------------------------------------------------

def test_every_configuration_finishes_with_exact_kernels_equal_to_r(small_local):
    spec, out, summary = small_local
    assert (summary.ok, summary.failed, summary.rows) == (len(spec.configs), 0, len(spec.configs)) == (6, 0, 6)
    frame = read_results(out)
    assert frame["exact_identical"].all()
    # the float kernels part from R at the first bit of some step, and the row says where
    assert frame["float_first_epoch"].notna().all() and frame["float_first_step"].notna().all()
    assert all(len(p) == len(e) for p, e in zip(frame["printed_r"], frame["checkpoint_epochs"]))
    assert list(frame["checkpoint_epochs"].iloc[0]) == [0, 10, 20, 24]
    assert os.path.isfile(os.path.join(out, RESULTS))


def test_a_rerun_skips_every_finished_configuration(small_local):
    spec, out, _ = small_local
    before = sorted(os.listdir(os.path.join(out, "parts")))
    again = sweep(spec, out, LocalRunner(2), progress=False)
    assert (again.skipped, again.ran) == (len(spec.configs), 0)
    assert sorted(os.listdir(os.path.join(out, "parts"))) == before


def test_the_same_sweep_on_a_local_dask_cluster_gives_the_same_table(small_local, tmp_path):
    pytest.importorskip("distributed")
    from crossverify.sweep.cluster import DaskRunner
    spec, out, _ = small_local
    summary = sweep(spec, str(tmp_path), DaskRunner("local:2"), progress=False)
    assert (summary.ok, summary.failed) == (len(spec.configs), 0)
    dask_rows, local_rows = read_results(str(tmp_path)), read_results(out)
    assert dask_rows["worker"].nunique() == 2  # two worker processes shared the work
    pd.testing.assert_frame_equal(comparable(dask_rows), comparable(local_rows))


# -- failures ---------------------------------------------------------------------------------------

TWIN_PY = """
from crossverify.twins.protocol import RSide, Step, Twin
TWIN = Twin(name="linreg", python="linreg.py:epoch", r=RSide(files=("linreg.R",), epoch="epoch"),
            state=("w",), steps=(Step(1, "pred", "pred = X w"), Step(2, "grad", "grad = X^T (pred - y) / n"),
                                 Step(3, "w", "w = w - lr grad")),
            data={"X": ("n", "f"), "y": ("n", "o")}, init={"w": ("f", "o")}, hyper=("lr",))
"""
LINREG_PY = """
import os
import signal

def epoch(X, y, state, lr, xp):
    if lr == 0.3:
        os.kill(os.getpid(), signal.SIGKILL)  # the test's crashing worker
    pred = xp.dot(X, state["w"])
    grad = xp.dot(X.T, pred - y) / X.shape[0]
    return {"pred": pred, "grad": grad, "w": state["w"] - lr * grad}
"""
LINREG_R = """
epoch <- function(X, y, state, lr) {
  if (lr > 0.5) stop("learning rate ", lr, " is too large for this twin")
  pred <- X %*% state$w
  grad <- t(X) %*% (pred - y) / nrow(X)
  list(pred = pred, grad = grad, w = state$w - lr * grad)
}
"""


@pytest.fixture(scope="module")
def linreg(tmp_path_factory):
    folder = tmp_path_factory.mktemp("linreg")
    for name, text in (("twin.py", TWIN_PY), ("linreg.py", LINREG_PY), ("linreg.R", LINREG_R)):
        (folder / name).write_text(textwrap.dedent(text))
    return str(folder)


def test_an_r_error_and_a_dead_worker_each_cost_one_configuration_and_are_recorded(linreg, tmp_path):
    spec = sweep_spec.load(params=[f"twin={linreg}", "lr=0.1,0.3,0.9,0.2", "epochs=5", "data.n_samples=20"])
    summary = sweep(spec, str(tmp_path), LocalRunner(2), progress=False)
    frame = read_results(str(tmp_path)).set_index("lr")
    assert (summary.ok, summary.failed) == (2, 2)
    assert frame.loc[0.9, "error_kind"] == "r-error"
    assert "learning rate 0.9 is too large for this twin" in frame.loc[0.9, "error"]  # R's own message
    assert frame.loc[0.3, "error_kind"] == "worker-died" and "SIGKILL" in frame.loc[0.3, "error"]
    assert frame.loc[[0.1, 0.2], "exact_identical"].all()  # a twin of the user's: exact holds
    # the next run does the failures again, not what finished
    store = Store(str(tmp_path))
    assert len(store.done()) == 2 and len(store.failed()) == 2
    assert sorted(c.key for c in spec.configs if c.key not in store.done()) == sorted(store.failed())


def test_on_dask_a_worker_that_dies_costs_its_configuration_and_an_r_error_keeps_rs_message(linreg, tmp_path):
    dask = pytest.importorskip("dask")
    from crossverify.sweep.cluster import DaskRunner
    spec = sweep_spec.load(params=[f"twin={linreg}", "lr=0.1,0.3,0.9", "epochs=5", "data.n_samples=20"])
    # the scheduler of a local cluster lives in this process: give up on the first death, not the fourth,
    # and send the worker one task at a time, so that a death is blamed on the task it was running only
    with dask.config.set({"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}):
        summary = sweep(spec, str(tmp_path), DaskRunner("local:1"), progress=False)
    frame = read_results(str(tmp_path)).set_index("lr")
    assert (summary.ok, summary.failed) == (1, 2)
    assert frame.loc[0.3, "error_kind"] == "worker-died" and "KilledWorker" in frame.loc[0.3, "error"]
    assert "learning rate 0.9 is too large for this twin" in frame.loc[0.9, "error"]
    assert bool(frame.loc[0.1, "exact_identical"])


def test_ctrl_c_keeps_every_finished_configuration_and_the_rerun_does_only_the_rest(tmp_path):
    # Ctrl-C lands within a poll (0.1 s) of the second stored row; the 14 configurations left, each an R
    # and two Python runs of 500 epochs, take many times that even on a fast machine
    total = 16
    out = str(tmp_path / "run")
    args = [sys.executable, "-m", "crossverify", "sweep", "--out", out, "--workers", "1", "--no-progress",
            "--param", "twin=detail", "--param", f"seed=0:{total}", "--param", "hidden=3", "--param", "lr=0.5",
            "--param", "epochs=500", "--param", "data.n_samples=60"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    parts = os.path.join(out, "parts")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (os.path.isdir(parts) and len(os.listdir(parts)) >= 2):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Interrupted: every finished configuration is kept" in stdout
    kept = Store(out).done()
    assert 2 <= len(kept) < total
    assert len(read_results(out)) == len(kept)  # results.parquet holds exactly what finished
    rerun = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{total - len(kept)} configuration(s) run" in rerun.stdout
    assert f"{len(kept)} already done by an earlier run" in rerun.stdout
    assert len(read_results(out)) == total


# -- the atlas ----------------------------------------------------------------------------------------

def test_the_atlas_draws_the_heatmap_the_printed_fractions_and_the_horizons(small_local, tmp_path):
    from crossverify.sweep.atlas import differ_fractions, write_atlas
    _, out, _ = small_local
    target = str(tmp_path / "atlas")
    written = write_atlas(out, target)
    for name in ("horizon_heatmap.png", "printed_differ.png", "horizons.png", "index.html", RESULTS):
        assert name in written and os.path.getsize(os.path.join(target, name)) > 0
    page = open(os.path.join(target, "index.html"), encoding="utf-8").read()
    assert "exact kernels equal to R bit for bit in 6 of 6" in page
    frame = read_results(out)
    fractions = differ_fractions(frame)[None]
    assert fractions[0] == [0, 10, 20, 24]
    assert fractions[1] == [float(np.mean([d[i] for d in frame["printed_differ"]])) for i in range(4)]
    assert json.load(open(os.path.join(target, "sweep.json")))["spec"]["settings"]["twin"] == "detail"
