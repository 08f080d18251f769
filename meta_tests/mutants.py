"""Deliberate defects, injected at run time into one implementation, and where each must show.

A mutant changes one line of python_impl (by source substitution, or by replacing an exact-kernel
method) or of r_impl's R code inside the bridge's R environment (``deparse``, substitute,
``eval(parse())`` back into ``session.env``), and is undone afterwards. Each names:

* the R variant whose checks must catch it (``corrected`` for almost all; a defect in the
  article's ``rowSums`` line can only show in the rows that run that line);
* where the first divergence must be, as (epoch, step, intermediate): a constant for a defect
  that changes the value the mutated line computes the first time it runs; otherwise an
  *oracle*, which replays the mutated operation on the unmutated operands (recorded in the
  unmutated exact-kernel Python trace, bit for bit R's) and returns the first (epoch, step,
  intermediate) whose bits it changes. Until that point the mutant computes exactly what the
  original does, so that is where any correct checker must first see it. An oracle that finds no
  changed bit in the whole run marks the mutant equivalent on this machine (it is not a defect
  here), and it is reported as such rather than as a survivor;
* whether the float-kernel bound is expected to catch it, and why (``why``).

In lockstep mode Python starts every epoch from R's state, so a defect in the state R builds
before its first epoch (the bias layout) is handed to Python too; it shows where Python's own
update first departs from R's, which the mutant states as ``lockstep_expected``.

The oracles use neither bridge.check.engine nor bridge.check.verify: the checks are what is under test.
"""
import contextlib
import inspect
import math
import sys
import textwrap
from dataclasses import dataclass

import numpy as np

from python_impl import bias_net
from python_impl.kernels import ExactKernels

STEP_OF = dict((name, step) for step, name in bias_net.STEPS)
ORDER = {name: k for k, name in enumerate(bias_net.NAMES)}
_EXACT = ExactKernels()  # the unmutated kernels, bound now: the oracles must not see a mutant


# -- applying mutations ----------------------------------------------------------------------------

class MutationDoesNotApply(AssertionError):
    """The code a mutant edits has changed; the catalogue below needs updating."""


def _substitute(name, where, source, old, new):
    if source.count(old) != 1:
        raise MutationDoesNotApply(f"mutant {name}: {old!r} occurs {source.count(old)} times in {where}, not once; "
                                   f"update meta_tests/mutants.py to the current code")
    return source.replace(old, new)


@contextlib.contextmanager
def python_source_mutation(name, owner, attr, old, new, extra_globals=None):
    """``owner.attr`` (a function of python_impl) recompiled with ``old`` replaced by ``new``."""
    original = getattr(owner, attr)
    source = textwrap.dedent(inspect.getsource(original))
    namespace = {**vars(sys.modules[original.__module__]), **(extra_globals or {})}
    exec(compile(_substitute(name, f"{original.__module__}.{attr}", source, old, new), f"<mutant {name}>", "exec"),
         namespace)
    setattr(owner, attr, namespace[original.__name__])
    try:
        yield
    finally:
        setattr(owner, attr, original)
    assert getattr(owner, attr) is original


@contextlib.contextmanager
def python_replacement(owner, attr, replacement):
    original = owner.__dict__[attr]
    setattr(owner, attr, replacement)
    try:
        yield
    finally:
        setattr(owner, attr, original)
    assert owner.__dict__[attr] is original


def r_source(session, fn):
    ro = session.ro
    return "\n".join(ro.r["deparse"](ro.r["get"](fn, envir=session.env), **{"width.cutoff": 500}))


@contextlib.contextmanager
def r_source_mutation(name, session, fn, old, new):
    """R function ``fn`` in the bridge's R environment, redefined with ``old`` replaced by ``new``."""
    ro = session.ro
    original = ro.r["get"](fn, envir=session.env)
    code = _substitute(name, f"R function {fn}", r_source(session, fn), old, new)
    mutated = ro.r["eval"](ro.r["parse"](text=code), envir=session.env)  # its environment is session.env
    ro.r["assign"](fn, mutated, envir=session.env)
    try:
        yield
    finally:
        ro.r["assign"](fn, original, envir=session.env)
    assert ro.r["identical"](ro.r["get"](fn, envir=session.env), original)[0]


# -- oracles: where a rounding-level defect first changes a bit --------------------------------------

def _bits_differ(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    return a.view(np.uint64) != b.view(np.uint64)


def first_difference(left, right):
    """First (epoch, step, name) where two traces' bits differ, in the order a run computes them."""
    for j in range(len(left)):
        for name in bias_net.NAMES:
            if _bits_differ(left.steps[name][j], right.steps[name][j]).any():
                return (int(left.epochs[j]), STEP_OF[name], name)
    return None


def _scan(run, redo):
    """The first (epoch, step, name) at which ``redo[name](j)``, the value the mutant computes at
    epoch index j from the unmutated operands, differs from the unmutated value, in run order."""
    t = run["trace"]
    names = sorted(redo, key=ORDER.get)
    for j in range(len(t)):
        for name in names:
            if _bits_differ(redo[name](j), t.steps[name][j]).any():
                return (int(t.epochs[j]), STEP_OF[name], name)
    return None


def _before(run, w, j):
    """The weight ``w`` epoch index j started from."""
    t = run["trace"]
    return t.start[w] if j == 0 else t.steps[w][j - 1]


def exp_oracle(run):
    """The first sigmoid whose value changes when exp is numpy's instead of libm's."""
    t = run["trace"]
    return _scan(run, {"hiddenlayer_activations": lambda j: 1 / (1 + np.exp(-t.steps["hidden_layer_input"][j])),
                       "output": lambda j: 1 / (1 + np.exp(-t.steps["output_layer_input"][j]))})


def sigmoid_formula_oracle(run):
    """The first sigmoid whose value changes when written e^x / (1 + e^x), libm's exp as R's."""
    t = run["trace"]

    def alternative(x):
        e = _EXACT.exp(x)
        return e / (1 + e)

    return _scan(run, {"hiddenlayer_activations": lambda j: alternative(t.steps["hidden_layer_input"][j]),
                       "output": lambda j: alternative(t.steps["output_layer_input"][j])})


def slope_oracle(run):
    """The first slope that changes when x(1 - x) is written x - x*x."""
    t = run["trace"]
    a, h = t.steps["output"], t.steps["hiddenlayer_activations"]
    return _scan(run, {"slope_output_layer": lambda j: a[j] - a[j] * a[j],
                       "slope_hidden_layer": lambda j: h[j] - h[j] * h[j]})


def blas_dot_oracle(run):
    """The first step whose value changes when the matrix products are numpy's BLAS (np.dot)."""
    t, X, lr = run["trace"], run["X"], run["lr"]
    s = t.steps
    return _scan(run, {
        "hidden_layer_input": lambda j: np.dot(X, _before(run, "wh", j)) + _before(run, "bh", j),
        "output_layer_input": lambda j: np.dot(s["hiddenlayer_activations"][j], _before(run, "wout", j))
        + _before(run, "bout", j),
        "Error_at_hidden_layer": lambda j: np.dot(s["d_output"][j], _before(run, "wout", j).T),
        "wout": lambda j: _before(run, "wout", j) + np.dot(s["hiddenlayer_activations"][j].T, s["d_output"][j]) * lr,
        "wh": lambda j: _before(run, "wh", j) + np.dot(X.T, s["d_hiddenlayer"][j]) * lr})


def double_sum_oracle(run):
    """The first bias update that changes when the column sums accumulate in double (np.sum)."""
    t, lr = run["trace"], run["lr"]
    return _scan(run, {
        "bout": lambda j: _before(run, "bout", j) + np.sum(t.steps["d_output"][j], axis=0, keepdims=True) * lr,
        "bh": lambda j: _before(run, "bh", j) + np.sum(t.steps["d_hiddenlayer"][j], axis=0, keepdims=True) * lr})


def next_lr_oracle(run):
    """Where training with the next double above lr first differs from training with lr."""
    scenario = run["scenario"]
    nudged = bias_net.train(scenario.data["X"], scenario.data["y"], scenario.init, math.nextafter(scenario.lr, math.inf),
                            len(run["trace"]), _EXACT)
    return first_difference(run["trace"], nudged)


def last_epoch(run):
    """R's recorded last epoch is epoch 0 recycled: its first intermediate differs."""
    return (len(run["trace"]) - 1, 2, "hidden_layer_input")


# -- the catalogue --------------------------------------------------------------------------------------

@dataclass
class Mutant:
    name: str
    language: str  # "python" or "r"
    defect: str
    expected: object  # (epoch, step, name), or an oracle: run -> (epoch, step, name) or None
    float_catches: bool
    why: str
    variant: str = "corrected"
    apply: object = None  # session -> context manager
    # lockstep hands Python R's state: a defect in R's *initial* state is adopted, and shows only
    # where Python's own step departs from R's; None: the same as free-running
    lockstep_expected: tuple = None

    def expected_divergence(self, run, mode="free-running"):
        if mode == "lockstep" and self.lockstep_expected is not None:
            return self.lockstep_expected
        return self.expected(run) if callable(self.expected) else self.expected


SEMANTIC = "changes the value by far more than rounding, so the float bound sees it"


def _py(name, attr, old, new, **kw):
    return lambda session: python_source_mutation(name, bias_net, attr, old, new, kw.get("extra"))


def _r(name, fn, old, new):
    return lambda session: r_source_mutation(name, session, fn, old, new)


MUTANTS = [
    # -- Python (python_impl/bias_net.py, python_impl/kernels.py) ------------------------------------
    Mutant("py-missing-transpose", "python", "step 10: h . d_output instead of h^T . d_output",
           (0, 10, "wout"), True, SEMANTIC,
           apply=_py("py-missing-transpose", "update_weights", "xp.dot(hiddenlayer_activations.T, d_output)",
                     "xp.dot(hiddenlayer_activations, d_output)")),
    Mutant("py-rowsums-for-colsums", "python", "step 11: the output delta summed per sample (axis=1)",
           (0, 11, "bout"), True, SEMANTIC,
           apply=_py("py-rowsums-for-colsums", "update_biases", "xp.sum(d_output, axis=0)", "xp.sum(d_output, axis=1)")),
    Mutant("py-step7-times-lr", "python", "step 7 as the article's spreadsheet: d_output = E * slope * lr",
           (0, 7, "d_output"), True, SEMANTIC,
           apply=_py("py-step7-times-lr", "epoch", "d_output = output_delta(E, slope_output_layer)",
                     "d_output = output_delta(E, slope_output_layer) * lr")),
    Mutant("py-slope-of-preactivation", "python", "step 6: the hidden slope taken of the pre-activation",
           (0, 6, "slope_hidden_layer"), True, SEMANTIC,
           apply=_py("py-slope-of-preactivation", "epoch", "slopes(output, hiddenlayer_activations)",
                     "slopes(output, hidden_layer_input)")),
    Mutant("py-bias-by-sample", "python", "step 2: the hidden bias laid out by sample (bh.T), as the article's R",
           (0, 2, "hidden_layer_input"), True, SEMANTIC,
           apply=_py("py-bias-by-sample", "hidden_linear", "xp.dot(X, wh) + bh", "xp.dot(X, wh) + bh.T")),
    Mutant("py-lr-one-ulp", "python", "the learning rate one ulp too large",
           next_lr_oracle, False,
           "moves each update by about one rounding of lr * G, which the bound's 2u allowance covers",
           apply=_py("py-lr-one-ulp", "epoch", "wh, bh, wout, bout = (state[w] for w in WEIGHTS)",
                     "wh, bh, wout, bout = (state[w] for w in WEIGHTS); lr = math.nextafter(lr, math.inf)",
                     extra={"math": math})),
    Mutant("py-slope-rounding", "python", "step 6: x - x*x for x(1 - x), equal in exact arithmetic",
           slope_oracle, False, "differs from x(1 - x) by a rounding, inside the bound's gamma_2 allowance",
           apply=_py("py-slope-rounding", "derivatives_sigmoid", "x * (1 - x)", "x - x * x")),
    Mutant("py-exact-exp-is-numpy", "python", "exact kernels: numpy's SIMD exp instead of libm's",
           exp_oracle, False, "touches only the exact kernels: the float rows already use numpy's exp",
           apply=lambda session: python_replacement(ExactKernels, "exp", lambda self, x: np.exp(np.asarray(x, dtype=np.float64)))),
    Mutant("py-exact-dot-is-blas", "python", "exact kernels: numpy's BLAS matmul instead of the reference loop",
           blas_dot_oracle, False, "touches only the exact kernels: the float rows already use numpy's BLAS",
           apply=lambda session: python_replacement(ExactKernels, "dot", lambda self, a, b: np.dot(a, b))),
    Mutant("py-exact-sum-in-double", "python", "exact kernels: column sums accumulated in double, not long double",
           double_sum_oracle, False, "touches only the exact kernels: the float rows already sum in double",
           apply=lambda session: python_replacement(ExactKernels, "sum",
                                                    lambda self, a, axis: np.sum(a, axis=axis, keepdims=True))),
    # -- R (r_impl/R/bias_net.R, redefined in the bridge's R environment) ----------------------------
    Mutant("r-bias-layout-by-row", "r", "step 1: byrow flipped, so corrected lays its biases out by sample",
           (0, 2, "hidden_layer_input"), True, SEMANTIC, lockstep_expected=(0, 11, "bh"),
           apply=_r("r-bias-layout-by-row", "spread_bias", 'byrow = bias_layout == "by-neuron"',
                    'byrow = bias_layout != "by-neuron"')),
    Mutant("r-missing-transpose", "r", "step 10: hiddenlayer_activations %*% d_output, no t()",
           (0, 10, "wout"), True, SEMANTIC,
           apply=_r("r-missing-transpose", "update_weights", "t(hiddenlayer_activations) %*% d_output",
                    "hiddenlayer_activations %*% d_output")),
    Mutant("r-rowsums-for-colsums", "r", "step 11: rowSums(d_hiddenlayer) where corrected takes colSums",
           (0, 11, "bh"), True, SEMANTIC,
           apply=_r("r-rowsums-for-colsums", "update_biases", "colSums(d_hiddenlayer)", "rowSums(d_hiddenlayer)")),
    Mutant("r-off-by-one-epoch", "r", "the loop stops one epoch early; array() silently recycles epoch 0 into the last",
           last_epoch, True, SEMANTIC,
           apply=_r("r-off-by-one-epoch", "bias_net_train", "for (i in seq_len(epochs))", "for (i in seq_len(epochs - 1))")),
    Mutant("r-step7-times-lr", "r", "step 7 as the article's spreadsheet: d_output <- E * slope * lr",
           (0, 7, "d_output"), True, SEMANTIC,
           apply=_r("r-step7-times-lr", "bias_net_epoch", "d_output <- output_delta(E, slope_output_layer)",
                    "d_output <- output_delta(E, slope_output_layer) * lr")),
    Mutant("r-lr-one-ulp", "r", "the learning rate one ulp too large",
           next_lr_oracle, False,
           "moves each update by about one rounding of lr * G, which the bound's 2u allowance covers",
           apply=_r("r-lr-one-ulp", "bias_net_train", "switches <- variant_switches(variant)",
                    "switches <- variant_switches(variant)\n    lr <- lr + 2^(floor(log2(lr)) - 52)")),
    Mutant("r-sigmoid-formula", "r", "sigmoid as exp(x) / (1 + exp(x)), equal in exact arithmetic",
           sigmoid_formula_oracle, False, "differs by a few roundings, inside the bound's allowance for exp and 1/(1 + .)",
           apply=_r("r-sigmoid-formula", "sigmoid", "1/(1 + exp(-x))", "exp(x)/(1 + exp(x))")),
    Mutant("r-article-rowsums-without-lr", "r", "the article's bout + rowSums(d_output), the * lr dropped",
           (0, 11, "bout"), True, SEMANTIC, variant="article",
           apply=_r("r-article-rowsums-without-lr", "update_biases", "bout <- bout + rowSums(d_output) * lr",
                    "bout <- bout + rowSums(d_output)")),
]

# filled by the tests, printed by meta_tests/conftest.py at the end of the run
RESULTS = []
