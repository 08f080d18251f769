"""The article's second network: "Understanding the implementation of Neural Networks from
scratch in detail", used for both the toy data and the moons data of that section.

Columns of X are samples, one hidden layer of sigmoid neurons, one sigmoid output, no biases,
loss (y - output)^2 / 2 per sample, full-batch gradient descent with the gradients written out
link by link of the chain rule under the notebook's own names. Every function takes the array
namespace ``xp`` (python_impl/kernels.py) for the operations whose rounding differs between
numpy and R. Mirror: r_impl/R/detail.R.

The article does not number these steps; ``STEPS`` numbers the intermediates 1-16 in the order
one epoch computes them: forward pass 1-6, chain rule for weights_hidden_output 7-10, chain
rule for weights_input_hidden 11-14, gradient-descent update 15-16.
"""
import numpy as np


STEPS = (
    (1, "hiddenLayer_linearTransform"),
    (2, "hiddenLayer_activations"),
    (3, "outputLayer_linearTransform"),
    (4, "output"),
    (5, "error"),
    # the per-epoch loss the article prints; a function of error alone, so where it sits in
    # the epoch changes no value
    (6, "mean_error"),
    (7, "error_wrt_output"),
    (8, "output_wrt_outputLayer_LinearTransform"),
    (9, "outputLayer_LinearTransform_wrt_weights_hidden_output"),
    (10, "error_wrt_weights_hidden_output"),
    (11, "outputLayer_LinearTransform_wrt_hiddenLayer_activations"),
    (12, "hiddenLayer_activations_wrt_hiddenLayer_linearTransform"),
    (13, "hiddenLayer_linearTransform_wrt_weights_input_hidden"),
    (14, "error_wrt_weights_input_hidden"),
    (15, "weights_hidden_output"),
    (16, "weights_input_hidden"),
)
NAMES = tuple(name for _, name in STEPS)
WEIGHTS = ("weights_input_hidden", "weights_hidden_output")
# kept after every epoch even when the other intermediates are kept only at checkpoints
HISTORY = WEIGHTS + ("mean_error",)


def sigmoid(x, xp):
    # sigma(x) = 1 / (1 + e^-x)
    return 1 / (1 + xp.exp(-x))


def normalise(X):
    """The moons preprocessing: shift by the global minimum, divide by the global maximum, then
    transpose so that columns are samples (the raw data has one sample per row)."""
    X = np.asarray(X, dtype=np.float64)
    X = X - X.min()  # rosetta: detail normalise
    with np.errstate(invalid="ignore", divide="ignore"):  # constant data gives 0/0 = NaN, as in R; the rows name it
        X = X / X.max()  # the maximum after the shift, as the article's in-place X /= X.max()  # rosetta: detail normalise
    return X.T  # rosetta: detail normalise


def normalise_data(X):
    """The normalisation as a twin's data preparation: the data matrices by name."""
    return {"X": normalise(X)}


def hidden_forward(X, weights_input_hidden, xp):
    """Steps 1-2: Z1 = W_i^T . X; h = sigmoid(Z1)."""
    hiddenLayer_linearTransform = xp.dot(weights_input_hidden.T, X)  # rosetta: detail 1
    hiddenLayer_activations = sigmoid(hiddenLayer_linearTransform, xp)  # rosetta: detail 2
    return hiddenLayer_linearTransform, hiddenLayer_activations


def output_layer_forward(hiddenLayer_activations, weights_hidden_output, xp):
    """Steps 3-4: Z2 = W_h^T . h; output = sigmoid(Z2)."""
    outputLayer_linearTransform = xp.dot(weights_hidden_output.T, hiddenLayer_activations)  # rosetta: detail 3
    output = sigmoid(outputLayer_linearTransform, xp)  # rosetta: detail 4
    return outputLayer_linearTransform, output


def squared_error(y, output):
    """Step 5: error = (y - output)^2 / 2, one value per sample."""
    error = (y - output) ** 2 / 2  # ** 2 is x * x in numpy, as ^2 is in R  # rosetta: detail 5
    return error


def average_error(error, xp):
    """Step 6: the epoch's mean error, kept as a 1x1 matrix like every other intermediate."""
    mean_error = np.reshape(xp.mean(error), (1, 1))  # rosetta: detail 6
    return mean_error


def output_layer_chain(y, output, hiddenLayer_activations):
    """Steps 7-9: the three links dE/d(output), d(output)/dZ2, dZ2/dW_h."""
    error_wrt_output = -(y - output)  # rosetta: detail 7
    output_wrt_outputLayer_LinearTransform = output * (1 - output)  # sigma' in terms of sigma  # rosetta: detail 8
    outputLayer_LinearTransform_wrt_weights_hidden_output = hiddenLayer_activations  # rosetta: detail 9
    return error_wrt_output, output_wrt_outputLayer_LinearTransform, outputLayer_LinearTransform_wrt_weights_hidden_output


def hidden_output_gradient(outputLayer_LinearTransform_wrt_weights_hidden_output, error_wrt_output,
                           output_wrt_outputLayer_LinearTransform, xp):
    """Step 10: dE/dW_h = h . (dE/d(output) * d(output)/dZ2)^T, summed over the samples by the dot."""
    error_wrt_weights_hidden_output = xp.dot(outputLayer_LinearTransform_wrt_weights_hidden_output,  # rosetta: detail 10
                                             (error_wrt_output * output_wrt_outputLayer_LinearTransform).T)
    return error_wrt_weights_hidden_output


def hidden_layer_chain(weights_hidden_output, hiddenLayer_activations, X):
    """Steps 11-13: the links dZ2/dh, dh/dZ1, dZ1/dW_i."""
    outputLayer_LinearTransform_wrt_hiddenLayer_activations = weights_hidden_output  # rosetta: detail 11
    hiddenLayer_activations_wrt_hiddenLayer_linearTransform = hiddenLayer_activations * (1 - hiddenLayer_activations)  # rosetta: detail 12
    hiddenLayer_linearTransform_wrt_weights_input_hidden = X  # rosetta: detail 13
    return (outputLayer_LinearTransform_wrt_hiddenLayer_activations,
            hiddenLayer_activations_wrt_hiddenLayer_linearTransform,
            hiddenLayer_linearTransform_wrt_weights_input_hidden)


def input_hidden_gradient(hiddenLayer_linearTransform_wrt_weights_input_hidden,
                          hiddenLayer_activations_wrt_hiddenLayer_linearTransform,
                          outputLayer_LinearTransform_wrt_hiddenLayer_activations,
                          output_wrt_outputLayer_LinearTransform, error_wrt_output, xp):
    """Step 14: dE/dW_i = X . (dh/dZ1 * (W_h . (d(output)/dZ2 * dE/d(output))))^T."""
    error_wrt_weights_input_hidden = xp.dot(  # rosetta: detail 14
        hiddenLayer_linearTransform_wrt_weights_input_hidden,
        (hiddenLayer_activations_wrt_hiddenLayer_linearTransform
         * xp.dot(outputLayer_LinearTransform_wrt_hiddenLayer_activations,
                  output_wrt_outputLayer_LinearTransform * error_wrt_output)).T)
    return error_wrt_weights_input_hidden


def gradient_descent(weights_input_hidden, weights_hidden_output, error_wrt_weights_input_hidden,
                     error_wrt_weights_hidden_output, lr):
    """Steps 15-16: W <- W - lr * dE/dW, output layer first as the article writes it."""
    weights_hidden_output = weights_hidden_output - lr * error_wrt_weights_hidden_output  # rosetta: detail 15
    weights_input_hidden = weights_input_hidden - lr * error_wrt_weights_input_hidden  # rosetta: detail 16
    return weights_hidden_output, weights_input_hidden


def epoch(X, y, state, lr, xp):
    """Steps 1-16 once, from ``state`` (weights_input_hidden, weights_hidden_output)."""
    weights_input_hidden, weights_hidden_output = (state[w] for w in WEIGHTS)
    hiddenLayer_linearTransform, hiddenLayer_activations = hidden_forward(X, weights_input_hidden, xp)
    outputLayer_linearTransform, output = output_layer_forward(hiddenLayer_activations, weights_hidden_output, xp)
    error = squared_error(y, output)
    mean_error = average_error(error, xp)
    (error_wrt_output, output_wrt_outputLayer_LinearTransform,
     outputLayer_LinearTransform_wrt_weights_hidden_output) = output_layer_chain(y, output, hiddenLayer_activations)
    error_wrt_weights_hidden_output = hidden_output_gradient(
        outputLayer_LinearTransform_wrt_weights_hidden_output, error_wrt_output,
        output_wrt_outputLayer_LinearTransform, xp)
    (outputLayer_LinearTransform_wrt_hiddenLayer_activations,
     hiddenLayer_activations_wrt_hiddenLayer_linearTransform,
     hiddenLayer_linearTransform_wrt_weights_input_hidden) = hidden_layer_chain(
        weights_hidden_output, hiddenLayer_activations, X)
    error_wrt_weights_input_hidden = input_hidden_gradient(
        hiddenLayer_linearTransform_wrt_weights_input_hidden,
        hiddenLayer_activations_wrt_hiddenLayer_linearTransform,
        outputLayer_LinearTransform_wrt_hiddenLayer_activations,
        output_wrt_outputLayer_LinearTransform, error_wrt_output, xp)
    weights_hidden_output, weights_input_hidden = gradient_descent(
        weights_input_hidden, weights_hidden_output, error_wrt_weights_input_hidden,
        error_wrt_weights_hidden_output, lr)
    values = locals()
    return {name: values[name] for name in NAMES}


def predict(X, state, xp):
    """Steps 1-4 only: the trained network's output for the columns of X."""
    hiddenLayer_activations = hidden_forward(X, state["weights_input_hidden"], xp)[1]  # rosetta: detail predict
    return output_layer_forward(hiddenLayer_activations, state["weights_hidden_output"], xp)[1]  # rosetta: detail predict
