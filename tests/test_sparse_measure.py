"""A float row measures only the elements whose two values differ, and evaluates an elementwise step's
bound only there (bridge/check/engine.py, measure_step; bridge/check/bounds.py, evaluate_at): every figure
must be the whole-chunk measurement's, bit for bit, on real traces of both languages and on traces
edited to hold NaNs, infinities, unmoved first elements and bounds that are broken."""
import numpy as np
import pytest

from crossverify.check import bounds
from crossverify.check.engine import _leaf_reader, compare_traces
from crossverify.python_impl.trace import Trace
from crossverify.twins.runner import network_for
from crossverify.twins.scenarios import load_scenario

FIELDS = ("max_abs", "max_scaled", "max_ratio", "bound_at_max")


def bits(x):
    return np.asarray(x, dtype=np.float64).tobytes()


def assert_same_comparison(whole, sparse):
    assert whole.stats.keys() == sparse.stats.keys()
    for name, s in whole.stats.items():
        for f in FIELDS:
            assert bits(getattr(s, f)) == bits(getattr(sparse.stats[name], f)), (name, f, getattr(s, f),
                                                                                 getattr(sparse.stats[name], f))
    assert (whole.first is None) == (sparse.first is None)
    if whole.first is not None:
        assert whole.first.to_dict().keys() == sparse.first.to_dict().keys()
        for k, v in whole.first.to_dict().items():
            assert bits(v) == bits(sparse.first.to_dict()[k]) if isinstance(v, float) else v == sparse.first.to_dict()[k]
    assert whole.horizon == sparse.horizon and whole.holds == sparse.holds


def both(left, right, net, lockstep, fixed=None):
    args = (left, right, net.spec, net.fixed() if fixed is None else fixed, "within-bound")
    kw = dict(lockstep=lockstep, weights=net.weights)
    return compare_traces(*args, whole=True, **kw), compare_traces(*args, **kw)


@pytest.fixture(scope="module")
def moons(r_session):
    net = network_for(load_scenario("detail-moons"))
    r = net.r(r_session, None, 25)
    return net, r, net.python("float", 25), net.python_lockstep("float", r)


@pytest.mark.parametrize("mode", ["free-running", "lockstep"])
def test_the_moved_elements_give_the_whole_chunk_figures_on_moons(moons, mode):
    net, r, free, lock = moons
    whole, sparse = both(lock if mode == "lockstep" else free, r, net, mode == "lockstep")
    assert_same_comparison(whole, sparse)
    assert any(s.max_ratio > 0 for s in whole.stats.values())


@pytest.mark.parametrize("scenario", ["detail-toy", "bias-net"])
def test_the_moved_elements_give_the_whole_run_figures_on_the_small_scenarios(r_session, scenario):
    net = network_for(load_scenario(scenario))
    epochs = min(net.scenario.epochs, 300)
    r = net.r(r_session, None, epochs)
    for left, lockstep in ((net.python("float", epochs), False), (net.python_lockstep("float", r), True)):
        assert_same_comparison(*both(left, r, net, lockstep))


def edited(trace, edits):
    steps = {k: v.copy() for k, v in trace.steps.items()}
    for name, index, value in edits:
        steps[name][index] = value
    history = {k: steps[k] if k in steps else v for k, v in trace.history.items()}
    return Trace(trace.init, trace.epochs, steps, trace.names, start=trace.start, history=history,
                 first_epoch=trace.first_epoch, n_epochs=trace.n_epochs)


EDITS = {
    "NaN against a number": [("hiddenLayer_activations", (3, 2, 7), np.nan)],
    "NaN on both sides": "both-nan",
    "infinity": [("outputLayer_linearTransform", (0, 0, 5), np.inf), ("output", (1, 0, 0), -np.inf)],
    "a bound broken": [("hiddenLayer_activations", (4, 1, 9), 0.75), ("error", (2, 0, 3), 3.0)],
    "a leaf step broken": [("outputLayer_LinearTransform_wrt_weights_hidden_output", (0, 0, 0), 0.5)],
    "the first element moved only": "first-only",
}


@pytest.mark.parametrize("mode", ["free-running", "lockstep"])
@pytest.mark.parametrize("case", sorted(EDITS))
def test_edited_traces_give_the_whole_chunk_figures(moons, case, mode):
    # lockstep: most steps measured at their moved elements; free-running: most measured whole, fast
    net, r, free, lock = moons
    lock = lock if mode == "lockstep" else free
    left, right = lock, r
    if EDITS[case] == "both-nan":
        left = edited(lock, [("output", (5, 0, 11), np.nan)])
        right = edited(r, [("output", (5, 0, 11), np.nan)])
    elif EDITS[case] == "first-only":
        # every element equal but the first of each step: ratio 0 elsewhere, the maximum at position 0
        left = edited(r, [(name, (0,) * r.steps[name].ndim, np.nextafter(r.steps[name].flat[0], 2.0))
                          for name in r.steps])
    else:
        left = edited(lock, EDITS[case])
    whole, sparse = both(left, right, net, mode == "lockstep" or case == "the first element moved only")
    assert_same_comparison(whole, sparse)
    assert whole.first is not None or case == "NaN on both sides"


def test_identical_traces_give_the_bound_at_the_first_element_as_the_whole_chunk_does(moons):
    net, r, _, _ = moons
    whole, sparse = both(r, r, net, True)
    assert_same_comparison(whole, sparse)
    assert all(s.max_ratio == 0 for s in whole.stats.values())


@pytest.mark.parametrize("mode", ["free-running", "lockstep"])
def test_a_bound_evaluated_at_some_elements_is_the_whole_bound_there(moons, mode):
    net, r, free, lock = moons
    left = lock if mode == "lockstep" else free
    leaf = _leaf_reader(left, r, net.fixed(), mode == "lockstep")
    rng = np.random.default_rng(20)
    for _, name, expr in net.spec:
        shape = r.steps[name].shape
        whole = bounds.evaluate(expr, leaf)
        positions = np.sort(rng.choice(int(np.prod(shape)), size=min(97, int(np.prod(shape))), replace=False))
        some = bounds.evaluate_at(expr, leaf, leaf.values, shape, positions)
        for k in ("left", "right", "d", "m", "P", "S"):
            assert bits(getattr(some, k)) == bits(bounds.take(getattr(whole, k), shape, positions)), (name, k)


def test_a_bound_that_may_be_nan_is_not_trusted_where_the_values_are_equal():
    def has_nan(token):
        return token == "a"
    assert bounds.never_nan(("sigmoid", "a"), has_nan)  # _finish turns a NaN bound into an infinite one
    assert not bounds.never_nan("a", has_nan)  # a leaf's bound is NaN where a NaN meets a number
    assert not bounds.never_nan(("neg", "a"), has_nan)
    assert bounds.never_nan(("neg", "b"), has_nan)
    assert not bounds.never_nan(("scale", ("square", "b"), 0.0), has_nan)  # inf * 0
    assert bounds.never_nan(("scale", ("square", "b"), 0.5), has_nan)
    assert not bounds.never_nan(("T", "b"), has_nan)  # not known: measured whole


def test_a_full_audit_keeps_the_checkpoint_trace_a_checkpoint_run_gives(r_session):
    # the warnings read R's checkpoint trace: gathered from the audit's chunks it must be the run's own
    from crossverify.check.verify import Verifier
    scenario = load_scenario("detail-moons")
    audited = Verifier(r_session, scenario, epochs=2010)
    assert audited.record is not None and len(audited.record) == 4
    audited.audit_rows("article", ["exact"], ["free-running"], chunk=100)
    kept = audited.r()
    run = Verifier(r_session, scenario, epochs=2010).r()
    assert np.array_equal(kept.epochs, run.epochs) and kept.first_epoch == run.first_epoch == 0
    assert kept.n_epochs == run.n_epochs == 2010 and kept.names == run.names
    for got, want in ((kept.steps, run.steps), (kept.history, run.history), (kept.start, run.start),
                      (kept.init, run.init)):
        assert got.keys() == want.keys()
        for name in want:
            assert got[name].shape == want[name].shape and bits(got[name]) == bits(want[name]), name
    assert audited.warnings() == Verifier(r_session, scenario, epochs=2010).warnings()
