"""``crossverify questions``: the readers' questions of the article's comment section, listed, or one
answered by computation in Python and in R; all of them rendered as docs/QUESTIONS.md
or as one HTML page (bridge/explain/questions.py)."""
import sys

from crossverify.cli.options import EXIT_FAILED, EXIT_OK

FORMATS = ("text", "markdown", "html", "json")


def add_parser(sub):
    parser = sub.add_parser(
        "questions", help="the readers' questions, answered by computation in both languages",
        description="With no number, list the readers' questions. With a number, answer that question: numbers "
                    "computed by Python and by R, the source lines involved and a one-line conclusion, with the "
                    "claims it rests on checked. --markdown, --html (or --format json) without a number answer "
                    "all of them; `crossverify questions --markdown --out docs/QUESTIONS.md` writes the page, "
                    "`crossverify questions --html --out questions.html` the same as one HTML page that reads "
                    "on a phone as on a laptop. Exit 1 when a claim does not hold.")
    parser.add_argument("number", nargs="?", type=int, default=None, metavar="N",
                        help="the question to answer (see the list)")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="text (default for one answer), markdown, html or json")
    parser.add_argument("--markdown", dest="format", action="store_const", const="markdown",
                        help="the same as --format markdown")
    parser.add_argument("--html", dest="format", action="store_const", const="html",
                        help="the same as --format html: one self-contained page")
    parser.add_argument("--out", metavar="FILE", default=None, help="write to FILE instead of standard output")
    parser.set_defaults(handler=run)


def run(args, out):
    from crossverify.explain import questions as q
    from crossverify.files import write_atomically

    if args.number is None and args.format in (None, "text"):
        text, ok = q.list_text(), True
    else:
        if args.number is not None:
            q.question(args.number)  # an unknown number is refused before R starts
        if args.out:
            from crossverify.cli.failures import check_output
            check_output(args.out)  # an output that cannot be written is refused before the work
        from crossverify.session.rsession import get_session
        answers = _answers(get_session(), None if args.number is None else [args.number])
        fmt = args.format or "text"
        if fmt == "json":
            text = q.to_json(answers)
        elif fmt == "html":
            text = q.render_html(answers)
        elif fmt == "markdown":
            text = q.render_markdown(answers) if args.number is None else q.answer_markdown(answers[0])
        else:
            text = q.answer_text(answers[0])
        ok = all(a.holds for a in answers)
        for a in answers:
            for claim in a.failed:
                print(f"crossverify: questions: question {a.number}: no longer holds: {claim}", file=sys.stderr)
    if args.out:
        write_atomically(args.out, text)
        out.write(f"wrote {args.out}\n")
    else:
        out.write(text)
    return EXIT_OK if ok else EXIT_FAILED


def _answers(session, numbers):
    """questions.answers, one status line per question (bridge/cli/progress.py)."""
    from crossverify.cli.options import progress_printer
    from crossverify.explain import questions as q
    lab = q.catalogue().lab(session)
    numbers = numbers or [question.number for question in q.QUESTIONS]
    out = []
    with progress_printer() as progress:
        for k, n in enumerate(numbers):
            progress(f"question {n} ({k + 1} of {len(numbers)})")
            out.append(q.answer(q.question(n), lab))
    return out
