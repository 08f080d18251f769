"""``crossverify predict``: new rows scored by the trained twin in Python and in R, compared bit for
bit (bridge/explain/predict.py).

Exit status: 0 when the result is as expected (the reference variant with exact kernels agrees
bit for bit; other variants and float kernels are reported), 1 when the reference variant with
exact kernels does not agree, 2 for bad input, 3 when R cannot be started.
"""
import json

from crossverify.cli.options import check_epochs, scenario_from_args, EXIT_FAILED, EXIT_OK, add_fixtures_option


def add_parser(sub):
    parser = sub.add_parser(
        "predict", help="score new rows with the trained network in Python and in R, and compare",
        description="Train both sides on a scenario (or take the final state of a trace), score the rows of "
                    "--input through the twin's declared predict functions in both languages, and say whether "
                    "they agree bit for bit (else how many ULPs apart). Where R's variant cannot score the rows, "
                    "R's own error is shown and explained.")
    parser.add_argument("--scenario", default=None, metavar="S",
                        help="the scenario to train on (default: the first scenario of the fixtures folder, by name)")
    add_fixtures_option(parser)
    parser.add_argument("--twin", default=None, metavar="T",
                        help="a twin of your own (folder of its twin.py); its scenarios are read from T/scenarios "
                             "unless --fixtures says otherwise")
    parser.add_argument("--input", required=True, metavar="FILE", help="the new rows: .csv or .npy, one sample per row")
    parser.add_argument("--trace", default=None, metavar="TRACE",
                        help="take the trained state from this trace (a trace folder or .npz) instead of training")
    parser.add_argument("--kernels", default="exact", help="Python kernels: exact (default) or float")
    parser.add_argument("--variant", default=None, help="R variant (default: the twin's reference)")
    parser.add_argument("--epochs", type=int, default=None, metavar="N",
                        help="train N epochs instead of the scenario's own")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.set_defaults(handler=run)


def run(args, out):
    from crossverify.check import verify
    from crossverify.twins.request import Kernels
    from crossverify.explain.predict import predict, read_rows, render
    scenario = scenario_from_args(args)  # --scenario, else the twin's first
    Kernels(args.kernels)
    if args.variant is not None:
        verify.check_name("variant", args.variant, tuple(scenario.twin.variants))
    check_epochs(args)
    rows = read_rows(args.input)
    trace = None
    if args.trace:
        from crossverify.check import traceio
        trace = traceio.read(args.trace)
    from crossverify.explain.predict import input_names, orient_rows
    from crossverify.twins.runner import network_for
    net = network_for(scenario)
    field = input_names(scenario.twin)
    orient_rows(scenario.twin, field, rows, net.data[field])  # bad rows are refused before R starts
    from crossverify.session.rsession import get_session
    result = predict(get_session(), scenario, rows, args.variant, args.kernels, trace, args.epochs)
    if args.format == "json":
        json.dump({"input": args.input, **result.to_dict()}, out, indent=2)
        out.write("\n")
    else:
        out.write(render(result))
    return EXIT_OK if result.ok else EXIT_FAILED
