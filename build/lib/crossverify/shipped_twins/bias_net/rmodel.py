"""A Python model of R's rules for the article's bias matrices (docs/FACTS.md section 5).

R's ``matrix(v, nrow, byrow)`` fill order and its recycling of a short vector down the
columns of a matrix, written in numpy, so that what each R variant computes can be predicted
without R: the model reuses python_impl's steps 2-10 and replaces step 11 with R's.
"""
import numpy as np

from crossverify.python_impl import bias_net

# Mirrors VARIANTS in r_impl/R/bias_net.R (a test checks that the two agree).
VARIANTS = {
    "article": {"bias_layout": "by-sample", "bias_sums": "rowSums"},
    "corrected": {"bias_layout": "by-neuron", "bias_sums": "colSums"},
    "rowsums-only": {"bias_layout": "by-neuron", "bias_sums": "rowSums"},
    "colsums-only": {"bias_layout": "by-sample", "bias_sums": "colSums"},
}


def r_matrix(values, nrow, byrow):
    """R's ``matrix(values, nrow = nrow, byrow = byrow)`` when length(values) is a multiple of nrow."""
    values = np.ravel(values)
    ncol = len(values) // nrow
    if byrow:
        return values.reshape(nrow, ncol)
    return values.reshape(ncol, nrow).T  # R fills the first column first


def recycle(vector, shape):
    """The matrix R adds when it adds a length-k vector to a matrix: the vector repeated in column order."""
    rows, cols = shape
    return np.resize(np.ravel(vector), rows * cols).reshape(cols, rows).T


def spread_bias(bias, n, bias_layout):
    """R's ``matrix(rep(bias, n), nrow = n, byrow = bias_layout == "by-neuron")``."""
    return r_matrix(np.tile(np.ravel(bias), n), n, byrow=bias_layout == "by-neuron")


def r_initial_state(init, n, variant):
    """The bias matrices R builds at step 1 from the drawn biases."""
    layout = VARIANTS[variant]["bias_layout"]
    return {"wh": init["wh"], "wout": init["wout"],
            "bh": spread_bias(init["bh"], n, layout), "bout": spread_bias(init["bout"], n, layout)}


def r_start(X, state, variant):
    """The state R's epoch 1 starts from, as a model variant's start: the drawn biases spread."""
    return r_initial_state(state, X.shape[0], variant)


def r_update_biases(bh, bout, d_output, d_hiddenlayer, lr, variant, xp):
    """Step 11 as R computes it for ``variant``."""
    layout, sums = VARIANTS[variant]["bias_layout"], VARIANTS[variant]["bias_sums"]
    if sums == "rowSums":
        # bh + rowSums(d) * lr: one sum per sample, recycled down the columns of bh
        bout = bout + recycle(xp.sum(d_output, axis=1) * lr, bout.shape)
        bh = bh + recycle(xp.sum(d_hiddenlayer, axis=1) * lr, bh.shape)
    else:
        bout = bout + spread_bias(xp.sum(d_output, axis=0), bout.shape[0], layout) * lr
        bh = bh + spread_bias(xp.sum(d_hiddenlayer, axis=0), bh.shape[0], layout) * lr
    return bout, bh


def r_epoch(X, y, state, lr, variant, xp):
    """One epoch of the R variant, predicted in Python: python_impl's steps 2-10, then R's step 11."""
    values = bias_net.epoch(X, y, state, lr, xp)
    values["bout"], values["bh"] = r_update_biases(
        state["bh"], state["bout"], values["d_output"], values["d_hiddenlayer"], lr, variant, xp)
    return values


def r_sum_reducer(variant, n):
    """For the float bound of step 11: |sum| spread the way R's variant spreads it, and the term count."""
    layout, sums = VARIANTS[variant]["bias_layout"], VARIANTS[variant]["bias_sums"]

    def reduce(D):  # D has shape (epochs, rows, cols)
        if sums == "rowSums":
            return np.stack([recycle(row, D.shape[1:]) for row in D.sum(axis=2)])
        s = D.sum(axis=1)
        return np.stack([spread_bias(row, n, layout) for row in s])

    return reduce
