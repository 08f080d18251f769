"""``crossverify compare A B``: two traces from anywhere, compared element by element
(bridge/check/compare.py; the trace format is docs/TRACES.md).

Exit status: 0 when the traces are identical or within the stated tolerance, 1 when they are
not, 2 for bad input (a trace that cannot be read, a tolerance that is not one).
"""
import json

from crossverify.cli.options import EXIT_FAILED, EXIT_OK


def add_parser(sub):
    parser = sub.add_parser(
        "compare", help="compare two trace files (Python's, R's, anyone's) element by element",
        description="Compare two traces, each a trace folder (crossverify-trace/1: index.json and little-endian "
                    "float64 .bin files, written by `crossverify trace --format folder` or by write_trace() in R, "
                    "docs/TRACES.md) or a .npz of `crossverify trace`: identical, or within the tolerance given; the "
                    "first divergence (epoch, step, intermediate, element) and statistics per intermediate.")
    parser.add_argument("a", metavar="A", help="the first trace")
    parser.add_argument("b", metavar="B", help="the second trace")
    parser.add_argument("--tolerance", default=None, metavar="T",
                        help="identical (default), a number of ULPs such as 4ulp, or a relative tolerance such as "
                             "1e-12rel")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.set_defaults(handler=run)


def run(args, out):
    from crossverify.check import traceio
    from crossverify.check.compare import compare, parse_tolerance, render

    tolerance = parse_tolerance(args.tolerance)
    a, b = traceio.read(args.a), traceio.read(args.b)
    result = compare(a, b, tolerance, labels=("A", "B"))
    metas = [{"label": t.label(), "twin": t.meta.get("twin"), "scenario": t.meta.get("scenario")} for t in (a, b)]
    if args.format == "json":
        json.dump({"a": {"path": args.a, **metas[0]}, "b": {"path": args.b, **metas[1]}, **result.to_dict()}, out,
                  indent=2)
        out.write("\n")
    else:
        out.write(render(result, (args.a, args.b), metas))
    return EXIT_OK if result.within else EXIT_FAILED
