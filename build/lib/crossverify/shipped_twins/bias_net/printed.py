"""The numbers the article prints for its bias network (docs/FACTS.md section 4): the trained output
of "Implementing NN using Numpy (Python)". The article's script is unseeded, so its digits are not
ours to reproduce; ``crossverify reproduce`` shows ours (seed 42) beside them and requires the same
shape of answer: each output on the printed side of 0.5 and within 0.1 of its target."""
from crossverify.twins.protocol import Printed

TRAINED_OUTPUT = ("0.98032096", "0.96845624", "0.04532167")


def same_shape_of_answer(python, r, text, index, y):
    """unseeded-in-article when both languages' outputs are on the printed side of 0.5 and within
    0.1 of the target, else different-answer."""
    target = float(y[index])
    article_side = float(text) > 0.5
    same = all((v > 0.5) == article_side and abs(v - target) < 0.1 for v in (python, r))
    return ("unseeded-in-article" if same else "different-answer",
            f"target {target:g}; ours from seed 42 (fixtures/bias-net), R variant corrected")


PRINTED = tuple(
    Printed("bias-net", f"trained output, sample {i + 1}", "output", text, epoch=-1, index=(i, 0),
            expected="unseeded-in-article", judge=same_shape_of_answer)
    for i, text in enumerate(TRAINED_OUTPUT)
)
