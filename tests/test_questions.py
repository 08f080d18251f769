"""The readers' questions (docs/QUESTIONS.md, bridge/explain/questions.py): every answer recomputed in
Python and in R, each failing when its conclusion no longer holds; the page is what the command writes
today; the questions are in our own words; the command line lists, answers and refuses."""
import io
import json
import os
import re
import subprocess

import numpy as np
import pytest

from crossverify.cli.main import main
from crossverify.explain import questions as Q
from tests.conftest import ROOT

# the article's text, with its comment section: beside the checkout in this job's layout, else $CROSSVERIFY_ARTICLE
ARTICLE = os.environ.get("CROSSVERIFY_ARTICLE") or os.path.join(
    ROOT, "..", "shared", "article", "neural-networks-from-scratch-python-and-r.txt")


@pytest.fixture(scope="module")
def answers(r_session):
    """Every answer, computed once for this module (about 25 s: the runs behind them are shared)."""
    return {a.number: a for a in Q.answers(r_session)}


def holds(a):
    assert a.holds, f"question {a.number} ({a.key}) no longer holds: {a.failed}"
    return a


def figure(a, starts):
    return next(f for f in a.figures if f.label.startswith(starts))


def test_r_bh_is_the_three_biases_copied_into_nine_cells_one_per_sample_as_the_article_lays_them_out(answers):
    a = holds(answers[1])
    r_bh = figure(a, "bh the first epoch starts from").r
    assert r_bh.shape == (3, 3) and np.unique(r_bh).size == 3
    assert "non-conformable" in figure(a, "X . wh + bh").r
    assert figure(a, "hidden_layer_input at epoch 0, R laid out byrow = TRUE").same_bits


def test_step_8_is_the_outer_product_and_r_refuses_the_elementwise_and_untransposed_forms(answers):
    a = holds(answers[2])
    step8 = figure(a, "step 8").python
    d, w = figure(a, "d_output").python, figure(a, "t(wout)").python
    assert step8.shape == (3, 3) and np.array_equal(step8, d * w)
    assert "not aligned" in figure(a, "d_output . wout").python
    assert "non-conformable" in figure(a, "d_output . wout").r


def test_the_sigmoid_slope_of_the_activation_matches_finite_differences_and_of_its_input_diverges(answers):
    a = holds(answers[3])
    fd = figure(a, "sigmoid's slope at u by central differences").python
    assert np.allclose(figure(a, "step 6 as written").python, fd, rtol=1e-8)
    assert np.all(figure(a, "given output_layer_input instead").python < 0)
    overflow = figure(a, "trained with u * (1 - u): first epoch")
    assert overflow.python == overflow.r and 0 < overflow.python < 60


def test_keeping_lr_in_step_7_trains_as_lr_squared(answers):
    a = holds(answers[4])
    kept = figure(a, "output after 5000 epochs, with *lr").python
    assert np.allclose(kept, figure(a, "output after 5000 epochs, as written with lr").python, atol=1e-9)
    assert not np.allclose(kept, figure(a, "output after 5000 epochs, as written").python, atol=0.05)


def test_colsums_alone_fixes_bout_but_not_bh_and_with_byrow_true_r_equals_python(answers):
    a = holds(answers[5])
    assert np.unique(figure(a, "bout after 5000 epochs, R with colSums").r).size == 1
    assert np.unique(figure(a, "bout after 5000 epochs, R as the article").r).size == 3
    assert figure(a, "output after 5000 epochs, R with colSums and byrow = TRUE").same_bits
    assert figure(a, "output after 5000 epochs, R with colSums").same_bits is False


def test_a_fixed_learning_rate_steps_further_with_more_samples_and_lr_over_n_does_not(answers):
    a = holds(answers[6])
    growth = figure(a, "first update of wout, sum").python
    assert np.allclose(growth, [1, 10, 300], rtol=0.05)
    means = [f.python for f in a.figures if "(mean)" in f.label]
    assert len(means) == 3 and all(np.allclose(m, means[0], atol=1e-9) for m in means)


def test_a_hundred_hidden_neurons_from_uniform_weights_saturate_and_glorot_weights_train(answers):
    a = holds(answers[7])
    assert np.all(figure(a, "output_layer_input at epoch 0, 100 hidden").python > 53 * np.log(2))
    assert np.all(figure(a, "output after 2000 epochs").r == 1.0)
    trained = figure(a, "output after 2000 epochs, Glorot").python[:, 0]
    assert trained[0] > 0.9 and trained[1] > 0.9 and trained[2] < 0.1


def test_prediction_is_the_forward_pass_alone_in_both_languages(answers):
    a = holds(answers[8])
    scored = figure(a, "prediction after 5000 epochs")
    assert scored.same_bits and scored.python.shape == (4, 1)
    assert "non-conformable" in figure(a, "R as the article").r


def test_the_derivative_of_z1_with_respect_to_the_weights_is_x_by_finite_differences(answers):
    a = holds(answers[9])
    assert figure(a, "step 13").same_bits
    assert np.array_equal(figure(a, "step 13").python, figure(a, "X").python)
    assert figure(a, "largest |step 14").python < 1e-8


def test_a_75_by_6_data_set_trains_once_its_target_is_a_column(answers):
    a = holds(answers[10])
    assert figure(a, "E = y - output with that y").python == "75x75"
    assert "(75,75) and (1,3) not aligned" in figure(a, "step 8 with that y").python
    loss = figure(a, "mean(E^2)/2 at epochs 0 and")
    assert loss.same_bits and loss.python[1] < loss.python[0]


def test_full_batch_sums_the_samples_gradients_and_sgd_applies_them_one_by_one(answers):
    a = holds(answers[11])
    assert figure(a, "first full-batch update of wout").same_bits
    sgd, batch = figure(a, "moons, SGD").python, figure(a, "moons, full batch").python
    assert sgd.shape == batch.shape == (6,) and sgd[-1] < batch[-1] / 2


def test_every_answer_has_numbers_from_both_languages_code_from_both_and_a_one_line_conclusion(answers):
    assert sorted(answers) == [q.number for q in Q.QUESTIONS]
    for a in answers.values():
        assert any(f.same_bits for f in a.figures), a.number  # at least one number both languages agree on
        assert {c.language for c in a.code} == {"Python", "R"}, a.number
        assert a.conclusion and "\n" not in a.conclusion and len(a.claims) >= 3, a.number


def test_every_quoted_line_is_in_its_source_file(answers):
    for a in answers.values():
        for c in a.code:
            with open(os.path.join(ROOT, c.path), encoding="utf-8") as fh:
                line = fh.read().split("\n")[c.line - 1]
            first = c.text.split(" ")[0]
            assert first in line, (a.number, c)


def test_questions_and_answers_are_in_our_own_words_not_the_commenters(answers):
    # no run of 8 words of any question, reply or conclusion appears in the article's text (code and the
    # messages our runs print, in backticks, are not prose)
    if not os.path.isfile(ARTICLE):
        pytest.skip("the article's text is not here (set CROSSVERIFY_ARTICLE to its file)")
    with open(ARTICLE, encoding="utf-8") as fh:
        article = " ".join(re.findall(r"[a-z0-9']+", fh.read().lower()))
    for a in answers.values():
        for text in [a.question, a.conclusion] + list(a.reply):
            words = re.findall(r"[a-z0-9']+", re.sub(r"`[^`]*`", " zzquotedzz ", text).lower())
            for k in range(len(words) - 7):
                run = " ".join(words[k:k + 8])
                assert f" {run} " not in f" {article} ", (a.number, run)


def test_docs_questions_md_is_what_the_command_writes_today(answers):
    with open(os.path.join(ROOT, "docs", "QUESTIONS.md"), encoding="utf-8") as fh:
        committed = fh.read()
    assert committed == Q.render_markdown([answers[n] for n in sorted(answers)]), (
        "docs/QUESTIONS.md is stale: run `crossverify questions --markdown --out docs/QUESTIONS.md`")


def test_the_command_lists_the_questions_and_answers_one(r_session, tmp_path):
    out = io.StringIO()
    assert main(["questions"], out) == 0
    listed = [line for line in out.getvalue().splitlines() if re.match(r"\s*\d+\. ", line)]
    assert len(listed) == len(Q.QUESTIONS)
    out = io.StringIO()
    assert main(["questions", "2"], out) == 0
    assert "Conclusion: Step 8 is an outer product" in out.getvalue() and "[ok]" in out.getvalue()
    out = io.StringIO()
    assert main(["questions", "9", "--format", "json"], out) == 0
    (parsed,) = json.loads(out.getvalue())
    assert parsed["number"] == 9 and parsed["holds"] and parsed["code"][0]["path"].endswith(".py")
    page = tmp_path / "q2.md"
    assert main(["questions", "2", "--markdown", "--out", str(page)], io.StringIO()) == 0
    assert page.read_text().startswith('<a id="2-step-8-shapes"></a>')


def test_the_command_refuses_a_question_that_does_not_exist(capsys):
    assert main(["questions", str(len(Q.QUESTIONS) + 1)], io.StringIO()) == 2
    assert "the questions are numbered 1 to" in capsys.readouterr().err


def test_the_r_experiments_pass_their_own_testthat_checks_beside_the_installed_package():
    # questions.R lives in its twin, outside the R package: its testthat file runs here, with the
    # package's test helpers (load_fixture) in an environment inside the package's
    env = dict(os.environ, R_LIBS=os.path.join(ROOT, ".venv", "R-library"),
               CROSSVERIFY_FIXTURES=os.path.join(ROOT, "fixtures"))
    script = ('env <- new.env(parent = asNamespace("crossverify")); '
              'testthat::source_test_helpers("r_impl/tests/testthat", env); '
              'res <- as.data.frame(testthat::test_file("twins/bias_net/questions/test-questions.R", env = env, '
              'reporter = "summary", stop_on_failure = FALSE)); '
              'cat(sprintf("\\nTESTTHAT %d passed, %d failed, %d skipped\\n", sum(res$passed), '
              'sum(res$failed) + sum(res$error), sum(res$skipped)))')
    proc = subprocess.run(["Rscript", "-e", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    summary = re.search(r"TESTTHAT (\d+) passed, (\d+) failed, (\d+) skipped", proc.stdout)
    assert proc.returncode == 0 and summary, proc.stdout[-3000:] + proc.stderr[-3000:]
    passed, failed, skipped = map(int, summary.groups())
    assert (passed, failed, skipped) == (8, 0, 0), proc.stdout[-3000:]
