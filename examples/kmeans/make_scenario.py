"""Write this twin's scenario, scenarios/blobs-3/manifest.json, from a seed.

    python examples/kmeans/make_scenario.py [--out DIR]

60 points in the plane, 20 around each of three centres drawn uniform in [-6, 6)^2, with standard
normal scatter; the starting centroids are three of the points (rows 0, 20 and 40, one per blob),
all drawn with numpy's default_rng(seed). Every float is written as C99 hex text.
"""
import argparse
import os

import numpy as np

from crossverify.twins.builder import hex_matrix, write  # the manifest format, written atomically

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "blobs-3"
SEED = 1982
PER_BLOB, K, ITERATIONS = 20, 3, 8


def manifest():
    rng = np.random.default_rng(SEED)
    centres = rng.uniform(-6.0, 6.0, (K, 2))
    X = np.vstack([c + rng.standard_normal((PER_BLOB, 2)) for c in centres])
    C = X[[0, PER_BLOB, 2 * PER_BLOB]]
    return {
        "format": "crossverify-scenario/1",
        "name": NAME,
        "twin": "kmeans",
        "description": "k-means with k = 3 on 60 points in three Gaussian blobs",
        "hyper_parameters": {"epochs": ITERATIONS},
        "provenance": {"generator": "examples/kmeans/make_scenario.py",
                       "rng": "numpy.random.default_rng(seed): centres uniform(-6, 6), then 20 standard normal "
                              "offsets per centre", "seed": SEED, "init": "rows 0, 20 and 40 of X"},
        "data": {"X": hex_matrix(X)},
        "init": {"C": hex_matrix(C)},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, "scenarios"), help="the scenarios folder to write into")
    args = parser.parse_args(argv)
    print(write(os.path.join(args.out, NAME, "manifest.json"), manifest()))


if __name__ == "__main__":
    main()
