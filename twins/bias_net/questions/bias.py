"""The readers' questions on the hidden biases of the article's R script ("Implementing NN using R"):
why its ``bh`` holds 9 numbers where the spreadsheet shows 3, and whether ``colSums`` in place of
``rowSums`` repairs the bias update. Both are R's matrix rules at work: ``matrix(v, nrow = n)`` fills
column by column unless ``byrow = TRUE``, and R recycles a vector down a matrix's columns where numpy
broadcasts a row over its rows (twins/bias_net/rmodel.py models both)."""
import numpy as np

from crossverify.twins.runner import network_for
from crossverify.explain.answer import Answer, Figure, agree, same_bits

BASE = "bias-net"
NETWORK = "bias-net"  # the rosetta key of the bias network's source lines


def _start(lab, variant):
    """The state R's first epoch starts from under ``variant`` (biases spread one row per sample)."""
    net = network_for(lab.scenario(BASE))
    return lab.from_r(net.r_start(lab.session, variant))


def answer_nine_biases(lab, q):
    scenario = lab.scenario(BASE)
    X, init = scenario.data["X"], scenario.init
    bias_in = init["bh"][0]
    n, h = X.shape[0], bias_in.size
    article, corrected = _start(lab, "article")["bh"], _start(lab, "corrected")["bh"]
    one_row = init["bh"]
    numpy_sum = lab.xp.dot(X, init["wh"]) + one_row  # numpy broadcasts the 1 x h row over the n rows
    r_refusal = lab.r_error("hidden_linear", X, init["wh"], one_row)
    py, r_article = lab.runs(scenario, 1, "article")
    _, r_corrected = lab.runs(scenario, 1, "corrected")
    i, j = np.indices(article.shape)
    by_sample = bool(np.array_equal(article, bias_in[i]))
    by_neuron = bool(np.array_equal(corrected, bias_in[j]))
    step2 = py.at(0, "hidden_layer_input")
    parts = float(np.abs(step2 - r_article.at(0, "hidden_layer_input")).max())
    figures = [
        Figure.of("bias_in, the biases drawn at step 1 (one per hidden neuron)", one_row, one_row),
        Figure.of("bh the first epoch starts from (Python: a row numpy broadcasts; R: the article's byrow = FALSE)",
                  one_row, article, compare=False),
        Figure.of("X . wh + bh with the 1x3 row itself", numpy_sum, r_refusal),
        Figure.of("bh laid out with byrow = TRUE (Python: the broadcast row)",
                  np.broadcast_to(one_row, corrected.shape), corrected),
        Figure.of("hidden_layer_input at epoch 0, R laid out as the article", step2,
                  r_article.at(0, "hidden_layer_input")),
        Figure.of("hidden_layer_input at epoch 0, R laid out byrow = TRUE", step2,
                  r_corrected.at(0, "hidden_layer_input")),
        Figure.of("distinct values in bh", float(np.unique(one_row).size), float(np.unique(article).size), compare=False),
    ]
    reply = [
        f"The spreadsheet, like the Python script, keeps one bias per hidden neuron: a 1x{h} row "
        f"({', '.join(f'{b:.6g}' for b in bias_in)} here) that numpy broadcasts over the {n} samples when it adds "
        f"it to the {n}x{h} `X . wh`. R does not broadcast a row over a matrix: adding the 1x{h} row to "
        f"`X %*% wh` stops with `{r_refusal}`. So the R script copies the {h} biases into {n} rows of {h}: "
        f"{n * h} cells holding {np.unique(article).size} distinct values.",
        f"Its `matrix(rep(bias_in, nrow(X)), nrow = nrow(X), byrow = FALSE)` fills column by column, so cell "
        f"(i, j) holds bias_in[i]: one bias per sample (row), not per neuron (column). It only conforms because "
        f"there are as many samples as hidden neurons ({n}), and step 2 already differs from Python's at "
        f"epoch 0 (by up to {parts:.3g}). Filled with `byrow = TRUE` every row is the spreadsheet's {h} biases, "
        f"the matrix numpy's broadcast builds, and step 2 agrees with Python bit for bit.",
    ]
    code = ([lab.source_line("r_impl/R/bias_net.R", r"matrix\(rep\(bias")] + lab.code(NETWORK, 2))
    claims = [
        (f"R's article bh is {n}x{h} with bh[i, j] = bias_in[i] (one bias per sample)", by_sample),
        (f"it holds only the {h} drawn values", int(np.unique(article).size) == h),
        ("R refuses to add the 1x3 row to X %*% wh (non-conformable) where numpy broadcasts it",
         r_refusal is not None and "non-conformable" in r_refusal and numpy_sum.shape == (n, h)),
        ("laid out byrow = TRUE, R's bh is numpy's broadcast row and step 2 agrees bit for bit",
         by_neuron and same_bits(step2, r_corrected.at(0, "hidden_layer_input"))),
        ("laid out as the article does, step 2 parts from Python at epoch 0", parts > 0),
    ]
    conclusion = (f"R cannot add a 1x{h} row to a matrix of {n} rows, so the script copies the {h} spreadsheet biases "
                  f"into {n * h} cells; byrow = FALSE puts bias i along row i (one per sample), byrow = TRUE puts "
                  f"them where numpy's broadcast does.")
    return Answer(q.number, q.key, q.asked, reply, figures, code, conclusion, claims)


def answer_colsums(lab, q):
    scenario = lab.scenario(BASE)
    epochs = scenario.epochs
    py, _ = lab.runs(scenario, epochs, "corrected")
    r = {v: lab.runs(scenario, epochs, v)[1] for v in ("article", "colsums-only", "corrected")}
    last = epochs - 1
    out = {v: t.at(last, "output") for v, t in r.items()}
    py_out = py.at(last, "output")
    gap = {v: float(np.abs(o - py_out).max()) for v, o in out.items()}
    bout = {v: t.at(last, "bout") for v, t in r.items()}
    bh = {v: t.at(last, "bh") for v, t in r.items()}

    def per_row(m):  # every row constant: one value per sample
        return bool(np.all(m == m[:, :1]))

    identical = all(agree(py.steps[name], r["corrected"].steps[name]) for name in py.names)
    figures = [
        Figure.of(f"bout after {epochs} epochs, R as the article (rowSums)", py.at(last, "bout"), bout["article"],
                  compare=False),
        Figure.of(f"bout after {epochs} epochs, R with colSums", py.at(last, "bout"), bout["colsums-only"],
                  compare=False),
        Figure.of(f"bh after {epochs} epochs, R with colSums", py.at(last, "bh"), bh["colsums-only"], compare=False),
        Figure.of(f"output after {epochs} epochs, R as the article", py_out, out["article"]),
        Figure.of(f"output after {epochs} epochs, R with colSums", py_out, out["colsums-only"]),
        Figure.of(f"output after {epochs} epochs, R with colSums and byrow = TRUE", py_out, out["corrected"]),
    ]
    reply = [
        f"The commenter is right that `rowSums` is the wrong sum for a bias per neuron: it gives one sum per "
        f"sample, so after {epochs} epochs the article's R `bout` holds {np.unique(bout['article']).size} "
        f"different values for a single output neuron. `colSums` gives one sum per neuron, and for `bout` "
        f"that is enough: its {bout['colsums-only'].shape[0]} cells stay one value "
        f"({bout['colsums-only'][0, 0]:.6g}).",
        f"For `bh` it is not. R recycles the {bh['colsums-only'].shape[1]} column sums down the columns of the "
        f"article's `bh`, whose row i is sample i's bias (byrow = FALSE), so neuron i's sum is added along row i: "
        f"every row of `bh` still holds one value, and the trained output is {gap['colsums-only']:.3g} away "
        f"from Python's (the article's own script: {gap['article']:.3g}). Laying the biases out with "
        f"`byrow = TRUE` as well puts each neuron's sum in its own column; then every intermediate of every "
        f"epoch equals Python's bit for bit.",
    ]
    code = lab.code(NETWORK, 11, "article") + lab.code(NETWORK, 11)
    claims = [
        ("with rowSums, R's bout holds a different value per sample", np.unique(bout["article"]).size > 1),
        ("with colSums, bout is one value", np.unique(bout["colsums-only"]).size == 1),
        ("with colSums alone, every row of bh is still one value (one bias per sample)", per_row(bh["colsums-only"])),
        ("with colSums alone, the trained output still differs from Python's", gap["colsums-only"] > 1e-6),
        (f"with colSums and byrow = TRUE, R equals Python bit for bit at every step of all {epochs} epochs", identical),
    ]
    conclusion = ("colSums is the right sum (one per neuron) and makes bout one value, but R recycles it down the "
                  "article's per-sample bh; only with byrow = TRUE as well does R compute what Python does.")
    return Answer(q.number, q.key, q.asked, reply, figures, code, conclusion, claims)
