"""The article's spreadsheet walk-through, computed: "Visualization of steps for Neural Network
methodology" (steps 0-11 of the bias network), and the detail section's chain-rule steps 1-16
("Understanding the implementation of Neural Networks from scratch in detail").

For one epoch, every step's name, its formula and its matrices from Python and from R side by
side; a cell whose 64 bits differ from the other language's is marked. Prediction on new data
(the article's readers asked for it) closes the walk-through: the bias network's R model keeps
one bias per training row, so it cannot score a fourth sample unless the biases are per neuron.
"""
from dataclasses import dataclass, field

import numpy as np

from python_impl import bias_net, detail
from python_impl.kernels import KERNELS, get_kernels

from twins.bias_net import rmodel
from bridge.errors import CrossverifyError, RCallError
from bridge.twins.runner import network_for
from bridge.check.verify import check_name

MARK = "*"
DEFAULT_COLUMNS = 4  # wider matrices (the moons' 1000 samples) show this many columns

KERNEL_TEXT = {
    "exact": "exact: numpy arrays with R's arithmetic (products summed left to right as the reference BLAS "
             "does, the C library's exp, long-double colSums/rowSums/mean)",
    "float": "float: plain numpy as the article runs it (OpenBLAS dot, numpy's SIMD exp, pairwise sums)",
}

# -- the steps and their formulas -----------------------------------------------------------------

BIAS_NET_TITLES = {
    0: "Read input and output",
    1: "Initialize weights and biases with random values",
    2: "Calculate hidden layer input",
    3: "Perform non-linear transformation on hidden linear input",
    4: "Perform linear and non-linear transformation of hidden layer activation at output layer",
    5: "Calculate gradient of Error (E) at output layer",
    6: "Compute slope at output and hidden layer",
    7: "Compute delta at output layer",
    8: "Calculate Error at the hidden layer",
    9: "Compute delta at hidden layer",
    10: "Update weight at both output and hidden layer",
    11: "Update biases at both output and hidden layer",
}

# the article's formulas ("Steps involved in Neural Network methodology"); step 7 without the
# spreadsheet's stray "*lr", which neither script multiplies by
BIAS_NET_FORMULAS = {
    "X": "X = input matrix, one sample per row",
    "y": "y = output matrix",
    "wh": "wh = weight matrix to the hidden layer",
    "bh": "bh = bias matrix to the hidden layer",
    "wout": "wout = weight matrix to the output layer",
    "bout": "bout = bias matrix to the output layer",
    "hidden_layer_input": "hidden_layer_input = matrix_dot_product(X, wh) + bh",
    "hiddenlayer_activations": "hiddenlayer_activations = sigmoid(hidden_layer_input)",
    "output_layer_input": "output_layer_input = matrix_dot_product(hiddenlayer_activations, wout) + bout",
    "output": "output = sigmoid(output_layer_input)",
    "E": "E = y - output",
    "slope_output_layer": "slope_output_layer = derivatives_sigmoid(output)",
    "slope_hidden_layer": "slope_hidden_layer = derivatives_sigmoid(hiddenlayer_activations)",
    "d_output": "d_output = E * slope_output_layer",
    "Error_at_hidden_layer": "Error_at_hidden_layer = matrix_dot_product(d_output, wout.Transpose)",
    "d_hiddenlayer": "d_hiddenlayer = Error_at_hidden_layer * slope_hidden_layer",
    "wout@update": "wout = wout + matrix_dot_product(hiddenlayer_activations.Transpose, d_output) * learning_rate",
    "wh@update": "wh = wh + matrix_dot_product(X.Transpose, d_hiddenlayer) * learning_rate",
    "bout@update": "bout = bout + sum(d_output, axis=0) * learning_rate",
    "bh@update": "bh = bh + sum(d_hiddenlayer, axis=0) * learning_rate",
}

DETAIL_TITLES = {
    0: "Input, output and the weights the epoch starts from",
    1: "Hidden layer linear transform Z1",
    2: "Hidden layer activations h",
    3: "Output layer linear transform Z2",
    4: "Output Y",
    5: "Squared error of each sample",
    6: "Mean error of the epoch (the number the article prints)",
    7: "Rate of change of error w.r.t. output",
    8: "Rate of change of output w.r.t. Z2",
    9: "Rate of change of Z2 w.r.t. weights between hidden and output layer",
    10: "Error w.r.t. weights between hidden and output layer",
    11: "Rate of change of Z2 w.r.t. hidden layer activations",
    12: "Rate of change of hidden layer activations w.r.t. Z1",
    13: "Rate of change of Z1 w.r.t. weights between input and hidden layer",
    14: "Error w.r.t. weights between input and hidden layer",
    15: "Gradient descent: weights between hidden and output layer",
    16: "Gradient descent: weights between input and hidden layer",
}

DETAIL_FORMULAS = {
    "X": "X = input, one sample per column",
    "y": "y = output, one sample per column",
    "weights_input_hidden": "W_i = weights between the input and the hidden layer",
    "weights_hidden_output": "W_h = weights between the hidden and the output layer",
    "hiddenLayer_linearTransform": "Z1 = W_i^T . X",
    "hiddenLayer_activations": "h = sigmoid(Z1)",
    "outputLayer_linearTransform": "Z2 = W_h^T . h",
    "output": "Y = sigmoid(Z2)",
    "error": "error = (y - Y)^2 / 2",
    "mean_error": "mean_error = mean(error)",
    "error_wrt_output": "dE/dY = -(y - Y)",
    "output_wrt_outputLayer_LinearTransform": "dY/dZ2 = Y (1 - Y)",
    "outputLayer_LinearTransform_wrt_weights_hidden_output": "dZ2/dW_h = h",
    "error_wrt_weights_hidden_output": "dE/dW_h = h . (dE/dY * dY/dZ2)^T",
    "outputLayer_LinearTransform_wrt_hiddenLayer_activations": "dZ2/dh = W_h",
    "hiddenLayer_activations_wrt_hiddenLayer_linearTransform": "dh/dZ1 = h (1 - h)",
    "hiddenLayer_linearTransform_wrt_weights_input_hidden": "dZ1/dW_i = X",
    "error_wrt_weights_input_hidden": "dE/dW_i = X . (dh/dZ1 * (W_h . (dY/dZ2 * dE/dY)))^T",
    "weights_hidden_output@update": "W_h = W_h - lr * dE/dW_h",
    "weights_input_hidden@update": "W_i = W_i - lr * dE/dW_i",
}


def step_table(network):
    """(step, title, [(intermediate, formula)]) for every step of ``network`` ("bias_net" or "detail"),
    in the order one epoch computes them; step 0 (and the bias network's step 1) are the inputs."""
    if network == "bias_net":
        titles, formulas, steps, inputs = BIAS_NET_TITLES, BIAS_NET_FORMULAS, bias_net.STEPS, \
            {0: ("X", "y"), 1: bias_net.WEIGHTS}
        weights = bias_net.WEIGHTS
    else:
        titles, formulas, steps, inputs = DETAIL_TITLES, DETAIL_FORMULAS, detail.STEPS, \
            {0: ("X", "y") + detail.WEIGHTS}
        weights = detail.WEIGHTS
    table = [(k, titles[k], [(n, formulas[n]) for n in names]) for k, names in inputs.items()]
    for k, name in steps:
        formula = formulas[f"{name}@update"] if name in weights else formulas[name]
        if table[-1][0] == k:
            table[-1][2].append((name, formula))
        else:
            table.append((k, titles[k], [(name, formula)]))
    return table


# -- one matrix, both languages -------------------------------------------------------------------

@dataclass
class Pair:
    """One matrix from both languages; ``python`` may be a row numpy broadcasts to ``r``'s shape."""

    name: str
    python: np.ndarray
    r: np.ndarray
    label: str = ""
    note: str = ""
    r_only: bool = False  # shown for R alone (how R lays a matrix out); never marked

    def __post_init__(self):
        self.python = np.atleast_2d(np.asarray(self.python, dtype=np.float64))
        self.r = np.atleast_2d(np.asarray(self.r, dtype=np.float64))
        if self.r_only:
            self.r_marks = np.zeros(self.r.shape, dtype=bool)
            self.python_marks = np.zeros(self.python.shape, dtype=bool)
            return
        try:
            shape = np.broadcast_shapes(self.python.shape, self.r.shape)
        except ValueError:
            raise CrossverifyError(f"{self.name}: Python's {self.python.shape} and R's {self.r.shape} cannot be "
                                   f"compared cell by cell.") from None
        p, q = np.broadcast_to(self.python, shape), np.broadcast_to(self.r, shape)
        differ = p.view(np.uint64) != q.view(np.uint64)  # 64 bits, so -0 and +0 differ too
        self.python_marks = _fold(differ, self.python.shape)
        self.r_marks = _fold(differ, self.r.shape)
        self.max_abs = float(np.abs(p - q).max(initial=0.0))
        self.n_differ = int(differ.sum())
        first = np.argwhere(differ)
        self.first = tuple(int(i) for i in first[0]) if len(first) else None
        self.first_values = (float(p[self.first]), float(q[self.first])) if self.first else None

    @property
    def differs(self):
        return not self.r_only and self.n_differ > 0


def _fold(differ, shape):
    """Marks for a matrix of ``shape`` that was broadcast to ``differ.shape``: any copy differing."""
    axes = tuple(i for i, (a, b) in enumerate(zip(shape, differ.shape)) if a == 1 and b > 1)
    return differ.any(axis=axes, keepdims=True) if axes else differ


@dataclass
class StepView:
    number: int
    title: str
    formulas: list
    pairs: list
    note: str = ""

    @property
    def differs(self):
        return any(p.differs for p in self.pairs)


@dataclass
class Prediction:
    inputs: np.ndarray
    python: np.ndarray
    r: np.ndarray = None
    r_error: str = ""
    r_code: str = ""
    note: str = ""
    pair: Pair = None


@dataclass
class Walkthrough:
    scenario: str
    network: str
    variant: str
    kernels: str
    epoch: int
    steps: list = field(default_factory=list)
    prediction: Prediction = None
    header: list = field(default_factory=list)

    def first_difference(self):
        for s in self.steps:
            for p in s.pairs:
                if p.differs:
                    return s, p
        return None


# -- why the cells differ -------------------------------------------------------------------------

def layout_sentence(n, h, layout):
    """What R's ``matrix(rep(bias_in, n), nrow = n, byrow = ...)`` holds, from the model of R's fill order."""
    if layout == "by-sample":
        return (f"R's article script lays the drawn biases out with matrix(rep(bias_in, {n}), nrow = {n}, "
                f"byrow = FALSE), which fills column by column, so bh[i, j] = bias_in[i]: one bias per sample "
                f"(row i) where numpy adds bias_in[j] to neuron (column) j, and the two agree only where i = j.")
    return (f"R lays the drawn biases out with matrix(rep(bias_in, {n}), nrow = {n}, byrow = TRUE), so "
            f"bh[i, j] = bias_in[j]: every sample's row holds the per-neuron biases, the matrix numpy's "
            f"broadcast of the 1x{h} row adds.")


STEP11_NOTES = {
    "rowSums": ("R's rowSums(d) gives one sum per sample, and R recycles those numbers down the columns of bh, "
                "so bh[i, j] += lr * sum_k d[i, k] (the right gradient for one bias per sample), where Python "
                "adds lr * sum_i d[i, j] to neuron j (sum(axis=0))."),
    "colSums-by-sample": ("colSums(d) gives one sum per neuron, but spread the article's way (byrow = FALSE) row i "
                          "gets neuron i's sum along the whole row: the commenter's fix, recycled."),
}


def explain(view, walk, first, net, r_trace):
    """One sentence on why ``view``'s cells differ; ``first`` is the first step that differs."""
    variant, kernels = walk.variant, walk.kernels
    switches = rmodel.VARIANTS.get(variant) if walk.network == "bias_net" else None
    reference = switches is None or variant == net.reference_variant
    if view is not first:
        if not reference and view.number == 11 and walk.epoch == 0:
            if switches["bias_sums"] == "rowSums":
                return STEP11_NOTES["rowSums"]
            if switches["bias_layout"] == "by-sample":
                return STEP11_NOTES["colSums-by-sample"]
        if reference and kernels == "float":
            return f"rounding, as at step {first.number}: each step adds its own and carries the earlier ones."
        return f"carried from step {first.number}, where the two first part."
    if reference:
        if kernels == "float":
            return ("float kernels: numpy's OpenBLAS dot, SIMD exp and pairwise sums round differently from R's "
                    "reference BLAS, libm exp and long-double sums; `crossverify run` checks every such "
                    "difference against its floating-point bound.")
        return ("unexpected: with exact kernels Python should equal R bit for bit here; "
                "`crossverify run` names the first divergence.")
    if walk.epoch > 0:
        return (f"the weights this epoch starts from already differ: variant {variant} parts from Python at "
                f"epoch 0 (`crossverify steps --variant {variant} --epoch 0` shows where and why).")
    if view.number == 2 and switches["bias_layout"] == "by-sample":
        n, h = r_trace.start["bh"].shape[0], r_trace.init["bh"].shape[1]
        model = rmodel.spread_bias(r_trace.init["bh"], n, "by-sample")
        checked = (" twins/bias_net/rmodel.py's model of R's fill order predicts R's bh bit for bit."
                   if np.array_equal(model.view(np.uint64), r_trace.start["bh"].view(np.uint64)) else
                   " (R's bh does NOT match twins/bias_net/rmodel.py's model here.)")
        return layout_sentence(n, h, "by-sample") + checked
    if view.number == 11 and switches["bias_sums"] == "rowSums":
        return STEP11_NOTES["rowSums"]
    if view.number == 11 and switches["bias_layout"] == "by-sample":
        return STEP11_NOTES["colSums-by-sample"]
    return f"variant {variant} first parts from Python here."


# -- building the walk-through --------------------------------------------------------------------

def _traces(session, net, variant, kernels, epoch):
    py = net.python(kernels, epoch + 1, record=[epoch])
    r = net.r(session, variant, epoch + 1, record=[epoch])
    return py, r


def _bias_net_steps(walk, net, py, r, r_X):
    e = walk.epoch
    n = net.X.shape[0]
    table = step_table("bias_net")
    py_before = py.state_before(e, bias_net.WEIGHTS)
    r_before = r.state_before(e, bias_net.WEIGHTS)
    views = []
    for number, title, items in table:
        formulas = [f for _, f in items]
        pairs = []
        if number == 0:
            pairs = [Pair("X", net.X, r_X), Pair("y", net.y, net.y)]
        elif number == 1:
            if e == 0:
                # both read the same drawn numbers; how R lays the biases out shows where they are used
                pairs = [Pair(w, py.init[w], r.init[w], label="as drawn") for w in bias_net.WEIGHTS]
                layout = rmodel.VARIANTS.get(walk.variant, {}).get("bias_layout", "by-neuron")
                pairs.append(Pair("bh", r.start["bh"], r.start["bh"], label=f"as R lays it out, {layout}",
                                  r_only=True, note=layout_sentence(n, r.init["bh"].shape[1], layout)))
            else:
                pairs = [Pair(w, py_before[w], r_before[w], label=f"after epoch {e - 1}") for w in bias_net.WEIGHTS]
        else:
            for name, _ in items:
                if name == "hidden_layer_input":
                    pairs.append(Pair("bh", py_before["bh"], r_before["bh"], label="as added"))
                if name == "output_layer_input":
                    pairs.append(Pair("bout", py_before["bout"], r_before["bout"], label="as added"))
                pairs.append(Pair(name, py.at(e, name), r.at(e, name)))
        views.append(StepView(number, title, formulas, pairs))
    return views


def _detail_steps(walk, net, py, r, r_X):
    e = walk.epoch
    py_before = py.state_before(e, detail.WEIGHTS)
    r_before = r.state_before(e, detail.WEIGHTS)
    views = []
    for number, title, items in step_table("detail"):
        formulas = [f for _, f in items]
        if number == 0:
            label = "as drawn" if e == 0 else f"after epoch {e - 1}"
            pairs = [Pair("X", net.X, r_X, note="normalised by each language's own code"
                          if net.scenario.preprocessing == "normalise" else ""), Pair("y", net.y, net.y)]
            pairs += [Pair(w, py_before[w], r_before[w], label=label) for w in detail.WEIGHTS]
        else:
            pairs = [Pair(name, py.at(e, name), r.at(e, name)) for name, _ in items]
        views.append(StepView(number, title, formulas, pairs))
    return views


NEW_ROWS = np.array([[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0]])


def _r_list(session, state):
    return session.ro.ListVector({k: session.to_r(v) for k, v in state.items()})


def bias_net_prediction(session, net, py_state, r_state, variant, kernels):
    """Score the three training rows and a fourth in both languages with the trained weights.

    R's trained bias matrices have one row per training sample; with per-neuron biases (the
    corrected variant) every row is the same, and row 1 laid out for 4 rows is the network's bias.
    """
    X = NEW_ROWS if net.X.shape == (3, 4) else np.vstack([net.X, net.X[:1]])
    k = X.shape[0]
    python = bias_net.predict(X, py_state, get_kernels(kernels))
    out = Prediction(X, python)
    per_neuron = all(np.array_equal(r_state[b], np.broadcast_to(r_state[b][:1], r_state[b].shape))
                     for b in ("bh", "bout"))
    if variant != "corrected" or not per_neuron:
        out.r_code = f"bias_net_predict(X_new, state)  # X_new has {k} rows, state$bh has {r_state['bh'].shape[0]}"
        try:
            session.call("bias_net_predict", session.to_r(X), _r_list(session, r_state))
            out.note = "R scored the new rows (the scenario has as many training rows as new ones)."
        except RCallError as exc:
            out.r_error = str(exc)
            whose = "The article's R model" if variant == "article" else f"R's {variant} model"
            out.note = (f"{whose} cannot score a {_ordinal(k)} sample: its biases belong to the "
                        f"{r_state['bh'].shape[0]} training rows, not to the neurons (bh is "
                        f"{r_state['bh'].shape[0]}x{r_state['bh'].shape[1]}, row i is sample i's), so there is "
                        f"no bias for a new row. Python keeps one bias per neuron and scores any number of rows, and "
                        f"so does R with per-neuron biases (variant corrected).")
        return out
    spread = {b: session.call("spread_bias", session.to_r(r_state[b][0]), k, "by-neuron") for b in ("bh", "bout")}
    state = {"wh": session.to_r(r_state["wh"]), "bh": spread["bh"], "wout": session.to_r(r_state["wout"]),
             "bout": spread["bout"]}
    out.r_code = (f'state$bh <- spread_bias(bh[1, ], {k}, "by-neuron"); '
                  f'state$bout <- spread_bias(bout[1, ], {k}, "by-neuron"); bias_net_predict(X_new, state)')
    out.r = session.from_r(session.call("bias_net_predict", session.to_r(X), session.ro.ListVector(state)))
    out.pair = Pair("prediction", python, out.r)
    same = "bit for bit" if not out.pair.differs else f"to {out.pair.max_abs:.3g}"
    out.note = (f"Every row of the trained R bias matrices is the same per-neuron bias, so row 1 laid out for "
                f"{k} rows scores new data; R matches Python {same}.")
    return out


def detail_prediction(session, net, py_state, r_state, kernels):
    """Score the first three training samples and a new one in both languages: no biases, so any
    number of columns."""
    f = net.X.shape[0]
    new = np.full((f, 1), 0.5) if net.scenario.preprocessing == "normalise" else \
        (np.arange(f) % 2 == 0).astype(np.float64)[:, None]
    X = np.hstack([net.X[:, :3], new])
    python = detail.predict(X, py_state, get_kernels(kernels))
    r = session.from_r(session.call("detail_predict", session.to_r(X), _r_list(session, r_state)))
    out = Prediction(X, python, r, r_code=f"detail_predict(X_new, state)  # X_new has {X.shape[1]} columns")
    out.pair = Pair("prediction", python, r)
    out.note = ("No biases, so both languages score any number of new columns"
                + (" and agree bit for bit." if not out.pair.differs else
                   f"; largest difference {out.pair.max_abs:.3g} ({kernels} kernels)."))
    return out


def _ordinal(k):
    return {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}.get(k, f"{k}th")


def check_arguments(scenario, variant=None, kernels="exact", epoch=0):
    """The variant to use, once every argument is known to be usable (before R starts)."""
    net = network_for(scenario)
    variant = variant or net.reference_variant
    check_name("variant", variant, net.variants)
    check_name("kernels", kernels, tuple(KERNELS))
    if epoch < 0:
        raise CrossverifyError(f"--epoch {epoch}: epochs are counted from 0 (the article's 'Error at epoch 0').")
    return variant


def walkthrough(session, scenario, variant=None, kernels="exact", epoch=0):
    """Every step of epoch ``epoch`` of ``scenario`` from both languages, cells compared bit for bit."""
    variant = check_arguments(scenario, variant, kernels, epoch)
    net = network_for(scenario)
    py, r = _traces(session, net, variant, kernels, epoch)
    walk = Walkthrough(scenario.name, net.name, variant, kernels, epoch)
    if net.name == "bias_net":
        r_X = session.from_r(session.to_r(net.X))
        walk.steps = _bias_net_steps(walk, net, py, r, r_X)
        weights = bias_net.WEIGHTS
    else:
        r_X = session.from_r(net.r_data(session)[0])
        walk.steps = _detail_steps(walk, net, py, r, r_X)
        weights = detail.WEIGHTS
    first = next((s for s in walk.steps if s.differs), None)
    for s in walk.steps:
        if s.differs:
            s.note = explain(s, walk, first, net, r)
    py_state = {w: py.at(epoch, w) for w in weights}
    r_state = {w: r.at(epoch, w) for w in weights}
    if net.name == "bias_net":
        walk.prediction = bias_net_prediction(session, net, py_state, r_state, variant, kernels)
    else:
        walk.prediction = detail_prediction(session, net, py_state, r_state, kernels)
    switches = rmodel.VARIANTS.get(variant) if net.name == "bias_net" else None
    walk.header = [
        f"Scenario {scenario.name}, epoch {epoch} as the article counts (R's loop calls it i = {epoch + 1}).",
        f"R variant: {variant}" + (f" (biases laid out {switches['bias_layout']}, updated with {switches['bias_sums']})"
                                   if switches else " (the detail section's one R translation)") + ".",
        f"Python kernels: {KERNEL_TEXT[kernels]}.",
        f"A cell marked {MARK} differs from the other language's in at least one of its 64 bits.",
    ]
    return walk


# -- output -----------------------------------------------------------------------------------------

def _format_cells(m, columns):
    """Text of each shown cell (one format per matrix, so columns line up)."""
    shown = m[:, :columns] if columns else m
    finite = shown[np.isfinite(shown)]
    if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max(initial=0) < 1e6:
        return [[f"{v:g}" for v in row] for row in shown]
    big = np.abs(finite).max(initial=0.0)
    small = np.abs(finite[finite != 0]).min(initial=1.0)
    if big >= 1e4 or small < 1e-4:
        return [[f"{v:.8e}" for v in row] for row in shown]
    return [[f"{v:.10f}" for v in row] for row in shown]


def _block(m, marks, columns):
    """Rows of text for one matrix, marked cells followed by MARK."""
    cells = _format_cells(m, columns)
    width = max((len(c) for row in cells for c in row), default=0)
    lines = []
    for i, row in enumerate(cells):
        parts = [c.rjust(width) + (MARK if marks[i, j] else " ") for j, c in enumerate(row)]
        lines.append("[ " + " ".join(parts) + "]")
    return lines


def _columns_for(m, columns):
    if columns is None:
        columns = DEFAULT_COLUMNS
    return None if columns == 0 or m.shape[1] <= columns else columns


def _shape(m):
    return f"{m.shape[0]}x{m.shape[1]}"


def _pair_lines(p, columns, indent="    "):
    cols = _columns_for(p.r, columns)
    title = f"{p.name}" + (f" ({p.label})" if p.label else "")
    lines = []
    if p.r_only:
        lines.append(f"{indent}{title}, R only, {_shape(p.r)}:")
        lines += [indent + "  " + s for s in _block(p.r, p.r_marks, cols)]
        if p.note:
            lines.append(f"{indent}  {p.note}")
        return lines
    shapes = f"Python {_shape(p.python)}" + (
        f" (numpy broadcasts it to {_shape(p.r)})" if p.python.shape != p.r.shape else "") + f", R {_shape(p.r)}"
    lines.append(f"{indent}{title}: {shapes}")
    left = _block(p.python, p.python_marks, _columns_for(p.python, columns))
    right = _block(p.r, p.r_marks, cols)
    width = max(len("Python"), *(len(s) for s in left))
    lines.append(f"{indent}  {'Python'.ljust(width)}   R")
    for k in range(max(len(left), len(right))):
        a = left[k] if k < len(left) else ""
        b = right[k] if k < len(right) else ""
        lines.append(f"{indent}  {a.ljust(width)}   {b}".rstrip())
    hidden = p.r.shape[1] - cols if cols else 0
    if hidden:
        hidden_differ = int(p.r_marks[:, cols:].sum())
        lines.append(f"{indent}  ({hidden} of {p.r.shape[1]} columns hidden; differing cells among them: "
                     f"{hidden_differ}; --columns 0 shows all)")
    if p.differs:
        i = ", ".join(str(k) for k in p.first)
        lines.append(f"{indent}  {p.n_differ} cell(s) differ; first [{i}]: Python {p.first_values[0]!r} "
                     f"({p.first_values[0].hex()}) vs R {p.first_values[1]!r} ({p.first_values[1].hex()}); "
                     f"largest |difference| {p.max_abs:.3g}")
    if p.note:
        lines.append(f"{indent}  {p.note}")
    return lines


def render_table(walk, columns=None):
    out = [f"crossverify steps: {walk.scenario}", ""] + walk.header + [""]
    for s in walk.steps:
        out.append(f"Step {s.number}: {s.title}" + ("   <- differs" if s.differs else ""))
        out += [f"  {f}" for f in s.formulas]
        for p in s.pairs:
            out += _pair_lines(p, columns)
        if s.note:
            out.append(f"  Why: {s.note}")
        out.append("")
    first = walk.first_difference()
    if first:
        s, p = first
        i = ", ".join(str(k) for k in p.first)
        out.append(f"First difference: step {s.number}, {p.name}" + (f" ({p.label})" if p.label else "") + f"[{i}].")
    else:
        out.append("No cell differs: Python and R agree bit for bit at every step of this epoch.")
    steps = "2-4" if walk.network == "bias_net" else "1-4"
    out += ["", f"Prediction on new data: steps {steps} with the weights after epoch {walk.epoch}"]
    pred = walk.prediction
    out.append(f"  new inputs, {_shape(pred.inputs)}:")
    unmarked = np.zeros(pred.inputs.shape, bool)
    out += ["    " + s for s in _block(pred.inputs, unmarked, _columns_for(pred.inputs, columns))]
    out.append(f"  R: {pred.r_code}")
    if pred.r_error:
        out.append(f"  Python scores every row: {', '.join(f'{v:.8f}' for v in pred.python.ravel())}")
        out.append(f"  R says: {pred.r_error}")
    elif pred.pair is not None:
        out += _pair_lines(pred.pair, columns, indent="  ")
    out.append(f"  {pred.note}")
    return "\n".join(out) + "\n"


def _matrix_json(m, columns):
    cols = _columns_for(m, columns)
    return (m[:, :cols] if cols else m).tolist()


def _pair_json(p, columns):
    cols = _columns_for(p.r, columns)
    out = {"name": p.name, "label": p.label, "r_only": p.r_only, "python_shape": list(p.python.shape),
           "r_shape": list(p.r.shape), "python": _matrix_json(p.python, columns), "r": _matrix_json(p.r, columns),
           "columns_shown": cols or p.r.shape[1], "columns_hidden": p.r.shape[1] - cols if cols else 0,
           "note": p.note}
    if not p.r_only:
        shown = (lambda m: m[:, :cols] if cols else m)
        out.update({
            "differing_cells": p.n_differ, "max_abs_difference": p.max_abs,
            "python_marked": [list(map(int, ij)) for ij in np.argwhere(shown(p.python_marks))],
            "r_marked": [list(map(int, ij)) for ij in np.argwhere(shown(p.r_marks))],
            "first_difference": None if not p.differs else {
                "index": list(p.first), "python": p.first_values[0], "r": p.first_values[1],
                "python_hex": p.first_values[0].hex(), "r_hex": p.first_values[1].hex()},
        })
    return out


def to_json(walk, columns=None):
    first = walk.first_difference()
    pred = walk.prediction
    return {
        "scenario": walk.scenario, "network": walk.network, "variant": walk.variant, "kernels": walk.kernels,
        "kernels_description": KERNEL_TEXT[walk.kernels], "epoch": walk.epoch, "r_loop_index": walk.epoch + 1,
        "mark": MARK,
        "steps": [{"step": s.number, "title": s.title, "formulas": s.formulas, "differs": s.differs, "why": s.note,
                   "matrices": [_pair_json(p, columns) for p in s.pairs]} for s in walk.steps],
        "first_difference": None if first is None else {
            "step": first[0].number, "name": first[1].name, "label": first[1].label,
            "index": list(first[1].first)},
        "prediction": {
            "inputs": pred.inputs.tolist(), "python": pred.python.tolist(),
            "r": None if pred.r is None else pred.r.tolist(), "r_code": pred.r_code, "r_error": pred.r_error or None,
            "matches": None if pred.pair is None else not pred.pair.differs, "note": pred.note},
    }
