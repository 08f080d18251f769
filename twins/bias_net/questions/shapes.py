"""The readers' questions about matrix shapes: how step 8 makes a 3x3 out of a 3x1 and a 1x3 (and
when to multiply with ``%*%``/``.dot``, with ``*``, and when to transpose), why the detail section's
dZ1/dW_i is X, and how to feed data of another shape without the error a reader hit at step 8.

The rules at work: ``%*%`` (numpy ``dot``) sums products over the index its operands share, so their
inner sizes must agree; ``*`` pairs cells one to one, which R allows only for equal shapes while numpy
also broadcasts; a flat numpy vector of shape (n,) broadcasts against an n x 1 column to n x n."""
import numpy as np

from crossverify.explain.answer import Answer, Figure, agree, same_bits
from crossverify.python_impl import bias_net, detail
from crossverify.python_impl.kernels import get_kernels

from . import altered
from .lab import shape

BIAS, DETAIL = "bias-net", "detail"  # the rosetta keys of the two networks' source lines


def _numpy_error(fn):
    """numpy's own message when ``fn()`` raises, else None."""
    try:
        fn()
    except ValueError as exc:
        return str(exc)
    return None


def answer_step8(lab, q):
    scenario = lab.scenario("bias-net")
    py, r = lab.runs(scenario, 1, "corrected")
    d_output, wout = py.at(0, "d_output"), scenario.init["wout"]
    step8 = {"python": py.at(0, "Error_at_hidden_layer"), "r": r.at(0, "Error_at_hidden_layer")}
    outer = {"python": np.multiply.outer(d_output[:, 0], wout[:, 0]),
             "r": lab.r_eval("outer(d_output[, 1], wout[, 1])", d_output=r.at(0, "d_output"), wout=wout)}
    star = {"python": d_output * wout.T, "r": lab.r_eval("d_output * t(wout)", d_output=d_output, wout=wout)}
    untransposed = {"python": _numpy_error(lambda: np.dot(d_output, wout)),
                    "r": lab.r_eval("d_output %*% wout", d_output=d_output, wout=wout)}
    E9, s9 = py.at(0, "Error_at_hidden_layer"), py.at(0, "slope_hidden_layer")
    wrong9 = {"python": lab.xp.dot(E9, s9), "r": lab.r_eval("Error_at_hidden_layer %*% slope_hidden_layer",
                                                           Error_at_hidden_layer=E9, slope_hidden_layer=s9)}
    step9 = py.at(0, "d_hiddenlayer")
    n, h = step8["python"].shape
    figures = [
        Figure.of("d_output at epoch 0 (step 7), 3x1: one delta per sample", d_output, r.at(0, "d_output")),
        Figure.of("t(wout), 1x3: one weight per hidden neuron", wout.T, lab.r_eval("t(wout)", wout=wout)),
        Figure.of("step 8: d_output . t(wout), 3x3", step8["python"], step8["r"]),
        Figure.of("d_output[i] * wout[j] for every i, j (outer product)", outer["python"], outer["r"]),
        Figure.of("d_output * t(wout), elementwise", star["python"], star["r"]),
        Figure.of("d_output . wout, without the transpose", untransposed["python"], untransposed["r"]),
        Figure.of("step 9 written with . (matrix product) in place of *", wrong9["python"], wrong9["r"]),
        Figure.of("step 9 as written, Error_at_hidden_layer * slope_hidden_layer", step9, r.at(0, "d_hiddenlayer")),
    ]
    reply = [
        f"A matrix product sums over the index its two operands share: a {shape(d_output)} times a "
        f"{shape(wout.T)} shares an index of length 1, so there is nothing to add up and cell (i, j) is the "
        f"single product d_output[i] * wout[j]: sample i's output delta sent back along hidden neuron j's "
        f"outgoing weight. Both languages' step 8 equals that outer product bit for bit, {n}x{h}: one error "
        f"per sample and hidden neuron, the shape step 9 needs.",
        "Use `%*%` (numpy `.dot`) when an index is summed over: the inner sizes must agree, and a transpose "
        "is what brings the summed index inside. Without it, `d_output . wout` is a 3x1 times a 3x1 and both "
        "languages refuse. In step 10, `t(hiddenlayer_activations) %*% d_output` puts the samples inside, so "
        "the update sums over them and comes out shaped like `wout`.",
        "Use `*` when cells correspond one to one: step 9 multiplies each hidden error by the slope of the "
        "same cell. R's `*` needs equal shapes (`d_output * t(wout)` stops with "
        f"`{star['r']}`), while numpy broadcasts the 3x1 and the 1x3 into the same 3x3 as step 8, which can "
        "hide a slip. At step 9 both matrices are 3x3, so a `.` in place of `*` would run without complaint "
        f"in both languages and give another matrix (up to {np.abs(wrong9['python'] - step9).max():.3g} away).",
    ]
    code = lab.code(BIAS, 8) + lab.code(BIAS, 9) + lab.code(BIAS, 10)
    claims = [
        ("step 8 is 3x3 and equal in both languages bit for bit", step8["python"].shape == (3, 3)
         and same_bits(step8["python"], step8["r"])),
        ("step 8 is the outer product d_output[i] * wout[j], bit for bit",
         same_bits(step8["python"], outer["python"]) and same_bits(step8["r"], outer["r"])),
        ("numpy's d_output * wout.T broadcasts to the same 3x3; R's * refuses (non-conformable arrays)",
         same_bits(star["python"], step8["python"]) and isinstance(star["r"], str) and "non-conformable" in star["r"]),
        ("without the transpose both languages refuse the product",
         isinstance(untransposed["python"], str) and isinstance(untransposed["r"], str)
         and "non-conformable" in untransposed["r"]),
        ("at step 9 the matrix product also runs, in both languages alike, and gives another matrix",
         same_bits(wrong9["python"], wrong9["r"]) and not np.allclose(wrong9["python"], step9)),
    ]
    conclusion = ("Step 8 is an outer product (the shared index has length 1): cell (i, j) is d_output[i] * wout[j]; "
                  "use %*%/.dot to sum over a shared index (transpose to bring it inside), * to pair equal-shaped "
                  "cells.")
    return Answer(q.number, q.key, q.asked, reply, figures, code, conclusion, claims)


def answer_dz1_dw(lab, q):
    scenario = lab.scenario("detail-toy")
    py, r = lab.runs(scenario, 1)
    X, y, state = scenario.data["X"], scenario.data["y"], dict(scenario.init)
    name = "weights_input_hidden"
    h = 2.0 ** -20
    link = "hiddenLayer_linearTransform_wrt_weights_input_hidden"
    # Z1 = W_i^T X: moving W_i[0, 0] by h moves row 0 of Z1 by h * X[0, :] and no other row
    nudged = {"python": _z1_slope(lab, X, state[name], h, "python"), "r": _z1_slope(lab, X, state[name], h, "r")}
    fd = {"python": altered.fd_gradient(altered.total_error(detail.predict, X, y, lab.xp), state, name, h),
          "r": lab.r_eval("fd_gradient(total_error(detail_predict, X, y), state, name, h)",
                          X=X, y=y, state=state, name=name, h=h)}
    grad = {"python": py.at(0, "error_wrt_weights_input_hidden"), "r": r.at(0, "error_wrt_weights_input_hidden")}
    args = ("hiddenLayer_activations_wrt_hiddenLayer_linearTransform",
            "outputLayer_LinearTransform_wrt_hiddenLayer_activations", "output_wrt_outputLayer_LinearTransform",
            "error_wrt_output")
    wrong = {"python": detail.input_hidden_gradient(state[name], *(py.at(0, a) for a in args), lab.xp),
             "r": lab.r_call("input_hidden_gradient", state[name], *(r.at(0, a) for a in args))}
    gap = {k: float(np.abs(grad[k] - fd[k]).max()) for k in grad}
    wrong_gap = float(np.abs(wrong["python"] - fd["python"]).max())
    figures = [
        Figure.of("step 13, dZ1/dW_i", py.at(0, link), r.at(0, link)),
        Figure.of("X", X, X),
        Figure.of("(Z1(W_i[0, 0] + h) - Z1(W_i[0, 0] - h)) / 2h, h = 2^-20", nudged["python"], nudged["r"]),
        Figure.of("step 14, dE/dW_i built with X", grad["python"], grad["r"]),
        Figure.of("dE/dW_i by central differences of the summed error", fd["python"], fd["r"]),
        Figure.of("largest |step 14 - central differences|", gap["python"], gap["r"], compare=False),
        Figure.of("step 14 built with W_i in place of X", wrong["python"], wrong["r"]),
    ]
    reply = [
        "The hidden layer's linear transform is Z1 = W_i^T X: each cell Z1[j, n] = sum_f W_i[f, j] X[f, n] "
        "is linear in the weights, and the factor multiplying W_i[f, j] is X[f, n]. So the rate of change of "
        "Z1 with respect to the weights is the input X, exactly as d(w x)/dw = x; the weights W_i are the rate "
        "of change with respect to X (which is why step 11 uses W_h for dZ2/dh).",
        f"Computed: moving W_i[0, 0] by h moves row 0 of Z1 by h times X's first row and leaves the other rows "
        f"alone, in both languages. Step 14, dE/dW_i built with X, matches central differences of the summed "
        f"error to {max(gap.values()):.2g}. Built with W_i in its place it still runs, because the toy's X and "
        f"W_i are both 4x3, but it is off by up to {wrong_gap:.3g}.",
    ]
    code = lab.code(DETAIL, 1) + lab.code(DETAIL, 13) + lab.code(DETAIL, 14) + lab.code("questions", "fd_gradient")
    claims = [
        ("step 13 is X, bit for bit, in both languages", same_bits(py.at(0, link), X) and same_bits(r.at(0, link), X)),
        ("moving W_i[0, 0] moves row 0 of Z1 by X[0, :] and no other row, in both languages",
         all(np.allclose(nudged[k][0], X[0], atol=1e-6) and not nudged[k][1:].any() for k in nudged)),
        ("step 14 matches central differences to 1e-8 in both languages", max(gap.values()) < 1e-8),
        ("Python and R compute the same central differences and the same step 14 bit for bit",
         same_bits(fd["python"], fd["r"]) and same_bits(grad["python"], grad["r"])),
        ("built with W_i in place of X, step 14 is wrong by more than 1e-3", wrong_gap > 1e-3
         and same_bits(wrong["python"], wrong["r"])),
    ]
    conclusion = ("Z1 = W_i^T X is linear in W_i with X as the coefficient, so dZ1/dW_i = X (and dZ1/dX = W_i); "
                  "step 14 built with X matches finite differences in both languages, built with W_i it does not.")
    return Answer(q.number, q.key, q.asked, reply, figures, code, conclusion, claims)


def _z1_slope(lab, X, W, h, language):
    up, down = W.copy(), W.copy()
    up[0, 0] += h
    down[0, 0] -= h
    if language == "python":
        return (detail.hidden_forward(X, up, lab.xp)[0] - detail.hidden_forward(X, down, lab.xp)[0]) / (2 * h)
    return lab.r_eval("(hidden_forward(X, up)$hiddenLayer_linearTransform - "
                      "hidden_forward(X, down)$hiddenLayer_linearTransform) / (2 * h)", X=X, up=up, down=down, h=h)


# -- question 10: data of another shape --------------------------------------------------------------

ROWS, COLUMNS, HIDDEN = 75, 6, 3
EPOCHS_OTHER = 1000


def other_data():
    """A data set shaped like the reader's (75 rows, 6 columns, one continuous target), made here: uniform
    inputs and a noisy linear target scaled into [0, 1], the sigmoid output's range. The target comes
    out flat, shape (75,), as ``np.array(df['rating'])`` does."""
    rng = np.random.RandomState(2017)
    X = rng.uniform(size=(ROWS, COLUMNS))
    raw = X @ np.array([3.0, -2.0, 1.0, 0.0, 0.5, -1.0]) + 0.1 * rng.standard_normal(ROWS)
    return X, (raw - raw.min()) / (raw.max() - raw.min())


def other_init(features, hidden):
    """The article's initialisation for these sizes: seed 42, uniform draws in the fixture's order."""
    rng = np.random.RandomState(42)
    return {name: rng.uniform(size=s) for name, s in
            (("wh", (features, hidden)), ("bh", (1, hidden)), ("wout", (hidden, 1)), ("bout", (1, 1)))}


def answer_other_shape(lab, q):
    X, y_flat = other_data()
    init = other_init(COLUMNS, HIDDEN)
    lr = lab.scenario("bias-net").hyper["lr"]
    plain = get_kernels("float")  # the reader's plain numpy
    flat_E = (y_flat - bias_net.predict(X, init, plain)).shape
    numpy_error = _numpy_error(lambda: bias_net.epoch(X, y_flat, init, lr, plain))
    r_state = lab.r_call("bias_net_start", X, init)
    flat_y_r = lab.session.ro.FloatVector(y_flat)  # an R vector without dim, as a data frame's column
    r_flat = lab.from_r(lab.session.call("bias_net_epoch", lab.to_r(X), flat_y_r, lab.r_list(r_state), lr))
    row_error = lab.r_error("bias_net_epoch", X, y_flat[None, :], r_state, lr)
    row_numpy_error = _numpy_error(lambda: bias_net.epoch(X, y_flat[None, :], init, lr, plain))
    scenario = lab.built("bias-net", "other-shape", data={"X": X, "y": y_flat[:, None]}, init=init,
                         epochs=EPOCHS_OTHER)
    py, r = lab.runs(scenario, EPOCHS_OTHER, "corrected")
    last = EPOCHS_OTHER - 1
    loss = {k: [float(np.mean(t.at(e, "E") ** 2) / 2) for e in (0, last)] for k, t in (("python", py), ("r", r))}
    identical = all(agree(py.steps[n], r.steps[n]) for n in py.names)
    figures = [
        Figure.of("y as read from a data frame's column", f"flat, shape {y_flat.shape}", "a vector of 75, no dim"),
        Figure.of("E = y - output with that y (step 5)", shape(np.empty(flat_E)), shape(r_flat["E"])),
        Figure.of("step 8 with that y", numpy_error or "runs", shape(r_flat["Error_at_hidden_layer"])),
        Figure.of("y as a 1x75 row", row_numpy_error or "runs", row_error or "runs"),
        Figure.of(f"mean(E^2)/2 at epochs 0 and {last}, y as a 75x1 column", np.array(loss["python"]),
                  np.array(loss["r"])),
        Figure.of(f"output after {EPOCHS_OTHER} epochs, first 3 rows", py.at(last, "output")[:3],
                  r.at(last, "output")[:3]),
        Figure.of("targets, first 3 rows", y_flat[:3, None], y_flat[:3, None]),
    ]
    reply = [
        f"The number of hidden neurons is free; what went wrong is the target. A data frame's column comes out of "
        f"`np.array(df['rating'])` flat, shape ({ROWS},), and step 5's `y - output` broadcasts it against the "
        f"{ROWS}x1 output into a {flat_E[0]}x{flat_E[1]} matrix, so d_output is {ROWS}x{ROWS} and step 8 stops with "
        f"the reader's message: `{numpy_error}`. We rebuilt it on a data set of the same shape made here "
        f"({ROWS} rows, {COLUMNS} uniform columns, a noisy linear target scaled into [0, 1], the sigmoid's range).",
        f"R is spared this one: a vector without dimensions recycles into the {ROWS}x1 output, so E is "
        f"{shape(r_flat['E'])}. A target given as a 1x{ROWS} row fails in both, numpy at step 8 again and R at "
        f"step 5 (`{row_error}`).",
        f"The fix is a column: `y = y.reshape(-1, 1)` in Python, `matrix(y, ncol = 1)` in R. Then the inputs set "
        f"inputlayer_neurons = X.shape[1] = {COLUMNS}, any hiddenlayer_neurons works ({HIDDEN} here), the error "
        f"falls from {loss['python'][0]:.4g} to {loss['python'][1]:.4g} in {EPOCHS_OTHER} epochs, and Python and R "
        f"agree bit for bit at every step (R with per-neuron biases, byrow = TRUE: the article's byrow = FALSE "
        f"layout would cycle the 3 biases down 75 rows, question 1).",
    ]
    code = lab.code(BIAS, 5) + lab.code(BIAS, 8)
    claims = [
        ("a flat (75,) target makes numpy's E 75x75 and step 8 fail with 'not aligned'",
         flat_E == (ROWS, ROWS) and numpy_error is not None and "not aligned" in numpy_error),
        ("R's vector target gives a 75x1 E and step 8 runs", r_flat["E"].shape == (ROWS, 1)
         and r_flat["Error_at_hidden_layer"].shape == (ROWS, HIDDEN)),
        ("a 1x75 target fails in both languages", row_error is not None and row_numpy_error is not None),
        (f"with a 75x1 target Python and R agree bit for bit at every step of {EPOCHS_OTHER} epochs", identical),
        ("and the error falls", loss["python"][1] < loss["python"][0] / 2 and loss["python"] == loss["r"]),
    ]
    conclusion = ("The shape error comes from a flat (75,) target, which numpy broadcasts into a 75x75 error; make "
                  "y a 75x1 column and any number of hidden neurons trains, identically in Python and R.")
    return Answer(q.number, q.key, q.asked, reply, figures, code, conclusion, claims)
