"""Benchmark: every exact kernel against R's own function on millions of inputs, bit for bit.

    .venv/bin/python bench/kernels.py [--n N] [--chunk N] [--seed S] [--only NAME ...] [--format table|json]

For each exact kernel of python_impl/kernels.py (exp, tanh, log, log1p, expm1, sqrt, abs, pmax,
power, crossprod), ``--n`` inputs (default 2 000 000; for crossprod, that many output elements of
products of random shapes) are drawn where implementations part: subnormals, the edges of
exp's range, arguments next to 1 for log and to -1 for log1p, large |x| for tanh, bases and
exponents that overflow, ties and signed zeros. R computes the same inputs through rpy2 in chunks
of ``--chunk``. Per function it prints: inputs compared, how many differ from R in any bit (must be
0), the seconds of the exact kernel, of R's own call (conversions excluded) and of plain numpy,
and, for information, how many of numpy's own results differ from R.

Exit status 0 when every exact kernel equals R on every input, 1 otherwise.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

LOG_DBL_MAX = 709.782712893384


# -- inputs ----------------------------------------------------------------------------------------

def near(rng, points, n, within=4096):
    """n doubles at most ``within`` ulps from the positive ``points`` (consecutive bit patterns)."""
    base = np.asarray(points, dtype=np.float64)[rng.integers(0, len(points), n)].view(np.int64)
    return (base + rng.integers(-within, within + 1, n)).view(np.float64)


def log_spread(rng, n, lo, hi):
    """|x| spread evenly in the exponent from 10^lo to 10^hi."""
    return 10.0 ** rng.uniform(lo, hi, n)


def signs(rng, n):
    return np.where(rng.random(n) < 0.5, -1.0, 1.0)


def mixture(rng, n, parts):
    """Concatenate generators, each drawing its share of n, shuffled."""
    shares = np.full(len(parts), n // len(parts))
    shares[: n - shares.sum()] += 1
    out = np.concatenate([part(k) for part, k in zip(parts, shares)])
    rng.shuffle(out)
    return out


def unary_inputs(name, rng, n):
    tiny = lambda k: rng.uniform(-1, 1, k) * 2.0 ** -1022  # noqa: E731 - subnormals
    table = {
        "exp": [lambda k: rng.uniform(-746.0, LOG_DBL_MAX, k), lambda k: rng.uniform(-1, 1, k),
                lambda k: near(rng, [LOG_DBL_MAX], k), lambda k: -near(rng, [708.39, 745.13], k)],
        "tanh": [lambda k: rng.standard_normal(k) * 5, lambda k: rng.uniform(-30, 30, k),
                 lambda k: signs(rng, k) * log_spread(rng, k, -320, 308),
                 lambda k: signs(rng, k) * near(rng, [2.0 ** -28, 0.5493, 1.0, 19.06, 22.0], k), tiny],
        "log": [lambda k: log_spread(rng, k, -323, 308), lambda k: near(rng, [1.0], k, 1 << 20),
                lambda k: rng.uniform(0.5, 2.0, k), lambda k: np.abs(tiny(k)) + 2.0 ** -1074],
        "log1p": [lambda k: -1.0 + log_spread(rng, k, -16, 0) * (1 - 2.0 ** -53), lambda k: rng.uniform(-1, 1, k),
                  lambda k: log_spread(rng, k, -320, 308), lambda k: signs(rng, k) * log_spread(rng, k, -320, -1), tiny],
        "expm1": [lambda k: rng.uniform(-800.0, LOG_DBL_MAX, k), lambda k: rng.standard_normal(k) * 1e-5,
                  lambda k: near(rng, [LOG_DBL_MAX], k), lambda k: rng.uniform(-1, 1, k), tiny],
        "sqrt": [lambda k: log_spread(rng, k, -323, 308), lambda k: np.abs(tiny(k)), lambda k: near(rng, [1.0, 4.0], k)],
        "abs": [lambda k: signs(rng, k) * log_spread(rng, k, -320, 308), tiny],
    }
    return mixture(rng, n, table[name])


def power_inputs(rng, n):
    bases = mixture(rng, n, [lambda k: log_spread(rng, k, -300, 300), lambda k: near(rng, [1.0], k, 1 << 16),
                             lambda k: -rng.uniform(0, 1e3, k), lambda k: rng.uniform(0, 10, k)])
    exponents = mixture(rng, n, [lambda k: rng.uniform(-50, 50, k), lambda k: np.round(rng.uniform(-1100, 1100, k)),
                                 lambda k: rng.choice([2.0, 0.5, -1.0, 3.0, -2.0, 0.0, 1.0, 1.5], k),
                                 lambda k: rng.standard_normal(k) * 300])
    return bases, exponents


def pmax_inputs(rng, n):
    a = signs(rng, n) * log_spread(rng, n, -320, 308)
    b = signs(rng, n) * log_spread(rng, n, -320, 308)
    tie = rng.random(n) < 0.2
    b = np.where(tie, a, b)
    zeros = tie & (rng.random(n) < 0.25)
    return np.where(zeros, -0.0, a), np.where(zeros, 0.0, b)


def crossprod_pairs(rng, n_outputs):
    """(A, B) pairs of random shapes (k rows each) until their products hold n_outputs elements."""
    pairs, total = [], 0
    while total < n_outputs:
        k, m, q = rng.integers(1, 65, 3)
        scale = lambda shape: 2.0 ** rng.integers(-40, 41, shape)  # noqa: E731 - terms that cancel
        a = rng.standard_normal((k, m)) * scale((k, m))
        b = rng.standard_normal((k, q)) * scale((k, q))
        pairs.append((a, None if rng.random() < 0.1 else b))
        total += m * (m if pairs[-1][1] is None else q)
    return pairs


# -- comparison --------------------------------------------------------------------------------------

def differing(ours, theirs):
    return int(np.count_nonzero(np.asarray(ours).view(np.uint64) != np.asarray(theirs).view(np.uint64)))


class Tally:
    def __init__(self, name):
        self.name, self.inputs, self.mismatches, self.numpy_mismatches = name, 0, 0, 0
        self.seconds = {"exact": 0.0, "r": 0.0, "numpy": 0.0}

    def timed(self, which, fn, *args):
        start = time.perf_counter()
        out = fn(*args)
        self.seconds[which] += time.perf_counter() - start
        return out

    def to_dict(self):
        return {"function": self.name, "inputs": self.inputs, "mismatches": self.mismatches,
                "numpy_mismatches": self.numpy_mismatches, "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}


QUIET = "function(fn, ...) suppressWarnings(do.call(fn, list(...)))"  # NaNs produced: expected here


def compare_elementwise(session, tally, r_name, exact_fn, numpy_fn, arrays, chunk):
    n = len(arrays[0])
    quiet = session.eval(QUIET)
    for first in range(0, n, chunk):
        part = [a[first:first + chunk] for a in arrays]
        r_args = [session.to_r(a) for a in part]
        r_out = tally.timed("r", quiet, r_name, *r_args)
        theirs = session.from_r(r_out)
        ours = tally.timed("exact", exact_fn, *part)
        with np.errstate(all="ignore"):
            plain = tally.timed("numpy", numpy_fn, *part)
        tally.inputs += len(part[0])
        tally.mismatches += differing(ours, theirs)
        tally.numpy_mismatches += differing(plain, theirs)


def compare_crossprod(session, tally, pairs):
    for a, b in pairs:
        args = [session.to_r(a)] + ([] if b is None else [session.to_r(b)])
        theirs = session.from_r(tally.timed("r", session.call, "crossprod", *args))
        ours = tally.timed("exact", EXACT.crossprod, a, b)
        plain = tally.timed("numpy", FLOAT.crossprod, a, b)
        tally.inputs += ours.size
        tally.mismatches += differing(ours, theirs)
        tally.numpy_mismatches += differing(plain, theirs)


FUNCTIONS = ("exp", "tanh", "log", "log1p", "expm1", "sqrt", "abs", "pmax", "power", "crossprod")
EXACT = FLOAT = None


def run(session, names, n, chunk, seed):
    rng = np.random.default_rng(seed)
    tallies = []
    for name in names:
        tally = Tally(name)
        if name == "crossprod":
            compare_crossprod(session, tally, crossprod_pairs(rng, n))
        elif name == "power":
            compare_elementwise(session, tally, "^", EXACT.power, FLOAT.power, power_inputs(rng, n), chunk)
        elif name == "pmax":
            compare_elementwise(session, tally, "pmax", EXACT.maximum, FLOAT.maximum, pmax_inputs(rng, n), chunk)
        else:
            compare_elementwise(session, tally, name, getattr(EXACT, name), getattr(FLOAT, name),
                                (unary_inputs(name, rng, n),), chunk)
        tallies.append(tally)
    return tallies


def print_table(tallies, out):
    out.write(f"{'function':<10} {'inputs':>10} {'mismatches':>10} {'exact s':>8} {'R s':>8} {'numpy s':>8} "
              f"{'numpy != R':>11}\n")
    for t in tallies:
        s = t.seconds
        out.write(f"{t.name:<10} {t.inputs:>10} {t.mismatches:>10} {s['exact']:>8.2f} {s['r']:>8.2f} "
                  f"{s['numpy']:>8.2f} {t.numpy_mismatches:>11}\n")
    bad = [t.name for t in tallies if t.mismatches]
    out.write("every exact kernel equals R on every input\n" if not bad else f"DIFFER FROM R: {', '.join(bad)}\n")


def main(argv=None):
    global EXACT, FLOAT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000, help="inputs per function (default 2000000)")
    parser.add_argument("--chunk", type=int, default=200_000, help="inputs per R call (default 200000)")
    parser.add_argument("--seed", type=int, default=20170529)
    parser.add_argument("--only", nargs="+", choices=FUNCTIONS, default=None, help="only these functions")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)
    from crossverify.session.rsession import get_session
    from crossverify.python_impl import libm
    from crossverify.python_impl.kernels import get_kernels

    session = get_session()
    EXACT, FLOAT = get_kernels("exact"), get_kernels("float")
    tallies = run(session, args.only or FUNCTIONS, args.n, args.chunk, args.seed)
    if args.format == "json":
        report = {"n": args.n, "seed": args.seed, "r_version": session.r_version, "blas": session.blas,
                  "via_numexpr": libm.VIA_NUMEXPR, "functions": [t.to_dict() for t in tallies],
                  "pass": not any(t.mismatches for t in tallies)}
        print(json.dumps(report, indent=2))
    else:
        print(f"R {session.r_version}, BLAS {session.blas}; numexpr for {sorted(k for k, v in libm.VIA_NUMEXPR.items() if v)}")
        print_table(tallies, sys.stdout)
    return 1 if any(t.mismatches for t in tallies) else 0


if __name__ == "__main__":
    sys.exit(main())
