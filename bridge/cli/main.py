"""The ``crossverify`` command line (also ``python -m crossverify``).

    crossverify run        every scenario, variant, kernels and mode: a table of verdicts
    crossverify trace      one implementation's trace of one scenario, as a plain .npz
    crossverify reproduce  every number the article prints, from both languages
    crossverify steps      one epoch step by step, Python beside R
    crossverify rosetta    the Python and R lines of every step, and the translation pitfalls
    crossverify report     one HTML page with the verdicts, the article's numbers and figures
    crossverify golden     digests of every intermediate, recorded and checked
    crossverify doctor     what exact checks depend on here (R, its BLAS, rpy2, numpy, libm), a verdict each

Exit status: 0 when every check meets its expectation, 1 when one does not, 2 for bad input,
3 when R cannot be started, 4 when ``run`` could not make a check (a row "not checked") and
``--allow-unchecked`` was not given, 130 when interrupted.
"""
import argparse
import json
import sys
import warnings

import numpy as np

from crossverify.cli.options import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNCHECKED, add_memory_option,
                                    add_run_options, one_run, progress_printer, run_request)
from crossverify.errors import CrossverifyError
from crossverify.twins.request import AUDITS, Kernels

# Further sub-commands live in modules of their own, each with ``add_parser(subparsers)`` that
# registers its parser and ``set_defaults(handler=...)``; ``handler(args, out)`` returns the exit code.
COMMAND_MODULES = ("crossverify.cli.reproduce", "crossverify.cli.steps", "crossverify.cli.rosetta", "crossverify.cli.report",
                   "crossverify.cli.golden", "crossverify.cli.scenario", "crossverify.cli.compare", "crossverify.cli.predict",
                   "crossverify.cli.doctor", "crossverify.cli.sweep", "crossverify.cli.explain",
                   "crossverify.cli.questions")


def build_parser():
    parser = argparse.ArgumentParser(prog="crossverify", description=(
        "Check that the numpy and R implementations of a twin (the article's networks, or yours) compute the same "
        "thing, step by step, and say where and why they part when they do."))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="compare Python and R on every scenario, variant, kernels and mode",
                         description="Compare Python and R; with no options, everything. Exit 0 only "
                                     "when every row meets its expectation.")
    add_run_options(run, many=True, mode=True)
    run.add_argument("--audit", choices=AUDITS, default="checkpoints",
                     help="checkpoints (default): long runs keep every intermediate at checkpoint epochs and "
                          "the weights at every epoch; full: every intermediate of every epoch, streamed in chunks")
    run.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    run.add_argument("--allow-unchecked", action="store_true",
                     help=f"exit 0 even when a row could not be checked (by default such a row exits {EXIT_UNCHECKED})")
    run.add_argument("--per-intermediate", action="store_true",
                     help="also print, per intermediate, the largest difference and the bound at it")
    add_memory_option(run)

    trace = sub.add_parser("trace", help="write one implementation's trace to a .npz file",
                           description="Write the initial weights and every intermediate of every epoch "
                                       "(keys init/<name> and epoch<k>/<name>) to a plain .npz file.")
    add_run_options(trace)
    trace.add_argument("--impl", choices=("python", "r"), required=True, help="which implementation")
    trace.add_argument("--record", choices=("checkpoints", "all"), default="checkpoints",
                       help="which epochs keep every intermediate: checkpoints (default; every epoch for short "
                            "runs, every 1000th and the last for long ones) or all (gigabytes for a long run)")
    trace.add_argument("--out", required=True, metavar="FILE.npz", help="where to write the trace")
    trace.add_argument("--format", choices=("npz", "folder"), default="npz",
                       help="npz (default) or folder: crossverify-trace/1, index.json and little-endian float64 "
                            ".bin files that R reads with read_trace() (docs/TRACES.md)")
    add_memory_option(trace)
    run.set_defaults(handler=cmd_run)
    trace.set_defaults(handler=cmd_trace)
    import importlib
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_parser(sub)
    return parser


WHERE_NEXT = """
Where next:
  crossverify steps{twin}        one epoch cell by cell, Python beside R, cells that differ marked
  crossverify explain{twin}      why the two sides part: the step and the operation where it starts
  crossverify rosetta{twin}      each step's Python line beside its R line
  crossverify report{twin} --out report/   one HTML page: these verdicts and figures of both languages
"""


def where_next(twin_path=None, fixtures=None, failed=None):
    """The commands to try next, for the twin and the scenarios just checked (paths quoted for a
    shell); ``failed``, the first row that does not meet its expectation, is the one explain is
    pointed at (explain with no --kernels starts from it)."""
    import shlex
    options = (f" --twin {shlex.quote(str(twin_path))}" if twin_path else "") + \
        (f" --fixtures {shlex.quote(str(fixtures))}" if fixtures else "")
    text = WHERE_NEXT.format(twin=options)
    if failed is not None:
        text = text.replace(f"crossverify explain{options}  ",
                            f"crossverify explain{options} --scenario {shlex.quote(failed.scenario)} "
                            f"--variant {shlex.quote(failed.variant)}\n"
                            f"                           ", 1)
    return text


def _print_table(rows, per_intermediate, out, twin_path=None, fixtures=None):
    import pandas as pd

    table = pd.DataFrame([{
        "scenario": r.scenario, "variant": r.variant, "kernels": r.kernels, "mode": r.mode,
        "R %*% path": r.r_matprod, "expectation": r.expectation, "verdict": r.verdict_text,
        "first divergence": (f"epoch {r.first_divergence.epoch} step {r.first_divergence.step} "
                             f"{r.first_divergence.name}{list(r.first_divergence.index)}"
                             if r.first_divergence else "none"),
        "max difference": f"{r.max_abs:.3g}", "between": r.compared,
        "horizon": "-" if r.expectation != "within-bound" or r.mode == "lockstep"
                   else (f"epoch {r.horizon}" if r.horizon is not None else "none"),
    } for r in rows])
    out.write(table.to_string(index=False) + "\n")
    failed = [r for r in rows if r.ok is False]
    unchecked = [r for r in rows if r.ok is None]
    for r in failed:
        out.write(f"\nFAILED {r.scenario} / {r.variant} / {r.kernels} / {r.mode}: {r.note or ''}\n")
        if r.first_divergence:
            out.write(f"  first divergence: {r.first_divergence.describe()}\n")
    if per_intermediate:
        for r in rows:
            if Kernels(r.kernels).bit_for_bit:
                continue
            out.write(f"\n{r.scenario} / {r.variant} / {r.kernels} / {r.mode}: per intermediate "
                      f"({r.compared}; each difference against the bound of its own element)\n")
            detail = pd.DataFrame([{
                "step": s.step, "intermediate": s.name, "max |difference|": f"{s.max_abs:.3g}",
                "in u*scale": f"{s.max_scaled:.3g}", "max difference/bound": f"{s.max_ratio:.3g}",
                "bound where that ratio peaks": f"{s.bound_at_max:.3g}"} for s in r.stats.values()])
            out.write(detail.to_string(index=False) + "\n")
    seen = set()
    for r in rows:
        for w in r.warnings:
            if (r.scenario, w) not in seen and not w.startswith("not finite: "):  # those: _print_nonfinite
                seen.add((r.scenario, w))
                out.write(f"\nWARNING {r.scenario}: {w}\n")
    _print_nonfinite(rows, out)
    for r in unchecked:
        out.write(f"\nNOT CHECKED {r.scenario} / {r.variant} / {r.kernels} / {r.mode}: {r.note}\n")
    met = len(rows) - len(failed) - len(unchecked)
    out.write(f"\n{met} of {len(rows)} checks meet their expectation"
              + (f"; {len(unchecked)} could not be made (above).\n" if unchecked else ".\n"))
    out.write(where_next(twin_path, fixtures, failed[0] if failed else None))


def _print_nonfinite(rows, out):
    """One warning per scenario and place where values became NaN or Inf, naming every side that did."""
    places = {}
    for r in rows:
        for f in r.nonfinite:
            places.setdefault((r.scenario, f.where()), []).append(f.side)
    for (scenario, where), sides in places.items():
        out.write(f"\nWARNING {scenario}: not finite: {where} in {', '.join(dict.fromkeys(sides))}; agreement on NaN "
                  f"or Inf says nothing about the computation\n")


def cmd_run(args, out):
    from crossverify.check import verify
    from crossverify.session.rsession import get_session

    request = run_request(args)  # every input checked before the long part
    check_run_fits(request, args)
    session = get_session()
    with progress_printer() as progress, warnings.catch_warnings(), np.errstate(all="ignore"):
        # numpy's overflow and invalid-value warnings: the rows say where values stopped being finite
        warnings.simplefilter("ignore", RuntimeWarning)
        rows = verify.run_request(session, request, progress)
    if args.format == "json":
        json.dump({"r_version": session.r_version, "rpy2_version": session.rpy2_version, "blas": session.blas,
                   "r_platform": session.platform.to_dict(), "r_matprod": session.matprod.to_dict(),
                   "rows": [r.to_dict() for r in rows], "ok": all(r.ok is not False for r in rows)}, out, indent=2)
        out.write("\n")
    else:
        from crossverify.session.platform import header
        out.write(f"R {session.r_version}, rpy2 {session.rpy2_version}\n")
        out.write(header(session.platform, session.matprod) + "\n\n")
        _print_table(rows, args.per_intermediate, out, args.twin, args.fixtures)
    return run_exit_code(rows, args.allow_unchecked)


def run_exit_code(rows, allow_unchecked):
    """1 when a row fails; else 4 when one could not be checked (a green job must have checked
    something), unless the caller allows it; else 0."""
    if any(r.ok is False for r in rows):
        return EXIT_FAILED
    if any(r.ok is None for r in rows) and not allow_unchecked:
        return EXIT_UNCHECKED
    return EXIT_OK


def check_run_fits(request, args):
    """Refuse, before R starts, a run whose estimated memory exceeds what this machine has (bridge/check/budget.py)."""
    from crossverify.check import budget
    from crossverify.twins.runner import network_for
    estimates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for scenario in request.scenarios:
            estimates.append(budget.estimate_run(network_for(scenario), request.epochs_of(scenario),
                                                 request.variants_of(scenario), request.kernels, request.modes,
                                                 request.audit))
    budget.refuse_if_too_big(estimates, args.ignore_memory_estimate,
                             lighter=None if request.audit == "full" else "--audit full")
    return estimates


def write_npz_atomically(path, arrays):
    """Write ``arrays`` to ``path`` as .npz, never half a file (bridge/files.py)."""
    from crossverify.files import write_atomically
    write_atomically(path, lambda fh: np.savez(fh, **arrays))


def cmd_trace(args, out):
    from crossverify.twins.runner import network_for

    request = one_run(args)
    scenario, variant, kernels, epochs = request.scenario, request.variant, request.kernels, request.epochs
    net = network_for(scenario)
    if args.format == "npz" and not args.out.endswith(".npz"):
        raise CrossverifyError(f"--out {args.out}: the trace is written as .npz; give a file name ending in .npz.")
    if args.format == "npz":
        from crossverify.cli.failures import check_output
        check_output(args.out)  # before the run, not after it
    else:
        from crossverify.check.traceio import check_target
        check_target(args.out)
    from crossverify.check import budget
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        estimate = budget.estimate_run(net, epochs, (variant,), (kernels,), ("free-running",),
                                       record_all=args.record == "all", traces=1)
    budget.refuse_if_too_big([estimate], args.ignore_memory_estimate,
                             lighter="--record checkpoints" if args.record == "all" else None)
    record = None if args.record == "all" else net.checkpoints(epochs)
    if args.impl == "r":
        from crossverify.session.rsession import get_session
        session = get_session()  # started before the progress line: the line means the epochs are running
    with progress_printer() as progress, np.errstate(all="ignore"):  # overflow is legal; `run` says where
        progress(f"{args.impl} trace of {scenario.name}: {epochs} epochs")
        if args.impl == "python":
            trace = net.python(kernels, epochs, record=record)
        else:
            trace = net.r(session, variant, epochs, record=record)
    if args.format == "folder":
        from crossverify.check import traceio
        producer = {"language": "python" if args.impl == "python" else "R", "implementation": args.impl,
                    **({"kernels": kernels} if args.impl == "python" else {"variant": variant})}
        traceio.write_folder(args.out, traceio.from_trace(trace, net.twin, scenario.name, producer))
    else:
        write_npz_atomically(args.out, trace.to_npz_dict())
    out.write(f"wrote {args.out}: {len(trace)} of {epochs} epochs with all {len(trace.names)} intermediates "
              f"({args.impl}{', ' + kernels + ' kernels' if args.impl == 'python' else ', variant ' + variant})\n")
    return EXIT_OK


def main(argv=None, out=None):
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args, out)
    except CrossverifyError as exc:
        print(f"crossverify: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("crossverify: interrupted; nothing was written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (OSError, MemoryError) as exc:  # an unwritable output, a closed pipe, no memory: bridge/cli/failures.py
        from crossverify.cli.failures import handle
        said = handle(exc)
        if said is None:
            raise
        print(f"crossverify: error: {said[0]}", file=sys.stderr)
        return said[1]


if __name__ == "__main__":
    sys.exit(main())
