"""``crossverify steps``: the article's "Visualization of steps for Neural Network methodology",
computed, Python and R side by side (bridge/explain/steps.py)."""
import json

from bridge.cli.main import EXIT_OK, add_fixtures_option


def add_parser(sub):
    parser = sub.add_parser(
        "steps", help="walk through one epoch step by step, Python and R side by side",
        description="The article's spreadsheet walk-through (bias-net steps 0-11; the detail scenarios' steps "
                    "0-16), computed: each step's name, formula and matrices from Python and from R side by "
                    "side, cells whose bits differ marked with *, then prediction on new data.")
    add_fixtures_option(parser)
    parser.add_argument("--scenario", default="bias-net", help="scenario (default: bias-net)")
    parser.add_argument("--variant", default=None,
                        help="R variant (default: the one Python should equal; bias-net: corrected, where "
                             "'article' shows the biases part ways at step 2)")
    parser.add_argument("--kernels", default="exact",
                        help="Python kernels: exact (default; R's arithmetic, so any mark is a real difference) "
                             "or float (plain numpy, as the article runs it)")
    parser.add_argument("--epoch", type=int, default=0, metavar="N",
                        help="which epoch, counted from 0 as the article prints them (default: 0)")
    parser.add_argument("--columns", type=int, default=None, metavar="K",
                        help="show at most K columns of wider matrices (default: 4; 0 shows all)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.set_defaults(handler=run)


def run(args, out):
    from bridge.errors import CrossverifyError
    from bridge.session.rsession import get_session
    from bridge.twins.scenarios import load_scenario
    from bridge.explain.steps import check_arguments, render_table, to_json, walkthrough

    if args.columns is not None and args.columns < 0:
        raise CrossverifyError(f"--columns {args.columns}: give a number of columns, or 0 for all of them.")
    scenario = load_scenario(args.scenario, args.fixtures)
    check_arguments(scenario, args.variant, args.kernels, args.epoch)  # before R starts
    walk = walkthrough(get_session(), scenario, args.variant, args.kernels, args.epoch)
    if args.format == "json":
        json.dump(to_json(walk, args.columns), out, indent=1)
        out.write("\n")
    else:
        out.write(render_table(walk, args.columns))
    return EXIT_OK
