"""Deliberate defects of the bias network, in either language, and where the checks must first see
each (the framework: bridge/check/mutants.py; run by meta_tests/test_mutants.py).

Most are line changes of python_impl/bias_net.py or r_impl/R/bias_net.R; three replace a method of
the exact kernels, one shortens the generic R driver's loop. The rounding-level ones predict their
first divergence with an oracle that replays the mutated operation on the unmutated operands."""
import numpy as np

from crossverify.check.mutants import (SEMANTIC, Mutant, before, last_epoch, next_hyper_oracle, python_replacement,
                                scan)
from crossverify.python_impl.kernels import ExactKernels

_EXACT = ExactKernels()  # bound now: an oracle runs before its mutant is applied
PY, R = "python_impl/bias_net.py", "r_impl/R/bias_net.R"
SCENARIO = "bias-net"


def exp_oracle(run):
    """The first sigmoid whose value changes when exp is numpy's instead of libm's."""
    s = run["trace"].steps
    return scan(run, {"hiddenlayer_activations": lambda j: 1 / (1 + np.exp(-s["hidden_layer_input"][j])),
                      "output": lambda j: 1 / (1 + np.exp(-s["output_layer_input"][j]))})


def sigmoid_formula_oracle(run):
    """The first sigmoid whose value changes when written e^x / (1 + e^x), libm's exp as R's."""
    s = run["trace"].steps

    def alternative(x):
        e = _EXACT.exp(x)
        return e / (1 + e)

    return scan(run, {"hiddenlayer_activations": lambda j: alternative(s["hidden_layer_input"][j]),
                      "output": lambda j: alternative(s["output_layer_input"][j])})


def slope_oracle(run):
    """The first slope that changes when x(1 - x) is written x - x*x."""
    a, h = run["trace"].steps["output"], run["trace"].steps["hiddenlayer_activations"]
    return scan(run, {"slope_output_layer": lambda j: a[j] - a[j] * a[j],
                      "slope_hidden_layer": lambda j: h[j] - h[j] * h[j]})


def blas_dot_oracle(run):
    """The first step whose value changes when the matrix products are numpy's BLAS (np.dot)."""
    s, X, lr = run["trace"].steps, run["data"]["X"], run["hyper"]["lr"]
    return scan(run, {
        "hidden_layer_input": lambda j: np.dot(X, before(run, "wh", j)) + before(run, "bh", j),
        "output_layer_input": lambda j: np.dot(s["hiddenlayer_activations"][j], before(run, "wout", j))
        + before(run, "bout", j),
        "Error_at_hidden_layer": lambda j: np.dot(s["d_output"][j], before(run, "wout", j).T),
        "wout": lambda j: before(run, "wout", j) + np.dot(s["hiddenlayer_activations"][j].T, s["d_output"][j]) * lr,
        "wh": lambda j: before(run, "wh", j) + np.dot(X.T, s["d_hiddenlayer"][j]) * lr})


def double_sum_oracle(run):
    """The first bias update that changes when the column sums accumulate in double (np.sum)."""
    s, lr = run["trace"].steps, run["hyper"]["lr"]
    return scan(run, {
        "bout": lambda j: before(run, "bout", j) + np.sum(s["d_output"][j], axis=0, keepdims=True) * lr,
        "bh": lambda j: before(run, "bh", j) + np.sum(s["d_hiddenlayer"][j], axis=0, keepdims=True) * lr})


ONE_ULP = "moves each update by about one rounding of lr * G, which the bound's 2u allowance covers"
KERNELS_ONLY = "touches only the exact kernels: the float rows already use numpy's {}"


def _py(name, defect, old, new, expected, float_catches=True, why=SEMANTIC, **kw):
    return Mutant(name, "bias_net", SCENARIO, "python", defect, expected, float_catches, why, PY, old, new, **kw)


def _r(name, defect, old, new, expected, float_catches=True, why=SEMANTIC, file=R, **kw):
    return Mutant(name, "bias_net", SCENARIO, "r", defect, expected, float_catches, why, file, old, new, **kw)


def _kernel(name, defect, attr, replacement, oracle, what):
    return Mutant(name, "bias_net", SCENARIO, "python", defect, oracle, False, KERNELS_ONLY.format(what),
                  apply=lambda session: python_replacement(ExactKernels, attr, replacement))


def mutants():
    return [
        # -- Python (python_impl/bias_net.py, python_impl/kernels.py) ------------------------------------
        _py("py-missing-transpose", "step 10: h . d_output instead of h^T . d_output",
            "xp.dot(hiddenlayer_activations.T, d_output)", "xp.dot(hiddenlayer_activations, d_output)", (0, 10, "wout")),
        _py("py-rowsums-for-colsums", "step 11: the output delta summed per sample (axis=1)",
            "xp.sum(d_output, axis=0)", "xp.sum(d_output, axis=1)", (0, 11, "bout")),
        _py("py-step7-times-lr", "step 7 as the article's spreadsheet: d_output = E * slope * lr",
            "d_output = output_delta(E, slope_output_layer)", "d_output = output_delta(E, slope_output_layer) * lr",
            (0, 7, "d_output")),
        _py("py-slope-of-preactivation", "step 6: the hidden slope taken of the pre-activation",
            "= slopes(output, hiddenlayer_activations)", "= slopes(output, hidden_layer_input)",
            (0, 6, "slope_hidden_layer")),
        _py("py-bias-by-sample", "step 2: the hidden bias laid out by sample (bh.T), as the article's R",
            "xp.dot(X, wh) + bh ", "xp.dot(X, wh) + bh.T ", (0, 2, "hidden_layer_input")),
        _py("py-lr-one-ulp", "the learning rate one ulp too large",
            "    wh, bh, wout, bout = (state[w] for w in WEIGHTS)\n",
            "    wh, bh, wout, bout = (state[w] for w in WEIGHTS)\n    import math\n    lr = math.nextafter(lr, math.inf)\n",
            next_hyper_oracle("lr"), False, ONE_ULP),
        _py("py-slope-rounding", "step 6: x - x*x for x(1 - x), equal in exact arithmetic",
            "return x * (1 - x)", "return x - x * x", slope_oracle, False,
            "differs from x(1 - x) by a rounding, inside the bound's gamma_2 allowance"),
        _kernel("py-exact-exp-is-numpy", "exact kernels: numpy's SIMD exp instead of libm's", "exp",
                lambda self, x: np.exp(np.asarray(x, dtype=np.float64)), exp_oracle, "exp"),
        _kernel("py-exact-dot-is-blas", "exact kernels: numpy's BLAS matmul instead of the reference loop", "dot",
                lambda self, a, b: np.dot(a, b), blas_dot_oracle, "BLAS"),
        _kernel("py-exact-sum-in-double", "exact kernels: column sums accumulated in double, not long double", "sum",
                lambda self, a, axis: np.sum(a, axis=axis, keepdims=True), double_sum_oracle, "double sums"),
        # -- R (r_impl/R/bias_net.R in the twin's R environment; the R driver r_impl/R/twin_run.R) -----------
        _r("r-bias-layout-by-row", "step 1: byrow flipped, so corrected lays its biases out by sample",
           'byrow = bias_layout == "by-neuron"', 'byrow = bias_layout != "by-neuron"', (0, 2, "hidden_layer_input"),
           lockstep_expected=(0, 11, "bh")),
        _r("r-missing-transpose", "step 10: hiddenlayer_activations %*% d_output, no t()",
           "t(hiddenlayer_activations) %*% d_output", "hiddenlayer_activations %*% d_output", (0, 10, "wout")),
        _r("r-rowsums-for-colsums", "step 11: rowSums(d_hiddenlayer) where corrected takes colSums",
           "colSums(d_hiddenlayer)", "rowSums(d_hiddenlayer)", (0, 11, "bh")),
        _r("r-off-by-one-epoch", "the R driver's loop stops one epoch early, leaving the last epoch unrecorded",
           "for (i in seq_len(epochs))", "for (i in seq_len(epochs - 1))", last_epoch, file="r_impl/R/twin_run.R"),
        _r("r-step7-times-lr", "step 7 as the article's spreadsheet: d_output <- E * slope * lr",
           "d_output <- output_delta(E, slope_output_layer)", "d_output <- output_delta(E, slope_output_layer) * lr",
           (0, 7, "d_output")),
        _r("r-lr-one-ulp", "the learning rate one ulp too large",
           "  wh <- state$wh; bh <- state$bh;", "  lr <- lr + 2^(floor(log2(lr)) - 52)\n  wh <- state$wh; bh <- state$bh;",
           next_hyper_oracle("lr"), False, ONE_ULP),
        _r("r-sigmoid-formula", "sigmoid as exp(x) / (1 + exp(x)), equal in exact arithmetic",
           "1 / (1 + exp(-x))", "exp(x) / (1 + exp(x))", sigmoid_formula_oracle, False,
           "differs by a few roundings, inside the bound's allowance for exp and 1/(1 + .)"),
        _r("r-article-rowsums-without-lr", "the article's bout + rowSums(d_output), the * lr dropped",
           "bout <- bout + rowSums(d_output) * lr", "bout <- bout + rowSums(d_output)", (0, 11, "bout"),
           variant="article"),
    ]
