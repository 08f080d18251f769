"""`crossverify steps` (bridge/explain/steps.py): the article's "Visualization of steps for Neural Network
methodology", computed, Python and R side by side with differing cells marked; the detail
section's steps 0-16; prediction on new data. Run in this process through ``crossverify.cli.main.main``
(one R session), with this issue's commands registered whether or not bridge/cli/main.py lists them."""
import contextlib
import io
import json
import re
from unittest import mock

import numpy as np
import pytest

from crossverify.cli import main as cli_main
from crossverify.twins.runner import network_for
from crossverify.twins.scenarios import load_scenario
from crossverify.python_impl import bias_net, detail
from tests.conftest import run_cli

OWN_COMMANDS = ("crossverify.cli.steps", "crossverify.cli.rosetta", "crossverify.cli.report")


class Terminal(io.StringIO):
    """A standard error that says it is a terminal."""

    def isatty(self):
        return True


def crossverify(*args, tty=False):
    """``crossverify ARGS`` in this process: (exit code, stdout, stderr)."""
    modules = tuple(cli_main.COMMAND_MODULES) + tuple(m for m in OWN_COMMANDS if m not in cli_main.COMMAND_MODULES)
    out, err = io.StringIO(), (Terminal() if tty else io.StringIO())
    with mock.patch.object(cli_main, "COMMAND_MODULES", modules), contextlib.redirect_stderr(err):
        code = cli_main.main([str(a) for a in args], out=out)
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
    if "crossverify.cli.steps" not in cli_main.COMMAND_MODULES:
        pytest.skip("bridge/cli/main.py's COMMAND_MODULES does not list crossverify.cli.steps yet")
    code, out, err = run_cli("steps", "--variant", "article", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["first_difference"]["step"] == 2


def test_an_epoch_beyond_the_scenarios_last_is_refused_with_exit_2(r_session):
    code, out, err = crossverify("steps", "--epoch", "5000")
    assert code == 2 and out == "" and "Traceback" not in err
    assert "--epoch 5000: scenario bias-net trains for 5000 epochs, counted from 0, so its last is epoch 4999" in err


# -- the bias layout for other shapes: the sentences follow the model of R's recycling ---------------------

def bias_scenario_4_samples_3_hidden():
    """A bias-net scenario built here: 4 samples, 2 features, 3 hidden neurons (samples != neurons)."""
    from crossverify.twins.scenarios import Scenario
    rng = np.random.RandomState(7)
    data = {"X": np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]),
            "y": np.array([[1.0], [1.0], [0.0], [0.0]])}
    init = {"wh": rng.uniform(size=(2, 3)), "bh": np.array([[0.1, 0.2, 0.3]]), "wout": rng.uniform(size=(3, 1)),
            "bout": rng.uniform(size=(1, 1))}
    return Scenario("bias-4x3", "bias_net", None, 0.1, 3, data, init, {})


def test_the_bias_layout_sentence_is_true_for_4_samples_and_3_hidden_neurons(r_session):
    from crossverify.explain.steps import walkthrough
    walk = walkthrough(r_session, bias_scenario_4_samples_3_hidden(), "article")
    views = {s.number: s for s in walk.steps}
    why = views[2].note
    # R's matrix(rep(bias_in, 4), nrow = 4, byrow = FALSE): cell (i, j) is element i + 4j of the repeated vector
    assert "bh[i, j] = bias_in[(i + j) mod 3]" in why and "one bias per sample" not in why
    assert "agree only in rows 0 and 3" in why and "predicts R's bh bit for bit" in why
    r_bh = next(p.r for p in views[2].pairs if p.name == "bh")
    i, j = np.indices((4, 3))
    assert np.array_equal(r_bh, np.array([0.1, 0.2, 0.3])[(i + j) % 3])  # what the sentence says, R's own bh
    bh = next(p for p in views[2].pairs if p.name == "bh")
    assert [k for k in range(4) if not bh.r_marks[k].any()] == [0, 3]  # the rows the sentence says agree
    assert views[1].note.startswith("R's article script lays the drawn biases out with matrix(rep(bias_in, 4)")
    assert "bh[i, j] += lr * sum_k d[i, k]" in views[11].note
    pred = walk.prediction
    assert "cannot score a fifth sample" in pred.note and "belong to the 4 training rows" in pred.note


def test_the_commenters_colsums_sentence_follows_the_shape_too(r_session):
    from crossverify.explain.steps import walkthrough
    scenario = bias_scenario_4_samples_3_hidden()
    walk = walkthrough(r_session, scenario, "colsums-only")
    note = next(s.note for s in walk.steps if s.number == 11)
    assert "bh[i, j] gets the sum of neuron (i + j) mod 3" in note
    # R's update: bh after epoch 0 minus bh before, divided by lr, is column sum (i + j) mod 3 of d_hiddenlayer
    r = network_for(scenario).r(r_session, "colsums-only", 1)
    step = (r.at(0, "bh") - r.start["bh"]) / scenario.lr
    sums = r.at(0, "d_hiddenlayer").sum(axis=0)
    i, j = np.indices((4, 3))
    assert np.allclose(step, sums[(i + j) % 3], rtol=1e-12, atol=1e-15)


# -- any twin: one written here, outside the project -----------------------------------------------------

TINY_PY = '''
"""A tiny twin for the tests: gradient steps on |X w|^2 / 2."""


def epoch(X, state, lr, xp):
    """One gradient step."""
    z = xp.dot(X, state["w"])  # rosetta: {key} 1
    w = state["w"] - lr * xp.dot(X.T, z)  # rosetta: {key} 2
    return {{"z": z, "w": w}}


def halved(X, state, lr, variant, xp):
    """What R's halved variant computes: the same step with half the learning rate."""
    return epoch(X, state, lr / 2, xp)


def predict(X, state, xp):
    """The linear map alone, on new rows."""
    return xp.dot(X, state["w"])  # rosetta: {key} predict
'''

TINY_R = '''
{name}_epoch <- function(X, state, lr, rate = "full") {{
  if (rate == "half") lr <- lr / 2
  z <- X %*% state$w  # rosetta: {key} 1
  w <- state$w - lr * (t(X) %*% z)  # rosetta: {key} 2
  list(z = z, w = w)
}}

{name}_predict <- function(X, state) {{
  X %*% state$w  # rosetta: {key} predict
}}
'''

TINY_TWIN = '''
from crossverify.twins.protocol import RSide, Step, Twin, Variant

TWIN = Twin(
    name="{name}", title="Gradient steps on a least-squares toy", section="the crossverify tests",
    python="tiny.py:epoch", python_predict="tiny.py:predict",
    r=RSide(files=("tiny.R",), epoch="{name}_epoch", predict="{name}_predict"),
    state=("w",),
    steps=[Step(1, "z", "z = X w"), Step(2, "w", "w = w - lr X^T z")],
    titles={{0: "The data and the starting weights", 1: "Project the data", 2: "Take one gradient step"}},
    inputs={{"X": "X = the data, one sample per row", "w": "w = the weights"}},
    data={{"X": ("n", "f")}}, init={{"w": ("f", 1)}}, hyper=("lr",),
    variants={{"full": Variant(r_args={{"rate": "full"}}, description="R with the full learning rate"),
               "halved": Variant(r_args={{"rate": "half"}}, model="tiny.py:halved", description="R takes half steps")}},
    reference="full",
    pitfalls=(("a pitfall of its own", "its test lives beside the twin.", "test_tiny.py::test_the_pitfall_holds"),),
)
'''


def write_tiny_twin(root, name):
    """A twin of two steps in ``root/name`` (twin.py, tiny.py, tiny.R, a test, scenarios/tiny-small)."""
    import os
    folder = os.path.join(str(root), name)
    key = name.replace("_", "-")
    files = {"tiny.py": TINY_PY.format(key=key), "tiny.R": TINY_R.format(name=name, key=key),
             "twin.py": TINY_TWIN.format(name=name),
             "test_tiny.py": "def test_the_pitfall_holds():\n    assert 1 + 1 == 2\n"}
    manifest = {"format": "crossverify-scenario/1", "name": "tiny-small", "twin": name,
                "hyper_parameters": {"lr": (0.25).hex(), "epochs": 4}, "provenance": {"note": "written by the test"},
                "data": {"X": {"shape": [3, 2], "values": [[v.hex() for v in row] for row in
                                                            ([1.0, 0.5], [0.25, 1.0], [0.75, 0.125])]}},
                "init": {"w": {"shape": [2, 1], "values": [[(0.5).hex()], [(-0.25).hex()]]}}}
    files["scenarios/tiny-small/manifest.json"] = json.dumps(manifest, indent=1)
    for path, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(folder, path)), exist_ok=True)
        with open(os.path.join(folder, path), "w", encoding="utf-8") as fh:
            fh.write(text.lstrip())
    return folder


@pytest.fixture(scope="module")
def tiny_twin(tmp_path_factory):
    return write_tiny_twin(tmp_path_factory.mktemp("own"), "tiny_steps")


def test_steps_walks_through_a_twin_outside_the_project_from_its_declaration(r_session, tiny_twin):
    walk = steps_json("--twin", tiny_twin)
    assert (walk["network"], walk["scenario"], walk["variant"]) == ("tiny_steps", "tiny-small", "full")
    assert [(s["step"], s["title"], s["formulas"]) for s in walk["steps"]] == [
        (0, "The data and the starting weights", ["X = the data, one sample per row", "w = the weights"]),
        (1, "Project the data", ["z = X w"]), (2, "Take one gradient step", ["w = w - lr X^T z"])]
    assert [m["name"] for s in walk["steps"] for m in s["matrices"]] == ["X", "w", "z", "w"]
    assert walk["first_difference"] is None
    pred = walk["prediction"]
    assert pred["description"] == "the training data" and pred["matches"]
    assert pred["r_code"] == "tiny_steps_predict(X, state)"


def test_a_variant_of_ones_own_twin_is_explained_from_its_declaration(r_session, tiny_twin):
    walk = steps_json("--twin", tiny_twin, "--variant", "halved", "--epoch", "3")
    assert walk["first_difference"]["step"] == 0  # the weights epoch 3 starts from
    epoch0 = steps_json("--twin", tiny_twin, "--variant", "halved")
    assert epoch0["first_difference"]["step"] == 2 and epoch0["first_difference"]["name"] == "w"
    assert next(s["why"] for s in epoch0["steps"] if s["step"] == 2) == \
        "variant halved first parts from Python here (R takes half steps)."
    code, _, err = crossverify("steps", "--twin", tiny_twin, "--epoch", "4")
    assert code == 2 and "scenario tiny-small trains for 4 epochs" in err


# -- nothing generic names a shipped twin --------------------------------------------------------------------

GENERIC = ("bridge/explain/steps.py", "bridge/explain/rosetta.py", "bridge/cli/steps.py", "bridge/cli/rosetta.py")
ENGLISH = {"output", "error"}  # intermediates named like ordinary words, which prose may use


def test_steps_and_rosetta_name_no_shipped_twin_intermediate_variant_or_file():
    import inspect
    import os
    from crossverify.twins.protocol import load_twin, shipped_twins
    from tests.conftest import ROOT
    words, quoted = set(), set()
    for name, path in shipped_twins().items():
        twin = load_twin(name)
        words |= {twin.name, twin.rosetta_key, os.path.basename(os.path.dirname(path))}
        words |= {n for n in twin.names + tuple(twin.data) + tuple(twin.init) if len(n) > 1 and n not in ENGLISH}
        words |= {os.path.basename(f) for f in twin.r_files} | set(twin.preprocessing)
        words |= set(filter(None, (twin.r.epoch, twin.r.start, twin.r.predict)))
        callables = [twin.python_epoch, twin.resolve(twin.python_predict, "predict"), twin.explain_step, twin.new_data]
        callables += [twin.resolve(v.model, "model") for v in twin.variants.values()]
        words |= {os.path.basename(inspect.getsourcefile(fn)) for fn in callables if fn is not None}
        quoted |= set(twin.variants)
    for path in GENERIC:
        with open(os.path.join(ROOT, path), encoding="utf-8") as fh:
            text = fh.read()
        for word in words:
            assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), (path, word)
        for variant in quoted:
            for spelling in (f'"{variant}"', f"'{variant}'", f"`{variant}`"):
                assert spelling not in text, (path, variant)
