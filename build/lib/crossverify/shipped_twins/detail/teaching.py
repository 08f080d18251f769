"""What `crossverify steps` and `crossverify rosetta` teach about the article's detail-section
network, reached through this twin's declaration (twin.py: new_data, pitfalls).

The network has no biases, so both languages score any number of new samples (columns); the
pitfall it shows best is R's long-double ``mean``, which computes the error the article prints.
"""
import numpy as np


def new_data(X, preprocessing):
    """The first three training samples (columns) and a new one: the middle of the normalised square
    for the moons, an alternating 1, 0, ... pattern for raw inputs."""
    features = X.shape[0]
    new = np.full((features, 1), 0.5) if preprocessing == "normalise" else \
        (np.arange(features) % 2 == 0).astype(np.float64)[:, None]
    known = min(3, X.shape[1])
    return {"data": {"X": np.hstack([X[:, :known], new])},
            "description": f"the first {known} training samples (columns) and a new one",
            "note": "No biases, so both languages score any number of new columns"}


PITFALLS = (
    ("long-double `mean` and `colSums`",
     "R's `mean`, `colSums` and `rowSums` accumulate in long double (`mean` adds a correction pass), so "
     "`mean(c(1e16, 1, -1e16))` is 0.3336588541666667 in R and 0.0 with `np.mean`; the exact kernels accumulate "
     "as R does.",
     "tests/test_rosetta.py::test_r_mean_and_colsums_accumulate_in_long_double_and_numpy_does_not"),
)
