"""``crossverify sweep``: a twin over a grid (or a seeded sample) of configurations, run free-running in
R and Python, one Parquet row each (bridge/sweep/), on this machine's cores or a Dask cluster; and
the atlas drawn from the rows (``--report``). docs/SWEEP.md describes the sweep file and the rows."""
import os

from crossverify.cli.options import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, add_memory_option
from crossverify.errors import CrossverifyError


def add_parser(sub):
    parser = sub.add_parser(
        "sweep", help="run a twin over many configurations (seeds, sizes, data) and draw the divergence atlas",
        description="Run a twin free-running in R and Python (exact and float kernels) over every configuration "
                    "of a sweep file and/or --param axes. Each finished configuration is stored at once as a "
                    "Parquet part under OUT/parts/ (crash-safe), consolidated into OUT/results.parquet; running "
                    "the same command again skips what is done. --report draws the atlas (heatmap of horizons, "
                    "printed-number disagreement per checkpoint, distribution of horizons, exact-kernel "
                    "exceptions) from a sweep folder. Exit 0 when every configuration finished and the exact "
                    "kernels equalled R in all of them, 1 otherwise, 130 when interrupted.")
    parser.add_argument("spec", nargs="?", metavar="SWEEP.toml",
                        help="the sweep file (TOML or JSON; docs/SWEEP.md); optional when --param and --twin say it all")
    parser.add_argument("--twin", metavar="T", help="the twin: a shipped twin's name or the folder of a twin.py")
    parser.add_argument("--param", action="append", metavar="NAME=VALUES", default=[],
                        help="set an axis or setting: hidden=6,10  seed=0:20 (0..19)  lr=0.1  data.noise=0.1,0.2  "
                             "data.generator=circles  epochs=2000  preprocessing=NAME (repeatable)")
    parser.add_argument("--out", metavar="DIR", help="the sweep folder: parts/, results.parquet, sweep.json")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="local worker processes, one embedded R each (default: every core)")
    where.add_argument("--cluster", metavar="ADDRESS",
                       help="run on Dask: tcp://host:port of a running scheduler, or local:N to start a local "
                            "cluster of N worker processes (needs the 'cluster' extra)")
    parser.add_argument("--limit", type=int, metavar="N", help="run at most N of the configurations not yet done")
    parser.add_argument("--dry-run", action="store_true", help="list the configurations and how many are done; run nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--report", metavar="ATLAS_DIR",
                        help="draw the atlas into ATLAS_DIR (index.html, PNGs, results.parquet) from the sweep folder "
                             "--out (default: ATLAS_DIR itself); with a sweep file, after running it")
    add_memory_option(parser)
    parser.add_argument("--x", metavar="PARAM", help="the atlas heatmap's columns (default: the grid axis with most values)")
    parser.add_argument("--y", metavar="PARAM", help="the atlas heatmap's rows (default: the next such axis)")
    parser.set_defaults(handler=run)


def run(args, out):
    from crossverify.sweep import spec as sweep_spec

    has_sweep = bool(args.spec or args.param or args.twin)
    if not has_sweep and not args.report:
        raise CrossverifyError("nothing to do: give a sweep file (or --twin and --param), or --report ATLAS_DIR. "
                               "See `crossverify sweep --help` and docs/SWEEP.md.")
    code = EXIT_OK
    out_dir = args.out
    if args.workers is not None and args.workers < 1:
        raise CrossverifyError(f"--workers {args.workers}: the number of worker processes must be 1 or more.")
    if has_sweep:
        if not out_dir:
            raise CrossverifyError("--out DIR is needed: the folder that keeps every finished configuration.")
        spec = sweep_spec.load(args.spec, args.param, args.twin)
        if args.dry_run:
            return _dry_run(spec, out_dir, out)
        code = _run_sweep(spec, out_dir, args, out)
        if code == EXIT_INTERRUPTED:
            return code
    if args.report:
        from crossverify.sweep.atlas import write_atlas
        source = out_dir or args.report
        written = write_atlas(source, args.report, args.x, args.y)
        out.write(f"wrote the atlas {os.path.join(args.report, 'index.html')} ({', '.join(written)}).\n")
    return code


def _dry_run(spec, out_dir, out):
    from crossverify.sweep.storage import Store
    done = Store(out_dir).done()
    out.write(f"{len(spec.configs)} configuration(s) of twin {spec.settings['twin']}; "
              f"{sum(c.key in done for c in spec.configs)} already done in {out_dir}\n")
    for c in spec.configs:
        values = " ".join(f"{k}={v}" for k, v in c.params)
        out.write(f"  {c.key} {'done' if c.key in done else 'todo'}  {values}\n")
    return EXIT_OK


def runner_for(args):
    if args.cluster:
        from crossverify.sweep.cluster import DaskRunner
        return DaskRunner(args.cluster)
    from crossverify.sweep.local import LocalRunner
    return LocalRunner(args.workers)


def _run_sweep(spec, out_dir, args, out):
    from crossverify.sweep.build import scenario_for
    from crossverify.sweep.run import sweep
    from crossverify.sweep.checks import check_configs, check_sweep_fits
    from crossverify.twins.protocol import load_twin
    hyper = load_twin(spec.settings["twin"]).hyper
    check_configs(spec.configs, hyper, spec.source)
    scenario_for(spec.configs[0]) if spec.configs else None  # a configuration that cannot be built fails here, once
    runner = runner_for(args)
    if getattr(runner, "processes", None):  # on a remote cluster the memory is the cluster's, not this machine's
        check_sweep_fits(spec.configs, hyper, runner.processes, args.ignore_memory_estimate)
    out.write(f"sweep of twin {spec.settings['twin']}: {len(spec.configs)} configuration(s) on {runner.describe()}, "
              f"results in {out_dir}\n")
    out.flush()
    summary = sweep(spec, out_dir, runner, progress=not args.no_progress, limit=args.limit)
    out.write(summary.describe(out_dir) + "\n")
    if summary.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if summary.clean else EXIT_FAILED
