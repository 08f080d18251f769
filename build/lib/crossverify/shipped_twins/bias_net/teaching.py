"""What `crossverify steps` and `crossverify rosetta` teach about the article's bias network, reached
through this twin's declaration (twin.py: explain_step, new_data, pitfalls; bridge/twins/protocol.py).

* Why the article's R variants part from Python (docs/FACTS.md section 5): R's
  ``matrix(rep(bias_in, n), nrow = n, byrow = FALSE)`` and its recycling of ``rowSums`` down the
  columns of ``bh``. Every sentence is derived from the model of R's fill order and recycling
  (rmodel.py) for the scenario's own shape, so it stays true when samples != hidden neurons.
* Prediction on new data: the article's R model keeps one bias per training row, so it cannot
  score one more sample; per-neuron biases laid out for the new rows can.
* The translation pitfalls this project hit, each with the test that demonstrates it.
"""
import numpy as np

from crossverify.explain import machine
from crossverify.shipped_twins.bias_net import rmodel

FIRST_STEP = 2  # hidden_layer_input = X . wh + bh: where R's bias layout is first used
BIAS_STEP = 11  # the bias update
NEW_SAMPLE = (1.0, 1.0, 0.0, 0.0)  # the sample scored beside the article's three (when X has 4 features)


# -- index rules, read off the model of R --------------------------------------------------------

def index_rule(idx, modulus):
    """Text of the rule idx[i, j] = rule(i, j) for an integer matrix (which element of a vector of
    length ``modulus`` lands in each cell), checked against ``idx``; None when no simple rule fits."""
    i, j = np.indices(idx.shape)
    candidates = [("j", j), ("i", i)]
    for c in range(modulus):
        text = f"i mod {modulus}" if c == 0 else f"(i + j) mod {modulus}" if c == 1 else f"(i + {c}j) mod {modulus}"
        candidates.append((text, (i + c * j) % modulus))
    return next((text for text, rule in candidates if np.array_equal(idx, rule)), None)


def _rows(rows):
    rows = [str(r) for r in rows]
    return rows[0] if len(rows) == 1 else ", ".join(rows[:-1]) + " and " + rows[-1]


def _agreement(idx):
    """Where R's bh (cell (i, j) holds bias_in[idx[i, j]]) equals numpy's (bias_in[j] in column j)."""
    agree = idx == np.indices(idx.shape)[1]
    n, h = idx.shape
    if agree.all():
        return "the two agree in every cell"
    if not agree.any():
        return "the two agree in no cell"
    if n == h and np.array_equal(agree, np.eye(n, dtype=bool)):
        return "the two agree only where i = j"
    full = [r for r in range(n) if agree[r].all()]
    if full and agree.sum() == len(full) * h:
        return f"the two agree only in row{'s' if len(full) > 1 else ''} {_rows(full)}"
    return f"the two agree in {int(agree.sum())} of the {n * h} cells"


def layout_sentence(n, h, layout):
    """What R's ``matrix(rep(bias_in, n), nrow = n, byrow = ...)`` holds for n samples and h hidden
    neurons, read off the model of R's fill order."""
    idx = rmodel.spread_bias(np.arange(h), n, layout).astype(int)  # which drawn bias lands in each cell
    rule = index_rule(idx, h)
    call = f"matrix(rep(bias_in, {n}), nrow = {n}, byrow = {'TRUE' if layout == 'by-neuron' else 'FALSE'})"
    holds = f"bh[i, j] = bias_in[{rule}]" if rule else "bh holds the drawn biases as the model of R lays them out"
    if layout == "by-neuron":
        return (f"R lays the drawn biases out with {call}, so {holds}: every sample's row holds the per-neuron "
                f"biases, the matrix numpy's broadcast of the 1x{h} row adds.")
    start = f"R's article script lays the drawn biases out with {call}, which fills column by column, so {holds}"
    if rule == "j":  # one neuron, or a shape where filling by column lands each bias in its own column
        return f"{start}: here that is the per-neuron layout numpy broadcasts, and {_agreement(idx)}."
    if (idx == idx[:, :1]).all():
        kind = "one bias per sample (row i)"
    else:
        kind = f"the {h} biases cycle down the columns, neither one per sample nor one per neuron,"
    return f"{start}: {kind} where numpy adds bias_in[j] to neuron (column) j, and {_agreement(idx)}."


def row_sums_note(n, h):
    """Step 11 with rowSums: one sum per sample, recycled down the columns of the n x h bh (model: rmodel.recycle)."""
    rule = index_rule(rmodel.recycle(np.arange(n), (n, h)).astype(int), n)
    return (f"R's rowSums(d) gives one sum per sample, and R recycles those {n} numbers down the columns of bh, "
            f"so bh[i, j] += lr * sum_k d[{rule}, k] (the right gradient for one bias per sample), where Python "
            f"adds lr * sum_i d[i, j] to neuron j (sum(axis=0)).")


def col_sums_by_sample_note(n, h):
    """Step 11 with colSums spread the article's way (the commenter's fix), read off the model."""
    idx = rmodel.spread_bias(np.arange(h), n, "by-sample").astype(int)
    rule = index_rule(idx, h)
    if rule == "i":
        where = "row i gets neuron i's sum along the whole row"
    else:
        where = f"bh[i, j] gets the sum of neuron {rule}" if rule else "the sums land as the model of R lays them out"
    return (f"colSums(d) gives one sum per neuron, but spread the article's way (byrow = FALSE) {where}: "
            f"the commenter's fix, recycled.")


def explain_step(view, first, epoch, variant, r_trace):
    """The twin's note for a step of `crossverify steps` (None: the generic one)."""
    switches = rmodel.VARIANTS[variant]
    n, h = r_trace.start["bh"].shape[0], r_trace.init["bh"].shape[1]
    if epoch == 0 and any(p.r_only for p in view.pairs):  # the drawn biases as R's start lays them out
        return layout_sentence(n, h, switches["bias_layout"])
    if epoch > 0 or not view.differs:
        return None
    if view is first and view.number == FIRST_STEP and switches["bias_layout"] == "by-sample":
        model = rmodel.spread_bias(r_trace.init["bh"], n, "by-sample")
        same = np.array_equal(model.view(np.uint64), r_trace.start["bh"].view(np.uint64))
        return layout_sentence(n, h, "by-sample") + (
            " twins/bias_net/rmodel.py's model of R's fill order predicts R's bh bit for bit." if same else
            " (R's bh does NOT match twins/bias_net/rmodel.py's model here.)")
    if view.number == BIAS_STEP and switches["bias_sums"] == "rowSums":
        return row_sums_note(n, h)
    if view.number == BIAS_STEP and switches["bias_layout"] == "by-sample":
        return col_sums_by_sample_note(n, h)
    return None


# -- prediction on new data ------------------------------------------------------------------------

def _ordinal(k):
    return {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}.get(k, f"{k}th")


def new_data(X, r_state, variant, r_call):
    """The training rows and one more sample; how R can score them with the state it trained.

    R's trained bias matrices have one row per training sample. With per-neuron biases every row is
    the same, and row 1 laid out for the new rows is the network's bias; otherwise there is no bias
    for a new row and R says so.
    """
    extra = np.array([NEW_SAMPLE]) if X.shape[1] == len(NEW_SAMPLE) else X[:1]
    X_new = np.vstack([X, extra])
    k, n = X_new.shape[0], X.shape[0]
    bh = r_state["bh"]
    plan = {"data": {"X": X_new},
            "description": f"the {n} training rows and a {_ordinal(k)}, new one"}
    per_neuron = rmodel.VARIANTS[variant]["bias_layout"] == "by-neuron" and all(
        np.array_equal(r_state[b], np.broadcast_to(r_state[b][:1], r_state[b].shape)) for b in ("bh", "bout"))
    if not per_neuron:
        whose = "The article's R model" if variant == "article" else f"R's {variant} model"
        plan["r_code"] = f"bias_net_predict(X_new, state)  # X_new has {k} rows, state$bh has {bh.shape[0]}"
        plan["refused"] = (
            f"{whose} cannot score a {_ordinal(k)} sample: its biases belong to the {n} training rows, not to the "
            f"neurons (bh is {bh.shape[0]}x{bh.shape[1]}, row i is sample i's), so there is no bias for a new row. "
            f"Python keeps one bias per neuron and scores any number of rows, and so does R with per-neuron "
            f"biases (variant corrected).")
        return plan
    plan["r_state"] = {"wh": r_state["wh"], "wout": r_state["wout"],
                       "bh": r_call("spread_bias", r_state["bh"][0], k, "by-neuron"),
                       "bout": r_call("spread_bias", r_state["bout"][0], k, "by-neuron")}
    plan["r_code"] = (f'state$bh <- spread_bias(bh[1, ], {k}, "by-neuron"); '
                      f'state$bout <- spread_bias(bout[1, ], {k}, "by-neuron"); bias_net_predict(X_new, state)')
    plan["note"] = (f"Every row of the trained R bias matrices is the same per-neuron bias, so row 1 laid out "
                    f"for {k} rows scores new data")
    return plan


# -- the pitfalls --------------------------------------------------------------------------------------

def exp_pitfall():
    """The SIMD exp pitfall, with the fraction of differing inputs measured on this machine."""
    m = machine.exp_mismatch()
    if not m.fraction:
        return (f"numpy's `exp` equals the C library's `exp`, which R calls, on all {m.inputs} random inputs "
                f"measured on this machine (numpy uses no SIMD `exp` here); where numpy has one (AVX-512 builds) "
                f"the two differ by an ulp on a few percent of inputs, so the exact kernels take libm's through "
                f"numexpr.")
    return (f"numpy's `exp` ({m.simd or 'SIMD'} code on this machine) differs from the C library's `exp`, which "
            f"R calls, in {m.percent} of {m.inputs} random inputs measured here, by at most {m.max_ulps} ulp; "
            f"the exact kernels take libm's through numexpr.")


PITFALLS = (
    ("`%*%` versus `*` and `np.dot`",
     "R's `*` multiplies element by element, as numpy's `*` does, and the matrix product is `%*%` in R where "
     "numpy writes `np.dot` (or `@`): `X %*% wh` translates `np.dot(X, wh)`, while `E * slope_output_layer` "
     "stays `*`.",
     "tests/test_rosetta.py::test_r_star_is_elementwise_like_numpy_star_and_percent_star_percent_is_np_dot"),
    ("`t()` versus `.T`",
     "numpy's transpose is the attribute `.T`, R's the function `t()`; drop it from step 10 and R still "
     "multiplies without complaint, because the bias network's activations are 3x3, but computes another "
     "matrix.",
     "tests/test_rosetta.py::test_t_is_dot_T_and_dropping_it_from_step_10_still_conforms_but_changes_wout"),
    ("`matrix(..., byrow=)` fill order",
     "R's `matrix(v, nrow = n)` fills column by column unless `byrow = TRUE`, where numpy's `reshape` fills row "
     "by row, so the article's `matrix(rep(bias_in, 3), nrow = 3, byrow = FALSE)` puts `bias_in[i]` all along "
     "row i.",
     "tests/test_rosetta.py::test_matrix_fills_by_column_unless_byrow_as_the_model_of_r_predicts"),
    ("R recycling versus numpy broadcasting (the bias matrices)",
     "numpy broadcasts the 1x3 bias row over the samples (one bias per neuron), while the article's R builds "
     "one bias per sample and recycles `rowSums` down the columns, so the two scripts part at epoch 0, step 2, "
     "exactly where the model of R's recycling says.",
     "tests/test_bias_net.py::test_article_layouts_part_at_epoch0_step2_with_the_predicted_values"),
    ("`rowSums`/`colSums` versus `sum(axis=)` orientation",
     "`colSums(d)` is `d.sum(axis=0)`, one sum per column (per neuron), and `rowSums(d)` is `d.sum(axis=1)`, one "
     "per row (per sample); the article's prose calls its Python's `axis=0` sum \"row-wise\".",
     "tests/test_kernels.py::test_exact_sums_are_r_colsums_and_rowsums"),
    ("the rpy2 row/column-major conversion",
     "numpy lays a matrix out row by row and R column by column, so a numpy array sent as "
     "`FloatVector(a.ravel())` with a `dim` arrives transposed-filled; the bridge sends `a.ravel(order=\"F\")` "
     "and reads back with `order=\"F\"` (bridge/session/rsession.py).",
     "tests/test_rosetta.py::test_rpy2_conversion_keeps_indices_only_when_it_sends_column_major"),
    ("R's decimal parser versus Python's",
     "R 4.2.2 reads the decimal `37319.23331802752` as `0x1.238e777575e38p+15`, one ulp below Python's "
     "`0x1.238e777575e39p+15`, and reads the hex spelling `0x1p-1074` of the smallest subnormal as 0; the "
     "fixtures store `float.hex()` text, which both read exactly (fixtures/README.md).",
     "tests/test_rosetta.py::test_r_reads_a_decimal_one_ulp_off_and_the_smallest_subnormal_hex_as_zero"),
    ("random streams do not cross languages",
     "`set.seed(42); runif(3)` and `np.random.seed(42); np.random.uniform(size=3)` draw different numbers, and "
     "the article's R draws `wh` with `rnorm` where its Python draws uniforms; both sides read the fixture's "
     "weights instead.",
     "tests/test_rosetta.py::test_seed_42_draws_different_numbers_in_r_and_numpy"),
    ("SIMD `exp` versus libm", exp_pitfall,
     "tests/test_rosetta.py::test_numpy_exp_differs_from_libm_exp_in_a_few_percent_of_inputs"),
    ("1-based versus 0-based indexing",
     "R counts from 1 and numpy from 0: R's `bh[1, ]` is numpy's `bh[0]`, and R's `for (i in 1:epoch)` calls "
     "the article's epoch 0 `i = 1`, so the bridge asks R to record epoch e as `e + 1`.",
     "tests/test_rosetta.py::test_r_loop_index_i_is_the_article_epoch_i_minus_1"),
    ("biases that belong to training rows",
     "the article's R model keeps one hidden bias per training sample (`bh` is 3x3), so it cannot score a "
     "fourth sample (`non-conformable arrays`), where per-neuron biases laid out for 4 rows match Python.",
     "tests/test_predict.py::test_article_r_model_cannot_score_a_fourth_sample_and_r_says_why"),
)
