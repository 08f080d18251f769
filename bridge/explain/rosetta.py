"""The translation table of the article's two scripts, "Implementing NN using Numpy (Python)" and
"Implementing NN using R", and of the detail section's network ("Understanding the implementation
of Neural Networks from scratch in detail"): each step's formula beside the Python line and the R
line that compute it, extracted from the real source files, then the pitfalls this project hit
translating one into the other, each with the test that demonstrates it.

A line is found by its trailing marker comment, ``# rosetta: <network> <key>`` (key: the step
number, or ``sigmoid``, ``normalise``, ``predict``), the same in both languages; an R line that
only the article's script runs adds a tag: ``# rosetta: bias-net 11 article``.
"""
import ast
import html
import io
import os
import re
import tokenize
from dataclasses import dataclass, field

from bridge.errors import CrossverifyError
from bridge.explain.steps import step_table

from bridge.paths import PROJECT_ROOT as ROOT
MARKER = re.compile(r"#\s*rosetta:\s*(?P<net>[\w-]+)\s+(?P<key>\w+)(?:\s+(?P<tag>\w+))?\s*$")

NETWORKS = {
    # network key in the markers: (network in bridge/explain/steps.py, Python file, R file, heading)
    "bias-net": ("bias_net", "python_impl/bias_net.py", "r_impl/R/bias_net.R",
                 'bias-net: "Steps involved in Neural Network methodology" (steps 2-11)'),
    "detail": ("detail", "python_impl/detail.py", "r_impl/R/detail.R",
               'detail-toy and detail-moons: "Understanding the implementation of Neural Networks from scratch '
               'in detail" (steps 1-16)'),
}
HELPERS = {
    # helper key: (where it goes: before or after the steps, formula)
    "sigmoid": ("before", "sigmoid(x) = 1 / (1 + exp(-x))"),
    "normalise": ("before", "X = (X - min X) / max(X - min X), then one sample per column"),
    "predict": ("after", "the forward pass alone, on new data, with the trained weights"),
}
TAGS = {"article": "the article's script"}


@dataclass
class Snippet:
    """One marked statement: where it is and its code (comments removed), line by line."""

    network: str
    key: str
    tag: str
    path: str  # relative to the project root
    line: int  # 1-based, the marked line
    function: str
    code: list  # the statement's physical lines, comments removed, indentation kept
    target: str = None  # the name it assigns, if it assigns one

    @property
    def text(self):
        """The statement on one line."""
        joined = " ".join(part.strip() for part in self.code)
        return re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", joined))

    @property
    def language(self):
        return "python" if self.path.endswith(".py") else "r"


# -- reading the markers ------------------------------------------------------------------------

def _python_comment_columns(source):
    """{line: column where its comment starts} for every Python line with a comment."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.start[1]
    return out


def _r_code_part(line):
    """``line`` without its comment: the first # outside a string or backquoted name."""
    quote = None
    k = 0
    while k < len(line):
        c = line[k]
        if quote:
            if c == "\\":
                k += 1
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c == "#":
            return line[:k].rstrip()
        k += 1
    return line.rstrip()


R_CONTINUES = re.compile(r"(%[^%]*%|[-+*/^,&|<>=(!~]|<-)\s*$")


def _r_statement(lines, start):
    """Indices of the physical lines of the R statement that begins on ``lines[start]``."""
    depth = 0
    k = start
    while True:
        code = _r_code_part(lines[k])
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        if (depth <= 0 and not R_CONTINUES.search(code)) or k + 1 >= len(lines):
            return list(range(start, k + 1))
        k += 1


def _python_functions(tree):
    """(first line, last line, name) of every function, innermost last when sorted by start."""
    return sorted((n.lineno, n.end_lineno, n.name) for n in ast.walk(tree)
                  if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _python_statements(tree):
    return {n.lineno: n.end_lineno for n in ast.walk(tree) if isinstance(n, ast.stmt)}


def read_snippets(path, root=ROOT):
    """Every marked statement of one source file."""
    full = os.path.join(root, path)
    with open(full, encoding="utf-8") as fh:
        source = fh.read()
    lines = source.split("\n")
    out = []
    if path.endswith(".py"):
        tree = ast.parse(source)
        comments = _python_comment_columns(source)
        statements = _python_statements(tree)
        functions = _python_functions(tree)
    for k, line in enumerate(lines):
        m = MARKER.search(line)
        if not m:
            continue
        number = k + 1
        if path.endswith(".py"):
            end = statements.get(number)
            if end is None:
                raise CrossverifyError(f"{path}:{number}: the rosetta marker is not on the first line of a statement.")
            code = [lines[i - 1][:comments.get(i, len(lines[i - 1]))].rstrip() for i in range(number, end + 1)]
            inside = [name for first, last, name in functions if first <= number <= last]
            function = inside[-1] if inside else ""
            target = re.match(r"\s*(\w+)\s*=[^=]", code[0])
        else:
            code = [_r_code_part(lines[i]) for i in _r_statement(lines, k)]
            heads = [re.match(r"^([\w.]+)\s*<-\s*function\b", lines[i]) for i in range(k, -1, -1)]
            function = next((h.group(1) for h in heads if h), "")
            target = re.match(r"\s*(\w+)\s*<-", code[0])
        out.append(Snippet(m.group("net"), m.group("key"), m.group("tag") or "", path, number, function, code,
                           target.group(1) if target else None))
    return out


# -- the table ----------------------------------------------------------------------------------

@dataclass
class Row:
    network: str
    key: str  # step number as text, or a helper's name
    label: str  # what the step column shows
    name: str  # the intermediate, or "" for a helper
    formula: str
    python: list = field(default_factory=list)
    r: list = field(default_factory=list)
    r_alternatives: list = field(default_factory=list)  # (tag, Snippet)


@dataclass
class Rosetta:
    sections: list  # (network key, heading, python path, r path, [Row])
    problems: list  # what is missing or unmatched: every one fails the rosetta test


def _pick(snippets, name, alone):
    """The snippets that compute ``name``: by the name they assign, or all when the step has one name."""
    named = [s for s in snippets if s.target == name]
    return named or (list(snippets) if alone else [])


def build(root=ROOT):
    """The translation table from the markers in the source files, and any gaps in it."""
    sections, problems = [], []
    for net_key, (network, py_path, r_path, heading) in NETWORKS.items():
        py = [s for s in read_snippets(py_path, root) if s.network == net_key]
        r = [s for s in read_snippets(r_path, root) if s.network == net_key]
        used = set()
        rows = []
        helpers = sorted({s.key for s in py + r if not s.key.isdigit()}, key=lambda k: list(HELPERS).index(k)
                         if k in HELPERS else len(HELPERS))
        for key in helpers:
            if key not in HELPERS:
                problems.append(f"{net_key}: marker key {key!r} is neither a step number nor one of {', '.join(HELPERS)}")
        before = [k for k in helpers if HELPERS.get(k, ("after",))[0] == "before"]
        after = [k for k in helpers if k in HELPERS and HELPERS[k][0] == "after"]

        def helper_row(key):
            p = [s for s in py if s.key == key]
            q = [s for s in r if s.key == key and not s.tag]
            used.update(id(s) for s in p + q)
            return Row(net_key, key, key, "", HELPERS[key][1], p, q)

        rows += [helper_row(k) for k in before]
        for number, _, items in step_table(network):
            if number < (2 if network == "bias_net" else 1):
                continue  # the inputs and the drawn weights: read from the fixture, no line computes them
            sp = [s for s in py if s.key == str(number)]
            sr = [s for s in r if s.key == str(number) and not s.tag]
            alternatives = [s for s in r if s.key == str(number) and s.tag]
            for name, formula in items:
                alone = len(items) == 1
                row = Row(net_key, str(number), str(number), name, formula, _pick(sp, name, alone),
                          _pick(sr, name, alone), [(s.tag, s) for s in _pick(alternatives, name, alone)])
                used.update(id(s) for s in row.python + row.r + [s for _, s in row.r_alternatives])
                for side, snippets, path in (("Python", row.python, py_path), ("R", row.r, r_path)):
                    if not snippets:
                        problems.append(f"{net_key} step {number} ({name}): no {side} line is marked "
                                        f"'# rosetta: {net_key} {number}' in {path}")
                rows.append(row)
        rows += [helper_row(k) for k in after]
        for s in py + r:
            if id(s) not in used and (s.key.isdigit() or s.key in HELPERS):
                problems.append(f"{s.path}:{s.line}: '# rosetta: {s.network} {s.key}' matches no intermediate "
                                f"of that step")
        for row in rows:
            if not row.name and (not row.python or not row.r):
                problems.append(f"{net_key} {row.key}: marked in {'Python' if row.python else 'R'} only")
        sections.append((net_key, heading, py_path, r_path, rows))
    return Rosetta(sections, problems)


# -- the pitfalls -------------------------------------------------------------------------------

PITFALLS = (
    ("`%*%` versus `*` and `np.dot`",
     "R's `*` multiplies element by element, as numpy's `*` does, and the matrix product is `%*%` in R where "
     "numpy writes `np.dot` (or `@`): `X %*% wh` translates `np.dot(X, wh)`, while `E * slope_output_layer` "
     "stays `*`.",
     "tests/test_rosetta.py::test_r_star_is_elementwise_like_numpy_star_and_percent_star_percent_is_np_dot"),
    ("`t()` versus `.T`",
     "numpy's transpose is the attribute `.T`, R's the function `t()`; drop it from step 10 and R still "
     "multiplies without complaint, because the bias network's activations are 3x3, but computes another "
     "matrix.",
     "tests/test_rosetta.py::test_t_is_dot_T_and_dropping_it_from_step_10_still_conforms_but_changes_wout"),
    ("`matrix(..., byrow=)` fill order",
     "R's `matrix(v, nrow = n)` fills column by column unless `byrow = TRUE`, where numpy's `reshape` fills row "
     "by row, so the article's `matrix(rep(bias_in, 3), nrow = 3, byrow = FALSE)` puts `bias_in[i]` all along "
     "row i.",
     "tests/test_rosetta.py::test_matrix_fills_by_column_unless_byrow_as_the_model_of_r_predicts"),
    ("R recycling versus numpy broadcasting (the bias matrices)",
     "numpy broadcasts the 1x3 bias row over the samples (one bias per neuron), while the article's R builds "
     "one bias per sample and recycles `rowSums` down the columns, so the two scripts part at epoch 0, step 2, "
     "exactly where the model of R's recycling says.",
     "tests/test_bias_net.py::test_article_layouts_part_at_epoch0_step2_with_the_predicted_values"),
    ("`rowSums`/`colSums` versus `sum(axis=)` orientation",
     "`colSums(d)` is `d.sum(axis=0)`, one sum per column (per neuron), and `rowSums(d)` is `d.sum(axis=1)`, one "
     "per row (per sample); the article's prose calls its Python's `axis=0` sum \"row-wise\".",
     "tests/test_kernels.py::test_exact_sums_are_r_colsums_and_rowsums"),
    ("the rpy2 row/column-major conversion",
     "numpy lays a matrix out row by row and R column by column, so a numpy array sent as "
     "`FloatVector(a.ravel())` with a `dim` arrives transposed-filled; the bridge sends `a.ravel(order=\"F\")` "
     "and reads back with `order=\"F\"` (bridge/session/rsession.py).",
     "tests/test_rosetta.py::test_rpy2_conversion_keeps_indices_only_when_it_sends_column_major"),
    ("R's decimal parser versus Python's",
     "R 4.2.2 reads the decimal `37319.23331802752` as `0x1.238e777575e38p+15`, one ulp below Python's "
     "`0x1.238e777575e39p+15`, and reads the hex spelling `0x1p-1074` of the smallest subnormal as 0; the "
     "fixtures store `float.hex()` text, which both read exactly (fixtures/README.md).",
     "tests/test_rosetta.py::test_r_reads_a_decimal_one_ulp_off_and_the_smallest_subnormal_hex_as_zero"),
    ("random streams do not cross languages",
     "`set.seed(42); runif(3)` and `np.random.seed(42); np.random.uniform(size=3)` draw different numbers, and "
     "the article's R draws `wh` with `rnorm` where its Python draws uniforms; both sides read the fixture's "
     "weights instead.",
     "tests/test_rosetta.py::test_seed_42_draws_different_numbers_in_r_and_numpy"),
    ("long-double `mean` and `colSums`",
     "R's `mean`, `colSums` and `rowSums` accumulate in long double (`mean` adds a correction pass), so "
     "`mean(c(1e16, 1, -1e16))` is 0.3336588541666667 in R and 0.0 with `np.mean`; the exact kernels accumulate "
     "as R does.",
     "tests/test_rosetta.py::test_r_mean_and_colsums_accumulate_in_long_double_and_numpy_does_not"),
    ("SIMD `exp` versus libm",
     "numpy's `exp` (SIMD on this AVX-512 machine) differs from the C library's `exp`, which R calls, in about "
     "4.6% of inputs, by one ulp; the exact kernels take libm's through numexpr.",
     "tests/test_rosetta.py::test_numpy_exp_differs_from_libm_exp_in_a_few_percent_of_inputs"),
    ("1-based versus 0-based indexing",
     "R counts from 1 and numpy from 0: R's `bh[1, ]` is numpy's `bh[0]`, and R's `for (i in 1:epoch)` calls "
     "the article's epoch 0 `i = 1`, so the bridge asks R to record epoch e as `e + 1`.",
     "tests/test_rosetta.py::test_r_loop_index_i_is_the_article_epoch_i_minus_1"),
    ("biases that belong to training rows",
     "the article's R model keeps one hidden bias per training sample (`bh` is 3x3), so it cannot score a "
     "fourth sample (`non-conformable arrays`), where per-neuron biases laid out for 4 rows match Python.",
     "tests/test_predict.py::test_article_r_model_cannot_score_a_fourth_sample_and_r_says_why"),
)


def pitfall_test(reference):
    """The test function a pitfall names (``tests/test_x.py::test_y``), imported; None when missing."""
    import importlib
    path, _, name = reference.partition("::")
    module = importlib.import_module(path[:-3].replace("/", "."))
    return getattr(module, name, None)


# -- the live demonstration: prediction on new data ---------------------------------------------------

@dataclass
class PredictionDemo:
    article: object  # bridge.explain.steps.Prediction
    corrected: object
    epochs: int


def prediction_demo(session, fixtures_dir=None, kernels="exact"):
    """R's bias_net_predict on a fourth sample, with the article's trained state and with the corrected one."""
    from python_impl import bias_net

    from bridge.twins.runner import network_for
    from bridge.twins.scenarios import load_scenario
    from bridge.explain.steps import bias_net_prediction

    scenario = load_scenario("bias-net", fixtures_dir)
    net = network_for(scenario)
    py = net.python(kernels, scenario.epochs)
    last = scenario.epochs - 1
    py_state = {w: py.at(last, w) for w in bias_net.WEIGHTS}
    out = {}
    for variant in ("article", "corrected"):
        r = net.r(session, variant, scenario.epochs)
        out[variant] = bias_net_prediction(session, net, py_state, {w: r.at(last, w) for w in bias_net.WEIGHTS},
                                           variant, kernels)
    return PredictionDemo(out["article"], out["corrected"], scenario.epochs)


# -- output -------------------------------------------------------------------------------------------

INTRO = ("Each row: the step's formula as the article writes it, the Python line and the R line that compute it, "
         "extracted from the source files by their `# rosetta: <network> <step>` marker comments "
         "(`crossverify rosetta` regenerates this page). In the Python lines `xp` is the array namespace: "
         "plain numpy (`np.dot`, `np.exp`, `np.sum(..., keepdims=True)`) with float kernels, R's arithmetic "
         "in numpy with exact kernels (python_impl/kernels.py).")


def _md_code(text):
    return "`" + text.replace("|", "\\|") + "`"


def _md_cell(snippets, alternatives=()):
    parts = [f"{_md_code(s.text)} ({s.function})" for s in snippets]
    parts += [f"{TAGS.get(tag, tag)}: {_md_code(s.text)}" for tag, s in alternatives]
    return "<br>".join(parts) or "(missing)"


def _demo_lines(demo):
    a, c = demo.article, demo.corrected
    rows = len(a.inputs)
    return [
        f"The bias network after its {demo.epochs} training epochs, asked to score the three training rows and a "
        f"fourth, new one ({', '.join('[' + ' '.join(f'{v:g}' for v in row) + ']' for row in a.inputs)}):",
        "",
        f"* Python (`bias_net.predict`) scores all {rows}: "
        f"{', '.join(f'{v:.8f}' for v in a.python.ravel())}.",
        f"* R, variant `article`, `{a.r_code.split('  #')[0]}`: "
        + (f"R says `{a.r_error.split(': ', 1)[-1]}`. " if a.r_error else "R scores them. ") + a.note,
        f"* R, variant `corrected`, `{c.r_code}`: "
        f"{', '.join(f'{v:.8f}' for v in c.r.ravel())}. {c.note}",
    ]


def render_markdown(rosetta, demo=None):
    out = ["# Rosetta: the article's networks, numpy line by R line", "", INTRO, ""]
    for net_key, heading, py_path, r_path, rows in rosetta.sections:
        out += [f"## {heading}", "", f"Python: `{py_path}`; R: `{r_path}`.", "",
                "| step | formula | Python | R |", "| --- | --- | --- | --- |"]
        for row in rows:
            formula = _md_code(row.formula) if "=" in row.formula else row.formula
            out.append(f"| {row.label} | {formula} | {_md_cell(row.python)} | "
                       f"{_md_cell(row.r, row.r_alternatives)} |")
        out.append("")
    out += ["## Prediction on new data", ""]
    if demo is not None:
        out += _demo_lines(demo) + [""]
    out += ["## Pitfalls this project hit", ""]
    for title, sentence, test in PITFALLS:
        out.append(f"* **{title}**: {sentence} Demonstrated by `{test}`.")
    return "\n".join(out) + "\n"


def _html_code(text):
    return f"<code>{html.escape(text)}</code>"


def _inline(text):
    """Markdown backticks and bold in a sentence, as HTML."""
    parts = re.split(r"(`[^`]*`)", text)
    out = "".join(_html_code(p[1:-1]) if p.startswith("`") and p.endswith("`") else html.escape(p) for p in parts)
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)


STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1400px;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:1em 0;width:100%}th,td{border:1px solid #ccc;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f0f0f0}code{font-family:ui-monospace,monospace;
font-size:90%;background:#f6f6f6;padding:0 2px}td.step{white-space:nowrap}.fn{color:#777;font-size:85%}
.alt{color:#555;font-size:90%}"""


def render_html(rosetta, demo=None):
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>Rosetta: numpy line by R line</title>", f"<style>{STYLE}</style></head><body>",
           "<h1>Rosetta: the article's networks, numpy line by R line</h1>", f"<p>{_inline(INTRO)}</p>"]
    for net_key, heading, py_path, r_path, rows in rosetta.sections:
        out += [f"<h2>{html.escape(heading)}</h2>",
                f"<p>Python: {_html_code(py_path)}; R: {_html_code(r_path)}.</p>",
                "<table><tr><th>step</th><th>formula</th><th>Python</th><th>R</th></tr>"]
        for row in rows:
            py = "<br>".join(f'{_html_code(s.text)} <span class="fn">{html.escape(s.function)}</span>'
                             for s in row.python) or "(missing)"
            r = "<br>".join(f'{_html_code(s.text)} <span class="fn">{html.escape(s.function)}</span>'
                            for s in row.r) or "(missing)"
            r += "".join(f'<br><span class="alt">{html.escape(TAGS.get(tag, tag))}: {_html_code(s.text)}</span>'
                         for tag, s in row.r_alternatives)
            formula = _html_code(row.formula) if "=" in row.formula else html.escape(row.formula)
            out.append(f'<tr><td class="step">{html.escape(row.label)}</td><td>{formula}</td>'
                       f"<td>{py}</td><td>{r}</td></tr>")
        out.append("</table>")
    out.append("<h2>Prediction on new data</h2>")
    if demo is not None:
        lines = _demo_lines(demo)
        out.append(f"<p>{_inline(lines[0])}</p><ul>")
        out += [f"<li>{_inline(line[2:])}</li>" for line in lines[2:]]
        out.append("</ul>")
    out.append("<h2>Pitfalls this project hit</h2><ul>")
    for title, sentence, test in PITFALLS:
        out.append(f"<li><b>{_inline(title)}</b>: {_inline(sentence)} Demonstrated by {_html_code(test)}.</li>")
    out.append("</ul></body></html>")
    return "\n".join(out) + "\n"


def write_text_atomically(path, text):
    """Write ``text`` to ``path`` through a temporary file beside it: never half a file."""
    import tempfile
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CrossverifyError(f"cannot write {path}: the folder {folder} does not exist. "
                               f"Create it or choose another --out.")
    if os.path.isdir(path):
        raise CrossverifyError(f"cannot write {path}: it is a folder. Give a file name to --out.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".crossverify-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CrossverifyError(f"cannot write {path}: {exc.strerror}. Choose another --out.") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise CrossverifyError(f"cannot write {path}: {exc.strerror}. Nothing was written; "
                               f"choose another --out.") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
