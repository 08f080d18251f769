"""`crossverify predict` (bridge/explain/predict.py): new rows scored by the trained twin in Python and in
R through its declared predict functions, compared bit for bit; where the article's R bias layout
cannot score the rows, R's own error and one sentence on why."""
import json

import numpy as np
import pytest

from crossverify.check import traceio
from crossverify.twins.scenarios import load_scenario
from crossverify.twins.runner import network_for
from crossverify.python_impl import bias_net
from crossverify.python_impl.kernels import get_kernels
from tests.test_scenario_builder import cli, one_paragraph

FOUR_ROWS = "1,0,1,0\n1,0,1,1\n0,1,0,1\n1,1,0,0\n"


def rows_file(tmp_path, text=FOUR_ROWS, name="new.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def predict_json(*args):
    code, out, err = cli("predict", "--format", "json", *args)
    return code, (json.loads(out) if out else None), err


def test_the_reference_variant_scores_four_new_rows_bit_for_bit_in_both_languages(tmp_path, r_session):
    code, result, err = predict_json("--input", rows_file(tmp_path), "--epochs", "30")
    assert code == 0, err
    assert result["variant"] == "corrected" and result["rows"] == 4
    assert result["agree_bit_for_bit"] and result["max_ulps"] == 0 and result["python_hex"] == result["r_hex"]
    # and it is what the Python network computes from its own trained weights
    trace = network_for(load_scenario("bias-net")).python("exact", 30)
    state = {w: trace.series(w)[-1] for w in bias_net.WEIGHTS}
    X = np.array([[1, 0, 1, 0], [1, 0, 1, 1], [0, 1, 0, 1], [1, 1, 0, 0]], dtype=float)
    assert np.array_equal(np.array(result["python"]), bias_net.predict(X, state, get_kernels("exact")))


def test_the_article_variant_cannot_score_a_fourth_row_and_r_says_why(tmp_path, r_session):
    code, result, err = predict_json("--input", rows_file(tmp_path), "--variant", "article", "--epochs", "30")
    assert code == 0, err
    assert result["r"] is None and "non-conformable arrays" in result["r_error"]  # R's own message
    assert "R's variant 'article' keeps its trained bh, bout once per training sample" in result["explanation"]
    assert "bh is 3x3 where the twin declares 1x3" in result["explanation"]
    assert "3 training rows" in result["explanation"] and "4 new rows" in result["explanation"]
    assert result["python"] is not None and len(result["python"]) == 4
    code, text, _ = cli("predict", "--input", rows_file(tmp_path), "--variant", "article", "--epochs", "30")
    assert "R could not score them: R raised an error" in text and "Why: R's variant 'article'" in text


def test_the_article_variant_scores_as_many_rows_as_it_trained_on_with_their_own_biases(tmp_path, r_session):
    three = rows_file(tmp_path, "1,0,1,1\n0,1,0,1\n1,1,0,0\n", "three.csv")
    code, result, err = predict_json("--input", three, "--variant", "article", "--epochs", "30")
    assert code == 0 and result["r"] is not None and not result["agree_bit_for_bit"], err
    assert any("new row i took training sample i's values" in n for n in result["notes"])


def test_a_twin_with_samples_as_columns_gets_the_rows_transposed_and_agrees(tmp_path, r_session):
    code, result, err = predict_json("--scenario", "detail-toy", "--input", rows_file(tmp_path), "--epochs", "10")
    assert code == 0 and result["agree_bit_for_bit"], err
    assert np.array(result["python"]).shape == (4, 1)  # one prediction per row, as the rows were given
    assert any("one sample per column: the rows were transposed to 4x4" in n for n in result["notes"])


def test_the_final_state_of_an_r_trace_scores_the_rows_as_training_does(tmp_path, r_session):
    scenario = load_scenario("bias-net")
    run = network_for(scenario)
    trace = traceio.from_trace(run.r(r_session, "corrected", 30), run.twin, "bias-net", {"language": "R"})
    traceio.write_folder(str(tmp_path / "r-trace"), trace)
    code, from_trace, err = predict_json("--input", rows_file(tmp_path), "--trace", tmp_path / "r-trace")
    assert code == 0 and from_trace["agree_bit_for_bit"], err
    assert "the final state of the trace (R)" in from_trace["state"]
    _, trained, _ = predict_json("--input", rows_file(tmp_path), "--epochs", "30")
    assert from_trace["python_hex"] == trained["python_hex"]


def test_float_kernels_report_the_distance_in_ulps(tmp_path, r_session):
    code, result, err = predict_json("--input", rows_file(tmp_path), "--kernels", "float", "--epochs", "30")
    assert code == 0, err
    assert isinstance(result["max_ulps"], int) and result["max_ulps"] < 64
    assert result["agree_bit_for_bit"] == (result["max_ulps"] == 0)


@pytest.mark.parametrize("args, message", [
    (["--input", "{tmp}/missing.csv"], "--input {tmp}/missing.csv: no such file"),
    (["--input", "{tmp}/wide.csv"], "--input has 5 columns and the network takes 4"),
    (["--input", "{tmp}/new.txt"], "is neither .csv nor .npy"),
    (["--input", "{tmp}/new.csv", "--variant", "byrow"], "unknown variant 'byrow'"),
    (["--input", "{tmp}/new.csv", "--kernels", "fast"], "unknown kernels 'fast'"),
    (["--input", "{tmp}/new.csv", "--scenario", "bias_net"], "unknown scenario 'bias_net'"),
    (["--input", "{tmp}/new.csv", "--trace", "{tmp}/nowhere"], "trace {tmp}/nowhere: no such file or folder"),
    (["--input", "{tmp}/new.csv", "--epochs", "0"], "--epochs 0"),
])
def test_bad_predict_input_exits_2_in_one_paragraph(tmp_path, args, message):
    rows_file(tmp_path)
    rows_file(tmp_path, "1,0,1,0,1\n", "wide.csv")
    rows_file(tmp_path, FOUR_ROWS, "new.txt")
    code, out, err = cli("predict", *[a.format(tmp=tmp_path) for a in args])
    assert code == 2 and out == "" and one_paragraph(err) and message.format(tmp=tmp_path) in err, err
