"""Deliberate defects of the detail-section network, one per language, and where the checks must
first see them (the framework: bridge/check/mutants.py): they show that the mutation tests are
the same for every twin."""
from crossverify.check.mutants import SEMANTIC, Mutant


def mutants():
    return [
        Mutant("detail-py-slope-sign", "detail", "detail-toy", "python",
               "step 8: the sigmoid's slope written output * (1 + output)", (0, 8, "output_wrt_outputLayer_LinearTransform"),
               True, SEMANTIC, "python_impl/detail.py",
               "output_wrt_outputLayer_LinearTransform = output * (1 - output)",
               "output_wrt_outputLayer_LinearTransform = output * (1 + output)"),
        Mutant("detail-r-gradient-ascent", "detail", "detail-toy", "r",
               "step 16: the input weights climb the gradient (+ lr) instead of descending it",
               (0, 16, "weights_input_hidden"), True, SEMANTIC, "r_impl/R/detail.R",
               "weights_input_hidden <- weights_input_hidden - lr * error_wrt_weights_input_hidden",
               "weights_input_hidden <- weights_input_hidden + lr * error_wrt_weights_input_hidden"),
    ]
