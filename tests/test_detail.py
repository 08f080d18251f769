"""The detail-section network ("Understanding the implementation of Neural Networks from scratch in
detail"): Python on its own against the numbers the article prints, and Python against R through
the embedded R, every intermediate at every epoch. Mirror: r_impl/tests/testthat/test-detail.R."""
import functools
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from crossverify.twins.runner import network_for
from tests.specs import DETAIL_SPEC
from crossverify.twins.scenarios import SHIPPED_FIXTURES, load_scenario
from crossverify.python_impl import detail
from crossverify.python_impl.kernels import get_kernels
from crossverify.python_impl.trace import Trace
from tests.conftest import ROOT, assert_traces_agree

TOY_UNTRAINED_ERROR = ["0.05013458", "0.03727248", "0.25388062"]
# the article's mean error at epochs 0, 1000, ..., 9000; 7000-9000 hinge on rounding (docs/FACTS.md section 4)
MOONS_PRINTED = ["0.23478", "0.25000", "0.25000", "0.25000", "0.05129",
                 "0.02163", "0.01157", "0.00775", "0.00689", "0.07556"]
REPRODUCIBLE = 7  # epochs 0..6000
CHUNK = 1000  # moons epochs per R call: a full 10000-epoch trace is ~4 GB per language


def load_detail(name):
    """A detail scenario from the shipped fixtures, preprocessed as its manifest says."""
    scenario = load_scenario(name)
    net = network_for(scenario)
    return SimpleNamespace(name=name, manifest=scenario.manifest, raw=scenario.data, X=net.X, y=net.y,
                           init=scenario.init, lr=scenario.lr, epochs=scenario.epochs)


@pytest.fixture(scope="module")
def toy():
    return load_detail("detail-toy")


@pytest.fixture(scope="module")
def moons():
    return load_detail("detail-moons")


@functools.lru_cache(maxsize=None)
def moons_mean_errors(kernels, nudge=0.0):
    """Mean error at every moons epoch, weights_input_hidden[0, 0] moved by ``nudge`` first."""
    s = load_detail("detail-moons")
    xp = get_kernels(kernels)
    state = dict(s.init)
    state["weights_input_hidden"] = s.init["weights_input_hidden"].copy()
    state["weights_input_hidden"][0, 0] += nudge
    errors = np.empty(s.epochs)
    for e in range(s.epochs):
        values = detail.epoch(s.X, s.y, state, s.lr, xp)
        errors[e] = values["mean_error"][0, 0]
        state = {w: values[w] for w in detail.WEIGHTS}
    return errors


def printed(errors):
    """The mean errors at epochs 0, 1000, ... as the article prints them (5 decimals)."""
    return [f"{v:.5f}" for v in errors[::1000]]


def assert_bit_identical(py, r, scenario):
    """bits(py[e][name][i, j]) == bits(r[e][name][i, j]) for every recorded epoch, intermediate and
    element (tests/conftest.py's helper); the message names the earliest (epoch, step) that differs."""
    assert sorted(r.steps) == sorted(detail.NAMES)
    for name in detail.NAMES:
        assert py.steps[name].shape == r.steps[name].shape, f"scenario {scenario}: {name} shapes differ"
    assert_traces_agree(py, r, "identical", scenario, "article", DETAIL_SPEC)


@pytest.fixture(scope="module")
def toy_network():
    return network_for(load_scenario("detail-toy"))


@pytest.fixture(scope="module")
def toy_traces(r_session, toy_network):
    return toy_network.python("exact", 1000), toy_network.r(r_session, "article", 1000)


# -- Python on its own ----------------------------------------------------------------------------

def test_one_draw_of_thirty_uniforms_consumes_the_stream_as_thirty_scalar_draws():
    np.random.seed(42)
    together = np.random.uniform(size=30)
    after_together = np.random.uniform(size=(2, 10))
    np.random.seed(42)
    one_by_one = np.array([np.random.uniform() for _ in range(30)])
    assert np.array_equal(together, one_by_one)
    assert np.array_equal(after_together, np.random.uniform(size=(2, 10)))


def test_moons_weights_are_the_draws_after_thirty_discarded(moons):
    np.random.seed(42)
    np.random.uniform(size=30)
    for name, shape in moons.manifest["provenance"]["draw_order"]:
        assert np.array_equal(moons.init[name], np.random.uniform(size=shape)), name


def test_chain_rule_links_have_the_shapes_the_article_prints(toy):
    values = detail.epoch(toy.X, toy.y, toy.init, toy.lr, get_kernels("float"))
    assert list(values) == list(detail.NAMES)
    article = [values[n].shape for n in ("error_wrt_output", "output_wrt_outputLayer_LinearTransform",
                                         "outputLayer_LinearTransform_wrt_hiddenLayer_activations",
                                         "hiddenLayer_activations_wrt_hiddenLayer_linearTransform",
                                         "hiddenLayer_linearTransform_wrt_weights_input_hidden")]
    assert article == [(1, 3), (1, 3), (3, 1), (3, 3), (4, 3)]
    assert values["error_wrt_weights_hidden_output"].shape == toy.init["weights_hidden_output"].shape
    assert values["error_wrt_weights_input_hidden"].shape == toy.init["weights_input_hidden"].shape
    assert values["mean_error"].shape == (1, 1)


@pytest.mark.parametrize("kernels", ["float", "exact"])
def test_untrained_toy_error_prints_as_the_article(toy, kernels):
    error = detail.epoch(toy.X, toy.y, toy.init, toy.lr, get_kernels(kernels))["error"]
    assert [f"{v:.8f}" for v in error.ravel()] == TOY_UNTRAINED_ERROR
    if kernels == "float":  # the article shows numpy's own repr of the array
        assert repr(error) == "array([[0.05013458, 0.03727248, 0.25388062]])"


def test_gradients_are_the_derivatives_of_the_summed_error(toy):
    xp = get_kernels("float")

    def loss(state):
        return float(np.sum(detail.squared_error(toy.y, detail.predict(toy.X, state, xp))))

    values = detail.epoch(toy.X, toy.y, toy.init, toy.lr, xp)
    step = 1e-6
    for weight in detail.WEIGHTS:
        numeric = np.empty_like(toy.init[weight])
        for idx in np.ndindex(numeric.shape):
            up, down = (dict(toy.init, **{weight: toy.init[weight].copy()}) for _ in range(2))
            up[weight][idx] += step
            down[weight][idx] -= step
            numeric[idx] = (loss(up) - loss(down)) / (2 * step)
        np.testing.assert_allclose(values["error_wrt_" + weight], numeric, rtol=1e-6, atol=1e-10)


def test_normalise_scales_the_whole_array_into_the_unit_interval_and_puts_samples_in_columns(moons):
    raw = moons.raw["X"]
    assert raw.shape == (1000, 2) and moons.X.shape == (2, 1000)
    assert moons.X.min() == 0.0 and moons.X.max() == 1.0
    # one shift and one scale for both features (the global minimum and maximum)
    np.testing.assert_allclose(moons.X[:, 0], (raw[0] - raw.min()) / (raw.max() - raw.min()), rtol=1e-15)
    assert moons.manifest["preprocessing"] == "normalise"


@pytest.mark.parametrize("kernels", ["float", "exact"])
def test_moons_mean_error_prints_as_the_article_at_epochs_0_to_6000(kernels):
    assert printed(moons_mean_errors(kernels))[:REPRODUCIBLE] == MOONS_PRINTED[:REPRODUCIBLE]


def test_moons_epochs_7000_to_9000_move_with_a_one_ulp_nudge_and_epochs_0_to_6000_do_not(moons):
    w = moons.init["weights_input_hidden"][0, 0]
    assert w + 1e-16 != w  # the nudge is one unit in the last place here, not lost to rounding
    base, nudged = printed(moons_mean_errors("exact")), printed(moons_mean_errors("exact", 1e-16))
    assert nudged[:REPRODUCIBLE] == base[:REPRODUCIBLE]
    assert all(n != b for n, b in zip(nudged[REPRODUCIBLE:], base[REPRODUCIBLE:])), (base, nudged)


def test_moons_epochs_7000_to_9000_move_with_summation_order_alone():
    # float and exact kernels differ only in how dot, exp and mean round
    exact, floats = printed(moons_mean_errors("exact")), printed(moons_mean_errors("float"))
    assert floats[:REPRODUCIBLE] == exact[:REPRODUCIBLE]
    assert floats[REPRODUCIBLE:] != exact[REPRODUCIBLE:], (floats, exact)


def test_manifests_carry_the_article_numbers_as_printed_text(toy, moons):
    assert toy.manifest["article_numbers"]["untrained_error"] == TOY_UNTRAINED_ERROR
    numbers = moons.manifest["article_numbers"]
    assert numbers["mean_error_epochs"] == list(range(0, 10000, 1000))
    assert numbers["mean_error"] == MOONS_PRINTED


def fresh_manifest(tmp_path, name):
    subprocess.run([sys.executable, os.path.join(ROOT, "fixtures", "generate.py"), "--out", str(tmp_path), name],
                   check=True, capture_output=True)
    with open(os.path.join(SHIPPED_FIXTURES, name, "manifest.json"), encoding="utf-8") as fh:
        committed = fh.read()
    return committed, (tmp_path / name / "manifest.json").read_text(encoding="utf-8")


def test_committed_detail_toy_fixture_equals_a_fresh_generation(tmp_path):
    committed, fresh = fresh_manifest(tmp_path, "detail-toy")
    assert committed == fresh, "fixtures/detail-toy/manifest.json differs from `python fixtures/generate.py`"


def test_committed_detail_moons_fixture_equals_a_fresh_generation(tmp_path):
    pytest.importorskip("sklearn", reason="scikit-learn (make_moons) is needed to regenerate detail-moons; "
                                          "install the project's 'fixtures' extra")
    committed, fresh = fresh_manifest(tmp_path, "detail-moons")
    old, new = json.loads(committed), json.loads(fresh)
    recorded = old["provenance"].pop("scikit_learn_version")
    installed = new["provenance"].pop("scikit_learn_version")
    # the data must not depend on the scikit-learn version; the text only when the versions agree
    assert old == new, f"detail-moons generated with scikit-learn {installed} differs from the one made with {recorded}"
    if recorded == installed:
        assert committed == fresh, "fixtures/detail-moons/manifest.json differs from `python fixtures/generate.py`"


# -- Python against R -----------------------------------------------------------------------------

def test_r_normalises_the_moons_to_the_same_bits(r_session, moons):
    from_r = r_session.from_r(r_session.call("detail_normalise", r_session.to_r(moons.raw["X"])))
    assert from_r.shape == moons.X.shape
    assert np.array_equal(from_r.view(np.uint64), np.ascontiguousarray(moons.X).view(np.uint64))


def test_every_intermediate_is_bit_identical_to_r_at_every_detail_toy_epoch(toy_traces, toy):
    py, r = toy_traces
    assert len(py) == len(r) == toy.epochs == 1000
    assert_bit_identical(py, r, "detail-toy")


def test_python_stepped_from_r_states_is_bit_identical_to_r_on_detail_toy(toy_traces, toy):
    _, r = toy_traces
    lockstep = network_for(load_scenario("detail-toy")).python_lockstep("exact", r)
    assert_bit_identical(lockstep, r, "detail-toy")


def assert_moons_bit_identical(r_session, epochs):
    # free-running on both sides, cut into chunks so that neither side holds the ~4 GB trace at once
    net = network_for(load_scenario("detail-moons"))
    py_state = r_state = None
    for first in range(0, epochs, CHUNK):
        py = net.python("exact", CHUNK, start=py_state, first_epoch=first)
        r = net.r(r_session, "article", CHUNK, start=r_state, first_epoch=first)
        assert_bit_identical(py, r, "detail-moons")
        py_state = {w: py.series(w)[-1] for w in detail.WEIGHTS}
        r_state = {w: r.series(w)[-1] for w in detail.WEIGHTS}
        del py, r
    assert int(r_state is not None) and first + CHUNK == epochs


def test_every_intermediate_is_bit_identical_to_r_at_the_first_detail_moons_epochs(r_session):
    assert_moons_bit_identical(r_session, CHUNK)  # `make test`'s sample of the full audit below


@pytest.mark.long
def test_every_intermediate_is_bit_identical_to_r_at_all_detail_moons_epochs(r_session):
    assert_moons_bit_identical(r_session, 10000)


def test_bit_identity_failure_names_scenario_epoch_step_intermediate_and_element(toy_traces):
    py, r = toy_traces
    broken = Trace(py.init, py.epochs, {k: v.copy() for k, v in py.steps.items()}, py.names)
    value = broken.steps["error_wrt_weights_input_hidden"][17, 2, 1]
    broken.steps["error_wrt_weights_input_hidden"][17, 2, 1] = np.nextafter(value, 1.0)
    with pytest.raises(AssertionError) as err:
        assert_bit_identical(broken, r, "detail-toy")
    message = str(err.value)
    for part in ("scenario detail-toy", "epoch 17", "step 14", "error_wrt_weights_input_hidden[2, 1]"):
        assert part in message, message


def test_prediction_scores_new_columns_identically_in_both_languages(toy_traces, r_session):
    _, r = toy_traces
    state = {w: r.steps[w][-1] for w in detail.WEIGHTS}
    new = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0], [0.5, 0.5, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0]])
    py = detail.predict(new, state, get_kernels("exact"))
    r_state = r_session.ro.ListVector({w: r_session.to_r(v) for w, v in state.items()})
    from_r = r_session.from_r(r_session.call("detail_predict", r_session.to_r(new), r_state))
    assert py.shape == from_r.shape == (1, 4)
    assert np.array_equal(py.view(np.uint64), from_r.view(np.uint64))


def test_python_and_r_name_the_same_intermediates_in_the_same_order(r_session):
    names = r_session.ro.r["get"]("DETAIL_NAMES", envir=r_session.env)
    assert tuple(names) == detail.NAMES
    weights = r_session.ro.r["get"]("DETAIL_WEIGHTS", envir=r_session.env)
    assert tuple(weights) == detail.WEIGHTS


def test_float_kernels_part_from_r_so_the_bit_comparison_can_fail(toy_traces, toy):
    _, r = toy_traces
    floats = network_for(load_scenario("detail-toy")).python("float", toy.epochs)
    with pytest.raises(AssertionError, match="scenario detail-toy, variant article: epoch"):
        assert_bit_identical(floats, r, "detail-toy")
