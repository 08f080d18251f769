"""The catalogue of translation slips (bridge/explain/slips.py) against its gallery (examples/slips/):
every entry has a twin making that one slip, explain names it with the line on each side, and the fix,
replayed, reproduces R; a twin whose R side equals Python is never given a slip.

Every test drives the real R through the session fixture; the gallery's twins run 5 epochs of 10
samples."""
import importlib.util
import os

import numpy as np
import pytest

from crossverify.explain import causes as C
from crossverify.explain import slip_gallery, slips
from crossverify.explain import transplant as tp
from crossverify.explain.chain import render_text
from crossverify.twins.protocol import load_twin
from crossverify.twins.scenarios import list_scenarios, load_scenario
from crossverify.python_impl.kernels import ExactKernels
from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

GALLERY = os.path.join(ROOT, "examples", "slips")
MISTYPED_RATE = 0.49  # what examples/slips/rate/slip_net.R types for the scenario's lr = 0.5


def _declared_slips():
    """gallery.SLIPS: each folder of the gallery and the catalogue key of the slip it makes."""
    spec = importlib.util.spec_from_file_location("slip_gallery_declaration", os.path.join(GALLERY, "gallery.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SLIPS


SLIPS = _declared_slips()


def _scenario(folder):
    scenarios = os.path.join(GALLERY, folder, "scenarios")
    return load_scenario(list_scenarios(scenarios)[0], scenarios, load_twin(os.path.join(GALLERY, folder)))


def _code(line):
    """A source line without its trailing comment (the rosetta marker)."""
    return line.split("  #")[0].strip()


def _slips_named(ex):
    """Every slip an explanation names, at the origin, in the spread or at the sites asked about."""
    accounts = list(ex.origin) + list(ex.accounts())
    return [a.cause.slip for a in accounts if getattr(a, "cause", None) is not None and a.cause.slip is not None]


@pytest.fixture(scope="module")
def exhibits(r_session):
    """Every twin of the gallery, explained from the row explain chooses."""
    return {it.folder: it for it in slip_gallery.exhibits(r_session, GALLERY)}


def test_every_catalogue_entry_has_a_twin_in_the_gallery_and_every_twin_is_declared():
    assert set(SLIPS.values()) - {None} == set(slips.CATALOGUE)
    assert set(slip_gallery.twin_folders(GALLERY)) == set(SLIPS)


@pytest.mark.parametrize("folder", sorted(k for k, v in SLIPS.items() if v is not None))
def test_explain_names_each_gallery_slip_with_the_line_on_each_side_and_its_fix_replays(exhibits, folder):
    it = exhibits[folder]
    assert (it.row.kernels, it.row.mode, it.row.meets) == ("exact", "free-running", False)
    assert it.cause.verdict == C.SLIP and it.slip is not None, it.cause.summary
    assert it.slip.key == SLIPS[folder]
    assert it.slip.replay()
    sentence = it.cause.summary
    assert slips.CATALOGUE[it.slip.key][0] in sentence and slips.CATALOGUE[it.slip.key][1] in sentence
    # the R line named is the slipped one: in this folder's file, at that line, and not in the correct translation
    with open(os.path.join(GALLERY, "correct", "slip_net.R"), encoding="utf-8") as fh:
        correct = {_code(line) for line in fh}
    (r_line,) = it.slip.lines["r"]
    where, _, code = r_line.partition(": ")
    path, number = where.rsplit(":", 1)
    assert path == f"examples/slips/{folder}/slip_net.R"
    with open(os.path.join(ROOT, path), encoding="utf-8") as fh:
        assert _code(fh.read().splitlines()[int(number) - 1]) == code.strip()
    assert code.strip() not in correct
    (py_line,) = it.slip.lines["python"]
    assert py_line.startswith("examples/slips/slip_net.py:")
    assert f"`{code.strip()}`" in sentence


def test_the_mistyped_rate_is_reproduced_by_pythons_own_epoch_run_with_that_rate(r_session, exhibits):
    """Independent of the catalogue: Python's epoch from R's start, with lr = 0.49 and R's arithmetic,
    gives R's weights to the bit; with the scenario's lr it does not."""
    scenario = _scenario("rate")
    net = C.network_for(scenario)
    r = net.r(r_session, None, 1)
    start = {w: r.start[w] for w in net.weights}
    typed = net.python_epoch(start, ExactKernels(), hyper={"lr": MISTYPED_RATE})
    own = net.python_epoch(start, ExactKernels())
    assert np.array_equal(typed["W"], r.steps["W"][0])
    assert not np.array_equal(own["W"], r.steps["W"][0])
    assert f"lr = {MISTYPED_RATE!r}" in exhibits["rate"].cause.summary


def test_the_division_and_sort_slips_are_what_r_computes_from_pythons_own_epoch(r_session, exhibits):
    """Independent of the catalogue: R's column means are Python's floored, R's ranked spreads are
    Python's in the reverse order, and each sentence quotes R's slipped operator."""
    for folder, name, fix in (("division", "mu", np.floor), ("sort", "S", lambda v: v[:, ::-1])):
        net = C.network_for(_scenario(folder))
        r = net.r(r_session, None, 1)
        own = net.python_epoch({w: r.start[w] for w in net.weights}, ExactKernels())
        assert np.array_equal(fix(own[name]), r.steps[name][0]) and not np.array_equal(own[name], r.steps[name][0])
    assert "%/%" in exhibits["division"].cause.summary and "sort(s)" in exhibits["sort"].cause.summary


class _QuotientStep:
    """The least of a step the division rule reads: one quotient's expression and R's value."""

    def __init__(self, expr, R):
        self.expr, self.R, self.acc = expr, np.asarray(R, dtype=np.float64), type("Acc", (), {"name": "q"})
        self.leaf = {"a": np.array([[7.0, -7.0, 9.0]])}.get

    def first(self, expr):
        return slips._meets(tp.evaluate(expr, self.leaf, tp.chooser(None)), self.R, None)


@pytest.mark.parametrize("op, r_value, says", [("floordiv", [[1.75, -1.75, 2.25]], "Python's //"),
                                               ("div", [[1.0, -2.0, 2.0]], "R's %/%")])
def test_the_division_rule_names_the_side_that_floors_either_way_round(op, r_value, says):
    st = _QuotientStep((op, "a", ("const", 4.0)), r_value)
    seen = {}
    tp.evaluate(st.expr, st.leaf, tp.chooser(None), seen=seen)
    key, detail, how = slips._integer_division(st, seen)
    assert (key, how) == ("integer-division", slips.BITS) and says in detail


def test_with_float_kernels_the_rate_slip_hides_behind_rounding_and_the_row_says_it_fails(r_session):
    """The issue's new user: float kernels find harmless rounding first; explain's default does not."""
    scenario = _scenario("rate")
    ex = C.explain(r_session, scenario, kernels="float", growth=False, default_sites=False)
    assert ex.origin_account.cause.verdict == C.ROUNDING
    row = C.row_choice(r_session, scenario, kernels="float", mode="free-running")
    assert row.meets is False and "does not meet" in row.sentence()


def test_the_correct_translation_is_given_no_slip_under_any_row(r_session, exhibits):
    assert exhibits["correct"].row.meets and exhibits["correct"].slip is None
    scenario = _scenario("correct")
    for kernels, mode in C.ROW_ORDER:
        ex = C.explain(r_session, scenario, kernels=kernels, mode=mode)
        assert _slips_named(ex) == [], (kernels, mode)
        if kernels == "exact":
            assert ex.first is None


NO_SLIP = [  # (twin, scenario, fixtures below the project, variant, epochs): R equals Python or its model
    ("bias_net", "bias-net", None, None, 40),
    ("bias_net", "bias-net", None, "article", 40),
    ("detail", "detail-toy", None, None, 40),
    ("detail", "detail-moons", None, None, 20),
    ("examples/tanh_net", "moons-40", "examples/tanh_net/scenarios", None, 30),
    ("examples/power_iteration", None, "examples/power_iteration/scenarios", None, 30),
]


@pytest.mark.parametrize("twin, name, fixtures, variant, epochs", NO_SLIP)
def test_no_shipped_twin_or_example_is_given_a_slip(r_session, twin, name, fixtures, variant, epochs):
    twin = load_twin(twin if "/" not in twin else os.path.join(ROOT, twin))
    fixtures = fixtures and os.path.join(ROOT, fixtures)
    scenario = load_scenario(name or list_scenarios(fixtures)[0], fixtures, twin)
    for kernels in ("exact", "float"):
        ex = C.explain(r_session, scenario, variant, kernels=kernels, epochs=epochs)
        assert _slips_named(ex) == [], (kernels, [s.sentence() for s in _slips_named(ex)])


def _atlas_configs():
    from crossverify.sweep import spec
    return spec.load(os.path.join(ROOT, "docs", "atlas", "moons.toml")).configs


def _no_slip_in_config(r_session, config, epochs):
    from crossverify.sweep.build import scenario_for
    scenario = scenario_for(config)
    for kernels in ("exact", "float"):
        ex = C.explain(r_session, scenario, kernels=kernels, epochs=epochs, growth=False)
        assert _slips_named(ex) == [], (config.key, kernels)


def test_the_atlas_configuration_of_the_article_is_given_no_slip(r_session):
    """The fast representative of the atlas check below: seed 42, 10 hidden, noise 0.1."""
    (config,) = [c for c in _atlas_configs()
                 if (c.grid["seed"], c.grid["hidden"], c.data["noise"]) == (42, 10, 0.1)]
    _no_slip_in_config(r_session, config, epochs=20)


@pytest.mark.long
def test_no_configuration_of_the_atlas_is_given_a_slip(r_session):
    configs = _atlas_configs()
    assert len(configs) == 200
    for config in configs:
        _no_slip_in_config(r_session, config, epochs=200)


def test_docs_slips_md_is_what_explain_gallery_prints(exhibits):
    items = [exhibits[f] for f in slip_gallery.twin_folders(GALLERY)]
    page = slip_gallery.markdown(items, "examples/slips")
    with open(os.path.join(ROOT, "docs", "SLIPS.md"), encoding="utf-8") as fh:
        assert fh.read() == page, "docs/SLIPS.md is stale: crossverify explain --gallery examples/slips --out docs/SLIPS.md"


def test_explain_with_no_options_explains_the_failing_exact_row_and_names_the_slip():
    code, out, err = run_cli("explain", "--twin", "examples/slips/rate")
    assert code == 0, err
    assert "exact kernels, free-running" in out.splitlines()[0]
    assert "first row that does not meet its expectation" in " ".join(out.split())
    assert "origin: epoch 0, step 9, W" in out
    assert "translation slip: a constant typed differently" in out
    assert "far more than rounding" in out  # 0.49 for 0.5 moves the weights by 1e13 bounds


def test_a_slip_explanation_reads_origin_cause_propagation_consequence(r_session):
    ex = C.explain(r_session, _scenario("recycling"), kernels="exact")
    text = render_text(ex)
    for part in ("1. ORIGIN", "2. CAUSE", "3. PROPAGATION", "4. CONSEQUENCE"):
        assert part in text
    assert "translation slip (the translation slip above)" not in text
    assert "R's recycling of a shorter vector" in text and "examples/slips/recycling/slip_net.R" in text


def test_explain_of_a_failing_float_row_says_where_it_fails_and_how_to_start_there():
    code, out, err = run_cli("explain", "--twin", "examples/slips/rate", "--kernels", "float")
    assert code == 0, err
    text = " ".join(out.split())
    assert "does not meet its expectation (within-bound); it first fails at epoch 0, step 9, W" in text
    assert "none beyond the difference itself" not in text and "--kernels exact" in text.split("4. CONSEQUENCE")[1]


def test_runs_where_next_points_explain_at_the_failing_scenario_and_variant():
    code, out, err = run_cli("run", "--twin", "examples/slips/rate")
    assert code == 1, err
    assert "crossverify explain --twin examples/slips/rate --scenario small --variant reference" in out
