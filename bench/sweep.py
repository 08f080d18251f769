"""Benchmark of `crossverify sweep`: throughput with 1 and 2 worker processes, and what one
configuration costs against the same training run natively once in R and once in numpy.

    .venv/bin/python bench/sweep.py [--configs N] [--epochs N] [--n-samples N] [--repeat N] [--format table|json]

In one run on one machine, on the detail twin with moons data (lr 0.1, 10 hidden, normalised):

(a) throughput: ``--configs`` configurations (weight seeds 0..N-1) swept into a fresh folder with 1
    worker process, then another N (seeds N..2N-1) with 2; configurations per minute from the
    sweep's own wall clock (worker start-up included: it is part of what a user waits for), and
    the scaling efficiency rate(2) / (2 rate(1));
(b) one configuration in this process (R started once beforehand): ``run_config``, everything a row
    holds (R, Python exact, Python float, the comparisons), against the training run natively:
    R's loop over the twin's epoch (``twin_run``, the generic driver, keeping no intermediate)
    timed inside R with ``system.time()``, plus numpy's loop (float kernels, keeping none). The
    median of ``--repeat`` rounds. Target: cost / (R + numpy) <= 1.2 (issue 20; bench/table.py holds the same).

Timings are wall-clock on a possibly shared machine: compare ratios from one run, not seconds
across runs. Exit status 0 when the cost target is met, 1 otherwise.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

COST_TARGET = 1.2

R_NATIVE = """
function(epoch, args, state, epochs) {
  t <- system.time(twin_run(epoch, args, state, epochs, record = integer(0)))
  c(elapsed = t[["elapsed"]], cpu = t[["user.self"]] + t[["sys.self"]])
}
"""


def params(epochs, n_samples, seeds):
    return ["twin=detail", "preprocessing=normalise", f"seed={seeds}", "hidden=10", "lr=0.1", f"epochs={epochs}",
            f"data.n_samples={n_samples}", "data.noise=0.1"]


def throughput(workers, epochs, n_samples, first, n):
    from crossverify.sweep import spec as sweep_spec
    from crossverify.sweep.local import LocalRunner
    from crossverify.sweep.run import sweep
    spec = sweep_spec.load(params=params(epochs, n_samples, f"{first}:{first + n}"))
    with tempfile.TemporaryDirectory() as out:
        summary = sweep(spec, out, LocalRunner(workers), progress=False)
    if summary.ok != n:
        raise SystemExit(f"the {workers}-worker sweep finished {summary.ok} of {n} configurations")
    return {"workers": workers, "configs": n, "seconds": summary.seconds, "per_minute": summary.rate_per_minute}


def one_configuration(epochs, n_samples, repeat):
    import numpy as np

    from crossverify.session.rsession import get_session
    from crossverify.sweep import spec as sweep_spec
    from crossverify.sweep.build import scenario_for
    from crossverify.sweep.worker import run_config
    from crossverify.twins.runner import TwinRun
    from crossverify.python_impl.kernels import get_kernels
    from crossverify.python_impl.trace import run_epochs

    session = get_session()
    config = sweep_spec.load(params=params(epochs, n_samples, "0")).configs[0]
    scenario = scenario_for(config)
    net = TwinRun(scenario.twin, scenario)
    env = net.r_env(session)
    timed = session.call_in(env, "eval", session.ro.r["parse"](text=R_NATIVE), envir=env)
    r_epoch = session.call_in(env, "get", scenario.twin.r.epoch, envir=env)
    r_state = session.ro.ListVector({k: session.to_r(v) for k, v in scenario.init.items()})
    float_xp = get_kernels("float")
    rounds = {"config": [], "r_native": [], "numpy_native": [], "parts": []}
    for _ in range(repeat):
        row = run_config(config, session)
        if row["status"] != "ok" or not row["exact_identical"]:
            raise SystemExit(f"the configuration did not finish cleanly: {row.get('error')}")
        rounds["config"].append(row["seconds_total"])
        rounds["parts"].append({k: row[f"seconds_{k}"] for k in ("r", "exact", "float", "compare")})
        rounds["r_native"].append(float(timed(r_epoch, net._r_args(session, net.reference_variant), r_state, epochs)[0]))
        t = time.perf_counter()
        with np.errstate(all="ignore"):
            run_epochs(lambda s: net.python_epoch(s, float_xp), dict(scenario.init), epochs, scenario.twin.names,
                       net.weights, record=[])
        rounds["numpy_native"].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in rounds.items() if k != "parts"}
    parts = {k: statistics.median(p[k] for p in rounds["parts"]) for k in rounds["parts"][0]}
    ratio = med["config"] / (med["r_native"] + med["numpy_native"])
    return {"seconds": med, "config_parts": parts, "ratio": ratio, "runs": rounds}


def measure(configs, epochs, n_samples, repeat):
    one = throughput(1, epochs, n_samples, 0, configs)
    two = throughput(2, epochs, n_samples, configs, configs)
    cost = one_configuration(epochs, n_samples, repeat)
    efficiency = two["per_minute"] / (2 * one["per_minute"])
    return {"twin": "detail", "data": f"moons n_samples={n_samples} noise=0.1", "epochs": epochs,
            "throughput": [one, two], "scaling_efficiency": efficiency, "cost": cost,
            "cpus": os.cpu_count(), "load_average": os.getloadavg(),
            "target": {"cost_ratio": f"<= {COST_TARGET}", "pass": cost["ratio"] <= COST_TARGET}}


def table(result):
    one, two = result["throughput"]
    cost = result["cost"]
    s, p = cost["seconds"], cost["config_parts"]
    lines = [
        f"detail twin, {result['data']}, {result['epochs']} epochs; {result['cpus']} CPUs, "
        f"load average at the end {result['load_average'][0]:.1f}",
        f"throughput, 1 worker : {one['per_minute']:7.1f} configurations/minute ({one['configs']} in {one['seconds']:.1f} s)",
        f"throughput, 2 workers: {two['per_minute']:7.1f} configurations/minute ({two['configs']} in {two['seconds']:.1f} s)",
        f"scaling efficiency   : {result['scaling_efficiency']:.2f} (rate with 2 / twice the rate with 1)",
        f"one configuration    : {s['config']:.3f} s (R {p['r']:.3f}, exact {p['exact']:.3f}, float {p['float']:.3f}, "
        f"compare {p['compare']:.3f}); median of {len(cost['runs']['config'])}",
        f"native training      : R {s['r_native']:.3f} s + numpy {s['numpy_native']:.3f} s = "
        f"{s['r_native'] + s['numpy_native']:.3f} s",
        f"cost ratio           : {cost['ratio']:.2f} (target {result['target']['cost_ratio']}: "
        f"{'pass' if result['target']['pass'] else 'FAIL'})",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=int, default=8, help="configurations per throughput run (default 8)")
    parser.add_argument("--epochs", type=int, default=2000, help="epochs per configuration (default 2000)")
    parser.add_argument("--n-samples", type=int, default=1000, help="moons samples (default 1000, the article's)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of (b); the median is reported (default 3)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)
    result = measure(args.configs, args.epochs, args.n_samples, args.repeat)
    print(json.dumps(result, indent=2) if args.format == "json" else table(result))
    return 0 if result["target"]["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
