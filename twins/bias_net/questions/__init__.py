"""The bias network's readers' questions (docs/QUESTIONS.md), which its declaration names (twin.py
``questions``), and the computations behind them: each reader's question of the article's comment
section answered by running both languages (bridge/explain/questions.py renders them). One module per theme; ``lab.py`` holds what they share, ``altered.py`` the Python half of
the experiments written in questions.R."""
from crossverify.explain.questions import Question, QuestionSet

from .lab import Lab

TITLE = "The readers' questions, answered by computation"
INTRO = ("The article's comment section asks questions the article leaves open. Each is restated here in our own "
         "words and answered by running both languages: Python is `python_impl` with the exact kernels (numpy "
         "with R's arithmetic, so the two can be compared bit for bit), R is the package `r_impl` in the embedded "
         "session. The code lines are read from the source by their `# rosetta:` markers; the readers' own "
         "experiments live in `twins/bias_net/questions/altered.py` and `twins/bias_net/questions/questions.R`. "
         "`crossverify questions --markdown --out docs/QUESTIONS.md` regenerates this page, and "
         "`tests/test_questions.py` recomputes every answer and fails when a conclusion stops holding.")

QUESTIONS = (
    Question(1, "nine-biases", "The spreadsheet shows three hidden biases; why does the R script's bh hold nine "
             "numbers, and are they per neuron or per sample?",
             '"Implementing NN using R", the bias initialisation', "bias:answer_nine_biases"),
    Question(2, "step-8-shapes", "How does step 8 turn a 3x1 and a 1x3 into a 3x3, and when is it %*% (.dot) "
             "rather than *, and when must a matrix be transposed?",
             "step 8, Error_at_hidden_layer = d_output . wout^T", "shapes:answer_step8"),
    Question(3, "sigmoid-slope", "Should the sigmoid's slope be taken of output or of output_layer_input, and why "
             "is x * (1 - x) right when the derivative is sigma(u)(1 - sigma(u))?",
             "step 6, slope_output_layer = derivatives_sigmoid(output)", "sigmoid:answer_slope"),
    Question(4, "lr-twice", "What does the *lr in the spreadsheet's step 7 do if it is kept?",
             "spreadsheet step 7, d_output = E * slope_output_layer * lr", "rates:answer_lr_twice"),
    Question(5, "colsums", "Should the R script update the biases with colSums instead of rowSums, and does that "
             "change alone repair it?", '"Implementing NN using R", the bias update', "bias:answer_colsums"),
    Question(6, "lr-per-sample", "Should the learning rate be divided by the number of samples, since the "
             "gradient sums over them?", "step 10, X.T . d_hiddenlayer sums over the samples",
             "rates:answer_lr_per_sample"),
    Question(7, "hundred-hidden", "Why does the network answer [1, 1, 1] with 100 hidden neurons, and what "
             "initialisation avoids it?", "step 1, weights drawn uniformly in [0, 1)", "initialisation:answer_hundred"),
    Question(8, "predict", "How is the trained network used to predict new data?",
             "steps 2-4, the forward pass", "predict:answer_predict"),
    Question(9, "dz1-dw", "Why is the derivative of the hidden linear transform with respect to its weights X, "
             "and not the weights?", "detail section, hiddenLayer_linearTransform_wrt_weights_input_hidden = X",
             "shapes:answer_dz1_dw"),
    Question(10, "other-shape", "How can a data set of another shape (75 rows, 6 columns) be fed to the network "
             "without the shape error a reader hit at step 8?", '"Implementing NN using Numpy (Python)" on '
             "other data", "shapes:answer_other_shape"),
    Question(11, "sgd", "Should the network see the whole data set at once (full batch) or one sample at a time "
             "(stochastic gradient descent)?", '"Full Batch" versus "SGD", and the vectorised scripts',
             "sgd:answer_sgd"),
)


def questions():
    """The bias network's questions, the lab that answers them, and the page's title and introduction."""
    return QuestionSet(QUESTIONS, Lab, __name__, TITLE, INTRO)
