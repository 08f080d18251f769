"""``crossverify explain`` (bridge/explain/causes.py): the origin of a divergence, the operation that
causes it, how it grows, and what it means for the printed numbers.

Every claim the account makes is checked against R's bits here: a named rounding switch, replayed on
R's inputs, gives R's bits; a formula defect injected into a twin is never blamed on rounding."""
import dataclasses
import importlib.util
import json
import math
import os

import numpy as np
import pytest

from crossverify.explain import causes as C
from crossverify.explain import transplant as tp
from crossverify.explain.chain import render_text, to_json
from crossverify.twins.protocol import load_twin
from crossverify.twins.scenarios import load_scenario
from crossverify.python_impl.kernels import ExactKernels, FloatKernels
from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

MOONS_HORIZON = 3926  # what `crossverify run` reports for detail-moons, float kernels, free-running
HORIZON_FACTOR = 1.1  # the fitted line must reach 2^-26 within 10% of the measured epoch
RATE_FACTOR = 3.0  # the fitted rate against the window's two-point rate (the growth accelerates)


@pytest.fixture(scope="module")
def moons(r_session):
    """detail-moons, float kernels, free-running, the whole run, and two later sites asked about."""
    return C.explain(r_session, load_scenario("detail-moons"), kernels="float",
                     at=[(MOONS_HORIZON, "weights_input_hidden"), (500, "error_wrt_weights_input_hidden")])


@pytest.fixture(scope="module")
def article(r_session):
    return C.explain(r_session, load_scenario("bias-net"), "article", kernels="exact", epochs=50)


# -- the evaluator ------------------------------------------------------------------------------------

def test_every_traced_step_recomputed_on_a_sides_own_inputs_gives_that_sides_bits(r_session):
    """The transplant's evaluator is the Python code's arithmetic: on Python's own inputs, with Python's
    kernels, every step of every epoch gives Python's bits (so a transplant that misses R's bits misses
    them because of R's inputs or R's arithmetic, never because of the evaluator)."""
    for scenario, kernels in (("detail-toy", "float"), ("bias-net", "exact"), ("bias-net", "float")):
        ex = C.Explainer(r_session, load_scenario(scenario), kernels=kernels, epochs=3).run()
        for epoch in range(3):
            leaf = ex.leaf("left", epoch)
            lv, _ = ex.values(epoch)
            for _, name, expr in ex.spec:
                value = tp.evaluate(expr, leaf, tp.chooser(ex.left_kernels))
                assert tp.same_bits(np.broadcast_to(value, np.shape(lv[name])), lv[name]), (scenario, epoch, name)


def test_ddmin_finds_a_one_minimal_set():
    needed = {3, 7}
    found = tp.ddmin(list(range(10)), lambda subset: needed <= set(subset))
    assert set(found) == needed


# -- detail-moons, float kernels, free-running ----------------------------------------------------------

def test_moons_origin_is_numpys_matrix_product_at_step_1_and_rs_product_gives_rs_bits(moons):
    origin = moons.origin_account
    assert (origin.epoch, origin.step, origin.name) == (0, 1, "hiddenLayer_linearTransform")
    assert origin.kind == "local" and origin.inputs == []
    assert origin.cause.verdict == C.ROUNDING
    assert [o.op for o in origin.cause.matrix_operations] == ["dot"]
    assert C.replay(origin) and C.replay(origin, matrix=True)
    # independently of the evaluator: R's own inputs through R's product (the reference loop) give R's
    # bits at every element, and numpy's product does not
    ex = moons.explainer
    leaf = ex.leaf("right", 0)
    W, X = leaf("weights_input_hidden@prev"), leaf("X")
    R = ex.values(0)[1]["hiddenLayer_linearTransform"]
    assert tp.same_bits(ExactKernels().dot(W.T, X), R)
    assert not tp.same_bits(FloatKernels().dot(W.T, X), R)
    assert "1 ULP" in origin.cause.operations[0].text


def test_moons_difference_spreads_by_inheritance_and_local_rounding_within_epoch_0(moons):
    kinds = {a.name: a.kind for a in moons.spread}
    assert kinds["hiddenLayer_linearTransform"] == "local"
    assert kinds["weights_input_hidden"] == "inherited"  # W - lr G is exact given G: nothing new arises there
    sigmoid = next(a for a in moons.spread if a.name == "hiddenLayer_activations")
    assert sigmoid.cause.verdict == C.ROUNDING and [o.op for o in sigmoid.cause.matrix_operations] == ["sigmoid"]
    assert "exp(" in sigmoid.cause.operations[0].text and "inherits it" in sigmoid.cause.operations[0].text


def test_moons_later_step_is_followed_back_through_the_carried_state_to_the_origin(moons):
    chain = moons.asked[0]
    assert chain[-1].site == (MOONS_HORIZON, 16, "weights_input_hidden")
    assert chain[0] is moons.origin_account
    carried = [a for a in chain if isinstance(a, C.Carried)]
    assert len(carried) == 1 and carried[0].epoch == MOONS_HORIZON and carried[0].since == 0
    assert chain[-1].kind == "inherited"


def test_moons_growth_rate_predicts_the_horizon_the_run_reports(moons):
    g = moons.growth
    assert g.measured_horizon == moons.horizon == MOONS_HORIZON
    assert g.rate > 0 and g.window[1] == MOONS_HORIZON
    # the growth accelerates over the window (0.014 per epoch in its first half, 0.15 in its second,
    # measured here): the least-squares rate lies between the halves' rates, and within a factor 3 of
    # the two-point rate from the window's start to the horizon
    assert min(g.rate_halves) < g.rate < max(g.rate_halves)
    d0, d1 = g.at(g.window[0]), g.at(g.window[1])
    two_point = math.log(d1 / d0) / (g.window[1] - g.window[0])
    assert two_point / RATE_FACTOR < g.rate < two_point * RATE_FACTOR
    assert 1 / HORIZON_FACTOR < g.predicted_horizon / g.measured_horizon < HORIZON_FACTOR


def test_moons_printed_numbers_after_the_precision_epoch_are_predicted_to_depend_on_rounding(moons):
    g = moons.growth
    assert g.decimals == 5 and 6000 < g.precision_epoch < 7000
    predicted = {p.epoch: p.predicted for p in g.printed}
    assert predicted == {e: ("depends on rounding" if e >= 7000 else "reproducible") for e in range(0, 10000, 1000)}
    for p in g.printed:
        assert (p.predicted == "depends on rounding") == (p.expected == "diverges-chaotically")
        assert p.languages_agree == (p.predicted == "reproducible")


def test_moons_chain_reads_origin_cause_propagation_consequence(moons):
    text = render_text(moons)
    for part in ("1. ORIGIN", "2. CAUSE", "3. PROPAGATION", "4. CONSEQUENCE", "ULP", "epoch 3926",
                 "0.00775", "depends on rounding"):
        assert part in text
    data = json.loads(json.dumps(to_json(moons), default=float))
    assert data["cause"]["verdict"] == "rounding" and data["growth"]["measured_horizon"] == MOONS_HORIZON


# -- the article's bias variant -------------------------------------------------------------------------

def test_article_variant_starts_from_rs_bias_layout_which_the_model_of_rs_recycling_predicts(article):
    start = article.origin_account
    assert isinstance(start, C.StartAccount)
    # bout is one bias repeated per sample, which broadcasting makes the same values; bh is not
    assert start.names == ["bh"] and start.shapes["bh"] == ((1, 3), (3, 3))
    assert start.cause.verdict == C.VARIANT
    assert "which its model predicts" in start.cause.summary and "laid out again" in start.cause.summary
    first = article.first
    assert (first.epoch, first.name, first.kind) == (0, "hidden_layer_input", "inherited")


def test_article_variant_bias_update_is_a_formula_its_model_reproduces(article):
    update = next(a for a in article.spread if a.name == "bh")
    assert update.cause.verdict == C.VARIANT
    assert C.replay(update) and C.replay(update, matrix=True)


# -- no claim without R's bits ---------------------------------------------------------------------------

def _claims(ex):
    for acc in ex.accounts():
        if isinstance(acc, C.Account):
            yield acc


def test_no_cause_is_reported_that_does_not_reproduce_rs_bits(r_session, moons, article):
    """A rounding or variant verdict replays to R's bits, at its element and at every element; a formula
    verdict is one no switch of every rounding operation can turn into R's bits."""
    explanations = [moons, article,
                    C.explain(r_session, load_scenario("detail-toy"), kernels="float", mode="lockstep",
                              at=[(400, "weights_input_hidden"), (999, "error_wrt_weights_hidden_output")]),
                    C.explain(r_session, load_scenario("bias-net"), kernels="float", epochs=300,
                              at=[(120, "wh"), (299, "bh")]),
                    C.explain(r_session, load_scenario("bias-net"), "colsums-only", kernels="float", mode="lockstep",
                              epochs=30, at=[(10, "bout")])]
    checked = 0
    for ex in explanations:
        for acc in _claims(ex):
            cause = acc.cause
            if cause.verdict in (C.ROUNDING, C.VARIANT):
                assert C.replay(acc) and C.replay(acc, matrix=True), (ex.scenario, acc.where(), cause.summary)
                checked += 1
            elif cause.verdict == C.FORMULA:
                everything = [p for p, _ in tp.occurrences(acc.expr)]
                value = tp.evaluate(acc.expr, acc.right_leaf, tp.chooser(None, everything, tp.RRounding()))
                assert not tp.same_bits(value, acc.right_value), (ex.scenario, acc.where())
    assert checked >= 10


# -- mutants: formula defects are never blamed on rounding --------------------------------------------------

DETAIL_PY = os.path.join(ROOT, "python_impl", "detail.py")


def _twin_with_python(tmp_path, old, new, tag):
    """The detail twin with its Python code from a copy of python_impl/detail.py with ``old`` -> ``new``."""
    source = open(DETAIL_PY, encoding="utf-8").read()
    assert source.count(old) == 1
    source = source.replace(old, new).replace("from .trace import", "from crossverify.python_impl.trace import")
    path = tmp_path / f"detail_{tag}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"crossverify_test_explain_{tag}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    twin = load_twin("detail")
    prep = {k: dataclasses.replace(v, python=module.normalise_data) for k, v in twin.preprocessing.items()}
    return dataclasses.replace(twin, python=module.epoch, python_predict=module.predict, preprocessing=prep), path


def _toy(twin=None):
    return load_scenario("detail-toy", None, twin)


def test_a_rounding_sized_formula_change_in_a_twin_copy_is_a_formula_difference_at_its_step(r_session, tmp_path):
    """h(1 - h) written h - h*h differs by a rounding or two: still a formula, never a rounding cause."""
    name = "hiddenLayer_activations_wrt_hiddenLayer_linearTransform"
    twin, path = _twin_with_python(tmp_path, "= hiddenLayer_activations * (1 - hiddenLayer_activations)",
                                   "= hiddenLayer_activations - hiddenLayer_activations * hiddenLayer_activations",
                                   "slope")
    ex = C.explain(r_session, _toy(twin), kernels="exact", epochs=20, growth=False, default_sites=False)
    origin = ex.origin_account
    assert (origin.step, origin.name) == (12, name)
    assert origin.cause.verdict == C.FORMULA, origin.cause.summary
    assert any(str(path.name) in line and "- hiddenLayer_activations * hiddenLayer_activations" in line
               for line in origin.cause.lines["python"])
    assert origin.cause.lines["r"] and origin.inputs == []
    # with float kernels earlier steps part by rounding first; the step itself is still a formula
    ex = C.explain(r_session, _toy(twin), kernels="float", epochs=20, growth=False, default_sites=False)
    assert ex.origin_account.cause.verdict == C.ROUNDING and ex.origin_account.step < 12
    step = ex.explainer.account(origin.epoch, name)
    assert step.kind in ("local", "both") and step.cause.verdict == C.FORMULA, step.cause.summary


def test_a_monkeypatched_step_is_a_formula_difference_at_its_step(r_session, monkeypatch):
    import crossverify.python_impl.detail as detail

    def ascent(weights_input_hidden, weights_hidden_output, error_wrt_weights_input_hidden,
               error_wrt_weights_hidden_output, lr):
        return (weights_hidden_output + lr * error_wrt_weights_hidden_output,
                weights_input_hidden - lr * error_wrt_weights_input_hidden)

    monkeypatch.setattr(detail, "gradient_descent", ascent)
    ex = C.explain(r_session, _toy(), kernels="exact", epochs=5, growth=False, default_sites=False)
    origin = ex.origin_account
    assert origin.site == (0, 15, "weights_hidden_output")
    assert origin.cause.verdict == C.FORMULA and origin.cause.multiple > 1e6


def test_an_r_side_formula_change_is_a_formula_difference_at_the_first_step_it_changes(r_session):
    """R's sigmoid redefined as exp(x) / (1 + exp(x)): equal in exact arithmetic, a few roundings apart."""
    twin = load_twin("detail")
    scenario = _toy()
    net = C.network_for(scenario)
    env = r_session.twin_env(twin)
    ro = r_session.ro
    original = ro.r["get"]("sigmoid", envir=env)
    # where the change first shows, from the unmutated exact run (bit for bit R's)
    trace = net.python("exact", 5)
    exp = ExactKernels().exp  # the C library's, as R's

    def redefined(x):
        return exp(x) / (1 + exp(x))

    sigmoids = ((2, "hiddenLayer_activations", "hiddenLayer_linearTransform"),
                (4, "output", "outputLayer_linearTransform"))
    changed = [(e, step) for e in range(5) for step, name, x in sigmoids
               if not tp.same_bits(redefined(trace.at(e, x)), trace.at(e, name))]
    assert changed, "the change is equivalent on this run"
    ro.r["assign"]("sigmoid", ro.r("function(x) exp(x) / (1 + exp(x))"), envir=env)
    try:
        ex = C.explain(r_session, scenario, kernels="exact", epochs=5, growth=False, default_sites=False)
    finally:
        ro.r["assign"]("sigmoid", original, envir=env)
    origin = ex.origin_account
    assert (origin.epoch, origin.step) == min(changed)
    assert origin.cause.verdict == C.FORMULA


def test_classify_mutant_names_a_catalogued_defect_a_formula_difference_where_it_is_injected(r_session):
    from crossverify.check.mutants import catalogue
    mutant = next(m for m in catalogue() if m.name == "detail-py-slope-sign")
    verdict = C.classify_mutant(mutant, r_session)
    assert verdict.site == mutant.expected and verdict.verdict == C.FORMULA


def _kernel_mutant(mutant):
    """A defect injected into the kernels (R's arithmetic reproduced wrongly), not into a twin's code."""
    return mutant.file is None and mutant.apply is not None


@pytest.mark.long
def test_every_catalogued_mutant_is_classified_where_the_checks_see_it(r_session):
    """Each mutant of meta_tests/ (every shipped twin's): a defect in a twin's Python or R code is a
    formula difference at its predicted first divergence (or, where it is one, the catalogued
    translation slip, whose fix replayed reproduces R); a defect in the exact kernels is rounding."""
    from crossverify.check.mutants import catalogue, unmutated_for
    seen, wrong = 0, []
    for mutant in catalogue():
        expected = mutant.expected_divergence(unmutated_for(mutant, r_session), "free-running")
        if expected is None:
            continue  # equivalent on this machine
        verdict = C.classify_mutant(mutant, r_session)
        want = (C.ROUNDING,) if _kernel_mutant(mutant) else (C.FORMULA, C.SLIP)
        if verdict.site != tuple(expected) or verdict.verdict not in want:
            wrong.append((mutant.name, tuple(expected), want, verdict))
        seen += 1
    assert wrong == []
    assert seen >= 15


# -- the command line ------------------------------------------------------------------------------------------

def test_cli_prints_the_chain_and_the_same_as_json():
    code, out, err = run_cli("explain", "--scenario", "detail-toy", "--kernels", "float", "--epochs", "60",
                             "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["comparison"]["scenario"] == "detail-toy" and data["diverges"]
    assert data["cause"]["verdict"] == "rounding" and data["origin"][0]["ulps"] >= 1


def test_cli_refuses_a_site_that_is_not_a_step():
    code, _, err = run_cli("explain", "--scenario", "detail-toy", "--at", "5:nonsense")
    assert code == 2 and "--at 5:nonsense" in err


# -- R on another BLAS ---------------------------------------------------------------------------------------

BLAS_ROOT = os.path.join(ROOT, ".venv", "blas")


def _openblas_env():
    folder = None
    for where, _, files in sorted(os.walk(os.path.join(BLAS_ROOT, "openblas"))):
        if "libblas.so.3" in files:
            folder = where
    if folder is None:
        reason = os.path.join(BLAS_ROOT, "openblas.unavailable")
        pytest.skip(open(reason).read().strip() if os.path.exists(reason) else
                    ".venv/blas/openblas is not unpacked (make setup: tools/fetch_blas.sh)")
    env = {k: v for k, v in os.environ.items() if k != "R_HOME"}
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (folder, env.get("LD_LIBRARY_PATH")) if p)
    # R's %*% through OpenBLAS under "default.simd", whose NaN test the exact kernels do not follow, so they
    # sum in the reference order ("default" and "blas" call R's own OpenBLAS routines: bit-identical)
    env["CROSSVERIFY_R_MATPROD"] = "default.simd"
    return env


def test_on_openblas_with_the_default_matprod_a_dot_divergence_names_rs_matrix_product_engine():
    code, out, err = run_cli("explain", "--scenario", "detail-toy", "--kernels", "exact", "--epochs", "20",
                             "--format", "json", env=_openblas_env())
    assert code == 0, err
    data = json.loads(out)
    assert "OpenBLAS" in data["platform"]
    cause = data["cause"]
    assert cause["verdict"] in (C.ROUNDING, C.ENGINE)
    assert "R's matrix-product engine" in cause["summary"] or cause["verdict"] == C.ENGINE
    assert "OpenBLAS" in cause["summary"]
    assert "dot" in data["origin"][0]["rounding_operations"]


# -- honest words (issue 17) ---------------------------------------------------------------------------

def _tanh_copy_with_r(tmp_path, old, new):
    """examples/tanh_net copied to ``tmp_path`` with ``old`` -> ``new`` in its R file."""
    import shutil
    folder = tmp_path / "tanh_net"
    shutil.copytree(os.path.join(ROOT, "examples", "tanh_net"), folder)
    r_file = folder / "tanh_net.R"
    source = r_file.read_text(encoding="utf-8")
    assert source.count(old) == 1
    r_file.write_text(source.replace(old, new), encoding="utf-8")
    twin = load_twin(str(folder))
    return load_scenario("moons-40", str(folder / "scenarios"), twin)


def test_a_one_ulp_change_of_idiom_is_worded_as_small_as_rounding_never_far_more(r_session, tmp_path):
    """-sum(x)/n for mean(x): another formula, a fraction of the step's float bound at its origin."""
    from crossverify.explain.chain import formula_consequence
    scenario = _tanh_copy_with_r(tmp_path, "matrix(-mean(y * log(output) + (1 - y) * log(1 - output)), 1, 1)",
                                 "matrix(-sum(y * log(output) + (1 - y) * log(1 - output)) / nrow(y), 1, 1)")
    ex = C.explain(r_session, scenario, kernels="exact", epochs=20)
    origin = ex.origin_account
    assert origin.name == "loss" and origin.cause.verdict == C.FORMULA
    assert origin.cause.multiple < 1
    text = render_text(ex)
    assert "far more than rounding" not in text and "as small as rounding" in text
    assert "as small as rounding" in formula_consequence(ex)


def test_two_values_of_opposite_sign_are_said_to_be_so_not_counted_in_ulps():
    from crossverify.check.ulp import apart_text, describe_pair, ulp_distance
    a, b = 0.3, -0.3
    assert int(ulp_distance(a, b)) > 2 ** 62  # counted through zero: true, and useless to a reader
    assert apart_text(a, b) == "of opposite signs (too far apart to count in ULPs)"
    assert str(int(ulp_distance(a, b))) not in C._pair(a, b, ("python", "r"))
    assert "opposite signs" in describe_pair(a, b)
    assert apart_text(1.0, np.nextafter(1.0, 2.0)) == "1 ULP apart"
    assert apart_text(0.0, -5e-324) == "1 ULP apart"  # a zero is neither sign: counted
    assert "more than 2^53 ULPs" in C._ulps_text(2 ** 60)


def test_a_failing_free_running_float_row_never_says_every_step_stays_within_its_bound(r_session):
    from crossverify.check.verify import Verifier
    slip = os.path.join(ROOT, "examples", "slips", "rate")
    scenario = load_scenario("small", os.path.join(slip, "scenarios"), load_twin(slip))
    row = Verifier(r_session, scenario).row("reference", "float", "free-running")
    assert row.ok is False and row.horizon is not None
    assert "within its bound" not in row.note
    correct = os.path.join(ROOT, "examples", "slips", "correct")
    scenario = load_scenario("small", os.path.join(correct, "scenarios"), load_twin(correct))
    assert Verifier(r_session, scenario).row("reference", "float", "free-running").ok
