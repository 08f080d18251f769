"""The article's bias network ("Steps involved in Neural Network methodology", steps 0-11; coded in
"Implementing NN using Numpy (Python)" and "...using R"), with the four R bias variants of
docs/ARCHITECTURE.md: the reference (``corrected``) and three the Python model of R's
recycling (rmodel.py) predicts."""
from crossverify.twins.protocol import RSide, Step, Twin, Variant
from crossverify.shipped_twins.bias_net import printed, rmodel, teaching

VARIANT_TEXT = {
    "article": "the article's script: biases replicated with byrow = FALSE (one per sample when there are as many samples as hidden neurons), updated with rowSums",
    "corrected": "one bias per neuron, updated with column sums: what the Python script computes",
    "rowsums-only": "biases per neuron, but the article's rowSums update",
    "colsums-only": "the article's layout with a commenter's colSums fix, which R's recycling defeats",
}

TWIN = Twin(
    name="bias_net",
    title="The article's bias network",
    section="Understanding and coding Neural Networks From Scratch: steps 0-11",
    python="crossverify.python_impl.bias_net:epoch",
    python_predict="crossverify.python_impl.bias_net:predict",
    r=RSide(files=("../../r_impl/R/bias_net.R",), epoch="bias_net_epoch", start="bias_net_start",
            predict="bias_net_predict"),
    state=("wh", "bh", "wout", "bout"),
    steps=(
        Step(2, "hidden_layer_input", "hidden_layer_input = matrix_dot_product(X, wh) + bh"),
        Step(3, "hiddenlayer_activations", "hiddenlayer_activations = sigmoid(hidden_layer_input)"),
        Step(4, "output_layer_input", "output_layer_input = matrix_dot_product(hiddenlayer_activations, wout) + bout"),
        Step(4, "output", "output = sigmoid(output_layer_input)"),
        Step(5, "E", "E = y - output"),
        Step(6, "slope_output_layer", "slope_output_layer = derivatives_sigmoid(output)"),
        Step(6, "slope_hidden_layer", "slope_hidden_layer = derivatives_sigmoid(hiddenlayer_activations)"),
        # step 7 without the spreadsheet's stray "*lr", which neither script multiplies by
        Step(7, "d_output", "d_output = E * slope_output_layer"),
        Step(8, "Error_at_hidden_layer", "Error_at_hidden_layer = matrix_dot_product(d_output, wout.Transpose)"),
        Step(9, "d_hiddenlayer", "d_hiddenlayer = Error_at_hidden_layer * slope_hidden_layer"),
        Step(10, "wout", "wout = wout + matrix_dot_product(hiddenlayer_activations.Transpose, d_output) * learning_rate"),
        Step(10, "wh", "wh = wh + matrix_dot_product(X.Transpose, d_hiddenlayer) * learning_rate"),
        Step(11, "bout", "bout = bout + sum(d_output, axis=0) * learning_rate"),
        Step(11, "bh", "bh = bh + sum(d_hiddenlayer, axis=0) * learning_rate"),
    ),
    titles={
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
    },
    inputs={
        "X": "X = input matrix, one sample per row",
        "y": "y = output matrix",
        "wh": "wh = weight matrix to the hidden layer",
        "bh": "bh = bias matrix to the hidden layer",
        "wout": "wout = weight matrix to the output layer",
        "bout": "bout = bias matrix to the output layer",
    },
    input_steps={0: ("X", "y"), 1: ("wh", "bh", "wout", "bout")},
    # n samples, f features, h hidden neurons, o outputs
    data={"X": ("n", "f"), "y": ("n", "o")},
    init={"wh": ("f", "h"), "bh": (1, "h"), "wout": ("h", "o"), "bout": (1, "o")},
    hyper=("lr",),
    variants={
        name: Variant(r_args={"variant": name}, description=VARIANT_TEXT[name],
                      model=None if name == "corrected" else rmodel.r_epoch,
                      model_start=None if name == "corrected" else rmodel.r_start)
        for name in rmodel.VARIANTS
    },
    reference="corrected",
    rosetta_key="bias-net",
    loss="loss.py:half_squared_error",  # the article's (y - output)^2 / 2, from E
    printed=printed.PRINTED,
    mutants="mutants.py:mutants",
    questions="crossverify.shipped_twins.bias_net.questions:questions",
    explain_step=teaching.explain_step,
    new_data=teaching.new_data,
    pitfalls=teaching.PITFALLS,
)
