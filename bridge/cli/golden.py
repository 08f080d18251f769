"""``crossverify golden record|check``: golden digests of every intermediate (bridge/check/golden.py).

    crossverify golden record [--scenario S] [--force] [--twin PATH]     write <fixtures>/golden/<S>.json
    crossverify golden check [--impl python|r] [--scenario S] [--variant V] [--twin PATH] [--format table|json]

Any twin's scenarios can be recorded: with ``--twin PATH`` they are read from PATH/scenarios (and
the records written to PATH/scenarios/golden) unless ``--fixtures`` says otherwise.

``check`` exits 0 only when every digest of every checked language matches the record, 1 when one
does not (naming the first epoch, step and intermediate that changed), 2 for bad input.
"""
import json

from crossverify.check import golden
from crossverify.cli.options import EXIT_FAILED, EXIT_OK, add_run_options, twin_and_fixtures


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "golden", help="record or check golden digests of every intermediate",
        description="Golden regression traces: sha256 digests of every intermediate at epochs "
                    f"{', '.join(map(str, golden.MILESTONES))} and the last, per scenario, R variant and "
                    "language (fixtures/golden/README.md).")
    actions = parser.add_subparsers(dest="golden_command", metavar="ACTION")
    actions.required = True

    record = actions.add_parser(
        "record", help="compute and write the golden digests (refuses to overwrite without --force)",
        description="Run every variant in Python (exact kernels) and in R, and write the digests to "
                    "<fixtures>/golden/<scenario>.json, atomically. An existing record is replaced only with --force.")
    add_run_options(record, many=True, variant=False, kernels=False, epochs=False)
    record.add_argument("--force", action="store_true", help="replace existing records")
    record.set_defaults(handler=cmd_record)

    check = actions.add_parser(
        "check", help="recompute the digests, one language at a time, and compare them with the record",
        description="Recompute every recorded digest and name the first (epoch, step, intermediate) that "
                    "changed. Each language is run on its own, so a change to either side alone is caught. "
                    "Exit 0 only when everything matches.")
    add_run_options(check, many=True, kernels=False, epochs=False)
    check.add_argument("--impl", choices=golden.IMPLS, default=None,
                       help="check only this language (default: both, each on its own)")
    check.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    check.set_defaults(handler=cmd_check)
    return parser


def _progress():
    from crossverify.cli.options import progress_printer
    return progress_printer()


def cmd_record(args, out):
    twin, fixtures = twin_and_fixtures(args)
    with _progress() as progress:
        paths = golden.record(args.scenario, fixtures, args.force, progress=progress, twin=twin)
    for path in paths:
        out.write(f"wrote {path}\n")
    return EXIT_OK


def cmd_check(args, out):
    twin, fixtures = twin_and_fixtures(args)
    with _progress() as progress:
        results = golden.check(args.scenario, fixtures, [args.impl] if args.impl else None, args.variant,
                               progress=progress, twin=twin)
    ok = all(r.ok for r in results)
    if args.format == "json":
        json.dump({"ok": ok, "results": [r.to_dict() for r in results]}, out, indent=2)
        out.write("\n")
    else:
        import pandas as pd
        table = pd.DataFrame([{"scenario": r.scenario, "variant": r.variant, "impl": r.impl,
                               "digests": r.entries, "verdict": "matches" if r.ok else "CHANGED",
                               "first change": r.describe_change()} for r in results])
        out.write(table.to_string(index=False) + "\n")
        for r in results:
            for problem in r.problems:
                out.write(f"\n{r.scenario} / {r.variant} / {r.impl}: {problem}\n")
        out.write(f"\n{sum(r.ok for r in results)} of {len(results)} traces match their golden digests.\n")
    return EXIT_OK if ok else EXIT_FAILED
