"""Write the scenario every twin of the slip gallery runs, scenarios/small/manifest.json in each slip's
folder (the same data for all of them), from a seed.

    python examples/slips/make_scenarios.py

Data: 10 samples of 3 correlated features (normal, then mixed by a fixed matrix) and 2 targets that
are a linear function of them plus noise, drawn with numpy's default_rng(seed); then 7 uniform draws
on [-1, 1): the first is a warm-up draw both sides discard, the other 6 are the starting weights. Every float is written as C99 hex text (float.hex).
"""
import os

import numpy as np

from crossverify.twins.builder import hex_matrix, write  # the manifest format, written atomically

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "small"
SEED = 1017
SAMPLES, FEATURES, OUTPUTS = 10, 3, 2
LR, EPOCHS = 0.5, 5


def data(rng):
    mix = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.2, 0.0, 1.0]])  # makes the features correlate
    X = rng.normal(2.0, 1.0, (SAMPLES, FEATURES)) @ mix
    Y = X @ rng.normal(0.0, 1.0, (FEATURES, OUTPUTS)) + rng.normal(0.0, 0.1, (SAMPLES, OUTPUTS))
    return X, Y


def manifest(twin):
    rng = np.random.default_rng(SEED)
    X, Y = data(rng)
    draws = rng.uniform(-1.0, 1.0, (1, 1 + FEATURES * OUTPUTS))
    return {
        "format": "crossverify-scenario/1",
        "name": NAME,
        "twin": twin,
        "description": "10 samples, 3 correlated features, 2 targets: a few epochs of standardised gradient descent",
        "orientation": "rows of X and Y are samples; W is features x outputs; draws after the first fill W row by row",
        "hyper_parameters": {"lr": float(LR).hex(), "epochs": EPOCHS},
        "provenance": {"generator": "examples/slips/make_scenarios.py", "seed": SEED,
                       "rng": "numpy.random.default_rng(seed): X, the targets' weights and noise, then the draws"},
        "data": {"X": hex_matrix(X), "Y": hex_matrix(Y), "draws": hex_matrix(draws)},
        "init": {"W": hex_matrix(draws[0, 1:].reshape(FEATURES, OUTPUTS))},
    }


def slip_folders():
    """Every folder of the gallery holding a twin.py."""
    return sorted(d for d in os.listdir(HERE) if os.path.isfile(os.path.join(HERE, d, "twin.py")))


def main():
    for folder in slip_folders():
        print(write(os.path.join(HERE, folder, "scenarios", NAME, "manifest.json"), manifest("slip_" + folder)))


if __name__ == "__main__":
    main()
