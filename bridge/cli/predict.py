"""``crossverify predict``: new rows scored by the trained twin in Python and in R, compared bit for
bit (bridge/explain/predict.py).

Exit status: 0 when the result is as expected (the reference variant with exact kernels agrees
bit for bit; other variants and float kernels are reported), 1 when the reference variant with
exact kernels does not agree, 2 for bad input, 3 when R cannot be started.
"""
import json

from crossverify.cli.options import EXIT_FAILED, EXIT_OK, add_run_options, one_run


def add_parser(sub):
    parser = sub.add_parser(
        "predict", help="score new rows with the trained network in Python and in R, and compare",
        description="Train both sides on a scenario (or take the final state of a trace), score the rows of "
                    "--input through the twin's declared predict functions in both languages, and say whether "
                    "they agree bit for bit (else how many ULPs apart). Where R's variant cannot score the rows, "
                    "R's own error is shown and explained.")
    add_run_options(parser)
    parser.add_argument("--input", required=True, metavar="FILE", help="the new rows: .csv or .npy, one sample per row")
    parser.add_argument("--trace", default=None, metavar="TRACE",
                        help="take the trained state from this trace (a trace folder or .npz) instead of training")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.set_defaults(handler=run)


def run(args, out):
    from crossverify.explain.predict import predict, read_rows, render
    request = one_run(args)  # --scenario, else the twin's first; every name checked
    scenario = request.scenario
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
    result = predict(get_session(), scenario, rows, request.variant, request.kernels, trace, request.epochs)
    if args.format == "json":
        json.dump({"input": args.input, **result.to_dict()}, out, indent=2)
        out.write("\n")
    else:
        out.write(render(result))
    return EXIT_OK if result.ok else EXIT_FAILED
