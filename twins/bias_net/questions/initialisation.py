"""The reader's question on 100 hidden neurons: why the output is [1, 1, 1] (error [0, 0, -1]), and what
initialisation avoids it.

With weights drawn uniformly in [0, 1) (step 1, as the article's Python does) every term of
``output_layer_input = hiddenlayer_activations . wout + bout`` is positive, so with 100 hidden neurons
it is a sum of 100 positive terms. A sigmoid returns exactly 1.0 in float64 once e^-u <= 2^-53, that
is for u >= 53 ln 2 ~ 36.7 (bridge/check/saturation.py); there its slope x(1 - x) is exactly 0, so
step 7's delta is 0, no gradient flows and the weights never move. Zero-centred weights scaled by the
layer sizes (Glorot and Bengio's uniform initialisation, U(-a, a) with a = sqrt(6 / (fan_in +
fan_out)), biases 0) keep the sum near 0, where the sigmoid is steep."""
import math

import numpy as np

from crossverify.check.saturation import saturated_steps
from crossverify.twins.runner import network_for

from crossverify.explain.answer import Answer, Figure, agree
from .shapes import other_init

NETWORK = "bias-net"
HIDDEN = 100
EPOCHS = 2000
ONE = 53 * math.log(2)  # sigmoid(u) rounds to exactly 1.0 from here on


def glorot_init(features, hidden, seed=42):
    """Glorot uniform: weights U(-a, a), a = sqrt(6 / (fan_in + fan_out)), biases 0; seed 42, drawn in
    the fixture's order."""
    rng = np.random.RandomState(seed)
    init = {}
    for name, (rows, cols) in (("wh", (features, hidden)), ("bh", (1, hidden)), ("wout", (hidden, 1)),
                               ("bout", (1, 1))):
        if name.startswith("b"):
            init[name] = np.zeros((rows, cols))
        else:
            a = math.sqrt(6.0 / (rows + cols))
            init[name] = rng.uniform(-a, a, size=(rows, cols))  # rosetta: questions glorot
    return init


def answer_hundred(lab, q):
    base = lab.scenario("bias-net")
    features = base.data["X"].shape[1]
    last = EPOCHS - 1
    record = [0, last]
    inits = {"uniform": other_init(features, HIDDEN), "glorot": glorot_init(features, HIDDEN)}
    runs, spec = {}, None
    for how, init in inits.items():
        scenario = lab.built("bias-net", f"hidden-{HIDDEN}-{how}", init=init, epochs=EPOCHS)
        runs[how] = lab.runs(scenario, EPOCHS, "corrected", record=record)
        spec = spec or network_for(scenario).spec
    (upy, ur), (gpy, gr) = runs["uniform"], runs["glorot"]
    saturated = {side: saturated_steps(t, spec) for side, t in (("python", upy), ("r", ur))}
    frozen = all(np.array_equal(upy.series(w)[-1], np.broadcast_to(inits["uniform"][w], upy.series(w)[-1].shape))
                 for w in base.twin.state)
    u0 = upy.at(0, "output_layer_input")
    loss = {how: float(np.mean(p.at(last, "E") ** 2) / 2) for how, (p, _) in runs.items()}
    figures = [
        Figure.of(f"output_layer_input at epoch 0, {HIDDEN} hidden, uniform [0, 1) weights", u0,
                  ur.at(0, "output_layer_input")),
        Figure.of("output at epoch 0", upy.at(0, "output"), ur.at(0, "output")),
        Figure.of("slope_output_layer and d_output at epoch 0",
                  np.hstack([upy.at(0, "slope_output_layer"), upy.at(0, "d_output")]),
                  np.hstack([ur.at(0, "slope_output_layer"), ur.at(0, "d_output")])),
        Figure.of(f"output after {EPOCHS} epochs", upy.at(last, "output"), ur.at(last, "output")),
        Figure.of(f"E after {EPOCHS} epochs", upy.at(last, "E"), ur.at(last, "E")),
        Figure.of("crossverify's saturation check", _describe(saturated["python"]), _describe(saturated["r"])),
        Figure.of("output_layer_input at epoch 0, Glorot uniform weights", gpy.at(0, "output_layer_input"),
                  gr.at(0, "output_layer_input")),
        Figure.of(f"output after {EPOCHS} epochs, Glorot uniform weights", gpy.at(last, "output"),
                  gr.at(last, "output")),
    ]
    reply = [
        f"Drawn uniformly in [0, 1) as the article does, every weight and every hidden activation is positive, "
        f"so output_layer_input is a sum of {HIDDEN} positive terms: {_row(u0)} at epoch 0. The sigmoid of "
        f"anything above 53 ln 2 = {ONE:.4g} rounds to exactly 1.0 in double precision, so the output is "
        f"exactly 1 for every sample, its slope x(1 - x) is exactly 0, d_output is 0 (or -0) and nothing "
        f"propagates back: after {EPOCHS} epochs the weights are still the drawn ones, bit for bit, and E is "
        f"{_row(upy.at(last, 'E'))}, as the reader saw. Python and R do exactly the same.",
        f"The cure is an initialisation that keeps each neuron's input near 0 whatever the layer's size: "
        f"zero-centred weights scaled by the fan-in and fan-out, such as Glorot uniform "
        f"(U(-a, a), a = sqrt(6 / (fan_in + fan_out)), biases 0). Then output_layer_input starts at "
        f"{_row(gpy.at(0, 'output_layer_input'))}, and {EPOCHS} epochs train the {HIDDEN} neurons to "
        f"{_row(gpy.at(last, 'output'))} (error {loss['glorot']:.3g}), in both languages bit for bit.",
    ]
    code = lab.code(NETWORK, 4) + lab.code(NETWORK, 6) + lab.code("questions", "glorot")
    claims = [
        ("with uniform [0, 1) weights every output_layer_input exceeds 53 ln 2 at epoch 0", bool(np.all(u0 > ONE))),
        (f"the output is exactly 1 and d_output exactly 0 at epochs 0 and {last}, in both languages",
         all(np.all(t.at(e, "output") == 1.0) and not np.any(t.at(e, "d_output"))
             for t in (upy, ur) for e in record)),
        (f"the weights after {EPOCHS} epochs are the drawn ones, bit for bit", frozen),
        ("crossverify's saturation check flags the output step in both languages",
         bool(saturated["python"]) and bool(saturated["r"])),
        ("with Glorot uniform weights nothing saturates and the network learns the targets",
         not saturated_steps(gpy, spec) and loss["glorot"] < 0.01),
        ("Python and R agree bit for bit at the recorded steps of both runs",
         all(agree(p.steps[n], r.steps[n]) for p, r in runs.values() for n in p.names)),
    ]
    conclusion = (f"With uniform [0, 1) weights the {HIDDEN} positive terms push output_layer_input past {ONE:.3g}, "
                  f"where the sigmoid is exactly 1 and its slope exactly 0, so nothing learns; zero-centred weights "
                  f"scaled by the layer sizes (Glorot uniform) train.")
    return Answer(q.number, q.key, q.asked, reply, figures, code, conclusion, claims)


def _row(column):
    return "[" + ", ".join(f"{v:.4g}" for v in np.ravel(column)) + "]"


def _describe(report):
    return "; ".join(f"step {s.step} {s.name}: {s.count} of {s.elements} values exactly at {s.limits[1]:g} or "
                     f"{s.limits[0]:g}" for s in report) or "nothing saturated"
