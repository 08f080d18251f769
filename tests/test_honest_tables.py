"""`crossverify run`'s table says what each number measures: differences between which two traces,
a free-running row past its horizon checked step by step, a run that saturated or cannot learn."""
import json

from tests.conftest import run_cli

XOR_CSV = "x1,x2,x3,x4,y\n1,0,1,0,1\n1,0,1,1,1\n0,1,0,1,0\n"


def test_a_100_hidden_bias_net_takes_two_commands_and_warns_that_it_is_saturated_and_cannot_learn(tmp_path):
    (tmp_path / "xor.csv").write_text(XOR_CSV)
    code, _, err = run_cli("scenario", "new", "wide", "--twin", "bias_net", "--from", str(tmp_path / "xor.csv"),
                           "--size", "h=100", "--lr", "0.1", "--epochs", "50", "--out", str(tmp_path / "scen"))
    assert code == 0, err
    code, out, err = run_cli("run", "--fixtures", str(tmp_path / "scen"), "--variant", "corrected")
    assert code == 0, err
    assert "WARNING wide: saturated: step 4 output: 150 of 150 elements saturated (exactly 0.0: 0, exactly 1.0: 150), " \
           "first at epoch 0" in out
    assert "WARNING wide: training cannot move: every update of wh, bh, wout, bout is exactly zero" in out


def test_a_trainable_scenario_carries_no_warning():
    code, out, _ = run_cli("run", "--scenario", "detail-toy", "--kernels", "exact", "--format", "json")
    assert code == 0
    assert all(row["warnings"] == [] for row in json.loads(out)["rows"])


def test_a_free_running_float_row_past_its_horizon_says_it_meets_step_by_step():
    code, out, _ = run_cli("run", "--scenario", "detail-moons", "--kernels", "float", "--mode", "free-running")
    assert code == 0
    assert "meets (each step; trajectories part at epoch 3926)" in out


def test_each_row_says_between_which_traces_its_difference_is_measured():
    code, out, _ = run_cli("run", "--scenario", "bias-net", "--epochs", "5", "--kernels", "exact", "--mode", "lockstep",
                           "--format", "json")
    assert code == 0
    between = {row["variant"]: row["differences_between"] for row in json.loads(out)["rows"]}
    assert between == {"article": "model of R vs R", "corrected": "python vs R", "rowsums-only": "model of R vs R",
                       "colsums-only": "model of R vs R"}


def test_run_epochs_runs_that_many_epochs_and_refuses_zero():
    code, out, _ = run_cli("run", "--scenario", "bias-net", "--epochs", "7", "--variant", "corrected", "--kernels",
                           "exact", "--mode", "free-running", "--format", "json")
    assert code == 0 and json.loads(out)["rows"][0]["epochs_with_every_intermediate"] == 7
    code, _, err = run_cli("run", "--scenario", "bias-net", "--epochs", "0")
    assert code == 2 and "--epochs 0: the number of epochs must be 1 or more." in err
