"""Questions a twin declares about its algorithm (a twin's ``questions``: the readers' questions of the
article's comment section for the bias network), each answered by computation in both languages, and
the renderings of `crossverify questions` (plain text, markdown for docs/QUESTIONS.md, one HTML page,
JSON). Nothing here knows a twin: the questions, the lab that answers them and the page's words come
from the declaration.

An answer (bridge/explain/answer.py) holds numbers computed by Python (python_impl, exact kernels:
numpy with R's arithmetic) and by R (the embedded session running r_impl), the source lines involved
(read from their ``# rosetta:`` markers), a one-line conclusion and the claims that conclusion rests
on; tests/test_questions.py recomputes every answer and fails when a claim stops holding.
"""
import functools
import html
import importlib
import json
import textwrap
from dataclasses import dataclass

import numpy as np

from crossverify.errors import CrossverifyError
from crossverify.explain import style
from crossverify.explain.answer import fmt


@dataclass(frozen=True)
class Question:
    number: int
    key: str
    asked: str  # the question in our own short words
    about: str  # the part of the source it is about
    compute: str  # "module:function" in the question set's package, called with (lab, question)


@dataclass(frozen=True)
class QuestionSet:
    """What a twin's ``questions`` hook returns."""

    questions: tuple
    lab: object  # callable(session) -> the runs the answers share
    package: str  # the module the questions' ``compute`` names are found in
    title: str
    intro: str


@functools.lru_cache(maxsize=None)
def catalogue():
    """The question set of the first shipped twin that declares one."""
    from crossverify.twins.protocol import load_twin, shipped_twins
    for twin in map(load_twin, shipped_twins()):
        if twin.questions is not None:
            return twin.resolve(twin.questions, "questions")()
    raise CrossverifyError("no shipped twin declares questions: give a twin's declaration "
                           "questions='module:function' returning a QuestionSet.")


def __getattr__(name):
    # QUESTIONS, TITLE and INTRO read as module attributes, from the declaring twin
    fields = {"QUESTIONS": "questions", "TITLE": "title", "INTRO": "intro"}
    if name in fields:
        return getattr(catalogue(), fields[name])
    raise AttributeError(name)


def question(number):
    """The question numbered ``number``, or an error listing the numbers there are."""
    qs = catalogue().questions
    for q in qs:
        if q.number == number or q.key == str(number):
            return q
    raise CrossverifyError(f"no question {number}: the questions are numbered 1 to {len(qs)} "
                           f"(`crossverify questions` lists them).")


def answer(q, lab):
    """Compute the answer to question ``q`` with ``lab`` (the question set's lab)."""
    module, _, function = q.compute.partition(":")
    fn = getattr(importlib.import_module(f"{catalogue().package}.{module}"), function)
    with np.errstate(all="ignore"):  # some readers' variants overflow on purpose (question 3)
        return fn(lab, q)


def answers(session, numbers=None):
    """The answers to the questions ``numbers`` (default: all), sharing one lab's runs."""
    lab = catalogue().lab(session)
    return [answer(question(n) if not isinstance(n, Question) else n, lab)
            for n in (numbers or [q.number for q in catalogue().questions])]


# -- text ------------------------------------------------------------------------------------------

def list_text():
    width = len(str(len(catalogue().questions)))
    return "".join(f"{q.number:>{width}}. {q.asked}\n" for q in catalogue().questions) + (
        "\n`crossverify questions N` answers question N, computed in Python and in R.\n")


def _same(figure):
    return {True: "same bits", False: "differ", None: ""}[figure.same_bits]


def answer_text(a):
    q = question(a.number)
    out = [f"Question {a.number}: {a.question}", f"(article: {q.about})", ""]
    out += [textwrap.fill(p, 100) + "\n" for p in a.reply]
    out.append("Computed:")
    for f in a.figures:
        out += [f"  {f.label}", f"    Python: {fmt(f.python)}", f"    R:      {fmt(f.r)}" +
                (f"   ({_same(f)})" if f.same_bits is not None else "")]
    out += ["", "Code:"] + [f"  {c.language:<6} {c.path}:{c.line}: {c.text}" for c in a.code]
    out += ["", textwrap.fill(f"Conclusion: {a.conclusion}", 100), "", "Checked:"]
    out += [f"  [{'ok' if ok else 'FAILED'}] {text}" for text, ok in a.claims]
    return "\n".join(out) + "\n"


# -- markdown --------------------------------------------------------------------------------------

def _md(text):
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _anchor(a):
    return f"{a.number}-{a.key}"


def answer_markdown(a):
    q = question(a.number)
    out = [f'<a id="{_anchor(a)}"></a>', f"## {a.number}. {a.question}", "", f"*Article: {q.about}.*", ""]
    for p in a.reply:
        out += [p, ""]
    out += ["| computed | Python | R | |", "| --- | --- | --- | --- |"]
    for f in a.figures:
        out.append(f"| {f.label} | {_md(fmt(f.python))} | {_md(fmt(f.r))} | {_same(f)} |")
    out += ["", "Code involved:", ""]
    # no line numbers: the page must not go stale whenever a line moves
    out += [f"* {c.language}, `{c.path}`" + (f" ({c.function})" if c.function else "") + f": {_md(c.text)}"
            for c in a.code]
    out += ["", f"**Conclusion:** {a.conclusion}", "",
            "Checked: " + "; ".join(text + ("" if ok else " (**FAILED**)") for text, ok in a.claims) + "."]
    return "\n".join(out) + "\n"


def render_markdown(all_answers):
    out = [f"# {catalogue().title}", "", catalogue().intro, ""]
    out += [f"{a.number}. [{a.question}](#{_anchor(a)})" for a in all_answers]
    out.append("")
    for a in all_answers:
        out += [answer_markdown(a)]
    return "\n".join(out).rstrip("\n") + "\n"


# -- HTML ------------------------------------------------------------------------------------------
# the markdown page's words, laid out by the stylesheet the other pages share (bridge/explain/style.py)

def _html_value(value):
    """A figure's value as code: a message wraps; numbers keep to one line, a matrix one row a line."""
    if isinstance(value, str):
        return style.code(value)
    a = np.asarray(value)
    rows = a if a.ndim == 2 and a.shape[0] > 1 and a.dtype != bool else [value]
    return "<br>".join(style.code(fmt(row), "nowrap") for row in rows)


def _figures_html(a):
    rows = ['<table class="figures"><tr><th>computed</th><th>Python</th><th>R</th><th></th></tr>']
    rows += [f"<tr><td>{html.escape(f.label)}</td><td>{_html_value(f.python)}</td><td>{_html_value(f.r)}</td>"
             f'<td class="nowrap">{_same(f)}</td></tr>' for f in a.figures]
    return style.scrolling("\n".join(rows + ["</table>"]))


def answer_html(a):
    q = question(a.number)
    out = [f'<section id="{_anchor(a)}">', f"<h2>{a.number}. {html.escape(a.question)}</h2>",
           f"<p><i>Article: {html.escape(q.about)}.</i></p>"]
    out += [f"<p>{style.inline(p)}</p>" for p in a.reply]
    out += [_figures_html(a), "<p>Code involved:</p>", "<ul>"]
    out += [f"<li>{c.language}, {style.code(c.path)}" + (f" ({html.escape(c.function)})" if c.function else "")
            + f": {style.code(c.text)}</li>" for c in a.code]
    checked = "; ".join(html.escape(text) + ("" if ok else ' (<b class="bad">FAILED</b>)') for text, ok in a.claims)
    out += ["</ul>", f"<p><b>Conclusion:</b> {style.inline(a.conclusion)}</p>", f"<p>Checked: {checked}.</p>",
            "</section>"]
    return "\n".join(out)


def render_html(all_answers):
    """The markdown page's content as one self-contained HTML page."""
    out = style.head(catalogue().title) + [f"<h1>{html.escape(catalogue().title)}</h1>", f"<p>{style.inline(catalogue().intro)}</p>", "<ol>"]
    out += [f'<li value="{a.number}"><a href="#{_anchor(a)}">{html.escape(a.question)}</a></li>' for a in all_answers]
    out.append("</ol>")
    out += [answer_html(a) for a in all_answers]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# -- JSON ------------------------------------------------------------------------------------------

def _plain(value):
    if isinstance(value, str):
        return value
    a = np.asarray(value, dtype=np.float64)
    return a.tolist() if np.isfinite(a).all() else [str(v) for v in a.ravel()]


def to_json(all_answers):
    return json.dumps([{
        "number": a.number, "key": a.key, "question": a.question, "about": question(a.number).about,
        "reply": a.reply,
        "figures": [{"label": f.label, "python": _plain(f.python), "r": _plain(f.r),
                     "same_bits": None if f.same_bits is None else bool(f.same_bits)}  # numpy's bool is not JSON's
                    for f in a.figures],
        "code": [{"language": c.language, "path": c.path, "line": c.line, "text": c.text} for c in a.code],
        "conclusion": a.conclusion, "claims": [{"claim": t, "holds": bool(ok)} for t, ok in a.claims],
        "holds": a.holds,
    } for a in all_answers], indent=2) + "\n"
