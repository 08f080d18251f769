"""The readers' questions of the article's comment section, each answered by computation in both
languages: the registry (``QUESTIONS``: the question in our own short words, the part of the article
it is about, the function that computes its answer) and the renderings of `crossverify questions`
(plain text, markdown for docs/QUESTIONS.md, one HTML page, JSON).

An answer (bridge/explain/questions_lab/answer.py) holds numbers computed by Python (python_impl,
exact kernels: numpy with R's arithmetic) and by R (the embedded session running r_impl), the source
lines involved (read from their ``# rosetta:`` markers), a one-line conclusion and the claims that
conclusion rests on; tests/test_questions.py recomputes every answer and fails when a claim stops
holding.
"""
import html
import importlib
import json
import textwrap
from dataclasses import dataclass

import numpy as np

from crossverify.errors import CrossverifyError
from crossverify.explain import style
from crossverify.explain.questions_lab.answer import fmt


@dataclass(frozen=True)
class Question:
    number: int
    key: str
    asked: str  # the question in our own short words
    about: str  # the part of the article it is about
    compute: str  # "module:function" in crossverify.explain.questions_lab, called with (lab, question)


QUESTIONS = (
    Question(1, "nine-biases", "The spreadsheet shows three hidden biases; why does the R script's bh hold nine "
             "numbers, and are they per neuron or per sample?",
             '"Implementing NN using R", the bias initialisation', "bias:answer_nine_biases"),
    Question(2, "step-8-shapes", "How does step 8 turn a 3x1 and a 1x3 into a 3x3, and when is it %*% (.dot) "
             "rather than *, and when must a matrix be transposed?",
             "step 8, Error_at_hidden_layer = d_output . wout^T", "shapes:answer_step8"),
    Question(3, "sigmoid-slope", "Should the sigmoid's slope be taken of output or of output_layer_input, and why "
             "is x * (1 - x) right when the derivative is sigma(u)(1 - sigma(u))?",
             "step 6, slope_output_layer = derivatives_sigmoid(output)", "sigmoid:answer_slope"),
    Question(4, "lr-twice", "What does the *lr in the spreadsheet's step 7 do if it is kept?",
             "spreadsheet step 7, d_output = E * slope_output_layer * lr", "rates:answer_lr_twice"),
    Question(5, "colsums", "Should the R script update the biases with colSums instead of rowSums, and does that "
             "change alone repair it?", '"Implementing NN using R", the bias update', "bias:answer_colsums"),
    Question(6, "lr-per-sample", "Should the learning rate be divided by the number of samples, since the "
             "gradient sums over them?", "step 10, X.T . d_hiddenlayer sums over the samples",
             "rates:answer_lr_per_sample"),
    Question(7, "hundred-hidden", "Why does the network answer [1, 1, 1] with 100 hidden neurons, and what "
             "initialisation avoids it?", "step 1, weights drawn uniformly in [0, 1)", "initialisation:answer_hundred"),
    Question(8, "predict", "How is the trained network used to predict new data?",
             "steps 2-4, the forward pass", "predict:answer_predict"),
    Question(9, "dz1-dw", "Why is the derivative of the hidden linear transform with respect to its weights X, "
             "and not the weights?", "detail section, hiddenLayer_linearTransform_wrt_weights_input_hidden = X",
             "shapes:answer_dz1_dw"),
    Question(10, "other-shape", "How can a data set of another shape (75 rows, 6 columns) be fed to the network "
             "without the shape error a reader hit at step 8?", '"Implementing NN using Numpy (Python)" on '
             "other data", "shapes:answer_other_shape"),
    Question(11, "sgd", "Should the network see the whole data set at once (full batch) or one sample at a time "
             "(stochastic gradient descent)?", '"Full Batch" versus "SGD", and the vectorised scripts',
             "sgd:answer_sgd"),
)


def question(number):
    """The question numbered ``number``, or an error listing the numbers there are."""
    for q in QUESTIONS:
        if q.number == number or q.key == str(number):
            return q
    raise CrossverifyError(f"no question {number}: the questions are numbered 1 to {len(QUESTIONS)} "
                           f"(`crossverify questions` lists them).")


def answer(q, lab):
    """Compute the answer to question ``q`` with ``lab`` (a questions_lab.lab.Lab)."""
    module, _, function = q.compute.partition(":")
    fn = getattr(importlib.import_module(f"crossverify.explain.questions_lab.{module}"), function)
    with np.errstate(all="ignore"):  # some readers' variants overflow on purpose (question 3)
        return fn(lab, q)


def answers(session, numbers=None):
    """The answers to the questions ``numbers`` (default: all), sharing one Lab's runs."""
    from crossverify.explain.questions_lab.lab import Lab
    lab = Lab(session)
    return [answer(question(n) if not isinstance(n, Question) else n, lab)
            for n in (numbers or [q.number for q in QUESTIONS])]


# -- text ------------------------------------------------------------------------------------------

def list_text():
    width = len(str(len(QUESTIONS)))
    return "".join(f"{q.number:>{width}}. {q.asked}\n" for q in QUESTIONS) + (
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

TITLE = "The readers' questions, answered by computation"
INTRO = ("The article's comment section asks questions the article leaves open. Each is restated here in our own "
         "words and answered by running both languages: Python is `python_impl` with the exact kernels (numpy "
         "with R's arithmetic, so the two can be compared bit for bit), R is the package `r_impl` in the embedded "
         "session. The code lines are read from the source by their `# rosetta:` markers; the readers' own "
         "experiments live in `bridge/explain/questions_lab/altered.py` and `r_impl/R/questions.R`. "
         "`crossverify questions --markdown --out docs/QUESTIONS.md` regenerates this page, and "
         "`tests/test_questions.py` recomputes every answer and fails when a conclusion stops holding.")


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
    out = [f"# {TITLE}", "", INTRO, ""]
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
    out = style.head(TITLE) + [f"<h1>{html.escape(TITLE)}</h1>", f"<p>{style.inline(INTRO)}</p>", "<ol>"]
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
