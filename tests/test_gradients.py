"""A gradient oracle independent of both languages: central finite differences, in long double,
of the loss L = sum((y - output)^2) / 2, against the gradients the implementations use.

The bias network's update is w + lr * G with G = -dL/dw; G is recomputed here from a trace's own
intermediates (G_wout = hiddenlayer_activations^T . d_output, G_wh = X^T . d_hiddenlayer, a bias's
G = its delta summed the way the variant sums it), and a separate test shows that this G, added
the way the implementation adds it, reproduces the implementation's updated weights bit for bit.

Which biases, which sums:

* per-neuron model (Python; R ``corrected``): one bias per neuron, shared by every sample; its
  gradient is the column sum of the delta.
* the article's layout on the square fixture (n = h = 3): ``matrix(rep(b, 3), 3)`` puts b_i on
  every column of row i, one bias per *sample*, and both R variants built on it keep the rows
  constant; the gradient with respect to b_i is the row sum of d_hiddenlayer. The article's
  ``rowSums`` is that gradient; the commenter's ``colSums`` (variant ``colsums-only``) adds
  neuron i's column sum to sample i's bias, which is not. (With one output neuron the article's
  ``bout`` is one shared value, so there the column sum *is* the gradient.)

The tolerance, derived, not tuned. For a parameter t, D(s) = (L(t + s) - L(t - s)) / (2 s):

    |G - (-D)| <= e_G + M3 s^2 / 6 + e_L / s + u_L |D|

* M3 s^2 / 6 is the truncation of the central difference (Taylor, with remainder): M3 bounds
  |d^3 L / dt^3| on [t - s, t + s]. With g = sigmoid(z(t)) and r = y - g, each sample and output
  contributes (r^2 / 2)''' = 3 g' g'' - r g''', g' = S1 z', g'' = S2 z'^2 + S1 z'', g''' = S3 z'^3
  + 3 S2 z' z'' + S1 z''', where S1 = 1/4, S2 = sqrt(3)/18, S3 = 1/8 bound the sigmoid's first
  three derivatives and |r| <= |y - 1/2| + 1/2. For an output weight z' is an activation (<= 1)
  and z'' = z''' = 0; for a hidden weight with input x, z^(k) = wout S_k x^k at most.
* e_L / s is rounding: e_L bounds the error of L evaluated in long double (u_L = 2^-64 on
  x86-64), by a running first-order error analysis of the forward pass (dot products within
  gamma_k of exact, the sigmoid within (c_exp + 2) u_L relatively with expl within c_exp = 4 ulp,
  then r, r^2 and the sum), doubled to cover the second-order terms (relatively ~u_L, far below).
  s is the power of two nearest (3 e_L / M3)^(1/3), which minimises the two terms (at most 1).
  t +- s is then exact in long double unless t's bits reach far below s (a t of 1e-23, say);
  then each end is off by at most u_L (|t| + s), and (|D| + the rest) u_L (|t| + s) / s is added.
* u_L |D| is the rounding of D's own subtraction (the division by 2 s is exact).
* e_G bounds the double-precision rounding of G itself: the implementations compute every
  intermediate in float64. It is the bound of bridge/check/bounds.py carried through the expression
  tree of G from the weights, with the exact-arithmetic value as the other side.

On the bias-net fixture the tolerance comes to 5e-13 to 7e-12 on gradients of 3e-5 to 7e-2 (the
finite difference's part dominates; e_G is at most 5e-13), the measured |G + dL/dw| reaches 0.17
of it, and the row and column sums differ by a million tolerances or more.
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from crossverify.check import bounds
from crossverify.shipped_twins.bias_net.rmodel import recycle
from crossverify.twins.scenarios import Scenario
from crossverify.check.verify import Verifier
from crossverify.python_impl import bias_net
from crossverify.python_impl.kernels import get_kernels

LD = np.longdouble
U_L = float(np.finfo(LD).eps) / 2
C_EXP = 4  # expl's error, in ulps of long double (glibc documents 1-2 on x86-64; 4 to be safe)
S1, S2, S3 = 0.25, math.sqrt(3) / 18, 0.125
EPOCHS = (0, 1, 10, 100, 1000, 4999)
xp = get_kernels("exact")


# -- the loss in long double, and its error bound ------------------------------------------------

def loss(X, y, wh, bh, wout, bout):
    """L = sum((y - output)^2) / 2, the forward pass in long double (bh, bout broadcast over samples)."""
    A = 1 / (1 + np.exp(-(X @ wh + bh)))
    out = 1 / (1 + np.exp(-(A @ wout + bout)))
    r = y - out
    return (r * r).sum() / 2


def gamma(k, u=U_L):
    return k * u / (1 - k * u)


def loss_error_bound(X, y, wh, bh, wout, bout):
    """e_L: a bound on |L computed in long double - L exact| (first order, doubled)."""
    X, wh, bh, wout, bout = (np.abs(np.asarray(v, dtype=np.float64)) for v in (X, wh, bh, wout, bout))
    f, h = wh.shape
    c_sigma = (C_EXP + 2) * U_L
    e_u = gamma(f + 1) * (X @ wh + bh)  # step 2: f products and the bias, each output within gamma_(f+1)
    e_a = S1 * e_u + c_sigma  # the sigmoid is 1/4-Lipschitz, then rounds within c_sigma of its value (<= 1)
    e_z = e_a @ wout + gamma(h + 1) * (wout.sum(axis=0) + bout)  # activations are at most 1
    e_out = S1 * e_z + c_sigma
    r = np.abs(np.asarray(y, dtype=np.float64) - 0.5) + 0.5  # |y - output|, output in [0, 1]
    e_r = e_out + U_L * r
    # L = sum(r^2) / 2: first order r e_r per term, r^2 rounds within u_L r^2, the sum within gamma_N sum(r^2)
    return 2 * float((r * e_r).sum() + (U_L + gamma(r.size)) / 2 * (r * r).sum())


def third_derivative_bound(a1, a2, a3, r_max):
    """sup |(r^2/2)'''| for g = sigmoid(z(t)), |z'| <= a1, |z''| <= a2, |z'''| <= a3, |r| <= r_max."""
    g1 = S1 * a1
    g2 = S2 * a1 ** 2 + S1 * a2
    g3 = S3 * a1 ** 3 + 3 * S2 * a1 * a2 + S1 * a3
    return 3 * g1 * g2 + r_max * g3


# -- parameters: which entries of which matrix move together --------------------------------------

class Model:
    """The network's loss as a function of one parameter at a time, at a state (float64 values)."""

    def __init__(self, X, y, state, hidden_bias):
        self.X, self.y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self.state = {k: np.asarray(v, dtype=np.float64) for k, v in state.items()}
        self.hidden_bias = hidden_bias  # "per-neuron": bh is 1 x h; "per-sample": bh is n x 1
        self.r_max = np.abs(self.y - 0.5) + 0.5
        self.e_l = loss_error_bound(self.X, self.y, *(self.state[k] for k in ("wh", "bh", "wout", "bout")))
        self._ld = {k: np.asarray(v, dtype=LD) for k, v in {"X": self.X, "y": self.y, **self.state}.items()}

    def _loss(self, name, value):
        args = {**self._ld, name: value}
        return loss(*(args[k] for k in ("X", "y", "wh", "bh", "wout", "bout")))

    def m3(self, name, index):
        """M3 for parameter state[name][index] (see the module docstring)."""
        W = np.abs(self.state["wout"])  # h x o
        r = self.r_max  # n x o
        if name in ("wout", "bout"):
            k = index[1]
            return float(sum(third_derivative_bound(1.0, 0.0, 0.0, r[i, k]) for i in range(r.shape[0])))
        if name == "wh" or (name == "bh" and self.hidden_bias == "per-neuron"):
            j = index[1]
            c = np.abs(self.X[:, index[0]]) if name == "wh" else np.ones(len(self.X))
            return float(sum(third_derivative_bound(W[j, k] * S1 * c[i], W[j, k] * S2 * c[i] ** 2,
                                                    W[j, k] * S3 * c[i] ** 3, r[i, k])
                             for i in range(r.shape[0]) for k in range(r.shape[1])))
        # per-sample hidden bias b_i: every hidden neuron of sample i moves
        i = index[0]
        w = W.sum(axis=0)
        return float(sum(third_derivative_bound(S1 * w[k], S2 * w[k], S3 * w[k], r[i, k]) for k in range(r.shape[1])))

    def central_difference(self, name, index):
        """(-D, its error bound) for parameter state[name][index]; see the module docstring."""
        m3 = self.m3(name, index)
        # the s minimising M3 s^2/6 + e_L/s; at most 1 (M3 = 0 when L does not depend on the parameter)
        s = LD(2.0) ** min(0, round(math.log2((3 * self.e_l / m3) ** (1 / 3)))) if m3 > 0 else LD(1.0)
        values, exact = [], True
        for sign in (1, -1):
            moved = self._ld[name].copy()
            t = moved[index]
            moved[index] = t + sign * s
            exact = exact and (moved[index] - t) == sign * s
            values.append(self._loss(name, moved))
        D = (values[0] - values[1]) / (2 * s)
        error = m3 * s * s / 6 + LD(self.e_l) / s + U_L * abs(D)
        if not exact:
            # t +- s rounded (t's bits span more than long double's 64): each end moved by at most
            # u_L (|t| + s), which moves D by at most |L'| u_L (|t| + s) / s, |L'| <= |D| + error
            error += (abs(D) + error) * U_L * (abs(t) + s) / s
        return -float(D), float(error)


def g_bound(X, y, state, which, reduce_axis):
    """e_G: bridge/check/bounds.py's bound on the double-precision rounding of G, from the weights up."""
    values = {"X": X, "y": y, **state}
    leaf = lambda token: bounds.Node.leaf(values[token], values[token])  # noqa: E731 - no measured difference
    hidden = ("sigmoid", ("add", ("dot", "X", "wh"), "bh"))
    output = ("sigmoid", ("add", ("dot", hidden, "wout"), "bout"))
    d_output = ("mul", ("sub", "y", output), ("slope", output))
    d_hidden = ("mul", ("dot", d_output, ("T", "wout")), ("slope", hidden))
    axis = reduce_axis - 2  # the axis of one 2-D matrix, counted from the end
    expr = {"wout": ("dot", ("T", hidden), d_output), "wh": ("dot", ("T", "X"), d_hidden),
            "bout": ("sum", d_output, axis), "bh": ("sum", d_hidden, axis)}[which]
    return bounds.evaluate(expr, leaf).d


def gradients_from_intermediates(X, values, bias_sums="colSums"):
    """G = -dL/dw from one epoch's intermediates, in R's arithmetic (exact kernels)."""
    axis = 0 if bias_sums == "colSums" else 1
    return {"wout": xp.dot(values["hiddenlayer_activations"].T, values["d_output"]),
            "wh": xp.dot(X.T, values["d_hiddenlayer"]),
            "bout": xp.sum(values["d_output"], axis=axis), "bh": xp.sum(values["d_hiddenlayer"], axis=axis)}


def check_against_oracle(model, G, name, reduce_axis):
    """Every entry of G[name] against the oracle; returns the largest |G + dL/dw| / tolerance."""
    e_g = g_bound(model.X, model.y, model.state, name, reduce_axis)
    worst = 0.0
    shape = np.shape(G[name])
    for index in np.ndindex(*shape):
        oracle, fd_error = model.central_difference(name, index)
        tolerance = float(np.broadcast_to(e_g, shape)[index]) + fd_error
        assert abs(G[name][index] - oracle) <= tolerance, (
            f"{name}{list(index)}: G {G[name][index]!r} vs -dL/dw {oracle!r} (tolerance {tolerance:.3g})")
        worst = max(worst, abs(G[name][index] - oracle) / tolerance)
    return worst


def per_sample_state(state):
    """The article layout's state as the per-sample model: bh's rows are constant, keep one column."""
    bh = state["bh"]
    assert np.array_equal(bh, np.repeat(bh[:, :1], bh.shape[1], axis=1)), "bh rows are not constant"
    return {**state, "bh": bh[:, :1]}


# -- the per-neuron model: Python and R corrected -------------------------------------------------

@pytest.mark.parametrize("impl", ["python", "r"])
def test_per_neuron_gradients_of_both_languages_match_finite_differences(bias_verifier, impl):
    trace = bias_verifier.python("exact") if impl == "python" else bias_verifier.r("corrected")
    worst = 0.0
    for epoch in EPOCHS:
        state = trace.state_before(epoch, bias_net.WEIGHTS)
        state = {**state, "bh": state["bh"][:1], "bout": state["bout"][:1]}  # R repeats the per-neuron row
        values = {name: trace.at(epoch, name) for name in trace.names}
        G = gradients_from_intermediates(bias_verifier.X, values)
        model = Model(bias_verifier.X, bias_verifier.y, state, "per-neuron")
        for name in ("wh", "bh", "wout", "bout"):
            worst = max(worst, check_against_oracle(model, G, name, reduce_axis=0))
    assert worst < 1  # reached only when every entry is inside its tolerance


@pytest.mark.parametrize("variant", ["corrected", "article", "colsums-only", "rowsums-only"])
def test_the_updates_r_applies_are_lr_times_g_recomputed_from_its_intermediates(bias_verifier, variant):
    """So the G checked against the oracle is the one each variant really steps along, to the bit."""
    from crossverify.shipped_twins.bias_net import rmodel
    r, lr = bias_verifier.r(variant), bias_verifier.lr
    for epoch in EPOCHS:
        before = r.state_before(epoch, bias_net.WEIGHTS)
        values = {name: r.at(epoch, name) for name in r.names}
        G = gradients_from_intermediates(bias_verifier.X, values)
        for w in ("wout", "wh"):
            assert np.array_equal((before[w] + G[w] * lr).view(np.uint64), values[w].view(np.uint64)), (variant, epoch, w)
        bout, bh = rmodel.r_update_biases(before["bh"], before["bout"], values["d_output"], values["d_hiddenlayer"],
                                          lr, variant, xp)
        assert np.array_equal(bh.view(np.uint64), values["bh"].view(np.uint64)), (variant, epoch)
        assert np.array_equal(bout.view(np.uint64), values["bout"].view(np.uint64)), (variant, epoch)


# -- the article's per-sample biases: rowSums is their gradient, colSums is not ----------------------

@pytest.mark.parametrize("variant", ["article", "colsums-only"])
def test_row_sums_are_the_gradient_of_the_article_per_sample_biases(bias_verifier, variant):
    r = bias_verifier.r(variant)
    for epoch in EPOCHS:
        state = per_sample_state(r.state_before(epoch, bias_net.WEIGHTS))
        values = {name: r.at(epoch, name) for name in r.names}
        G = gradients_from_intermediates(bias_verifier.X, values, bias_sums="rowSums")
        model = Model(bias_verifier.X, bias_verifier.y, state, "per-sample")
        check_against_oracle(model, G, "bh", reduce_axis=1)
        for name in ("wh", "wout"):  # the weights' updates are right in every layout
            check_against_oracle(model, G, name, reduce_axis=0)


@pytest.mark.parametrize("variant", ["article", "colsums-only"])
def test_column_sums_are_not_the_gradient_of_the_per_sample_biases_they_update(bias_verifier, variant):
    r = bias_verifier.r(variant)
    for epoch in EPOCHS:
        state = per_sample_state(r.state_before(epoch, bias_net.WEIGHTS))
        d_hidden = r.at(epoch, "d_hiddenlayer")
        # what the commenter's bh + colSums(d_hiddenlayer) * lr adds to sample i's bias: neuron i's column sum
        colsums = xp.sum(d_hidden, axis=0).ravel()
        model = Model(bias_verifier.X, bias_verifier.y, state, "per-sample")
        e_g = g_bound(model.X, model.y, model.state, "bh", reduce_axis=1).ravel()
        misses = []
        for i in range(len(colsums)):
            oracle, fd_error = model.central_difference("bh", (i, 0))
            tolerance = e_g[i] + fd_error
            misses.append(abs(colsums[i] - oracle) / tolerance)
        # not within tolerance, and not by a rounding: by at least a million tolerances
        assert max(misses) > 1e6, (variant, epoch, misses)


def test_colsums_only_applies_the_column_sums_to_the_per_sample_biases(bias_verifier):
    """The demonstration's premise, read off R's own trace: sample i's bias moved by lr * colSums[i]."""
    r, lr = bias_verifier.r("colsums-only"), bias_verifier.lr
    for epoch in EPOCHS:
        before = r.state_before(epoch, ("bh",))["bh"]
        colsums = xp.sum(r.at(epoch, "d_hiddenlayer"), axis=0).ravel()
        expected = before + recycle(colsums * lr, before.shape)
        assert np.array_equal(r.at(epoch, "bh").view(np.uint64), expected.view(np.uint64))
        # recycled down the columns of a 3 x 3 matrix, element (i, j) gets colSums[(i + 3 j) mod 3] = colSums[i]
        assert np.array_equal(recycle(colsums, (3, 3)), np.repeat(colsums[:, None], 3, axis=1))


def test_one_output_neuron_makes_the_column_sum_the_shared_output_bias_gradient(bias_verifier):
    """With o = 1 the article's bout is one value for every sample (all rows equal), and the
    commenter's colSums(d_output) is its gradient: the per-neuron model's."""
    r = bias_verifier.r("colsums-only")
    for epoch in EPOCHS:
        state = r.state_before(epoch, bias_net.WEIGHTS)
        assert np.all(state["bout"] == state["bout"][0, 0])
        model = Model(bias_verifier.X, bias_verifier.y, {**per_sample_state(state), "bout": state["bout"][:1]},
                      "per-sample")
        G = {"bout": xp.sum(r.at(epoch, "d_output"), axis=0)}
        check_against_oracle(model, G, "bout", reduce_axis=0)


# -- drawn networks: every shape -------------------------------------------------------------------

def small_matrices(shape):
    return arrays(np.float64, shape, elements=st.floats(-4, 4, allow_nan=False, allow_infinity=False))


@st.composite
def network_states(draw):
    """Shapes 1-8, X and weights in [-4, 4], targets in [0, 1]."""
    n, f, h, o = (draw(st.integers(1, 8)) for _ in range(4))
    return (draw(small_matrices((n, f))), draw(arrays(np.float64, (n, o), elements=st.floats(0, 1))),
            {"wh": draw(small_matrices((f, h))), "bh": draw(small_matrices((1, h))),
             "wout": draw(small_matrices((h, o))), "bout": draw(small_matrices((1, o)))})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(drawn=network_states())
def test_every_weight_and_bias_gradient_matches_finite_differences_for_drawn_networks(r_session, drawn):
    X, y, state = drawn
    scenario = Scenario("drawn", "bias_net", "(drawn by hypothesis)", 0.25, 1, {"X": X, "y": y}, state, manifest={})
    r = Verifier(r_session, scenario).r("corrected")
    python = bias_net.epoch(X, y, state, 0.25, xp)
    model = Model(X, y, state, "per-neuron")
    for values in (python, {name: r.at(0, name) for name in r.names}):
        G = gradients_from_intermediates(X, values)
        for name in ("wh", "bh", "wout", "bout"):
            check_against_oracle(model, G, name, reduce_axis=0)
