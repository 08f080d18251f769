"""The ``crossverify`` command line (docs/FACTS.md section 7): ``run`` with its table and JSON, ``trace``
with its .npz, ``--help`` everywhere, and clear errors for bad input."""
import json
import os
import stat

import numpy as np
import pytest

from crossverify.python_impl import bias_net
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def run_json():
    code, out, err = run_cli("run", "--format", "json")
    return code, json.loads(out), err


def test_run_with_no_arguments_covers_every_scenario_variant_kernels_and_mode(run_json):
    code, report, _ = run_json
    rows = report["rows"]
    both = {(k, m) for k in ("exact", "float") for m in ("lockstep", "free-running")}
    assert {(r["variant"], r["kernels"], r["mode"]) for r in rows if r["scenario"] == "bias-net"} == {
        (v, k, m) for v in ("article", "corrected", "rowsums-only", "colsums-only") for k, m in both}
    for scenario in ("detail-toy", "detail-moons"):
        assert {(r["kernels"], r["mode"]) for r in rows if r["scenario"] == scenario} == both
    assert len(rows) == 16 + 4 + 4


def test_run_exits_zero_and_every_row_meets_its_expectation(run_json):
    code, report, _ = run_json
    assert code == 0 and report["ok"]
    assert all(r["verdict"] == "meets" for r in report["rows"]), [r["note"] for r in report["rows"] if not r["ok"]]


def test_run_states_the_expected_outcome_per_row(run_json):
    _, report, _ = run_json
    by_key = {(r["variant"], r["kernels"], r["mode"]): r for r in report["rows"] if r["scenario"] == "bias-net"}
    assert by_key[("corrected", "exact", "free-running")]["expectation"] == "identical"
    assert by_key[("corrected", "exact", "free-running")]["max_abs_difference"] == 0.0
    assert by_key[("corrected", "float", "lockstep")]["expectation"] == "within-bound"
    article = by_key[("article", "exact", "lockstep")]
    assert article["expectation"] == "differs-as-predicted"
    first = article["first_divergence"]
    assert (first["epoch"], first["step"], first["name"]) == (0, 2, "hidden_layer_input")
    assert first == article["predicted_divergence"] | {"labels": ["python", "r"]}
    rows_only = by_key[("rowsums-only", "exact", "free-running")]["first_divergence"]
    assert (rows_only["epoch"], rows_only["step"], rows_only["name"]) == (0, 11, "bout")


def test_moons_float_free_running_reports_its_divergence_horizon(run_json):
    _, report, _ = run_json
    row = next(r for r in report["rows"] if r["scenario"] == "detail-moons" and r["kernels"] == "float"
               and r["mode"] == "free-running")
    assert row["verdict"] == "meets" and row["expectation"] == "within-bound"
    assert 3000 < row["horizon"] < 5000  # docs/FACTS.md section 6: the trajectories part near epoch 3900
    exact = next(r for r in report["rows"] if r["scenario"] == "detail-moons" and r["kernels"] == "exact"
                 and r["mode"] == "free-running")
    assert exact["max_abs_difference"] == 0.0 and exact["horizon"] is None


def test_full_audit_checks_every_intermediate_of_every_epoch():
    code, out, err = run_cli("run", "--scenario", "detail-toy", "--audit", "full", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert len(rows) == 4 and all(r["audit"] == "full" and r["epochs_with_every_intermediate"] == 1000 for r in rows)
    code, out, _ = run_cli("run", "--scenario", "detail-moons", "--kernels", "exact", "--mode", "lockstep",
                           "--format", "json")
    row = json.loads(out)["rows"][0]
    assert row["audit"] == "checkpoints" and row["epochs_with_every_intermediate"] == 11


def test_run_prints_a_table_with_one_line_per_check():
    code, out, _ = run_cli("run", "--scenario", "bias-net", "--variant", "corrected", "--kernels", "float",
                           "--per-intermediate")
    assert code == 0
    header = next(line for line in out.splitlines() if line.strip().startswith("scenario"))
    for column in ("variant", "kernels", "mode", "expectation", "verdict", "first divergence", "max difference"):
        assert column in header
    assert "2 of 2 checks meet their expectation." in out
    assert "Error_at_hidden_layer" in out  # the per-intermediate table


@pytest.mark.parametrize("command", [[], ["run"], ["trace"], ["reproduce"], ["steps"], ["rosetta"], ["report"],
                                     ["golden"], ["golden", "record"], ["golden", "check"]])
def test_every_command_has_help(command):
    code, out, _ = run_cli(*command, "--help")
    assert code == 0 and "usage: crossverify" in out


@pytest.mark.parametrize("impl,extra", [("python", ["--kernels", "exact"]), ("python", ["--kernels", "float"]),
                                        ("r", ["--variant", "article"])])
def test_trace_writes_every_intermediate_of_every_epoch(tmp_path, impl, extra):
    out_file = tmp_path / "trace.npz"
    code, out, err = run_cli("trace", "--scenario", "bias-net", "--impl", impl, *extra, "--epochs", "7",
                             "--out", str(out_file))
    assert code == 0, err
    with np.load(out_file) as npz:
        keys = set(npz.files)
        assert {"init/wh", "init/bh", "init/wout", "init/bout"} <= keys
        assert {f"epoch{e}/{n}" for e in range(7) for n in bias_net.NAMES} <= keys
        assert npz["epoch6/output"].shape == (3, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["trace.npz"]


def test_python_and_r_traces_on_disk_agree_bit_for_bit(tmp_path):
    files = {}
    for impl in ("python", "r"):
        files[impl] = tmp_path / f"{impl}.npz"
        assert run_cli("trace", "--impl", impl, "--epochs", "20", "--out", str(files[impl]))[0] == 0
    with np.load(files["python"]) as py, np.load(files["r"]) as r:
        for key in py.files:
            a, b = np.broadcast_arrays(py[key], r[key])
            assert np.array_equal(a.view(np.uint64), b.view(np.uint64)), key


@pytest.mark.parametrize("args,message", [
    (["run", "--scenario", "moons"], "unknown scenario 'moons'. Known scenarios: bias-net, detail-moons, detail-toy"),
    (["run", "--audit", "some"], "invalid choice: 'some'"),
    (["run", "--variant", "colsums"], "unknown variant 'colsums'. Known variants: article, corrected"),
    (["run", "--kernels", "fast"], "unknown kernels 'fast'. Known kernels: exact, float"),
    (["run", "--mode", "together"], "unknown mode 'together'"),
    (["trace", "--impl", "r", "--variant", "rowSums", "--out", "x.npz"], "unknown variant 'rowSums'"),
    (["trace", "--impl", "python", "--epochs", "0", "--out", "x.npz"], "--epochs 0: the number of epochs must be 1 or more"),
    (["trace", "--impl", "python", "--epochs", "-3", "--out", "x.npz"], "--epochs -3"),
    (["trace", "--impl", "python", "--out", "trace.csv"], "give a file name ending in .npz"),
    (["run", "--fixtures", "/nonexistent-crossverify"], "no such fixtures folder"),
])
def test_bad_arguments_get_one_clear_paragraph_and_exit_2(args, message):
    code, out, err = run_cli(*args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_unwritable_output_folder_is_refused_and_nothing_is_written(tmp_path):
    # a folder nobody may create files in, root included: /sys (and chmod 0500 for other users)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        for folder in ([locked] if os.access(locked, os.W_OK) is False else []) + ["/sys"]:
            code, _, err = run_cli("trace", "--impl", "python", "--epochs", "2", "--out", os.path.join(folder, "t.npz"))
            assert code == 2 and "is not writable" in err and "Traceback" not in err
            assert not os.path.exists(os.path.join(folder, "t.npz"))
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(stat.S_IRWXU)


def test_missing_output_folder_is_refused(tmp_path):
    code, _, err = run_cli("trace", "--impl", "python", "--epochs", "2", "--out", str(tmp_path / "no" / "t.npz"))
    assert code == 2 and "does not exist" in err and not (tmp_path / "no").exists()
