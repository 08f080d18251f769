"""The article's bias network: "Steps involved in Neural Network methodology" (steps 0-11),
as coded in "Implementing NN using Numpy (Python)".

X is 3x4 with one sample per row, one hidden layer of 3 sigmoid neurons, one sigmoid output,
one bias per neuron (``bh`` is a 1x3 row that numpy broadcasts over the samples), full-batch
gradient steps. Every function takes the array namespace ``xp`` (python_impl/kernels.py) for
the operations whose rounding differs between numpy and R.
"""

# Intermediates in the order one epoch computes them; the number is the article's step.
STEPS = (
    (2, "hidden_layer_input"),
    (3, "hiddenlayer_activations"),
    (4, "output_layer_input"),
    (4, "output"),
    (5, "E"),
    (6, "slope_output_layer"),
    (6, "slope_hidden_layer"),
    (7, "d_output"),
    (8, "Error_at_hidden_layer"),
    (9, "d_hiddenlayer"),
    (10, "wout"),
    (10, "wh"),
    (11, "bout"),
    (11, "bh"),
)
NAMES = tuple(name for _, name in STEPS)
WEIGHTS = ("wh", "bh", "wout", "bout")


def sigmoid(x, xp):
    # sigma(x) = 1 / (1 + e^-x)
    return 1 / (1 + xp.exp(-x))  # rosetta: bias-net sigmoid


def derivatives_sigmoid(x):
    # sigma'(u) = sigma(u)(1 - sigma(u)), written in terms of the activation x = sigma(u)
    return x * (1 - x)


def hidden_linear(X, wh, bh, xp):
    """Step 2: hidden_layer_input = X . wh + bh."""
    hidden_layer_input = xp.dot(X, wh) + bh  # rosetta: bias-net 2
    return hidden_layer_input


def hidden_activation(hidden_layer_input, xp):
    """Step 3: hiddenlayer_activations = sigmoid(hidden_layer_input)."""
    hiddenlayer_activations = sigmoid(hidden_layer_input, xp)  # rosetta: bias-net 3
    return hiddenlayer_activations


def output_forward(hiddenlayer_activations, wout, bout, xp):
    """Step 4: output_layer_input = hiddenlayer_activations . wout + bout; output = sigmoid(.)."""
    output_layer_input = xp.dot(hiddenlayer_activations, wout) + bout  # rosetta: bias-net 4
    output = sigmoid(output_layer_input, xp)  # rosetta: bias-net 4
    return output_layer_input, output


def output_error(y, output):
    """Step 5: E = y - output (the gradient of (y - output)^2 / 2, sign flipped)."""
    E = y - output  # rosetta: bias-net 5
    return E


def slopes(output, hiddenlayer_activations):
    """Step 6: the sigmoid's slope at both layers."""
    slope_output_layer = derivatives_sigmoid(output)  # rosetta: bias-net 6
    slope_hidden_layer = derivatives_sigmoid(hiddenlayer_activations)  # rosetta: bias-net 6
    return slope_output_layer, slope_hidden_layer


def output_delta(E, slope_output_layer):
    """Step 7: d_output = E * slope_output_layer (elementwise)."""
    d_output = E * slope_output_layer  # rosetta: bias-net 7
    return d_output


def hidden_error(d_output, wout, xp):
    """Step 8: Error_at_hidden_layer = d_output . wout^T."""
    Error_at_hidden_layer = xp.dot(d_output, wout.T)  # rosetta: bias-net 8
    return Error_at_hidden_layer


def hidden_delta(Error_at_hidden_layer, slope_hidden_layer):
    """Step 9: d_hiddenlayer = Error_at_hidden_layer * slope_hidden_layer (elementwise)."""
    d_hiddenlayer = Error_at_hidden_layer * slope_hidden_layer  # rosetta: bias-net 9
    return d_hiddenlayer


def update_weights(X, wh, wout, hiddenlayer_activations, d_output, d_hiddenlayer, lr, xp):
    """Step 10: wout += h^T . d_output * lr; wh += X^T . d_hiddenlayer * lr."""
    wout = wout + xp.dot(hiddenlayer_activations.T, d_output) * lr  # rosetta: bias-net 10
    wh = wh + xp.dot(X.T, d_hiddenlayer) * lr  # rosetta: bias-net 10
    return wout, wh


def update_biases(bh, bout, d_output, d_hiddenlayer, lr, xp):
    """Step 11: each neuron's bias += its delta summed over the samples (axis 0) * lr."""
    bout = bout + xp.sum(d_output, axis=0) * lr  # rosetta: bias-net 11
    bh = bh + xp.sum(d_hiddenlayer, axis=0) * lr  # rosetta: bias-net 11
    return bout, bh


def epoch(X, y, state, lr, xp):
    """Steps 2-11 once, from ``state`` (wh, bh, wout, bout); every intermediate by name."""
    wh, bh, wout, bout = (state[w] for w in WEIGHTS)
    hidden_layer_input = hidden_linear(X, wh, bh, xp)
    hiddenlayer_activations = hidden_activation(hidden_layer_input, xp)
    output_layer_input, output = output_forward(hiddenlayer_activations, wout, bout, xp)
    E = output_error(y, output)
    slope_output_layer, slope_hidden_layer = slopes(output, hiddenlayer_activations)
    d_output = output_delta(E, slope_output_layer)
    Error_at_hidden_layer = hidden_error(d_output, wout, xp)
    d_hiddenlayer = hidden_delta(Error_at_hidden_layer, slope_hidden_layer)
    wout, wh = update_weights(X, wh, wout, hiddenlayer_activations, d_output, d_hiddenlayer, lr, xp)
    bout, bh = update_biases(bh, bout, d_output, d_hiddenlayer, lr, xp)
    values = locals()
    return {name: values[name] for name in NAMES}


def predict(X, state, xp):
    """Steps 2-4 only: the trained network's output for new rows of X."""
    hiddenlayer_activations = hidden_activation(hidden_linear(X, state["wh"], state["bh"], xp), xp)  # rosetta: bias-net predict
    return output_forward(hiddenlayer_activations, state["wout"], state["bout"], xp)[1]  # rosetta: bias-net predict
