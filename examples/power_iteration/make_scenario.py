"""Write this twin's scenario, scenarios/spd-6/manifest.json, from a seed.

    python examples/power_iteration/make_scenario.py [--out DIR]

A = B B^T / 6 + I for B 6 x 6 standard normal (symmetric positive definite, so the dominant
eigenvalue is positive and simple), and a starting vector uniform on [-1, 1), both drawn with
numpy's default_rng(seed) in that order. Every float is written as C99 hex text (float.hex),
which Python and R both read to the same bits.
"""
import argparse
import os

import numpy as np

from crossverify.twins.builder import hex_matrix, write  # the manifest format, written atomically

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "spd-6"
SEED = 1929
N, ITERATIONS = 6, 80




def manifest():
    rng = np.random.default_rng(SEED)
    B = rng.standard_normal((N, N))
    A = B @ B.T / N + np.eye(N)
    A = (A + A.T) / 2  # exactly symmetric whatever the product's rounding
    v = rng.uniform(-1.0, 1.0, (N, 1))
    return {
        "format": "crossverify-scenario/1",
        "name": NAME,
        "twin": "power_iteration",
        "description": "power iteration on a 6 x 6 symmetric positive definite matrix",
        "hyper_parameters": {"epochs": ITERATIONS},
        "provenance": {"generator": "examples/power_iteration/make_scenario.py",
                       "rng": "numpy.random.default_rng(seed): B standard normal, then v uniform(-1, 1)",
                       "seed": SEED, "matrix": "A = B B^T / 6 + I, then (A + A^T) / 2"},
        "data": {"A": hex_matrix(A)},
        "init": {"v": hex_matrix(v)},
    }




def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, "scenarios"), help="the scenarios folder to write into")
    args = parser.parse_args(argv)
    path = write(os.path.join(args.out, NAME, "manifest.json"), manifest())
    print(path)


if __name__ == "__main__":
    main()
