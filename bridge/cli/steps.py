"""``crossverify steps``: one epoch of any twin step by step, Python and R side by side (the article's
"Visualization of steps for Neural Network methodology", computed; bridge/explain/steps.py)."""
import json

from crossverify.cli.options import EXIT_OK, add_run_options, one_run


def add_parser(sub):
    parser = sub.add_parser(
        "steps", help="walk through one epoch step by step, Python and R side by side",
        description="A twin's spreadsheet walk-through, computed: each step's title, formula and matrices from "
                    "Python and from R side by side, read from the twin's declaration, cells whose bits differ "
                    "marked with *, each differing step with a sentence on why; then prediction on new data when "
                    "the twin declares predict functions.")
    add_run_options(parser, epochs=False)
    parser.add_argument("--epoch", type=int, default=0, metavar="N",
                        help="which epoch, counted from 0 as the article prints them (default: 0; at most the "
                             "scenario's epochs - 1)")
    parser.add_argument("--columns", type=int, default=None, metavar="K",
                        help="show at most K columns of wider matrices (default: 4; 0 shows all)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.set_defaults(handler=run)


def run(args, out):
    from crossverify.errors import CrossverifyError
    from crossverify.session.rsession import get_session
    from crossverify.explain.steps import check_arguments, render_table, to_json, walkthrough

    if args.columns is not None and args.columns < 0:
        raise CrossverifyError(f"--columns {args.columns}: give a number of columns, or 0 for all of them.")
    request = one_run(args)
    check_arguments(request.scenario, request.variant, request.kernels, args.epoch)  # before R starts
    walk = walkthrough(get_session(), request.scenario, request.variant, request.kernels, args.epoch)
    if args.format == "json":
        json.dump(to_json(walk, args.columns), out, indent=1)
        out.write("\n")
    else:
        out.write(render_table(walk, args.columns))
    return EXIT_OK
