"""`crossverify rosetta` (bridge/explain/rosetta.py): the translation table extracted from the marker
comments of each twin's source files (the shipped twins' python_impl/ and r_impl/R/, and a twin
written here outside the project), docs/ROSETTA.md kept up to date, and the pitfalls of
translating numpy into R the twins declare, each demonstrated by a test (most of them here)."""
import importlib
import importlib.util
import os
import re
import shutil

import numpy as np
import pytest

from crossverify.shipped_twins.bias_net import rmodel
from crossverify.explain import machine
from crossverify.explain.rosetta import (build, pitfalls, prediction_demo, read_snippets, render_markdown,
                                    shipped, source_files)
from crossverify.twins.runner import network_for
from crossverify.twins.scenarios import load_scenario
from crossverify.python_impl import bias_net, detail
from crossverify.python_impl.kernels import get_kernels
from tests.conftest import ROOT
from tests.test_steps import crossverify, write_tiny_twin

EXACT = get_kernels("exact")


def pitfall_test(reference, twins=None):
    """The test function a pitfall names (``tests/test_x.py::test_y``, from a twin's folder or the
    project root), imported; None when missing."""
    path, _, name = reference.partition("::")
    for twin in list(twins or ()):
        full = twin.path(path)
        if twin.base_dir and os.path.isfile(full):
            spec = importlib.util.spec_from_file_location(f"crossverify_pitfall_{abs(hash(full))}", full)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return getattr(module, name, None)
    module = importlib.import_module(path[:-3].replace("/", "."))
    return getattr(module, name, None)


PITFALLS = pitfalls()  # the shipped twins' pitfalls
DOC = os.path.join(ROOT, "docs", "ROSETTA.md")


def same_bits(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


@pytest.fixture(scope="module")
def rosetta():
    return build()


def rows_of(rosetta, network):
    return next(rows for key, _, _, _, rows in rosetta.sections if key == network)


# -- the table -----------------------------------------------------------------------------------------

def test_every_step_of_every_network_has_its_python_line_and_its_r_line(rosetta):
    assert rosetta.problems == []
    for network, steps, names in (("bias-net", range(2, 12), bias_net.STEPS), ("detail", range(1, 17), detail.STEPS)):
        rows = [r for r in rows_of(rosetta, network) if r.name]
        assert [(int(r.key), r.name) for r in rows] == [(k, n) for k, n in names], network
        assert {int(r.key) for r in rows} == set(steps)
        for row in rows:
            assert len(row.python) == 1 and len(row.r) == 1, (network, row.key, row.name)
            assert row.python[0].target == row.r[0].target == row.name


def test_steps_that_compute_two_things_show_both_lines(rosetta):
    rows = rows_of(rosetta, "bias-net")
    for step, names in ((4, ["output_layer_input", "output"]), (6, ["slope_output_layer", "slope_hidden_layer"]),
                        (10, ["wout", "wh"]), (11, ["bout", "bh"])):
        assert [r.name for r in rows if r.key == str(step)] == names


def test_the_article_scripts_row_sums_stand_beside_the_corrected_bias_update(rosetta):
    step11 = [r for r in rows_of(rosetta, "bias-net") if r.key == "11"]
    assert [s.text for r in step11 for s in r.r] == [
        "bout <- bout + spread_bias(colSums(d_output), nrow(bout), bias_layout) * lr",
        "bh <- bh + spread_bias(colSums(d_hiddenlayer), nrow(bh), bias_layout) * lr"]
    assert [(tag, s.text) for r in step11 for tag, s in r.r_alternatives] == [
        ("article", "bout <- bout + rowSums(d_output) * lr"), ("article", "bh <- bh + rowSums(d_hiddenlayer) * lr")]


def test_every_extracted_line_is_in_the_source_where_its_marker_is(rosetta):
    count = 0
    for _, _, py_path, r_path, rows in rosetta.sections:
        for row in rows:
            for snippet in row.python + row.r + [s for _, s in row.r_alternatives]:
                with open(os.path.join(ROOT, snippet.path), encoding="utf-8") as fh:
                    lines = fh.read().split("\n")
                assert "# rosetta: " in lines[snippet.line - 1], snippet
                for k, code in enumerate(snippet.code):
                    assert code.strip() and lines[snippet.line - 1 + k].startswith(code), (snippet.path, snippet.line + k)
                count += 1
    assert count >= 2 * (14 + 16) + 2


def test_a_statement_over_several_lines_is_extracted_whole(rosetta):
    step14 = next(r for r in rows_of(rosetta, "detail") if r.key == "14")
    assert len(step14.python[0].code) >= 3 and len(step14.r[0].code) >= 3
    assert step14.python[0].text.endswith("error_wrt_output)).T)")
    assert step14.r[0].text.endswith("(output_wrt_outputLayer_LinearTransform * error_wrt_output)))")
    assert step14.python[0].function == "input_hidden_gradient" == step14.r[0].function


def _copy_sources(tmp_path):
    for twin in shipped():
        for path in sum(source_files(twin), ()):
            os.makedirs(tmp_path / os.path.dirname(path), exist_ok=True)
            shutil.copy(os.path.join(ROOT, path), tmp_path / path)


def test_a_step_marked_on_one_side_only_is_reported(tmp_path):
    _copy_sources(tmp_path)
    path = tmp_path / "r_impl/R/bias_net.R"
    text = path.read_text()
    path.write_text(text.replace("E <- y - output  # rosetta: bias-net 5", "E <- y - output"))
    problems = build(root=str(tmp_path)).problems
    assert problems == ["bias-net step 5 (E): no R line is marked '# rosetta: bias-net 5' in r_impl/R/bias_net.R"]


def test_a_marker_on_a_line_that_computes_another_intermediate_is_reported(tmp_path):
    _copy_sources(tmp_path)
    path = tmp_path / "python_impl/detail.py"
    text = path.read_text()
    path.write_text(text.replace("# rosetta: detail 15", "# rosetta: detail 16"))
    problems = build(root=str(tmp_path)).problems
    assert any("step 15 (weights_hidden_output): no Python line" in p for p in problems), problems
    assert any("matches no intermediate of that step" in p for p in problems), problems


def test_read_snippets_ignores_a_hash_inside_an_r_string(tmp_path):
    (tmp_path / "x.R").write_text('f <- function() {\n  s <- paste("#", 1)  # rosetta: bias-net 5\n}\n')
    (snippet,) = read_snippets("x.R", root=str(tmp_path))
    assert snippet.text == 's <- paste("#", 1)' and snippet.function == "f" and snippet.target == "s"


# -- the command and the committed page ---------------------------------------------------------------

@pytest.fixture(scope="module")
def markdown(r_session):
    code, out, err = crossverify("rosetta")
    assert code == 0, err
    return out


def test_rosetta_prints_markdown_tables_python_beside_r(markdown):
    assert "| step | formula | Python | R |" in markdown
    assert ("| 2 | `hidden_layer_input = matrix_dot_product(X, wh) + bh` | `hidden_layer_input = xp.dot(X, wh) + bh` "
            "(hidden_linear) | `hidden_layer_input <- X %*% wh + bh` (hidden_linear) |") in markdown
    assert "## Pitfalls this project hit" in markdown and "(missing)" not in markdown


def test_rosetta_shows_the_article_r_model_refusing_a_fourth_sample(markdown):
    part = markdown.split("## Prediction on new data")[1]
    assert "R says `Error in X %*% wh + bh : non-conformable arrays`" in part
    assert 'spread_bias(bh[1, ], 4, "by-neuron")' in part and "R matches Python bit for bit" in part


def test_rosetta_html_is_one_page_with_the_same_rows(r_session, tmp_path):
    target = tmp_path / "rosetta.html"
    code, out, err = crossverify("rosetta", "--format", "html", "--out", target)
    assert code == 0, err
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<code>hidden_layer_input &lt;- X %*% wh + bh</code>" in page
    assert page.count("<tr>") == sum(len(rows) for *_, rows in build().sections) + 2
    assert not [p for p in os.listdir(tmp_path) if p != "rosetta.html"]


def without_measured_figures(markdown):
    """The page with each pitfall sentence a twin measures on the machine that renders it (a callable in
    its declaration: a percentage, a CPU's SIMD extension) cut to its title and test; the rest of the
    page is the same on every machine."""
    measured = {title for twin in shipped() for title, sentence, _ in twin.pitfalls if callable(sentence)}
    lines = []
    for line in markdown.splitlines():
        found = re.match(r"\* \*\*(.+?)\*\*: .*(Demonstrated by `[^`]+`\.)$", line)
        if found and found.group(1) in measured:
            line = f"* **{found.group(1)}**: (measured where the page is made) {found.group(2)}"
        lines.append(line)
    return "\n".join(lines)


def test_docs_rosetta_md_is_what_the_command_prints_today(markdown):
    # compared with the figures measured on the machine that wrote the page left out: those are this
    # machine's to measure (test_the_exp_pitfall_states_what_was_measured_on_this_machine_and_r_agrees)
    with open(DOC, encoding="utf-8") as fh:
        committed = fh.read()
    assert without_measured_figures(committed) == without_measured_figures(markdown), (
        "docs/ROSETTA.md is out of date: run `crossverify rosetta --out docs/ROSETTA.md`")
    assert without_measured_figures(markdown) != markdown  # a measured sentence was found and set aside


def test_render_is_the_same_without_the_command_line(r_session, markdown):
    assert render_markdown(build(), prediction_demo(r_session)) == markdown


# -- the pitfalls: each names a test that exists ---------------------------------------------------------

@pytest.mark.parametrize("title,sentence,test", PITFALLS, ids=[p[0] for p in PITFALLS])
def test_every_pitfall_names_a_test_that_exists(title, sentence, test):
    fn = pitfall_test(test)
    assert callable(fn) and fn.__name__.startswith("test_"), test
    assert sentence.endswith(".") and len(sentence) < 400


def test_the_pitfalls_cover_what_the_project_hit():
    titles = " ".join(p[0] for p in PITFALLS)
    for topic in ("%*%", "t()", "byrow", "recycling", "rowSums", "rpy2", "decimal", "random", "long-double",
                  "exp", "1-based"):
        assert topic in titles, topic


def test_r_star_is_elementwise_like_numpy_star_and_percent_star_percent_is_np_dot(r_session):
    a = np.arange(1.0, 10.0).reshape(3, 3) / 7
    b = np.arange(2.0, 11.0).reshape(3, 3).T / 3
    star = r_session.from_r(r_session.call("*", r_session.to_r(a), r_session.to_r(b)))
    product = r_session.from_r(r_session.call("%*%", r_session.to_r(a), r_session.to_r(b)))
    assert same_bits(star, a * b)
    assert same_bits(product, EXACT.dot(a, b)) and np.allclose(product, np.dot(a, b), rtol=1e-15, atol=0)
    assert not np.allclose(star, product)


def test_t_is_dot_T_and_dropping_it_from_step_10_still_conforms_but_changes_wout(r_session, bias_scenario):
    X = bias_scenario.data["X"]
    assert same_bits(r_session.from_r(r_session.call("t", r_session.to_r(X))), X.T)
    values = bias_net.epoch(X, bias_scenario.data["y"], bias_scenario.init, bias_scenario.lr, EXACT)
    h, d = (r_session.to_r(values[k]) for k in ("hiddenlayer_activations", "d_output"))
    right = r_session.from_r(r_session.call("%*%", r_session.call("t", h), d))
    wrong = r_session.from_r(r_session.call("%*%", h, d))  # 3x3 %*% 3x1: no error from R
    assert right.shape == wrong.shape == (3, 1) and not np.allclose(right, wrong)


def test_matrix_fills_by_column_unless_byrow_as_the_model_of_r_predicts(r_session):
    v = np.arange(1.0, 7.0)
    by_column = r_session.from_r(r_session.call("matrix", r_session.ro.FloatVector(v), nrow=2))
    by_row = r_session.from_r(r_session.call("matrix", r_session.ro.FloatVector(v), nrow=2, byrow=True))
    assert same_bits(by_row, v.reshape(2, 3)) and same_bits(by_column, v.reshape(3, 2).T)
    assert same_bits(by_column, rmodel.r_matrix(v, 2, byrow=False))
    bias_in = np.array([0.1, 0.2, 0.3])
    article = r_session.from_r(r_session.call("spread_bias", r_session.ro.FloatVector(bias_in), 3, "by-sample"))
    assert same_bits(article, np.repeat(bias_in[:, None], 3, axis=1))  # bh[i, j] = bias_in[i]
    assert same_bits(article, rmodel.spread_bias(bias_in, 3, "by-sample"))


def test_rpy2_conversion_keeps_indices_only_when_it_sends_column_major(r_session):
    ro = r_session.ro
    a = np.arange(6.0).reshape(2, 3)
    sent = r_session.to_r(a)
    assert ro.r("function(m) m[1, 2]")(sent)[0] == a[0, 1]
    assert same_bits(r_session.from_r(sent), a)
    naive = ro.r["matrix"](ro.FloatVector(a.ravel()), nrow=2)  # numpy's memory order, R's fill order
    assert same_bits(r_session.from_r(naive), a.ravel().reshape(3, 2).T)
    assert not np.array_equal(r_session.from_r(naive), a)


def test_r_reads_a_decimal_one_ulp_off_and_the_smallest_subnormal_hex_as_zero(r_session):
    ro = r_session.ro

    def r_number(text):
        return float(ro.r["as.numeric"](ro.StrVector([text]))[0])

    text = "37319.23331802752"
    assert float(text).hex() == "0x1.238e777575e39p+15"
    assert r_number(text).hex() == "0x1.238e777575e38p+15" == np.nextafter(float(text), 0.0).hex()
    assert r_number(float(text).hex()) == float(text)  # the fixtures' hex text is read exactly
    assert float.fromhex("0x1p-1074") == 5e-324 and r_number("0x1p-1074") == 0.0
    assert r_number((5e-324).hex()) == 5e-324  # float.hex() spells it 0x0.0000000000001p-1022


def test_seed_42_draws_different_numbers_in_r_and_numpy(r_session):
    # R's global stream is restored afterwards, so no other test sees this seed
    draws = r_session.eval("""local({
        saved <- if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv()) else NULL
        set.seed(42); u <- runif(3); set.seed(42); n <- rnorm(3)
        if (is.null(saved)) rm(".Random.seed", envir = globalenv()) else assign(".Random.seed", saved, globalenv())
        c(u, n)})""")
    r_uniform, r_normal = np.array(draws)[:3], np.array(draws)[3:]
    rng = np.random.RandomState(42)
    py_uniform = rng.uniform(size=3)
    py_normal = np.random.RandomState(42).normal(size=3)
    assert not np.isin(r_uniform, py_uniform).any() and not np.isin(r_normal, py_normal).any()
    fixture = load_scenario("bias-net").init["wh"].ravel()[:3]
    assert same_bits(fixture, py_uniform)  # the fixture holds numpy's stream, which both sides read


def test_r_mean_and_colsums_accumulate_in_long_double_and_numpy_does_not(r_session):
    a = np.array([1e16, 1.0, -1e16])
    r_mean = r_session.from_r(r_session.call("mean", r_session.to_r(a)))[0]
    r_sum = r_session.from_r(r_session.call("colSums", r_session.to_r(a[:, None])))[0]
    assert r_mean == 0.3336588541666667 and np.mean(a) == 0.0
    assert r_sum == 1.0 and np.sum(a) == 0.0
    assert EXACT.mean(a) == r_mean and EXACT.sum(a[:, None], axis=0)[0, 0] == r_sum


def _avx512():
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    return __cpu_features__.get("AVX512F", False)


def test_numpy_exp_differs_from_libm_exp_in_a_few_percent_of_inputs(r_session):
    if not _avx512():
        pytest.skip("numpy's SIMD exp runs on AVX-512 machines; here numpy calls the C library's exp")
    x = np.random.default_rng(20170529).uniform(-40.0, 40.0, 100_000)
    r_exp = r_session.from_r(r_session.call("exp", r_session.to_r(x)))
    assert same_bits(EXACT.exp(x), r_exp)  # libm's exp, as R calls it
    ulps = np.abs(np.exp(x).view(np.int64) - r_exp.view(np.int64))
    assert 0.03 < np.mean(ulps > 0) < 0.06 and ulps.max() == 1


def test_r_loop_index_i_is_the_article_epoch_i_minus_1(r_session):
    scenario = load_scenario("detail-toy")
    X, y, init = scenario.data["X"], scenario.data["y"], scenario.init
    res = r_session.call("detail_train", r_session.to_r(X), r_session.to_r(y),
                         r_session.to_r(init["weights_input_hidden"]), r_session.to_r(init["weights_hidden_output"]),
                         scenario.lr, 5, r_session.ro.IntVector([3]))
    steps = dict(zip(res.names, res))["steps"]
    r_output = r_session.from_r(dict(zip(steps.names, steps))["output"])[:, :, 0]
    py = network_for(scenario).python("exact", 5)
    assert same_bits(r_output, py.at(2, "output"))  # R's i = 3 is the article's epoch 2
    assert not same_bits(r_output, py.at(3, "output"))
    bh = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    assert same_bits(r_session.ro.r("function(m) m[1, ]")(r_session.to_r(bh)), bh[0])


def test_the_exp_pitfall_states_what_was_measured_on_this_machine_and_r_agrees(r_session):
    measured = machine.exp_mismatch()
    sentence = next(text for title, text, _ in PITFALLS if "exp" in title)
    assert f"{measured.inputs} random inputs" in sentence
    assert (f"in {measured.percent} of" in sentence) if measured.fraction else "equals the C library's" in sentence
    # the same inputs through R's exp, which is the C library's: the fraction the sentence states
    x = np.random.default_rng(machine.SEED).uniform(-machine.EXP_RANGE, machine.EXP_RANGE, measured.inputs)
    r_exp = r_session.from_r(r_session.call("exp", r_session.to_r(x)))
    assert np.mean(np.exp(x).view(np.int64) != r_exp.view(np.int64)) == measured.fraction


# -- a twin of one's own, outside the project -----------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_twin(tmp_path_factory):
    return write_tiny_twin(tmp_path_factory.mktemp("own"), "tiny_rosetta")


def test_rosetta_of_a_twin_outside_the_project_reads_its_declaration_and_files(r_session, tiny_twin):
    code, out, err = crossverify("rosetta", "--twin", tiny_twin)
    assert code == 0, err
    assert "## tiny-rosetta: Gradient steps on a least-squares toy" in out
    assert "Python: `tiny.py`; R: `tiny.R`." in out
    assert ("| 2 | `w = w - lr X^T z` | `w = state[\"w\"] - lr * xp.dot(X.T, z)` (epoch) | "
            "`w <- state$w - lr * (t(X) %*% z)` (tiny_rosetta_epoch) |") in out
    assert "| predict | The linear map alone, on new rows. |" in out
    demo = out.split("## Prediction on new data")[1]
    assert "scenario `tiny-small`" in demo and "After its 4 training epochs" in demo
    assert "R, variant `full`, `tiny_rosetta_predict(X, state)`" in demo and "R matches Python bit for bit" in demo
    assert "## Pitfalls this project hit" in out and "`test_tiny.py::test_the_pitfall_holds`" in out
    assert "bias-net" not in out and "detail" not in out  # only the twin asked for


def test_a_pitfall_of_ones_own_twin_names_a_test_beside_it(tiny_twin):
    from crossverify.twins.protocol import load_twin
    twin = load_twin(tiny_twin)
    ((title, sentence, test),) = pitfalls([twin])
    fn = pitfall_test(test, [twin])
    assert callable(fn) and fn.__name__ == "test_the_pitfall_holds" and fn() is None
    assert pitfall_test(PITFALLS[0][2], [twin]).__name__ == PITFALLS[0][2].split("::")[1]  # shipped: from the root


def test_a_tag_that_is_no_variant_is_reported(tmp_path):
    _copy_sources(tmp_path)
    path = tmp_path / "r_impl/R/bias_net.R"
    path.write_text(path.read_text().replace("# rosetta: bias-net 11 article", "# rosetta: bias-net 11 articel"))
    problems = build(root=str(tmp_path)).problems
    assert any("'articel' is not a variant of bias_net" in p for p in problems), problems
