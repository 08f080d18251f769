"""The article's second network ("Understanding the implementation of Neural Networks from scratch
in detail"), used for the toy data and the moons data of that section: the chain rule written out
link by link under the notebook's own names, steps numbered 1-16 in the order one epoch computes
them."""
from crossverify.twins.protocol import Preprocess, RSide, Step, Twin, Variant
from crossverify.shipped_twins.detail import printed, teaching

TWIN = Twin(
    name="detail",
    title="The article's detail-section network",
    section="Understanding the implementation of Neural Networks from scratch in detail",
    python="crossverify.python_impl.detail:epoch",
    python_predict="crossverify.python_impl.detail:predict",
    r=RSide(files=("../../r_impl/R/bias_net.R", "../../r_impl/R/detail.R"), epoch="detail_epoch",
            predict="detail_predict"),
    state=("weights_input_hidden", "weights_hidden_output"),
    history=("mean_error",),  # the number the article prints, kept after every epoch
    steps=(
        Step(1, "hiddenLayer_linearTransform", "Z1 = W_i^T . X"),
        Step(2, "hiddenLayer_activations", "h = sigmoid(Z1)"),
        Step(3, "outputLayer_linearTransform", "Z2 = W_h^T . h"),
        Step(4, "output", "Y = sigmoid(Z2)"),
        Step(5, "error", "error = (y - Y)^2 / 2"),
        Step(6, "mean_error", "mean_error = mean(error)"),
        Step(7, "error_wrt_output", "dE/dY = -(y - Y)"),
        Step(8, "output_wrt_outputLayer_LinearTransform", "dY/dZ2 = Y (1 - Y)"),
        Step(9, "outputLayer_LinearTransform_wrt_weights_hidden_output", "dZ2/dW_h = h"),
        Step(10, "error_wrt_weights_hidden_output", "dE/dW_h = h . (dE/dY * dY/dZ2)^T"),
        Step(11, "outputLayer_LinearTransform_wrt_hiddenLayer_activations", "dZ2/dh = W_h"),
        Step(12, "hiddenLayer_activations_wrt_hiddenLayer_linearTransform", "dh/dZ1 = h (1 - h)"),
        Step(13, "hiddenLayer_linearTransform_wrt_weights_input_hidden", "dZ1/dW_i = X"),
        Step(14, "error_wrt_weights_input_hidden", "dE/dW_i = X . (dh/dZ1 * (W_h . (dY/dZ2 * dE/dY)))^T"),
        Step(15, "weights_hidden_output", "W_h = W_h - lr * dE/dW_h"),
        Step(16, "weights_input_hidden", "W_i = W_i - lr * dE/dW_i"),
    ),
    titles={
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
    },
    inputs={
        "X": "X = input, one sample per column",
        "y": "y = output, one sample per column",
        "weights_input_hidden": "W_i = weights between the input and the hidden layer",
        "weights_hidden_output": "W_h = weights between the hidden and the output layer",
    },
    input_steps={0: ("X", "y", "weights_input_hidden", "weights_hidden_output")},
    # f features, n samples, h hidden neurons, o outputs; columns are samples
    data={"X": ("f", "n"), "y": ("o", "n")},
    init={"weights_input_hidden": ("f", "h"), "weights_hidden_output": ("h", "o")},
    hyper=("lr",),
    # "normalise": X is stored raw, one sample per row; each side subtracts the global minimum,
    # divides by the global maximum and transposes it (the article's moons preparation)
    preprocessing={"normalise": Preprocess(python="crossverify.python_impl.detail:normalise_data", r="detail_normalise_data",
                                           stored={"X": ("n", "f")},
                                           description="X -= X.min(); X /= X.max(); then transposed")},
    variants={"article": Variant(description="the article's R translation, one per step")},
    reference="article",
    rosetta_key="detail",
    loss="mean_error",
    printed=printed.PRINTED,
    mutants="mutants.py:mutants",
    new_data=teaching.new_data,
    pitfalls=teaching.PITFALLS,
)
