"""``crossverify rosetta``: a twin's side-by-side translation table, Python line by R line, extracted
from its source files, with prediction on new data and the translation pitfalls it declares
(bridge/explain/rosetta.py)."""
import sys

from crossverify.cli.options import EXIT_FAILED, EXIT_OK, add_fixtures_option, add_twin_option


def add_parser(sub):
    parser = sub.add_parser(
        "rosetta", help="the translation table: each step's formula, Python line and R line",
        description="Each step's formula beside the Python line and the R line that compute it, extracted from "
                    "each twin's source files by their '# rosetta: <key> <step>' marker comments; then R scoring "
                    "new data, and the pitfalls of translating numpy into R the twins declare, each with the test "
                    "that demonstrates it. Exit 1 when a step lacks its Python or its R line.")
    add_fixtures_option(parser)
    add_twin_option(parser)  # default: every shipped twin
    parser.add_argument("--format", choices=("markdown", "html"), default="markdown",
                        help="output format (default: markdown)")
    parser.add_argument("--out", metavar="FILE", default=None, help="write to FILE instead of standard output")
    parser.set_defaults(handler=run)


def run(args, out):
    from crossverify.explain.rosetta import build, prediction_demo, render_html, render_markdown
    from crossverify.files import write_atomically
    from crossverify.session.rsession import get_session

    twins = None
    if args.twin:
        from crossverify.twins.protocol import load_twin
        twins = [load_twin(args.twin)]
    rosetta = build(twins)
    demos = prediction_demo(get_session(), rosetta.twins, args.fixtures)
    text = (render_html if args.format == "html" else render_markdown)(rosetta, demos)
    if args.out:
        write_atomically(args.out, text)
        out.write(f"wrote {args.out}: {sum(len(s.rows) for s in rosetta.sections)} rows, {args.format}\n")
    else:
        out.write(text)
    for problem in rosetta.problems:
        print(f"crossverify: rosetta: {problem}", file=sys.stderr)
    return EXIT_FAILED if rosetta.problems else EXIT_OK
