"""`crossverify steps` (bridge/explain/steps.py): the article's "Visualization of steps for Neural Network
methodology", computed, Python and R side by side with differing cells marked; the detail
section's steps 0-16; prediction on new data. Run in this process through ``bridge.cli.main.main``
(one R session), with this issue's commands registered whether or not bridge/cli/main.py lists them."""
import contextlib
import io
import json
import re
from unittest import mock

import numpy as np
import pytest

import bridge.cli.main
from bridge.twins.runner import network_for
from bridge.twins.scenarios import load_scenario
from python_impl import bias_net, detail
from tests.conftest import run_cli

OWN_COMMANDS = ("bridge.cli.steps", "bridge.cli.rosetta", "bridge.cli.report")


class Terminal(io.StringIO):
    """A standard error that says it is a terminal."""

    def isatty(self):
        return True


def crossverify(*args, tty=False):
    """``crossverify ARGS`` in this process: (exit code, stdout, stderr)."""
    modules = tuple(bridge.cli.main.COMMAND_MODULES) + tuple(m for m in OWN_COMMANDS if m not in bridge.cli.main.COMMAND_MODULES)
    out, err = io.StringIO(), (Terminal() if tty else io.StringIO())
    with mock.patch.object(bridge.cli.main, "COMMAND_MODULES", modules), contextlib.redirect_stderr(err):
        code = bridge.cli.main.main([str(a) for a in args], out=out)
    return code, out.getvalue(), err.getvalue()


def steps_json(*args):
    code, out, err = crossverify("steps", "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)


def matrix(walk, step, name, label=None):
    s = next(s for s in walk["steps"] if s["step"] == step)
    return next(m for m in s["matrices"] if m["name"] == name and (label is None or m["label"] == label))


@pytest.fixture(scope="module")
def article(r_session):
    return steps_json("--variant", "article")


@pytest.fixture(scope="module")
def article_table(r_session):
    code, out, err = crossverify("steps", "--variant", "article")
    assert code == 0, err
    return out


# -- bias-net: the spreadsheet's steps 0-11 ------------------------------------------------------------

def test_bias_net_walkthrough_lists_steps_0_to_11_with_the_article_formulas(article):
    assert [s["step"] for s in article["steps"]] == list(range(12))
    formulas = [f for s in article["steps"] for f in s["formulas"]]
    assert "hidden_layer_input = matrix_dot_product(X, wh) + bh" in formulas
    assert "Error_at_hidden_layer = matrix_dot_product(d_output, wout.Transpose)" in formulas
    shown = {m["name"] for s in article["steps"] for m in s["matrices"]}
    assert set(bias_net.NAMES) | {"X", "y"} <= shown


def test_article_variant_keeps_the_drawn_numbers_and_parts_at_step_2(article):
    assert not any(s["differs"] for s in article["steps"] if s["step"] < 2)
    assert article["first_difference"]["step"] == 2
    # bh[i, j] = bias_in[i] against numpy's bias_in[j]: only the diagonal agrees
    off_diagonal = [[i, j] for i in range(3) for j in range(3) if i != j]
    assert matrix(article, 2, "bh", "as added")["r_marked"] == off_diagonal
    assert matrix(article, 2, "hidden_layer_input")["r_marked"] == off_diagonal


def test_article_variant_says_why_in_the_words_of_the_model_of_r_recycling(article):
    why = next(s["why"] for s in article["steps"] if s["step"] == 2)
    assert "bh[i, j] = bias_in[i]" in why and "one bias per sample" in why and "byrow = FALSE" in why
    assert "predicts R's bh bit for bit" in why
    assert "rowSums" in next(s["why"] for s in article["steps"] if s["step"] == 11)


def test_table_marks_each_differing_cell_with_a_star_and_names_the_kernels(article_table):
    assert "Python kernels: exact" in article_table
    block = article_table.split("hidden_layer_input: Python 3x3, R 3x3\n")[1].splitlines()
    assert block[0].split() == ["Python", "R"]
    rows = block[1:4]
    # each row: three Python cells then three R cells, the diagonal cell unmarked on both sides
    for i, line in enumerate(rows):
        cells = re.findall(r"-?\d+\.\d+\*?", line)
        marked = [c.endswith("*") for c in cells]
        assert marked == [j != i for j in range(3)] * 2, line
    assert "First difference: step 2, bh (as added)[0, 1]." in article_table


def test_corrected_with_exact_kernels_marks_no_cell_at_any_step(r_session):
    walk = steps_json("--epoch", "3")
    assert walk["variant"] == "corrected" and walk["kernels"] == "exact"
    assert walk["first_difference"] is None
    assert all(m.get("differing_cells", 0) == 0 for s in walk["steps"] for m in s["matrices"])


def test_each_matrix_is_the_one_each_language_computed_at_that_epoch(r_session):
    walk = steps_json("--epoch", "3", "--variant", "article")
    scenario = load_scenario("bias-net")
    net = network_for(scenario)
    py, r = net.python("exact", 4), net.r(r_session, "article", 4)
    for name in bias_net.NAMES:
        m = matrix(walk, dict((n, k) for k, n in bias_net.STEPS)[name], name)
        assert np.array_equal(np.array(m["python"]), py.at(3, name)), name
        assert np.array_equal(np.array(m["r"]), r.at(3, name)), name


def test_float_kernels_mark_rounding_sized_differences_only(r_session):
    walk = steps_json("--kernels", "float", "--epoch", "200")
    marked = [m for s in walk["steps"] for m in s["matrices"] if m.get("differing_cells")]
    assert marked, "float kernels should part from R in the last bits somewhere by epoch 200"
    assert max(m["max_abs_difference"] for m in marked) < 1e-13
    assert "round differently" in next(s["why"] for s in walk["steps"] if s["differs"])


def test_rowsums_only_parts_at_step_11_with_the_recycled_row_sums(r_session):
    walk = steps_json("--variant", "rowsums-only")
    assert walk["first_difference"]["step"] == 11
    assert "recycles" in next(s["why"] for s in walk["steps"] if s["step"] == 11)


def test_epoch_is_counted_from_0_and_r_loop_index_is_one_more(r_session):
    code, out, _ = crossverify("steps", "--epoch", "7")
    assert code == 0 and "epoch 7 as the article counts (R's loop calls it i = 8)" in out
    assert "wh (after epoch 6)" in out


# -- the detail scenarios: their own steps ------------------------------------------------------------

def test_detail_toy_walks_through_steps_0_to_16_bit_identical(r_session):
    walk = steps_json("--scenario", "detail-toy")
    assert [s["step"] for s in walk["steps"]] == list(range(17))
    names = [m["name"] for s in walk["steps"][1:] for m in s["matrices"]]
    assert names == list(detail.NAMES)
    assert walk["first_difference"] is None and walk["variant"] == "article"


def test_moons_shows_a_few_columns_and_says_how_many_are_hidden(r_session):
    code, out, err = crossverify("steps", "--scenario", "detail-moons")
    assert code == 0, err
    assert "(996 of 1000 columns hidden; differing cells among them: 0; --columns 0 shows all)" in out
    assert max(len(line) for line in out.splitlines() if line.lstrip().startswith("[")) < 160
    walk = steps_json("--scenario", "detail-moons")
    z1 = matrix(walk, 1, "hiddenLayer_linearTransform")
    assert z1["r_shape"] == [10, 1000] and z1["columns_hidden"] == 996
    assert all(len(row) == 4 for row in z1["python"] + z1["r"])


# -- prediction on new data ----------------------------------------------------------------------------

def test_article_variant_shows_r_refusing_to_score_a_fourth_sample(article, article_table):
    pred = article["prediction"]
    assert len(pred["inputs"]) == 4 and len(pred["python"]) == 4
    assert "non-conformable arrays" in pred["r_error"] and pred["r"] is None
    assert "belong to the 3 training rows, not to the neurons" in pred["note"]
    assert "R says: R raised an error in bias_net_predict(): Error in X %*% wh + bh : non-conformable arrays" \
        in article_table


def test_corrected_lays_the_per_neuron_bias_out_for_four_rows_and_matches_python(r_session):
    pred = steps_json("--epoch", "4999")["prediction"]
    assert 'spread_bias(bh[1, ], 4, "by-neuron")' in pred["r_code"]
    assert pred["matches"] and pred["r"] == pred["python"] and len(pred["r"]) == 4


# -- bad input -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (("--variant", "colsums"), "unknown variant 'colsums'. Known variants: article, corrected"),
    (("--scenario", "detail-toy", "--variant", "corrected"), "unknown variant 'corrected'. Known variants: article."),
    (("--kernels", "fast"), "unknown kernels 'fast'"),
    (("--epoch", "-1"), "--epoch -1: epochs are counted from 0"),
    (("--columns", "-2"), "--columns -2"),
    (("--scenario", "nope"), "unknown scenario 'nope'"),
])
def test_bad_arguments_get_one_clear_paragraph_and_exit_2(r_session, args, message):
    code, out, err = crossverify("steps", *args)
    assert code == 2 and message in err and "Traceback" not in err and out == ""


def test_steps_through_python_m_bridge_once_registered():
    if "bridge.cli.steps" not in bridge.cli.main.COMMAND_MODULES:
        pytest.skip("bridge/cli/main.py's COMMAND_MODULES does not list bridge.cli.steps yet")
    code, out, err = run_cli("steps", "--variant", "article", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["first_difference"]["step"] == 2
