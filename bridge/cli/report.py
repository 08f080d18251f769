"""``crossverify report``: one self-contained HTML page of the checks, the printed numbers
and figures of Python and R training side by side (bridge/explain/report.py), for any twin's
scenarios (``--twin PATH``: a twin of your own and its PATH/scenarios)."""
import sys

from crossverify.cli.options import EXIT_FAILED, EXIT_OK, add_run_options, progress_printer, twin_and_fixtures


def add_parser(sub):
    parser = sub.add_parser(
        "report", help="write one HTML page: verdicts, the printed numbers, figures of Python and R",
        description="Run every check (as `crossverify run`) and recompute the printed numbers the twins declare "
                    "(as `crossverify reproduce`), then write DIR/index.html, one self-contained page with their "
                    "tables and figures (the loss per epoch, |Python - R| per epoch, the R variants, the "
                    "decision boundary of a network on two features), plus DIR/figures/*.png and "
                    "DIR/report.json. The folder is written whole or not at all. Exit 0 only when every check "
                    "and number is as expected.")
    add_run_options(parser, many=True, variant=False, kernels=False, epochs=False)
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="the folder to write (new, empty, or a previous report)")
    parser.set_defaults(handler=run)


def run(args, out):
    from crossverify.explain.report import collect, prepare_target, write_report
    from crossverify.session.rsession import get_session
    from crossverify.cli.options import scenario_names
    from crossverify.twins.scenarios import load_scenario

    twin, fixtures = twin_and_fixtures(args)
    names = args.scenario or scenario_names(twin, fixtures)
    for name in names:
        load_scenario(name, fixtures, twin)  # every input checked before the long part
    prepare_target(args.out)
    session = get_session()
    with progress_printer() as progress:
        data = collect(session, names, fixtures, progress, twin)
        figures = write_report(args.out, data, progress)
    ok = all(r.ok is not False for r in data.rows) and all(q.ok for q in data.reproduced) and not figures.failed
    out.write(f"wrote {args.out}/index.html: {sum(r.ok for r in data.rows)} of {len(data.rows)} checks meet their "
              f"expectation, {sum(q.ok for q in data.reproduced)} of {len(data.reproduced)} printed numbers as "
              f"expected, {len(figures.ids)} figures ({', '.join(figures.ids)}).\n")
    for title, problem in figures.failed:
        print(f"crossverify: the figure '{title}' could not be drawn ({problem}); the page says so in its place.",
              file=sys.stderr)
    return EXIT_OK if ok else EXIT_FAILED
