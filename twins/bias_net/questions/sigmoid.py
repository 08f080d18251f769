"""The reader's question on step 6: is the sigmoid's slope taken of ``output`` or of
``output_layer_input``, and why is ``x * (1 - x)`` right when the derivative is sigma(u)(1 - sigma(u))?

sigma'(u) = sigma(u)(1 - sigma(u)); written in terms of the activation x = sigma(u) it is x(1 - x), so
``derivatives_sigmoid`` must be given the activation. Checked against central differences
(sigma(u + h) - sigma(u - h)) / 2h in both languages, and the wrong choice run: given u, the slope
u(1 - u) is negative wherever u > 1, so the updates climb the error instead of descending it."""
from functools import partial

import numpy as np

from crossverify.explain.answer import Answer, Figure, agree, same_bits
from . import altered
from .lab import first_nonfinite

NETWORK = "bias-net"
WRONG_EPOCHS = 60  # the weights overflow well before this


def answer_slope(lab, q):
    scenario = lab.scenario("bias-net")
    py, r = lab.runs(scenario, 1, "corrected")
    u = {"python": py.at(0, "output_layer_input"), "r": r.at(0, "output_layer_input")}
    x = py.at(0, "output")
    h = 2.0 ** -20
    fd = {"python": altered.sigmoid_slope_fd(u["python"], h, lab.xp), "r": lab.r_call("sigmoid_slope_fd", u["r"], h)}
    right = {"python": py.at(0, "slope_output_layer"), "r": r.at(0, "slope_output_layer")}
    wrong = {"python": u["python"] * (1 - u["python"]), "r": lab.r_call("derivatives_sigmoid", u["r"])}
    right_gap = max(float(np.abs(right[k] - fd[k]).max()) for k in fd)
    wrong_gap = float(np.abs(wrong["python"] - fd["python"]).max())

    twin = lab.derived_twin("bias_net", "slope-of-input", partial(altered.question_epoch, slope_of="input"),
                            {"slope_of": "input"}, "step 6 given the linear transforms instead of the activations")
    run = lab.built("bias-net", "slope-of-input", epochs=WRONG_EPOCHS, twin=twin)
    wpy, wr = lab.runs(run, WRONG_EPOCHS)
    overflow = {"python": _first_overflow(wpy, twin.state), "r": _first_overflow(wr, twin.state)}
    finite = min(v for v in overflow.values() if v is not None)
    ok_py, _ = lab.runs(scenario, scenario.epochs, "corrected")
    watch = 20  # an epoch well before the overflow
    target0 = int(np.argmin(scenario.data["y"][:, 0]))  # the sample whose target is 0
    figures = [
        Figure.of("output_layer_input u at epoch 0", u["python"], u["r"]),
        Figure.of("output x = sigmoid(u)", x, r.at(0, "output")),
        Figure.of("sigmoid's slope at u by central differences, h = 2^-20", fd["python"], fd["r"]),
        Figure.of("step 6 as written: x * (1 - x) of the output", right["python"], right["r"]),
        Figure.of("given output_layer_input instead: u * (1 - u)", wrong["python"], wrong["r"]),
        Figure.of(f"trained with u * (1 - u): output at epoch {watch}", wpy.at(watch, "output"),
                  wr.at(watch, "output")),
        Figure.of(f"trained as written: output at epoch {watch}", ok_py.at(watch, "output"),
                  lab.r(scenario, scenario.epochs, "corrected").at(watch, "output")),
        Figure.of("trained with u * (1 - u): first epoch whose weights overflow", float(overflow["python"]),
                  float(overflow["r"]), compare=False),
    ]
    y0 = (wpy.at(0, "output")[target0, 0], wpy.at(watch, "output")[target0, 0])
    reply = [
        "The sigmoid's derivative is sigma'(u) = sigma(u)(1 - sigma(u)). The scripts never need u for it: the "
        "activation x = sigma(u) is already computed, and in terms of x the slope is x(1 - x). So "
        "`derivatives_sigmoid(x) = x * (1 - x)` is right when it is given the activation (`output`, "
        "`hiddenlayer_activations`), and wrong when given the linear transform: sigma(u)(1 - sigma(u)) and the "
        "scripts' x(1 - x) are one formula, written in terms of the sigmoid's input and of its output.",
        f"Computed at epoch 0: central differences of the sigmoid at u agree with x(1 - x) to {right_gap:.2g} in "
        f"both languages, while u(1 - u) is off by up to {wrong_gap:.3g}; it is negative wherever u > 1, as "
        f"{int((u['python'] > 1).sum())} of the {u['python'].size} samples' u are here, so it turns descent into "
        f"ascent.",
        f"Run: with u(1 - u) in step 6 (both layers), the output of the sample whose target is 0 rises "
        f"from {y0[0]:.4g} to {y0[1]:.4g} by epoch {watch} (as written it falls), the weights grow, and at "
        f"epoch {finite} they overflow to infinity and NaN, in Python and in R alike (bit for bit until then).",
    ]
    code = ([lab.source_line("python_impl/bias_net.py", r"return x \* \(1 - x\)"),
             lab.source_line("r_impl/R/bias_net.R", r"^\s*x \* \(1 - x\)")]
            + lab.code(NETWORK, 6) + lab.code("questions", "slope_of_input") + lab.code("questions", "sigmoid_fd"))
    claims = [
        ("x(1 - x) of the output matches central differences to 1e-9 in both languages", right_gap < 1e-9),
        ("u(1 - u) is off by more than 0.1 and negative where u > 1", wrong_gap > 0.1
         and bool(np.all(wrong["python"][u["python"] > 1] < 0))),
        ("both languages compute the same slopes and differences bit for bit", all(
            same_bits(a["python"], a["r"]) for a in (fd, right, wrong))),
        (f"trained with u(1 - u) the target-0 output rises by epoch {watch} where the correct run's falls",
         y0[1] > y0[0] and ok_py.at(watch, "output")[target0, 0] < ok_py.at(0, "output")[target0, 0]),
        ("its weights overflow at the same epoch in both languages, bit for bit before it",
         overflow["python"] is not None and overflow["python"] == overflow["r"]
         and all(agree(wpy.steps[n][:finite], wr.steps[n][:finite]) for n in wpy.names)),
    ]
    conclusion = ("Take the slope of the activation: x(1 - x) with x = sigmoid(u) is sigma'(u) (it matches finite "
                  f"differences); given u it is u(1 - u), negative for u > 1, and training diverges (weights "
                  f"overflow at epoch {finite} in both languages).")
    return Answer(q.number, q.key, q.asked, reply, figures, code, conclusion, claims)


def _first_overflow(trace, state):
    """The first epoch whose updated ``state`` holds an infinity or a NaN."""
    found = [first_nonfinite(trace.series(w)) for w in state]
    found = [f for f in found if f is not None]
    return min(found) if found else None
