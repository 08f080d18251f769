"""Write this twin's scenario, scenarios/moons-40/manifest.json, from a seed.

    python examples/tanh_net/make_scenario.py [--out DIR]

Data: 40 points of two interleaving half circles ("moons"), 20 per class, with Gaussian noise of
standard deviation 0.1, drawn with numpy's default_rng(seed); label 0 for the upper moon, 1 for the
lower one. Weights: uniform on [-1, 1), drawn in the order W1, b1, W2, b2, W3, b3 after the data.
Every float is written as C99 hex text (float.hex), which Python and R both read to the same bits.
"""
import argparse
import os

import numpy as np

from crossverify.twins.builder import hex_matrix, write  # the manifest format, written atomically

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "moons-40"
SEED = 2017
SAMPLES, NOISE = 40, 0.1
HIDDEN = (5, 4)
LR, EPOCHS = 0.5, 300


def moons(rng, n, noise):
    """n points, half on the upper moon (label 0), half on the lower one (label 1)."""
    half = n // 2
    t = rng.uniform(0.0, np.pi, n)
    upper = np.column_stack([np.cos(t[:half]), np.sin(t[:half])])
    lower = np.column_stack([1.0 - np.cos(t[half:]), 0.5 - np.sin(t[half:])])
    X = np.vstack([upper, lower]) + rng.normal(0.0, noise, (n, 2))
    y = np.concatenate([np.zeros(half), np.ones(n - half)]).reshape(n, 1)
    return X, y


def draw_order(features):
    h1, h2 = HIDDEN
    return [("W1", (features, h1)), ("b1", (1, h1)), ("W2", (h1, h2)), ("b2", (1, h2)), ("W3", (h2, 1)),
            ("b3", (1, 1))]




def manifest():
    rng = np.random.default_rng(SEED)
    X, y = moons(rng, SAMPLES, NOISE)
    order = draw_order(X.shape[1])
    init = {name: rng.uniform(-1.0, 1.0, shape) for name, shape in order}
    return {
        "format": "crossverify-scenario/1",
        "name": NAME,
        "twin": "tanh_net",
        "description": "two tanh hidden layers (5 and 4 neurons), sigmoid output, on 40 moons points",
        "orientation": "rows of X are samples; W1 is features x first hidden layer; biases are one row",
        "hyper_parameters": {"lr": float(LR).hex(), "epochs": EPOCHS, "hidden_neurons": list(HIDDEN),
                             "output_neurons": 1, "activation": "tanh, tanh, sigmoid",
                             "loss": "mean binary cross-entropy", "batch": "full"},
        "provenance": {"generator": "examples/tanh_net/make_scenario.py",
                       "rng": "numpy.random.default_rng(seed): uniform angles, normal noise, then uniform(-1, 1) "
                              "weights", "seed": SEED, "samples": SAMPLES, "noise": NOISE,
                       "draw_order": [[name, list(shape)] for name, shape in order]},
        "data": {"X": hex_matrix(X), "y": hex_matrix(y)},
        "init": {name: hex_matrix(v) for name, v in init.items()},
    }




def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, "scenarios"), help="the scenarios folder to write into")
    args = parser.parse_args(argv)
    path = write(os.path.join(args.out, NAME, "manifest.json"), manifest())
    print(path)


if __name__ == "__main__":
    main()
