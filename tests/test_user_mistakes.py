"""A user's own data and a user's mistakes (issue 21): each case as the user meets it, through the
command line, with the message (or the result) it must give now.

Most cases run the command in this process against the test session's R (``cli``); the one that
must show a bounded allocation runs in a child process under an address-space limit.
"""
import io
import json
import os
import resource
import subprocess
import sys

import numpy as np
import pytest

from crossverify.check import budget
from crossverify.check.nonfinite import first_nonfinite, targets_out_of_range
from crossverify.errors import CrossverifyError
from crossverify.twins.runner import network_for
from crossverify.twins.scenarios import load_scenario
from tests.cli_helpers import cli, one_paragraph
from tests.conftest import ROOT

pytest_plugins = ["pytester"]

# constant data normalised divides 0 by 0 while the scenario loads: the point of those tests, reported by the rows
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")




def new_scenario(tmp_path, name, *options, twin="bias_net"):
    """`scenario new NAME` of two-feature blobs (or ``options``' own data) into tmp_path/sc."""
    folder = tmp_path / "sc"
    code, _, err = cli("scenario", "new", name, "--twin", twin, "--out", folder, *options)
    assert code == 0, err
    return folder


def blobs(samples=12, centers=2):
    return ("--make", "blobs", "--param", f"n_samples={samples}", "--param", "n_features=2",
            "--param", f"centers={centers}", "--hidden", "3")


# -- case 3: a run that cannot fit is refused before it starts -----------------------------------

def _limited_address_space():
    limit = 1500 * 2 ** 20  # 1.5 GB of address space: the interpreter, numpy and pandas, and a few hundred MB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_a_billion_epochs_is_refused_up_front_with_the_estimate_and_what_fits(tmp_path):
    folder = new_scenario(tmp_path, "big", *blobs(), "--epochs", "1000000000")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "crossverify", "run", "--fixtures", str(folder)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=_limited_address_space,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and one_paragraph(proc.stderr), proc.stderr
    assert "this run would not fit in memory: scenario 'big', 1000000000 epochs: about" in proc.stderr
    assert "--epochs " in proc.stderr and "--ignore-memory-estimate" in proc.stderr


def test_a_trace_of_every_epoch_that_cannot_fit_is_told_to_record_checkpoints():
    net = network_for(load_scenario("detail-moons"))
    estimate = budget.estimate_run(net, 10000, ("article",), ("exact",), ("free-running",), record_all=True, traces=1)
    assert 2e9 < estimate.bytes_needed < 2e10  # ~4 GB of intermediates, held once and converted once
    with pytest.raises(CrossverifyError, match=r"--record checkpoints keeps them only at checkpoints") as exc:
        budget.refuse_if_too_big([estimate], override=False, available=10 ** 9,
                                 lighter="--record checkpoints")
    assert "To run it anyway, give --ignore-memory-estimate" in str(exc.value)
    budget.refuse_if_too_big([estimate], override=True, available=10 ** 9)  # the documented override


def test_the_shipped_runs_fit_the_estimate_of_a_small_machine():
    for name in ("bias-net", "detail-toy", "detail-moons"):
        net = network_for(load_scenario(name))
        estimate = budget.estimate_run(net, net.scenario.epochs, net.variants, ("exact", "float"),
                                       ("lockstep", "free-running"))
        assert estimate.bytes_needed < 2e9, estimate.describe()


# -- case 4: NaN, Inf and targets out of range are news ------------------------------------------

def test_constant_data_under_normalisation_meets_only_with_a_warning_naming_where(tmp_path):
    data = tmp_path / "const.csv"
    data.write_text("a,b,y\n" + "".join(f"1.0,1.0,{i % 2}\n" for i in range(6)))
    folder = new_scenario(tmp_path, "const", "--from", data, "--hidden", "3", "--epochs", "5",
                          "--preprocessing", "normalise", twin="detail")
    code, text, err = cli("run", "--fixtures", folder, "--kernels", "exact", "--format", "json")
    rows = json.loads(text)["rows"]
    assert all(r["nonfinite"] and r["verdict_text"].startswith("meets, but not finite at epoch 0") for r in rows)
    assert all(any(w.startswith("data not finite: X[0, 0] is nan after preparation") for w in r["warnings"])
               for r in rows)
    code, text, err = cli("run", "--fixtures", folder, "--kernels", "exact", "--mode", "lockstep")
    assert "WARNING const: not finite: NaN first seen at epoch 0, step 1 hiddenLayer_linearTransform[0, 0] in R (article)" \
        in text
    assert "RuntimeWarning" not in err


def test_an_overflowing_learning_rate_fails_with_a_reason_and_names_the_first_infinity(tmp_path):
    folder = new_scenario(tmp_path, "hot", *blobs(20), "--epochs", "3", "--lr", "1e308")
    code, text, err = cli("run", "--fixtures", folder, "--variant", "corrected", "--kernels", "float")
    assert code == 1 and "RuntimeWarning" not in err
    failed = [line for line in text.splitlines() if line.startswith("FAILED")]
    assert failed and all(line.endswith("a step leaves its bound (below)") for line in failed), text
    assert "every step stays within its bound" not in text
    assert "> bound inf" not in text and "do not agree on a value that is not finite" in text
    assert "WARNING hot: not finite: -inf first seen at epoch 1, step 2 hidden_layer_input" in text


def test_three_classes_given_to_a_sigmoid_output_are_warned_about(tmp_path):
    folder = new_scenario(tmp_path, "three", *blobs(12, 3), "--epochs", "3")
    code, text, err = cli("run", "--fixtures", folder, "--variant", "corrected", "--kernels", "exact",
                          "--mode", "lockstep")
    assert code == 0
    assert ("WARNING three: targets out of range: y[0, 0] = 2.0 (4 of 12 values) lies outside [0.0, 1.0], the "
            "range of step 4 output (sigmoid)") in text


def test_the_first_non_finite_element_is_the_earliest_epoch_then_the_lowest_step():
    net = network_for(load_scenario("bias-net"))
    trace = net.python("float", 4, record=None)
    assert first_nonfinite(trace, net.spec, "python") is None
    trace.steps["output"][2, 1, 0] = np.inf
    trace.steps["E"][2, 0, 0] = np.nan
    trace.steps["wh"][3, 0, 0] = np.nan
    found = first_nonfinite(trace, net.spec, "python")
    assert (found.epoch, found.step, found.name, found.index, found.value) == (2, 4, "output", (1, 0), np.inf)
    assert targets_out_of_range(net.data, net.spec) == []


# -- case 6: a sweep's parameters are checked before anything runs -------------------------------

@pytest.mark.parametrize("param, message", [
    ("epochs=-1", "epochs = -1 is not a whole number of 1 or more"),
    ("hidden=0", "hidden = 0 is not a whole number of 1 or more"),
    ("lr=abc", "lr = 'abc' is not a finite number"),
])
def test_a_sweep_parameter_no_run_could_use_is_refused_before_the_first_configuration(tmp_path, param, message):
    args = ["sweep", "--twin", "bias_net", "--param", "lr=0.1", "--param", "hidden=3", "--param", param,
            "--out", tmp_path / "sweep"]
    code, text, err = cli(*args)
    assert code == 2 and one_paragraph(err) and message in err and "nothing was run" in err, err
    assert not (tmp_path / "sweep" / "parts").exists()


def test_a_sweep_with_no_workers_is_refused_rather_than_given_two(tmp_path):
    code, text, err = cli("sweep", "--twin", "bias_net", "--param", "lr=0.1", "--workers", "0", "--out", tmp_path)
    assert code == 2 and one_paragraph(err) and "--workers 0: the number of worker processes must be 1 or more" in err


def test_a_sweep_row_whose_values_overflow_carries_a_warning_and_the_verdict_run_gives(tmp_path, r_session):
    from crossverify.sweep import spec as sweep_spec
    from crossverify.sweep.worker import run_config
    spec = sweep_spec.load(None, ["lr=1e308", "epochs=5", "hidden=3", "data.n_samples=20", "data.generator=blobs"],
                           "bias_net")
    row = run_config(spec.configs[0], r_session)
    # the same configuration as a scenario: the same data (random_state 42) and weights (seed 42)
    folder = new_scenario(tmp_path, "same", *blobs(20), "--epochs", "5", "--lr", "1e308")
    code, text, err = cli("run", "--fixtures", folder, "--variant", "corrected", "--kernels", "float", "--mode",
                          "free-running", "--format", "json")
    run_row = json.loads(text)["rows"][0]
    assert row["status"] == "ok" and row["float_within_bound"] is False and run_row["ok"] is False
    assert row["nonfinite_r"] == "NaN first seen at epoch 4, step 2 hidden_layer_input[0, 0]"
    assert row["warnings"].startswith("not finite: r produces NaN first seen at epoch 4")


# -- case 2: R's read_scenario() reads what `scenario new` writes --------------------------------

def test_r_reads_a_manifest_that_scenario_new_wrote_with_its_twin_and_hyper_parameters(tmp_path, r_session):
    folder = new_scenario(tmp_path, "mine", *blobs(), "--epochs", "7", "--lr", "0.25")
    fixtures_r = os.path.join(ROOT, "r_impl", "R", "fixtures.R")
    read = r_session.ro.r("function(code, manifest) { env <- new.env(); sys.source(code, envir = env); "
                          "env$read_scenario(manifest) }")
    scenario = read(fixtures_r, str(folder / "mine" / "manifest.json"))
    got = dict(zip(scenario.names, scenario))
    assert got["twin"][0] == "bias_net" and got["epochs"][0] == 7 and got["lr"][0] == 0.25
    assert tuple(got["data"].rx2("X").dim) == (12, 2)
    shipped = read(fixtures_r, os.path.join(ROOT, "fixtures", "bias-net", "manifest.json"))
    assert dict(zip(shipped.names, shipped))["network"][0] == "bias_net"


# -- case 1: the decision boundary of a two-feature bias-net made from the user's data -----------

def test_the_report_of_a_two_feature_bias_net_draws_its_decision_boundary(tmp_path, r_session):
    folder = new_scenario(tmp_path, "myblobs", *blobs(30), "--epochs", "50")
    code, text, err = cli("report", "--fixtures", folder, "--out", tmp_path / "report")
    assert code == 0, err
    assert "4 figures (loss, differences, variants, boundary)" in text
    written = json.loads((tmp_path / "report" / "report.json").read_text())
    assert written["figures_not_drawn"] == [] and (tmp_path / "report" / "figures" / "boundary.png").exists()


# -- case 4 and 5 in a user's own test suite: the pytest plugin ----------------------------------

def test_the_plugin_names_an_unknown_scenario_in_one_line_and_warns_where_values_went_nan(tmp_path, pytester):
    data = tmp_path / "const.csv"
    data.write_text("a,b,y\n" + "".join(f"1.0,1.0,{i % 2}\n" for i in range(6)))
    folder = new_scenario(tmp_path, "const", "--from", data, "--hidden", "3", "--epochs", "3",
                          "--preprocessing", "normalise", twin="detail")
    pytester.makepyfile(test_user=f"""
        from crossverify.check.pytest_plugin import assert_twin_agrees

        def test_misspelt(crossverify_r):
            assert_twin_agrees("bias_net", "bias-nte", session=crossverify_r)

        def test_constant_data(crossverify_r):
            assert_twin_agrees("detail", "const", fixtures={str(folder)!r}, session=crossverify_r)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "default")
    text = result.stdout.str()
    result.assert_outcomes(passed=1, failed=1)
    assert "E       AssertionError: crossverify: unknown scenario 'bias-nte' of twin 'bias_net' (did you mean 'bias-net'?)" in text
    assert "pytest_plugin.py" not in text.split("short test summary")[0]  # no frames of the plugin's own
    assert "not finite: R (article) produces NaN first seen at epoch 0, step 1 hiddenLayer_linearTransform" in text


def test_the_reports_checks_table_reads_as_run_prints_it_with_its_warnings(tmp_path, r_session):
    data = tmp_path / "const.csv"
    data.write_text("a,b,y\n" + "".join(f"1.0,1.0,{i % 2}\n" for i in range(6)))
    folder = new_scenario(tmp_path, "const", "--from", data, "--hidden", "3", "--epochs", "3",
                          "--preprocessing", "normalise", twin="detail")
    code, text, err = cli("report", "--fixtures", folder, "--out", tmp_path / "report")
    page = (tmp_path / "report" / "index.html").read_text()
    assert 'data-field="verdict">meets, but not finite at epoch 0 (see WARNING)</td>' in page
    assert "WARNING const: not finite: R (article) produces NaN first seen at epoch 0" in page


def test_a_twins_title_reads_in_lower_case_inside_the_reports_first_sentence():
    from crossverify.explain.report import _lower_first
    assert _lower_first("The article's bias network") == "the article's bias network"
    assert _lower_first("NumPy's power iteration") == "NumPy's power iteration"  # a name keeps its capitals


# -- case 7: compare of two twins' traces, npz producers, ULP spelling ---------------------------

def test_compare_refuses_to_match_two_twins_intermediates_by_name(tmp_path):
    for scenario, out in (("bias-net", "bias"), ("detail-toy", "toy")):
        code, _, err = cli("trace", "--impl", "python", "--scenario", scenario, "--epochs", "2", "--format", "folder",
                           "--out", tmp_path / out)
        assert code == 0, err
    code, text, err = cli("compare", tmp_path / "bias", tmp_path / "toy")
    assert code == 1 and "verdict: NOT COMPARABLE (below)" in text
    assert "A is a trace of twin 'bias_net' and B of twin 'detail'" in text and "once per sample" not in text


def test_an_npz_says_it_does_not_record_its_producer_and_ulp_is_read_in_any_case(tmp_path):
    code, _, err = cli("trace", "--impl", "python", "--epochs", "2", "--out", tmp_path / "a.npz")
    assert code == 0, err
    for tolerance in ("4ULP", "4ulps", "4 ulp", "1e-12REL"):
        code, text, err = cli("compare", tmp_path / "a.npz", tmp_path / "a.npz", "--tolerance", tolerance)
        assert code == 0, (tolerance, err)
    assert "unknown producer" not in text and "npz: its producer is not recorded" in text


# -- case 8: progress a CI log can read, and an unwritable output refused before the work --------

def test_progress_in_a_log_is_one_plain_line_per_status_through_tqdm():
    from crossverify.cli.progress import Progress
    log = io.StringIO()
    with Progress(log, interval=0) as progress:
        progress("detail-moons: check 1 of 4")
        progress("detail-moons: check 2 of 4")
    lines = log.getvalue().splitlines()
    assert [line.rsplit(" [", 1)[0] for line in lines] == ["crossverify: detail-moons: check 1 of 4",
                                                          "crossverify: detail-moons: check 2 of 4"]
    assert "\r" not in log.getvalue()


def test_run_with_its_output_piped_writes_progress_lines_to_the_log(monkeypatch):
    monkeypatch.setenv("CROSSVERIFY_PROGRESS_SECONDS", "0")  # every status, so the test needs no clock
    code, text, err = cli("run", "--scenario", "detail-toy", "--kernels", "exact")
    assert code == 0
    assert "crossverify: detail-toy: check 1 of 2 (article, exact, lockstep) [" in err
    assert "crossverify: detail-toy: check 2 of 2" in err


def test_questions_into_a_missing_folder_is_refused_before_any_answer_is_computed(tmp_path, monkeypatch):
    from crossverify.explain import questions
    monkeypatch.setattr(questions, "answer", lambda *a: pytest.fail("an answer was computed"))
    code, text, err = cli("questions", "--html", "--out", tmp_path / "missing" / "q.html")
    assert code == 2 and one_paragraph(err) and "does not exist. Create it or choose another --out; nothing was run" in err


# -- case 9: the smaller items ----------------------------------------------------------------------

def test_the_atlas_of_a_sweep_that_never_parted_says_so_without_nan_or_none(tmp_path, r_session):
    from crossverify.sweep.atlas import write_atlas
    from tests.test_broken_input_matrix import a_sweep
    folder = a_sweep(tmp_path, r_session)
    write_atlas(str(folder), str(tmp_path / "atlas"), None, None)
    page = (tmp_path / "atlas" / "index.html").read_text()
    assert "none of the 1 parted within their epochs (no horizon)" in page
    assert "median nan" not in page and "x None" not in page


def test_where_next_keeps_fixtures_and_twin_and_quotes_paths_for_a_shell():
    from crossverify.cli.main import where_next
    hint = where_next("my twin", "my scenarios ü")
    assert "crossverify steps --twin 'my twin' --fixtures 'my scenarios ü'" in hint


def test_scenario_new_quotes_the_folder_in_its_run_line_and_warns_of_a_run_that_cannot_fit(tmp_path):
    code, text, err = cli("scenario", "new", "big", "--twin", "bias_net", "--out", tmp_path / "my sc", *blobs(),
                          "--epochs", "1000000000")
    assert code == 0, err
    assert f"run it with: crossverify run --fixtures '{tmp_path / 'my sc'}'" in text
    assert "note: `crossverify run` on all of it needs about" in text and "--ignore-memory-estimate" in text


def test_a_json_error_reads_at_once(tmp_path):
    from crossverify.errors import FixtureError
    folder = tmp_path / "fx" / "s"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text('{"format": "crossverify-scenario/1", "name": "s')
    with pytest.raises(FixtureError) as exc:
        load_scenario("s", str(tmp_path / "fx"))
    assert "Unterminated string starting at line 1, column 46" in str(exc.value) and "at at" not in str(exc.value)


# -- case 5: Ctrl-C on the Dask runner ---------------------------------------------------------------

@pytest.mark.long
def test_ctrl_c_on_a_local_dask_sweep_keeps_the_rows_and_prints_no_worker_traceback(tmp_path):
    import signal
    import time
    pytest.importorskip("distributed")
    out = tmp_path / "sweep"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "crossverify", "sweep", "--twin", "bias_net", "--param", "lr=0.1",
                             "--param", "seed=0:40", "--param", "epochs=3000", "--param", "hidden=3", "--cluster",
                             "local:2", "--no-progress", "--out", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: (os.setsid(), signal.signal(signal.SIGINT, signal.SIG_DFL)))
    deadline = time.monotonic() + 300

    def one_row_stored():
        return (out / "parts").is_dir() and any((out / "parts").glob("*.ok.parquet"))

    while not one_row_stored():
        assert time.monotonic() < deadline and proc.poll() is None, "no configuration finished"
        time.sleep(0.2)  # polling for the first stored row, not waiting a fixed time
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group, as on a terminal
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in stderr.decode() and "KeyboardInterrupt" not in stderr.decode(), stderr.decode()
    assert "Interrupted: every finished configuration is kept" in stdout.decode()


def test_a_sweep_whose_traces_cannot_fit_is_refused_before_anything_runs(tmp_path):
    code, text, err = cli("sweep", "--twin", "detail", "--param", "preprocessing=normalise", "--param", "seed=0:3",
                          "--param", "hidden=3,8", "--param", "lr=0.5", "--param", "epochs=1000000000",
                          "--param", "checkpoint_every=10", "--param", "data.n_samples=40", "--workers", "2",
                          "--out", tmp_path / "sweep")
    assert code == 2 and one_paragraph(err), err
    assert "this sweep would not fit in memory: its largest configuration (" in err and "hidden=8" in err, err
    assert "nothing was run" in err and "--ignore-memory-estimate" in err and "checkpoint_every" in err, err
    assert not (tmp_path / "sweep").exists()


def test_a_sweep_that_fits_one_worker_at_a_time_is_told_how_many_workers_fit():
    from crossverify.errors import CrossverifyError
    from crossverify.sweep import spec as sweep_spec
    from crossverify.sweep.checks import check_sweep_fits, worker_bytes
    spec = sweep_spec.load(None, ["preprocessing=normalise", "seed=0:2", "hidden=3,5", "lr=0.5", "epochs=20",
                                  "checkpoint_every=10", "data.n_samples=40"], "detail")
    hyper = ("lr",)
    largest = max(worker_bytes(c) for c in spec.configs)
    assert largest == max(worker_bytes(c) for c in spec.configs if c.values["hidden"] == 5)
    check_sweep_fits(spec.configs, hyper, 3, available=3 * largest)  # exactly enough: runs
    with pytest.raises(CrossverifyError, match=r"What fits: --workers 2\."):
        check_sweep_fits(spec.configs, hyper, 3, available=3 * largest - 1)
    check_sweep_fits(spec.configs, hyper, 3, override=True, available=1)  # --ignore-memory-estimate
