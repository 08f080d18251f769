"""The experiments readers proposed, in Python: Python's half of twins/bias_net/questions/questions.R, function for
function and line for line (each marked ``# rosetta: questions <key>`` in both files).

* ``question_epoch``: the bias network's epoch (per-neuron biases, column sums) with the sigmoid's
  slope taken of the linear transform instead of the activation, or with the spreadsheet's step 7
  (``d_output = E * slope_output_layer * lr``), which applies the learning rate twice.
* ``sigmoid_slope_fd`` and ``fd_gradient``: central differences, the check of a derivative.
* ``descend``: gradient descent for some epochs, full batch or one sample at a time (stochastic).

Every function takes the array namespace ``xp`` (python_impl/kernels.py); with the exact kernels
each computes R's bits.
"""
import numpy as np

from crossverify.python_impl import bias_net


def question_epoch(X, y, state, lr, xp, slope_of="activation", lr_in_delta=False):
    """One epoch of the bias network with one of two readers' changes (twins/bias_net/questions/questions.R)."""
    wh, bh, wout, bout = (state[w] for w in bias_net.WEIGHTS)
    hidden_layer_input = bias_net.hidden_linear(X, wh, bh, xp)
    hiddenlayer_activations = bias_net.hidden_activation(hidden_layer_input, xp)
    output_layer_input, output = bias_net.output_forward(hiddenlayer_activations, wout, bout, xp)
    E = bias_net.output_error(y, output)
    if slope_of == "input":
        slope_output_layer = bias_net.derivatives_sigmoid(output_layer_input)  # rosetta: questions slope_of_input
        slope_hidden_layer = bias_net.derivatives_sigmoid(hidden_layer_input)  # rosetta: questions slope_of_input
    else:
        slope_output_layer, slope_hidden_layer = bias_net.slopes(output, hiddenlayer_activations)
    d_output = bias_net.output_delta(E, slope_output_layer)
    if lr_in_delta:
        d_output = E * slope_output_layer * lr  # rosetta: questions lr_in_delta
    Error_at_hidden_layer = bias_net.hidden_error(d_output, wout, xp)
    d_hiddenlayer = bias_net.hidden_delta(Error_at_hidden_layer, slope_hidden_layer)
    wout, wh = bias_net.update_weights(X, wh, wout, hiddenlayer_activations, d_output, d_hiddenlayer, lr, xp)
    bout, bh = bias_net.update_biases(bh, bout, d_output, d_hiddenlayer, lr, xp)
    values = locals()
    return {name: values[name] for name in bias_net.NAMES}


def sigmoid_slope_fd(u, h, xp):
    """The sigmoid's slope at u by central differences."""
    return (bias_net.sigmoid(u + h, xp) - bias_net.sigmoid(u - h, xp)) / (2 * h)  # rosetta: questions sigmoid_fd


def total_error(predict, X, y, xp):
    """sum((y - predict(X, state))^2 / 2) as a function of the state (R's sum: xp.sum)."""
    return lambda state: float(xp.sum((y - predict(X, state, xp)) ** 2 / 2)[0, 0])  # rosetta: questions total_error


def fd_gradient(loss, state, name, h):
    """The gradient of loss(state) with respect to state[name], by central differences."""
    w = state[name]
    grad = np.array(w, dtype=np.float64, copy=True)
    for k in np.ndindex(*w.shape):
        up = {**state, name: w.copy()}
        up[name][k] = w[k] + h
        down = {**state, name: w.copy()}
        down[name][k] = w[k] - h
        grad[k] = (loss(up) - loss(down)) / (2 * h)  # rosetta: questions fd_gradient
    return grad


def descend(epoch, predict, X, y, state, lr, epochs, xp, axis=None):
    """Gradient descent for ``epochs`` epochs: full batch (axis None) or one update per sample along
    ``axis`` (0: rows are samples, 1: columns are), with the network's ``epoch(X, y, state, lr, xp)``
    and ``predict(X, state, xp)`` (crossverify.python_impl.bias_net, crossverify.python_impl.detail). Returns the
    final state and loss[e] = mean((y - predict(X, state))^2) / 2 for the state epoch e starts
    from, the last element after the last epoch."""
    loss = np.empty(epochs + 1)
    for e in range(epochs):
        loss[e] = xp.mean((y - predict(X, state, xp)) ** 2) / 2
        if axis is None:
            values = epoch(X, y, state, lr, xp)
            state = {k: values[k] for k in state}
        else:
            for i in range(X.shape[axis]):
                Xi = X[i:i + 1] if axis == 0 else X[:, i:i + 1]  # rosetta: questions sgd
                yi = y[i:i + 1] if axis == 0 else y[:, i:i + 1]  # rosetta: questions sgd
                values = epoch(Xi, yi, state, lr, xp)  # rosetta: questions sgd
                state = {k: values[k] for k in state}
    loss[epochs] = xp.mean((y - predict(X, state, xp)) ** 2) / 2
    return state, loss
