"""``crossverify steps``: one epoch of any twin step by step, Python and R side by side (the article's
"Visualization of steps for Neural Network methodology", computed; bridge/explain/steps.py)."""
import json
import os

from bridge.cli.main import EXIT_OK, add_fixtures_option


def add_parser(sub):
    parser = sub.add_parser(
        "steps", help="walk through one epoch step by step, Python and R side by side",
        description="A twin's spreadsheet walk-through, computed: each step's title, formula and matrices from "
                    "Python and from R side by side, read from the twin's declaration, cells whose bits differ "
                    "marked with *, each differing step with a sentence on why; then prediction on new data when "
                    "the twin declares predict functions.")
    add_fixtures_option(parser)
    parser.add_argument("--twin", metavar="PATH", default=None,
                        help="a twin of your own: the folder holding its twin.py (docs/TWINS.md); its scenarios are "
                             "read from PATH/scenarios unless --fixtures says otherwise")
    parser.add_argument("--scenario", default=None,
                        help="scenario (default: the first of the fixtures folder, or of the twin's scenarios)")
    parser.add_argument("--variant", default=None,
                        help="R variant (default: the twin's reference variant, the one Python should equal)")
    parser.add_argument("--kernels", default="exact",
                        help="Python kernels: exact (default; R's arithmetic, so any mark is a real difference) "
                             "or float (plain numpy, as the article runs it)")
    parser.add_argument("--epoch", type=int, default=0, metavar="N",
                        help="which epoch, counted from 0 as the article prints them (default: 0; at most the "
                             "scenario's epochs - 1)")
    parser.add_argument("--columns", type=int, default=None, metavar="K",
                        help="show at most K columns of wider matrices (default: 4; 0 shows all)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.set_defaults(handler=run)


def scenario_from_args(args):
    """The scenario ``--twin``, ``--fixtures`` and ``--scenario`` name (the first one when none is named)."""
    from bridge.errors import CrossverifyError
    from bridge.twins.scenarios import list_scenarios, load_scenario

    twin, fixtures = None, args.fixtures
    if args.twin:
        from bridge.twins.protocol import load_twin
        twin = load_twin(args.twin)
        own = os.path.join(twin.base_dir, "scenarios")
        fixtures = fixtures or (own if os.path.isdir(own) else None)  # a shipped twin: the shipped fixtures
    name = args.scenario
    if name is None:
        known = [n for n in list_scenarios(fixtures) if twin is None or _names_twin(fixtures, n, twin)]
        if not known:
            raise CrossverifyError(f"no scenario{' of twin ' + twin.name if twin else ''} in "
                                   f"{fixtures or 'the shipped fixtures'}. To fix: add one (fixtures/README.md) or "
                                   f"give --fixtures a folder that holds one.")
        name = known[0]
    return load_scenario(name, fixtures, twin)


def _names_twin(fixtures, name, twin):
    from bridge.explain.rosetta import manifest_twin
    from bridge.twins.scenarios import SHIPPED_FIXTURES
    return manifest_twin(os.path.join(fixtures or SHIPPED_FIXTURES, name, "manifest.json")) == twin.name


def run(args, out):
    from bridge.errors import CrossverifyError
    from bridge.session.rsession import get_session
    from bridge.explain.steps import check_arguments, render_table, to_json, walkthrough

    if args.columns is not None and args.columns < 0:
        raise CrossverifyError(f"--columns {args.columns}: give a number of columns, or 0 for all of them.")
    scenario = scenario_from_args(args)
    check_arguments(scenario, args.variant, args.kernels, args.epoch)  # before R starts
    walk = walkthrough(get_session(), scenario, args.variant, args.kernels, args.epoch)
    if args.format == "json":
        json.dump(to_json(walk, args.columns), out, indent=1)
        out.write("\n")
    else:
        out.write(render_table(walk, args.columns))
    return EXIT_OK
