"""The numbers the article prints for its detail-section network (docs/FACTS.md section 4), as
``crossverify reproduce`` recomputes them: the toy's untrained error of each sample, and the moons
run's mean error every 1000 epochs, of which epochs 7000-9000 depend on summation order.

The texts are the article's, as printed (fixtures/detail-*/manifest.json keep them too, under
``article_numbers``; tests/test_reproduce.py checks that the two agree)."""
from crossverify.twins.protocol import Printed

UNTRAINED_ERROR = ("0.05013458", "0.03727248", "0.25388062")
MEAN_ERROR = {0: "0.23478", 1000: "0.25000", 2000: "0.25000", 3000: "0.25000", 4000: "0.05129", 5000: "0.02163",
              6000: "0.01157", 7000: "0.00775", 8000: "0.00689", 9000: "0.07556"}
# past about epoch 3900 the training is chaotic: the last three printed values depend on rounding
CHAOTIC_EPOCHS = (7000, 8000, 9000)

PRINTED = tuple(
    Printed("detail-toy", f"untrained error, sample {i + 1}", "error", text, epoch=0, index=(0, i))
    for i, text in enumerate(UNTRAINED_ERROR)
) + tuple(
    Printed("detail-moons", f"mean error, epoch {e}", "mean_error", text, epoch=e,
            expected="diverges-chaotically" if e in CHAOTIC_EPOCHS else "reproduced")
    for e, text in MEAN_ERROR.items()
)
