"""``crossverify reproduce``: every number the source prints, from both languages (bridge/explain/reproduce.py).

The numbers are those each scenario's twin declares (``Twin.printed``); with ``--twin PATH``, a twin
of your own and its scenarios (PATH/scenarios unless ``--fixtures`` says otherwise)."""
import json

from crossverify.cli.options import EXIT_FAILED, EXIT_OK, add_run_options, twin_and_fixtures


def add_parser(sub):
    parser = sub.add_parser("reproduce", help="recompute every number the source prints (the article, for the "
                                              "shipped twins), in Python and in R",
                            description="One row per number the source prints (declared by each twin): the "
                                        "printed text, Python's and R's values to the same digits, and a status. "
                                        "Exit 0 only when every row has the status it is expected to have.")
    add_run_options(parser, many=True, variant=False, kernels=False, epochs=False)
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.set_defaults(handler=run)


def run(args, out):
    import pandas as pd

    from crossverify.explain.reproduce import reproduce
    from crossverify.session.rsession import get_session
    from crossverify.cli.options import scenario_names
    from crossverify.twins.scenarios import load_scenario

    twin, fixtures = twin_and_fixtures(args)
    names = args.scenario or scenario_names(twin, fixtures)
    for name in names:
        load_scenario(name, fixtures, twin)  # every input checked before R starts
    from crossverify.cli.options import progress_printer
    with progress_printer() as progress:
        rows = reproduce(get_session(), fixtures, names, twin, progress)
    if args.format == "json":
        json.dump({"rows": [r.to_dict() for r in rows], "ok": all(r.ok for r in rows)}, out, indent=2)
        out.write("\n")
    elif not rows:
        out.write("No scenario here has printed numbers declared by its twin (Twin.printed, docs/TWINS.md).\n")
    else:
        table = pd.DataFrame([{"scenario": r.scenario, "quantity": r.quantity, "article": r.article,
                               "python": r.python, "R": r.r, "status": r.status,
                               "as expected": "yes" if r.ok else "NO"} for r in rows])
        out.write(table.to_string(index=False) + "\n")
        for r in rows:
            if r.status == "diverges-chaotically" or not r.ok:
                out.write(f"\n{r.scenario}, {r.quantity}: {r.detail}")
        out.write(f"\n\n{sum(r.ok for r in rows)} of {len(rows)} numbers have their expected status.\n")
    return EXIT_OK if all(r.ok for r in rows) else EXIT_FAILED
