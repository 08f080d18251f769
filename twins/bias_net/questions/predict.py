"""The reader's question "how do I predict new data?": the forward pass alone (steps 2-4) with the weights
training left, in both languages. The new inputs and the way R lays its trained biases out for them
come from the twin's own teaching hook (``new_data``, twins/bias_net/teaching.py), through
``crossverify.explain.steps.prediction``; the article's R model, whose biases belong to its training rows,
cannot score a row it was not trained on."""
import numpy as np

from crossverify.explain.steps import prediction
from crossverify.twins.runner import network_for
from crossverify.explain.answer import Answer, Figure, same_bits

NETWORK = "bias-net"


def answer_predict(lab, q):
    scenario = lab.scenario("bias-net")
    net = network_for(scenario)
    epochs = scenario.epochs
    last = epochs - 1
    py = lab.python(scenario, epochs)
    py_state = {w: py.at(last, w) for w in net.twin.state}
    predict = net.twin.resolve(net.twin.python_predict, "python_predict")
    scored = {}
    for variant in ("corrected", "article"):
        r = lab.r(scenario, epochs, variant)
        scored[variant] = prediction(lab.session, net, py_state, {w: r.at(last, w) for w in net.twin.state},
                                     variant, "exact")
    good, article = scored["corrected"], scored["article"]
    X_new = good.inputs
    n_train = scenario.data["X"].shape[0]
    y = scenario.data["y"]
    figures = [
        Figure.of("the inputs: the training rows and a new one", X_new, X_new),
        Figure.of(f"prediction after {epochs} epochs (R: per-neuron biases laid out for {X_new.shape[0]} rows)",
                  good.python, good.r),
        Figure.of("the targets of the training rows", y, y),
        Figure.of("R as the article (one bias per training row)", article.python,
                  article.r_error.split(": ", 1)[-1] if article.r_error else article.r),
    ]
    reply = [
        f"Training is steps 2-11 repeated; prediction is steps 2-4 alone, the forward pass, with the weights the "
        f"last epoch left: `predict(X_new, state)` in Python, `bias_net_predict(X_new, state)` in R. After "
        f"{epochs} epochs the training rows score {_row(good.python[:n_train])} (targets {_row(y)}), and the "
        f"new row {_row(X_new[n_train:])} scores {good.python[n_train, 0]:.4g}; R's prediction equals Python's "
        f"bit for bit.",
        f"New rows must have the training data's columns ({X_new.shape[1]} features) and the same preprocessing. "
        f"R needs its biases laid out for as many rows as it scores: with one bias per neuron every row of the "
        f"trained bh is the same, so row 1 spread over {X_new.shape[0]} rows does it. The article's R model has "
        f"one bias per training row instead and stops with `{(article.r_error or '').split(': ', 1)[-1]}` on "
        f"{X_new.shape[0]} rows.",
    ]
    code = lab.code(NETWORK, "predict")
    claims = [
        ("Python and R (per-neuron biases) score the training rows and a new one bit for bit alike",
         good.r is not None and same_bits(good.python, good.r)),
        ("the predictions of the training rows are on the targets' side of 0.5",
         bool(np.all((good.python[:n_train] > 0.5) == (y > 0.5)))),
        ("predicting with the weights the last epoch started from gives that epoch's output (steps 2-4)",
         same_bits(predict(scenario.data["X"], py.state_before(last, net.twin.state), lab.xp), py.at(last, "output"))),
        ("the article's R model refuses a row it was not trained on (non-conformable)",
         bool(article.r_error) and "non-conformable" in article.r_error),
    ]
    conclusion = ("Run steps 2-4 alone with the trained weights (predict in Python, bias_net_predict in R, which "
                  "agree bit for bit); R's biases must be one per neuron, laid out for the new rows.")
    return Answer(q.number, q.key, q.asked, reply, figures, code, conclusion, claims)


def _row(m):
    return "[" + ", ".join(f"{v:.4g}" for v in np.ravel(m)) + "]"
