"""What the sub-commands share: the exit codes, the options several declare (--fixtures, --twin), the
checks and look-ups those options need, and the one-line progress display. The dispatcher
(bridge/cli/main.py) and every sub-command import these from here, never from each other."""
import sys

from crossverify.errors import CrossverifyError

EXIT_OK, EXIT_FAILED, EXIT_UNCHECKED, EXIT_INTERRUPTED = 0, 1, 4, 130  # README: exit status


def add_fixtures_option(parser):
    parser.add_argument("--fixtures", metavar="DIR", default=None,
                        help="read scenarios from DIR, laid out like the shipped fixtures/ (default: shipped)")


def add_twin_option(parser):
    parser.add_argument("--twin", metavar="PATH", default=None,
                        help="a twin of your own: the folder holding its twin.py (docs/TWINS.md); its scenarios "
                             "are read from PATH/scenarios unless --fixtures says otherwise")


def add_run_options(parser, many=False, variant=True, kernels=True, mode=False, epochs=True, kernels_default=None):
    """The options that say what a run covers, declared once for every command: --fixtures, --twin,
    --scenario and --variant, and (where the command takes them) --kernels, --mode and --epochs.
    ``many``: each repeatable, unset meaning "every one" (run, golden, report); else one, unset
    meaning the first scenario, the twin's reference variant, ``kernels_default`` (how the command
    chooses, said in its help) and the scenario's epochs. Names are checked by the run request
    (bridge/twins/request.py), not here."""
    from crossverify.twins.request import MODES, NAMES, R_ARITHMETIC
    one = {} if many else {"default": None}
    repeat = {"action": "append"} if many else {}
    again = " (repeatable; default: every one)" if many else ""
    add_fixtures_option(parser)
    add_twin_option(parser)
    parser.add_argument("--scenario", metavar="S", **repeat, **one,
                        help=f"only this scenario{again}" if many else
                        "scenario (default: the first of the fixtures folder, or of the twin's scenarios, by name)")
    if variant:
        parser.add_argument("--variant", metavar="V", **repeat, **one,
                            help=f"only this R variant{again}; the twin declares its variants in its twin.py" if many
                            else "R variant (default: the twin's reference variant, the one Python should equal)")
    if kernels:
        parser.add_argument("--kernels", metavar="K", **repeat, **one,
                            help=f"only these Python kernels{again}: {', '.join(NAMES)}" if many else
                            f"Python kernels: {' or '.join(NAMES)} (default: {kernels_default or R_ARITHMETIC}); "
                            f"{R_ARITHMETIC} does R's arithmetic, so any difference is real")
    if mode:
        parser.add_argument("--mode", metavar="M", **repeat, **one,
                            help=f"only this comparison mode{again}: {', '.join(MODES)}" if many else
                            f"comparison mode: {' or '.join(MODES)}; lockstep starts each epoch from R's state")
    if epochs:
        parser.add_argument("--epochs", type=int, default=None, metavar="N",
                            help="run N epochs instead of each scenario's own")


def one_run(args, default_kernels=True):
    """The OneRun (bridge/twins/request.py) of a one-comparison command's options, every name checked
    before R starts. Without --kernels: R's arithmetic, the bit-for-bit kernels, unless
    ``default_kernels`` is False, where the command chooses them (explain's row choice)."""
    from crossverify.twins.request import R_ARITHMETIC, OneRun
    chosen = getattr(args, "kernels", None)
    default = R_ARITHMETIC if default_kernels else None
    return OneRun.build(scenario_from_args(args), getattr(args, "variant", None),
                        default if chosen is None else chosen, getattr(args, "epochs", None),
                        getattr(args, "mode", None))


def run_request(args):
    """The RunRequest (bridge/twins/request.py) of ``run``'s options, every name checked."""
    from crossverify.twins.request import RunRequest
    twin, fixtures = twin_and_fixtures(args)
    return RunRequest.build(args.scenario, args.variant, args.kernels, args.mode, fixtures, twin, args.epochs,
                            args.audit)


def twin_and_fixtures(args):
    """The twin of ``--twin`` (or None) and the fixtures folder its scenarios are read from: --fixtures,
    else the twin's own scenarios/ folder, else (a shipped twin) the shipped fixtures."""
    if not getattr(args, "twin", None):
        return None, args.fixtures
    from crossverify.twins.protocol import load_twin
    from crossverify.twins.scenarios import scenarios_folder
    twin = load_twin(args.twin)
    return twin, scenarios_folder(twin, args.fixtures)


def add_memory_option(parser):
    from crossverify.check.budget import OVERRIDE
    parser.add_argument(OVERRIDE, dest="ignore_memory_estimate", action="store_true",
                        help="run even when the estimate made before the run says it needs more memory than this "
                             "machine has available (by default such a run is refused, naming what fits)")


def scenario_from_args(args):
    """The scenario ``--twin``, ``--fixtures`` and ``--scenario`` name (the first one when none is named)."""
    from crossverify.twins.scenarios import load_scenario

    twin, fixtures = twin_and_fixtures(args)
    name = args.scenario or scenario_names(twin, fixtures)[0]
    return load_scenario(name, fixtures, twin)


def scenario_names(twin, fixtures):
    """The names of ``twin``'s scenarios in ``fixtures`` (every scenario there when ``twin`` is None),
    or an error when there is none."""
    from crossverify.twins.scenarios import scenarios_of

    known = scenarios_of(twin, fixtures)
    if not known:
        raise CrossverifyError(f"no scenario{' of twin ' + twin.name if twin else ''} in "
                               f"{fixtures or 'the shipped fixtures'}. To fix: add one (fixtures/README.md) or "
                               f"give --fixtures a folder that holds one.")
    return known


def progress_printer():
    """The command's status line: tqdm on a terminal, a line every few seconds in a log (bridge/cli/progress.py)."""
    from crossverify.cli.progress import Progress
    return Progress(sys.stderr)
