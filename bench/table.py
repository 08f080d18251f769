"""Benchmark: what a check costs against training natively, every row of issue 20's table in one run.

    .venv/bin/python bench/table.py [--repeat N] [--sweep-epochs N] [--skip-run] [--format table|json]

Each row is a ratio measured here and now, beside its target; the bit-for-bit check behind each
row is part of its verdict (a fast wrong answer is a miss):

1. Python exact kernels / R's own loop (moons, 10000 epochs, this process's R, the reference BLAS):
   target <= 0.3; the exact kernels' final weights and every epoch's mean error equal R's.
2. The same with R on OpenBLAS, R under its default ``matprod`` (a child process whose R loads
   .venv/blas/openblas): target <= 0.5, bit for bit, and the child's R %*% path must be "default".
3. Full audit (``crossverify run --scenario detail-moons --audit full``, a child process) against
   R's loop plus numpy's (float kernels): target <= 4, peak RSS < 300 MB, every row met.
4. One sweep configuration (bench/sweep.py's ``one_configuration``) against R plus numpy natively:
   target <= 1.2, and the configuration's exact kernels equal R.
5. ``crossverify run`` (24 checks, a child process): wall seconds against 17.3 s, the figure issue
   20 measured on this kind of machine before this work (target: no slower), every check met.

Timings are wall clock on a possibly shared machine: ratios from one run compare, seconds across
runs do not. Exit status 0 when every row meets its target, 1 otherwise.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.dirname(os.path.abspath(__file__))
for path in (ROOT, BENCH):
    if path not in sys.path:
        sys.path.insert(0, path)

import moons  # noqa: E402  (bench/moons.py: the moons trainings and the full audit)

RUN_BEFORE_S = 17.3  # `crossverify run` before issue 20, as the issue reports it for this kind of machine


def openblas_env():
    """The environment of a child whose R loads the OpenBLAS the set-up unpacked, or None."""
    for folder, _, files in sorted(os.walk(os.path.join(ROOT, ".venv", "blas", "openblas"))):
        if "libblas.so.3" in files:
            env = {k: v for k, v in os.environ.items() if k not in ("R_HOME", "CROSSVERIFY_R_MATPROD")}
            env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (folder, env.get("LD_LIBRARY_PATH")) if p)
            return env
    return None


def child_json(args, env=None):
    """Run ``python ARGS`` from the project's root; its JSON output (or None), wall seconds, exit code."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=1800)
    wall = time.perf_counter() - start
    try:
        return json.loads(proc.stdout), wall, proc.returncode, proc.stderr
    except ValueError:
        return None, wall, proc.returncode, proc.stderr


def row(work, value, native, ratio, target, limit, checks, note=""):
    ok = ratio is not None and ratio <= limit and all(checks.values())
    return {"work": work, "seconds": value, "natively": native, "ratio": ratio, "target": target,
            "checks": checks, "pass": ok, "note": note}


def moons_rows(repeat):
    """Rows 1 and 3: this process's R (reference BLAS), then the full audit in a child."""
    here = moons.measure(None, repeat, audit=True)
    sec = here["seconds"]
    rows = [row("Python exact kernels (R's arithmetic)", sec["python_exact"], f"R {sec['r_loop']:.2f} s",
                sec["python_exact"] / sec["r_loop"], "<= 0.3x R", 0.3,
                {"exact == R": here["exact_bit_identical_to_r"]})]
    a = here["audit"]
    native = sec["r_loop"] + sec["python_float"]
    rows.append(row("full audit: every intermediate of every epoch, both kernels", a["wall_s"],
                    f"R + numpy {native:.2f} s", a["wall_s"] / native, "<= 4x, < 300 MB", 4.0,
                    {"peak RSS < 300 MB": a["peak_rss_mb"] < 300.0, "every row met": a["exit_code"] == 0},
                    f"peak RSS {a['peak_rss_mb']:.0f} MB"))
    return here, rows


def openblas_row(repeat):
    """Row 2: bench/moons.py in a child whose R runs on OpenBLAS under R's default matprod."""
    env = openblas_env()
    work = "Python exact kernels, R on OpenBLAS, R's default path"
    if env is None:
        return row(work, None, "-", None, "<= 0.5x R", 0.5, {"OpenBLAS unpacked (make setup)": False})
    probe = ("import json; from crossverify.session.rsession import get_session; s = get_session(); "
             "print(json.dumps({'blas': s.platform.blas_kind, 'option': s.matprod.option, 'exact': s.matprod.exact}))")
    plan, _, _, _ = child_json(["-c", probe], env)
    out, _, _, err = child_json([os.path.join("bench", "moons.py"), "--no-audit", "--repeat", str(repeat),
                                 "--format", "json"], env)
    if out is None:
        return row(work, None, "-", None, "<= 0.5x R", 0.5, {"the child ran": False}, err.strip()[-300:])
    sec = out["seconds"]
    checks = {"R on OpenBLAS": bool(plan) and plan["blas"] == "openblas",
              "R's matprod \"default\"": bool(plan) and plan["option"] == "default" and plan["exact"],
              "exact == R": out["exact_bit_identical_to_r"]}
    return row(work, sec["python_exact"], f"R {sec['r_loop']:.2f} s", sec["python_exact"] / sec["r_loop"],
               "<= 0.5x R", 0.5, checks)


def sweep_row(epochs, repeat):
    """Row 4: one sweep configuration against R + numpy natively."""
    import sweep
    cost = sweep.one_configuration(epochs, 1000, repeat)  # raises SystemExit when exact != R
    s, p = cost["seconds"], cost["config_parts"]
    native = s["r_native"] + s["numpy_native"]
    return row(f"one sweep configuration ({epochs} epochs)", s["config"], f"R + numpy {native:.2f} s", cost["ratio"],
               "<= 1.2x", 1.2, {"exact == R": True},
               f"R {p['r']:.2f} + exact {p['exact']:.2f} + float {p['float']:.2f} + compare {p['compare']:.2f} s")


def run_row():
    """Row 5: `crossverify run`, every check, in a child."""
    out, wall, code, err = child_json(["-m", "crossverify", "run", "--format", "json"])
    rows = (out or {}).get("rows", [])
    checks = {"every check met": code == 0 and bool(rows) and all(r.get("ok") for r in rows)}
    return row(f"`crossverify run`, {len(rows)} checks", wall, f"before {RUN_BEFORE_S} s", wall / RUN_BEFORE_S,
               "no slower (<= 1.0x before)", 1.0, checks)


def measure(repeat, sweep_epochs, skip_run=False):
    here, rows = moons_rows(repeat)
    rows.insert(0, row("R's own loop (moons, 10000 epochs)", here["seconds"]["r_loop"], "-", 1.0, "-", 1.0, {}))
    rows.insert(2, openblas_row(repeat))
    rows.append(sweep_row(sweep_epochs, repeat))
    if not skip_run:
        rows.append(run_row())
    return {"r_version": here["r_version"], "r_blas": here["r_blas"], "repeat": repeat, "rows": rows,
            "load_average": os.getloadavg(), "pass": all(r["pass"] for r in rows)}


def table(result):
    lines = [f"R {result['r_version']} (BLAS {result['r_blas']}), median of {result['repeat']}; "
             f"load average at the end {result['load_average'][0]:.1f}",
             f"{'work':<60} {'seconds':>8} {'natively':>18} {'ratio':>7}  {'target':<26} verdict"]
    for r in result["rows"]:
        seconds = "-" if r["seconds"] is None else f"{r['seconds']:.2f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        failed = [name for name, ok in r["checks"].items() if not ok]
        verdict = "pass" if r["pass"] else "MISS" + (f" ({', '.join(failed)})" if failed else "")
        lines.append(f"{r['work']:<60} {seconds:>8} {r['natively']:>18} {ratio:>7}  {r['target']:<26} {verdict}"
                     + (f"; {r['note']}" if r["note"] else ""))
    missed = [r["work"] for r in result["rows"] if not r["pass"]]
    lines.append("every target met" if not missed else f"targets missed: {len(missed)} of {len(result['rows'])}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each training; the median is used (default 3)")
    parser.add_argument("--sweep-epochs", type=int, default=2000, help="epochs of the sweep configuration (default 2000)")
    parser.add_argument("--skip-run", action="store_true", help="leave out the `crossverify run` row")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)
    result = measure(args.repeat, args.sweep_epochs, args.skip_run)
    print(json.dumps(result, indent=2) if args.format == "json" else table(result))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
