"""The readers' questions on the learning rate: what the spreadsheet's step 7, ``d_output = E *
slope_output_layer * lr``, does if it is kept (the learning rate applied twice), and whether the
learning rate should be divided by the number of samples, since step 10's ``X.T . d_hiddenlayer``
sums the samples' gradients.

Step 7's delta feeds every later step, so a factor lr there scales every update; step 10 multiplies
by lr again: every update is lr^2 times the gradient. A sum over n samples grows with n: n copies of
the same data take n times the step of one copy, while lr / n (the mean gradient) takes the same step
whatever n is."""
from functools import partial

import numpy as np

from crossverify.explain.answer import Answer, Figure, agree
from . import altered

NETWORK = "bias-net"
COPIES = (1, 10, 300)  # the article's 3 samples repeated this many times
COPY_EPOCHS = 100


def answer_lr_twice(lab, q):
    scenario = lab.scenario("bias-net")
    lr, epochs = scenario.hyper["lr"], scenario.epochs
    last = epochs - 1
    twin = lab.derived_twin("bias_net", "lr-in-delta", partial(altered.question_epoch, lr_in_delta=True),
                            {"lr_in_delta": True}, "the spreadsheet's step 7: d_output = E * slope_output_layer * lr")
    kept = lab.built("bias-net", "lr-in-delta", twin=twin)
    squared = lab.built("bias-net", "lr-squared", lr=lr * lr)
    runs = {"as written": lab.runs(scenario, epochs, "corrected"), "with *lr": lab.runs(kept, epochs),
            "lr^2": lab.runs(squared, epochs, "corrected")}

    def step(name, w):  # the first update of weight w
        py = runs[name][0]
        return py.at(0, w) - scenario.init[w]

    ratio = max(float(np.max(np.abs(step("with *lr", w) / step("as written", w) / lr - 1))) for w in twin.state)
    out = {k: (p.at(last, "output"), r.at(last, "output")) for k, (p, r) in runs.items()}
    loss = {k: float(np.mean(p.at(last, "E") ** 2) / 2) for k, (p, _) in runs.items()}
    same_as_squared = float(np.abs(out["with *lr"][0] - out["lr^2"][0]).max())
    figures = [
        Figure.of("first update of wout, as written", step("as written", "wout"),
                  runs["as written"][1].at(0, "wout") - scenario.init["wout"]),
        Figure.of("first update of wout, with *lr in step 7", step("with *lr", "wout"),
                  runs["with *lr"][1].at(0, "wout") - scenario.init["wout"]),
        Figure.of(f"output after {epochs} epochs, as written", *out["as written"]),
        Figure.of(f"output after {epochs} epochs, with *lr in step 7", *out["with *lr"]),
        Figure.of(f"output after {epochs} epochs, as written with lr = {lr * lr:.2g}", *out["lr^2"]),
        Figure.of(f"error mean(E^2)/2 at epoch {last}: as written, with *lr, with lr^2",
                  np.array([loss[k] for k in runs]),
                  np.array([float(np.mean(r.at(last, "E") ** 2) / 2) for _, r in runs.values()])),
    ]
    reply = [
        "Neither script has it: both compute d_output = E * slope_output_layer and multiply by the learning "
        "rate once, in the updates of steps 10 and 11. Kept in step 7, the factor lr rides on d_output into "
        "step 8's hidden error, step 9's hidden delta and every update, which step 10 multiplies by lr again.",
        f"Computed: the first update of every weight is lr = {lr:g} times the one as written (to {ratio:.2g} "
        f"relative), so training runs at lr^2 = {lr * lr:.2g}. After {epochs} epochs the outputs are "
        f"{_row(out['with *lr'][0])} instead of {_row(out['as written'][0])}, within {same_as_squared:.2g} of a "
        f"run written correctly with lr = {lr * lr:.2g}; the error is {loss['with *lr']:.3g} instead of "
        f"{loss['as written']:.3g}. Python and R agree bit for bit in all three runs.",
    ]
    code = lab.code(NETWORK, 7) + lab.code("questions", "lr_in_delta") + lab.code(NETWORK, 10)
    claims = [
        ("with *lr the first update of every weight is lr times the one as written (to 1e-9 relative)",
         all(np.allclose(step("with *lr", w), lr * step("as written", w), rtol=1e-9, atol=0) for w in twin.state)),
        (f"after {epochs} epochs it is the run with lr^2 (within 1e-9)", same_as_squared < 1e-9),
        ("and trains far less (error more than 10 times larger)", loss["with *lr"] > 10 * loss["as written"]),
        ("Python and R agree bit for bit at every step of all three runs",
         all(agree(p.steps[n], r.steps[n]) for p, r in runs.values() for n in p.names)),
    ]
    conclusion = (f"Keeping *lr in step 7 applies the learning rate twice: every update shrinks to lr^2 = "
                  f"{lr * lr:.2g} times the gradient and training slows tenfold; drop it, as both scripts do.")
    return Answer(q.number, q.key, q.asked, reply, figures, code, conclusion, claims)


def _row(column):
    return "[" + ", ".join(f"{v:.4g}" for v in np.ravel(column)) + "]"


def answer_lr_per_sample(lab, q):
    base = lab.scenario("bias-net")
    X, y, lr = base.data["X"], base.data["y"], base.hyper["lr"]
    n0 = X.shape[0]
    moons = lab.scenario("detail-moons")
    last = COPY_EPOCHS - 1
    record = [0, last]
    runs = {}
    for k in COPIES:
        data = {"X": np.tile(X, (k, 1)), "y": np.tile(y, (k, 1))}
        for rule, rate in (("sum", lr), ("mean", lr / (n0 * k))):
            scenario = lab.built("bias-net", f"copies-{k}-{rule}", data=data, lr=rate, epochs=COPY_EPOCHS)
            runs[k, rule] = lab.runs(scenario, COPY_EPOCHS, "corrected", record=record)

    def first_step(k, rule):
        py = runs[k, rule][0]
        return py.series("wout")[0] - base.init["wout"]

    def output(k, rule, side=0):  # the first copy of the 3 samples
        return runs[k, rule][side].at(last, "output")[:n0]

    def loss(k, rule, side=0):
        return float(np.mean(runs[k, rule][side].at(last, "E") ** 2) / 2)

    growth = [float(np.abs(first_step(k, "sum")).max() / np.abs(first_step(1, "sum")).max()) for k in COPIES]
    spread = max(float(np.abs(output(k, "mean") - output(COPIES[0], "mean")).max()) for k in COPIES)
    big = COPIES[-1]
    figures = [Figure.of("samples n", np.array([n0 * k for k in COPIES], dtype=float),
                         np.array([n0 * k for k in COPIES], dtype=float), compare=False),
               Figure.of("first update of wout, sum, relative to 3 samples", np.array(growth),
                         np.array([float(np.abs(runs[k, "sum"][1].series("wout")[0] - base.init["wout"]).max()
                                         / np.abs(runs[1, "sum"][1].series("wout")[0] - base.init["wout"]).max())
                                   for k in COPIES]), compare=False)]
    for k in COPIES:
        figures.append(Figure.of(f"{n0 * k} samples, lr = {lr:g} (sum): output after {COPY_EPOCHS} epochs",
                                 output(k, "sum"), output(k, "sum", 1)))
    for k in COPIES:
        figures.append(Figure.of(f"{n0 * k} samples, lr = {lr:g}/{n0 * k} (mean): output after {COPY_EPOCHS} epochs",
                                 output(k, "mean"), output(k, "mean", 1)))
    reply = [
        "Yes, if the learning rate should not depend on how much data there is. Step 10's X.T . d_hiddenlayer "
        "(and h.T . d_output) adds up one gradient per sample, so the update grows with the number of samples "
        f"n. Computed on the article's {n0} samples repeated {COPIES[0]}, {COPIES[1]} and {big} times (the same "
        f"data, so the best answer is the same): the first update of wout grows {growth[1]:.4g} and "
        f"{growth[2]:.4g} times.",
        f"With lr = {lr:g} fixed, {n0 * COPIES[1]} samples train like lr = {lr * COPIES[1]:g} on {n0} (error "
        f"{loss(COPIES[1], 'sum'):.3g} after {COPY_EPOCHS} epochs against {loss(1, 'sum'):.3g}), and {n0 * big} "
        f"samples, an effective lr of {lr * big:g}, drive the sigmoids into saturation: outputs "
        f"{_row(output(big, 'sum'))}, error {loss(big, 'sum'):.3g}. With lr / n, the mean gradient, the three "
        f"runs follow the same trajectory (outputs within {spread:.2g}). Python and R agree bit for bit in all "
        f"six runs.",
        f"On the article's fixed {n0} samples dividing only rescales lr (lr / {n0}); it matters when n changes, "
        f"as when the same code meets a larger data set (question 10, and the moons' {moons.data['X'].shape[0]} "
        f"samples at lr {moons.hyper['lr']:g}).",
    ]
    code = lab.code(NETWORK, 10) + lab.code(NETWORK, 11)
    claims = [
        ("with the sum, the first update grows as the copies do",
         all(abs(g / k - 1) < 0.05 for g, k in zip(growth, COPIES))),
        (f"with the sum, {n0 * big} samples saturate (every output within 1e-6 of 0 or 1, error above 0.1)",
         loss(big, "sum") > 0.1 and bool(np.all(np.minimum(output(big, "sum"), 1 - output(big, "sum")) < 1e-6))),
        ("with lr / n every copy count gives the same outputs (within 1e-9)", spread < 1e-9),
        ("Python and R agree bit for bit at the recorded steps of all six runs",
         all(agree(p.steps[n], r.steps[n]) for p, r in runs.values() for n in p.names)),
    ]
    conclusion = (f"The gradient sums over the samples, so a fixed lr takes bigger steps on more data ({big} copies "
                  f"of the {n0} samples saturate at lr {lr:g}); dividing by n (the mean gradient) makes training "
                  "independent of the sample count.")
    return Answer(q.number, q.key, q.asked, reply, figures, code, conclusion, claims)
