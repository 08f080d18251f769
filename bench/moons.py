"""Benchmark: moons, 10000 epochs, R's own training loop against the Python kernels, and the full audit.

    .venv/bin/python bench/moons.py [--repeat N] [--epochs N] [--no-audit] [--format table|json]

In one run on one machine:

(a) R's own loop: ``detail_train`` (r_impl/R/detail.R) on the detail-moons scenario, timed inside R
    by ``system.time()`` (rpy2's conversions are outside the timing), with ``record = integer(0)``
    so that R keeps only the weights and mean-error history, as (b) and (c) do;
(b) Python, float kernels, and (c) Python, exact kernels: ``TwinRun.python(kernels, epochs, record=[])`` (bridge/twins/runner.py);
(d) whether (c) ended with R's weights and mean errors, bit for bit (a timing of a wrong
    result is worthless, so it is part of the verdict);
(e) ``python -m crossverify run --scenario detail-moons --audit full`` in a child process: its wall
    time and its peak resident set, from ``os.wait4``'s rusage for that child alone.

(a)-(c) run in rounds (R, float, exact, then again), ``--repeat`` rounds, and the median of each is
reported. Times are wall-clock seconds (R: system.time's "elapsed"); CPU seconds are shown beside
them. Targets: exact/R <= 1.0, full-audit peak RSS < 500 MB (10^6 bytes).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

SCENARIO = "detail-moons"
RATIO_TARGET = 1.0
AUDIT_RSS_TARGET_MB = 500.0
MB = 1e6

# R's side of (a): the loop timed inside R, then the final weights and the mean-error series
R_TIMED_TRAIN = """
function(X, y, weights_input_hidden, weights_hidden_output, lr, epochs) {
  res <- NULL
  t <- system.time(res <- detail_train(X, y, weights_input_hidden, weights_hidden_output, lr, epochs,
                                       record = integer(0)))
  h <- res$history
  list(elapsed = t[["elapsed"]], cpu = t[["user.self"]] + t[["sys.self"]],
       weights_input_hidden = h$weights_input_hidden[, , epochs],
       weights_hidden_output = h$weights_hidden_output[, , epochs],
       mean_error = as.vector(h$mean_error))
}
"""


def rss_mb(ru_maxrss_kib):
    return ru_maxrss_kib * 1024 / MB  # Linux reports ru_maxrss in KiB


def same_bits(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


class Bench:
    def __init__(self, epochs):
        from crossverify.twins.runner import network_for
        from crossverify.session.rsession import get_session
        from crossverify.twins.scenarios import load_scenario
        self.session = get_session()
        self.scenario = load_scenario(SCENARIO)
        self.net = network_for(self.scenario)
        self.epochs = epochs or self.scenario.epochs
        s = self.session
        X, y = (self.net.r_data(s)[k] for k in ("X", "y"))
        init = self.scenario.init
        self.r_args = (X, y, s.to_r(init["weights_input_hidden"]), s.to_r(init["weights_hidden_output"]),
                       s.ro.FloatVector([self.scenario.lr]), s.ro.IntVector([self.epochs]))
        # evaluated in the package environment, so that detail_train is the tree's own
        self.r_fn = s.call("eval", s.ro.r["parse"](text=R_TIMED_TRAIN), envir=s.env)
        self.last = {}

    def r_loop(self):
        s = self.session
        out = self.r_fn(*self.r_args)
        res = dict(zip(out.names, out))
        self.last["r"] = {
            "weights_input_hidden": s.from_r(res["weights_input_hidden"]).reshape(
                self.scenario.init["weights_input_hidden"].shape),
            "weights_hidden_output": s.from_r(res["weights_hidden_output"]).reshape(
                self.scenario.init["weights_hidden_output"].shape),
            "mean_error": s.from_r(res["mean_error"]),
        }
        return float(res["elapsed"][0]), float(res["cpu"][0])

    def python(self, kernels):
        wall, cpu = time.perf_counter(), time.process_time()
        trace = self.net.python(kernels, self.epochs, record=[])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        self.last[kernels] = {
            "weights_input_hidden": trace.series("weights_input_hidden")[-1],
            "weights_hidden_output": trace.series("weights_hidden_output")[-1],
            "mean_error": trace.series("mean_error").ravel(),
        }
        return wall, cpu

    def exact_equals_r(self):
        """Per quantity: are Python exact's final weights (and every epoch's mean error) R's bits?"""
        r, py = self.last["r"], self.last["exact"]
        return {name: same_bits(py[name], r[name]) for name in r}


def run_audit():
    """The full audit in a child process: wall and CPU seconds, peak RSS in MB, exit code, verdicts."""
    cmd = [sys.executable, "-m", "crossverify", "run", "--scenario", SCENARIO, "--audit", "full", "--format", "json"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        # wait4 reaps this child and gives its own rusage (RUSAGE_CHILDREN would be the maximum over
        # every child this process has waited for, R's start-up probes included)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    rows_ok = None
    try:
        rows = json.loads(stdout)
        rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
        rows_ok = all(r.get("ok") for r in rows) if rows else None
    except (ValueError, AttributeError):
        pass
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": rss_mb(usage.ru_maxrss),
            "exit_code": proc.returncode,
            "rows_meet_expectations": rows_ok, "stderr_tail": stderr.strip().splitlines()[-3:],
            "rss_method": "os.wait4 rusage of the child (ru_maxrss)"}


def measure(epochs, repeat, audit=True):
    bench = Bench(epochs)
    times = {"r": [], "float": [], "exact": []}
    for _ in range(repeat):
        times["r"].append(bench.r_loop())
        times["float"].append(bench.python("float"))
        times["exact"].append(bench.python("exact"))
    exact_check = bench.exact_equals_r()
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
    from crossverify.python_impl import kernels as kernels_module
    result = {
        "scenario": SCENARIO, "epochs": bench.epochs, "repeat": repeat,
        "r_version": bench.session.r_version, "r_blas": os.path.basename(str(bench.session.blas)),
        "libm_exp_via_numexpr": bool(kernels_module.LIBM_EXP_VIA_NUMEXPR),
        "seconds": {"r_loop": med["r"][0], "python_float": med["float"][0], "python_exact": med["exact"][0]},
        "cpu_seconds": {"r_loop": med["r"][1], "python_float": med["float"][1], "python_exact": med["exact"][1]},
        "runs": {k: [w for w, _ in v] for k, v in times.items()},
        "ratio_exact_to_r": med["exact"][0] / med["r"][0],
        "ratio_float_to_r": med["float"][0] / med["r"][0],
        "exact_bit_identical_to_r": all(exact_check.values()),
        "exact_check": exact_check,
    }
    result["audit"] = run_audit() if audit else None
    result["bench_peak_rss_mb"] = rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    result["targets"] = {
        "ratio_exact_to_r": {"target": f"<= {RATIO_TARGET}", "value": result["ratio_exact_to_r"],
                             "pass": result["ratio_exact_to_r"] <= RATIO_TARGET},
        "exact_bit_identical_to_r": {"target": "True", "value": result["exact_bit_identical_to_r"],
                                     "pass": result["exact_bit_identical_to_r"]},
    }
    if audit:
        a = result["audit"]
        result["targets"]["audit_peak_rss_mb"] = {
            "target": f"< {AUDIT_RSS_TARGET_MB:g}", "value": a["peak_rss_mb"],
            "pass": a["peak_rss_mb"] < AUDIT_RSS_TARGET_MB and a["exit_code"] == 0}
    result["pass"] = all(t["pass"] for t in result["targets"].values())
    return result


def table(result):
    import pandas as pd
    sec, cpu, r = result["seconds"], result["cpu_seconds"], result["seconds"]["r_loop"]
    rows = [
        ("R's own loop (system.time)", sec["r_loop"], cpu["r_loop"], 1.0, "", ""),
        ("Python, float kernels", sec["python_float"], cpu["python_float"], sec["python_float"] / r, "", ""),
        ("Python, exact kernels", sec["python_exact"], cpu["python_exact"], sec["python_exact"] / r,
         f"ratio <= {RATIO_TARGET:g}", "pass" if result["targets"]["ratio_exact_to_r"]["pass"] else "FAIL"),
        ("exact == R, bit for bit", None, None, None, "identical",
         "pass" if result["exact_bit_identical_to_r"] else "FAIL"),
    ]
    a = result["audit"]
    if a is not None:
        rows.append((f"full audit, child (peak RSS {a['peak_rss_mb']:.0f} MB, exit {a['exit_code']})", a["wall_s"],
                     a["cpu_s"], None, f"RSS < {AUDIT_RSS_TARGET_MB:g} MB",
                     "pass" if result["targets"]["audit_peak_rss_mb"]["pass"] else "FAIL"))
    frame = pd.DataFrame(rows, columns=["measurement", "seconds", "cpu s", "/ R", "target", "verdict"])
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        text = frame.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.3f}")
    return (f"{result['scenario']}, {result['epochs']} epochs, median of {result['repeat']} "
            f"(R {result['r_version']}, BLAS {result['r_blas']})\n{text}\n"
            f"benchmark process peak RSS: {result['bench_peak_rss_mb']:.0f} MB"
            + ("" if a is None else f"; full audit peak RSS from {a['rss_method']}"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of (a)-(c); the median is reported (default 3)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: the scenario's, 10000)")
    parser.add_argument("--no-audit", action="store_true", help="skip the full audit (e)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    result = measure(args.epochs, args.repeat, audit=not args.no_audit)
    print(json.dumps(result, indent=2) if args.format == "json" else table(result))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
