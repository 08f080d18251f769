"""``crossverify explain``: why a comparison's two sides part, as a causal chain from the first
operation whose rounding (or formula) differs to the numbers the source prints
(bridge/explain/causes.py)."""
import json

from crossverify.cli.options import EXIT_OK, add_run_options


def add_parser(sub):
    from crossverify.explain.causes import AGAINST

    parser = sub.add_parser(
        "explain", help="why Python and R part: origin, operation, growth and consequence",
        description="A causal account of one comparison: the first step whose difference arises rather than "
                    "being inherited (each step recomputed on Python's side from R's own inputs), the smallest set "
                    "of operations whose switch to R's rounding reproduces R's bits there (or: the formula "
                    "differs, with both source lines), how the difference spreads through the epoch and grows "
                    "across epochs, and what that means for the numbers the source prints.")
    add_run_options(parser, mode=True,
                    kernels_default="the first row of `crossverify run` that does not meet its expectation, exact "
                                    "kernels first, and its mode (float free-running when every row meets, which the "
                                    "account says)")
    parser.add_argument("--against", default="python", choices=AGAINST,
                        help="the left side: python (default) or, for a non-reference variant, the Python model of "
                             "that R variant")
    parser.add_argument("--at", action="append", default=[], metavar="EPOCH:STEP",
                        help="also account for this later step (a step number or an intermediate's name), followed "
                             "back to its origin; repeatable (default, free-running: the last state step at the "
                             "horizon)")
    parser.add_argument("--figure", metavar="FILE.png", default=None,
                        help="also write the growth figure (free-running) as a PNG")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("--gallery", metavar="FOLDER", default=None,
                        help="instead of one comparison, explain every twin in FOLDER (each on its first scenario, "
                             "from the row explain chooses) and print the gallery page in Markdown: what each R "
                             "side wrote, the slip explain names and the fix (docs/SLIPS.md is examples/slips)")
    parser.add_argument("--out", metavar="FILE", default=None,
                        help="with --gallery: write the page to FILE (atomically) instead of printing it")
    parser.set_defaults(handler=run)


def run(args, out):
    from crossverify.cli.options import one_run
    from crossverify.errors import CrossverifyError
    from crossverify.explain.causes import explain, parse_site, row_choice
    from crossverify.explain.chain import render_text, to_json
    from crossverify.session.rsession import get_session

    if args.gallery or args.out:
        return run_gallery(args, out)
    if args.figure and not args.figure.endswith(".png"):
        raise CrossverifyError(f"--figure {args.figure}: the figure is written as PNG; give a name ending in .png.")
    request = one_run(args, default_kernels=False)  # explain chooses the row when --kernels is not given
    scenario = request.scenario
    sites = [parse_site(s, scenario.twin) for s in args.at]  # every input checked before R starts
    session = get_session()
    row = row_choice(session, scenario, request.variant, request.kernels, request.mode, request.epochs)
    ex = explain(session, scenario, request.variant, row.kernels, row.mode, request.epochs, sites, args.against)
    ex.row = row
    if args.figure:
        if ex.growth is None:
            raise CrossverifyError("--figure: the growth figure needs a free-running comparison that diverges.")
        from crossverify.explain.growth import growth_figure
        from crossverify.files import write_atomically
        from crossverify.explain.chain import display
        title = f"{ex.scenario}: {display(ex.labels[0])} against {display(ex.labels[1])}"
        write_atomically(args.figure, growth_figure(ex.growth, title),
                         hint="choose another --figure")
    if args.format == "json":
        json.dump(to_json(ex), out, indent=1, default=_plain)
        out.write("\n")
    else:
        out.write(render_text(ex))
    return EXIT_OK


def run_gallery(args, out):
    """``--gallery FOLDER [--out FILE]``: the gallery page."""
    import os

    from crossverify.errors import CrossverifyError
    from crossverify.explain import slip_gallery
    from crossverify.files import write_atomically
    from crossverify.session.rsession import get_session

    if not args.gallery:
        raise CrossverifyError(f"--out {args.out}: --out writes the gallery page; give --gallery FOLDER with it, "
                               f"e.g. --gallery examples/slips.")
    if not os.path.isdir(args.gallery) or not slip_gallery.twin_folders(args.gallery):
        raise CrossverifyError(f"--gallery {args.gallery}: not a folder of twins (each a sub-folder holding "
                               f"twin.py and scenarios/); examples/slips is one.")
    name = os.path.relpath(os.path.abspath(args.gallery)).replace(os.sep, "/")
    page = slip_gallery.markdown(slip_gallery.exhibits(get_session(), args.gallery), name)
    if args.out:
        write_atomically(args.out, page.encode(), hint="choose another --out")
        out.write(f"wrote {args.out}\n")
    else:
        out.write(page)
    return EXIT_OK


def _plain(value):
    """numpy scalars and tuples in the JSON (json's default hook)."""
    import numpy as np
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
