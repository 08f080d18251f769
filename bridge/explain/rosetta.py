"""The translation table of any twin: each step's formula beside the Python line and the R line that
compute it, extracted from the twin's real source files (the files of its declaration: the Python
functions' modules, found with ``inspect``, and its R files), then prediction on new data in both
languages and the translation pitfalls the twins declare, each with the test that demonstrates it.
For the shipped twins these are the article's two scripts, "Implementing NN using Numpy (Python)"
and "Implementing NN using R", and its second network.

A line is found by its trailing marker comment, ``# rosetta: <key> <step>`` (key: the twin's
``rosetta_key``; step: a step number, or a helper's name: an activation function, a preprocessing
name, or ``predict``), the same in both languages; an R line that only one variant runs adds the
variant's name: ``# rosetta: <key> <step> <variant>``.
"""
import ast
import html
import inspect
import io
import os
import re
import tokenize
from collections import namedtuple
from dataclasses import dataclass, field

from crossverify.errors import CrossverifyError
from crossverify.explain.style import code as _html_code, head, inline as _inline, scrolling

from crossverify.paths import PROJECT_ROOT as ROOT
from crossverify.twins.request import R_ARITHMETIC
MARKER = re.compile(r"#\s*rosetta:\s*(?P<net>[\w-]+)\s+(?P<key>\w+)(?:\s+(?P<tag>[\w-]+))?\s*$")


@dataclass
class Snippet:
    """One marked statement: where it is and its code (comments removed), line by line."""

    network: str
    key: str
    tag: str
    path: str  # as shown: relative to the project root, or to the twin's folder outside the project
    line: int  # 1-based, the marked line
    function: str
    code: list  # the statement's physical lines, comments removed, indentation kept
    target: str = None  # the name it assigns, if it assigns one
    about: str = ""  # Python: the enclosing function's docstring line, or its first comment

    @property
    def text(self):
        """The statement on one line."""
        joined = " ".join(part.strip() for part in self.code)
        return re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", joined))

    @property
    def language(self):
        return "python" if self.path.endswith(".py") else "r"


# -- reading the markers ------------------------------------------------------------------------

def _python_comments(source):
    """{line: (column where its comment starts, the comment's text)} for every Python line with one."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = (tok.start[1], tok.string.lstrip("#").strip())
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
    """(first line, last line, name, docstring) of every function, innermost last when sorted by start."""
    return sorted((n.lineno, n.end_lineno, n.name, ast.get_docstring(n) or "") for n in ast.walk(tree)
                  if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _python_statements(tree):
    return {n.lineno: n.end_lineno for n in ast.walk(tree) if isinstance(n, ast.stmt)}




def _about(first, last, doc, comments, marked):
    """What a Python function computes: its docstring's first line, else its first comment."""
    if doc:
        return doc.strip().splitlines()[0].strip()
    for line in range(first, last + 1):
        if line in comments and line != marked and not MARKER.search("#" + comments[line][1]):
            return comments[line][1]
    return ""


def read_snippets(path, root=ROOT, shown=None):
    """Every marked statement of one source file (``path`` relative to ``root``, or absolute);
    ``shown`` is the path the snippets report (default: ``path``)."""
    full = os.path.join(root, path)
    with open(full, encoding="utf-8") as fh:
        source = fh.read()
    lines = source.split("\n")
    out = []
    if path.endswith(".py"):
        tree = ast.parse(source)
        comments = _python_comments(source)
        statements = _python_statements(tree)
        functions = _python_functions(tree)
    for k, line in enumerate(lines):
        m = MARKER.search(line)
        if not m:
            continue
        number = k + 1
        about = ""
        if path.endswith(".py"):
            end = statements.get(number)
            if end is None:
                raise CrossverifyError(f"{shown or path}:{number}: the rosetta marker is not on the first line of a "
                                       f"statement.")
            code = [lines[i - 1][:comments.get(i, (len(lines[i - 1]),))[0]].rstrip() for i in range(number, end + 1)]
            inside = [f for f in functions if f[0] <= number <= f[1]]
            function = inside[-1][2] if inside else ""
            if inside:
                about = _about(inside[-1][0], inside[-1][1], inside[-1][3], comments, number)
            target = re.match(r"\s*(\w+)\s*=[^=]", code[0])
        else:
            code = [_r_code_part(lines[i]) for i in _r_statement(lines, k)]
            heads = [re.match(r"^([\w.]+)\s*<-\s*function\b", lines[i]) for i in range(k, -1, -1)]
            function = next((h.group(1) for h in heads if h), "")
            target = re.match(r"\s*(\w+)\s*<-", code[0])
        out.append(Snippet(m.group("net"), m.group("key"), m.group("tag") or "", shown or path, number, function,
                           code, target.group(1) if target else None, about))
    return out


# -- a twin's source files ------------------------------------------------------------------------

Source = namedtuple("Source", "shown full inside")  # inside: part of the project, read under ``root``


def _source(twin, full):
    """A source file as the page shows it: from the project root, or from the twin's own folder."""
    full, root = os.path.abspath(full), os.path.abspath(ROOT)
    if full.startswith(root + os.sep):
        return Source(os.path.relpath(full, root), full, True)
    return Source(os.path.relpath(full, twin.base_dir) if twin.base_dir else full, full, False)


def _python_callables(twin):
    """The Python functions the declaration names: epoch, start, predict, preprocessing."""
    targets = [(twin.python, "python"), (twin.python_start, "python_start"), (twin.python_predict, "python_predict")]
    targets += [(p.python, "preprocessing") for p in twin.preprocessing.values()]
    return [fn for fn in (twin.resolve(t, what) for t, what in targets) if fn is not None]


def _sources(twin):
    """(Python sources, R sources): the modules of the Python functions the declaration names
    (found with inspect), and its declared R files."""
    python = dict.fromkeys(_source(twin, inspect.getsourcefile(inspect.unwrap(fn))) for fn in _python_callables(twin))
    return tuple(python), tuple(dict.fromkeys(_source(twin, f) for f in twin.r_files))


def source_files(twin):
    """(Python files, R files) of ``twin`` as the page shows them."""
    python, r = _sources(twin)
    return tuple(s.shown for s in python), tuple(s.shown for s in r)


def _read(source, root):
    if source.inside:
        return read_snippets(source.shown, root)
    return read_snippets(source.full, shown=source.shown)


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
    r_alternatives: list = field(default_factory=list)  # (variant, Snippet): lines one variant alone runs


# one twin's part of the page: its marker key, heading, files as shown (Python, R) and rows
Section = namedtuple("Section", "key heading python_paths r_paths rows")


@dataclass
class Rosetta:
    sections: list  # [Section]
    problems: list  # what is missing or unmatched: every one fails the rosetta test
    twins: list = field(default_factory=list)
    pitfalls: list = field(default_factory=list)  # (title, sentence, test)


def shipped():
    """The shipped twins, in the order of their folders."""
    from crossverify.twins.protocol import load_twin, shipped_twins
    return [load_twin(path) for path in shipped_twins().values()]


def _pick(snippets, name, alone):
    """The snippets that compute ``name``: by the name they assign, or all when the step has one name."""
    named = [s for s in snippets if s.target == name]
    return named or (list(snippets) if alone else [])


def _holding(sources, snippets):
    """The files that hold ``snippets`` (all of ``sources`` when none does), as shown."""
    shown = [s.shown for s in sources]
    held = [p for p in shown if any(s.path == p for s in snippets)]
    return held or shown


def _steps(twin):
    """(step number, [(intermediate, formula)]) in the order one epoch computes them."""
    out = {}
    for s in twin.steps:
        out.setdefault(s.number, []).append((s.name, s.formula or s.name))
    return list(out.items())


def _helpers(twin, py, r):
    """Marker keys that are not step numbers (helpers), in source order: (before the steps, after them).
    A helper marked inside the twin's Python predict function goes after the steps."""
    keys = list(dict.fromkeys(s.key for s in py + r if not s.key.isdigit()))
    predict = twin.resolve(twin.python_predict, "python_predict")
    name = getattr(predict, "__name__", None)
    after = [k for k in keys if name and any(s.key == k and s.function == name for s in py)]
    return [k for k in keys if k not in after], after


def _helper_formula(twin, key, py):
    """A helper's formula: the preprocessing's description, else what its Python function says it computes."""
    step = twin.preprocessing.get(key)
    if step is not None and step.description:
        return step.description
    return next((s.about for s in py if s.key == key and s.about), "")


def _section(twin, root, problems):
    key = twin.rosetta_key
    py_sources, r_sources = _sources(twin)
    py = [s for src in py_sources for s in _read(src, root) if s.network == key]
    r = [s for src in r_sources for s in _read(src, root) if s.network == key]
    py_paths, r_paths = _holding(py_sources, py), _holding(r_sources, r)
    for s in py + r:
        if s.tag and s.tag not in twin.variants:
            problems.append(f"{s.path}:{s.line}: '# rosetta: {key} {s.key} {s.tag}': {s.tag!r} is not a variant of "
                            f"{twin.name} ({', '.join(twin.variants)})")
    used = set()

    def helper_row(k):
        p = [s for s in py if s.key == k]
        q = [s for s in r if s.key == k and not s.tag]
        used.update(id(s) for s in p + q)
        return Row(key, k, k, "", _helper_formula(twin, k, py), p, q)

    before, after = _helpers(twin, py, r)
    rows = [helper_row(k) for k in before]
    for number, items in _steps(twin):
        sp = [s for s in py if s.key == str(number)]
        sr = [s for s in r if s.key == str(number) and not s.tag]
        alternatives = [s for s in r if s.key == str(number) and s.tag]
        for name, formula in items:
            alone = len(items) == 1
            row = Row(key, str(number), str(number), name, formula, _pick(sp, name, alone),
                      _pick(sr, name, alone), [(s.tag, s) for s in _pick(alternatives, name, alone)])
            used.update(id(s) for s in row.python + row.r + [s for _, s in row.r_alternatives])
            for side, snippets, paths in (("Python", row.python, py_paths), ("R", row.r, r_paths)):
                if not snippets:
                    problems.append(f"{key} step {number} ({name}): no {side} line is marked "
                                    f"'# rosetta: {key} {number}' in {', '.join(paths)}")
            rows.append(row)
    rows += [helper_row(k) for k in after]
    for s in py + r:
        if id(s) not in used and s.key.isdigit():
            problems.append(f"{s.path}:{s.line}: '# rosetta: {s.network} {s.key}' matches no intermediate "
                            f"of that step")
    for row in rows:
        if not row.name and (not row.python or not row.r):
            problems.append(f"{key} {row.key}: marked in {'Python' if row.python else 'R'} only")
    numbers = [s.number for s in twin.steps]
    heading = (f"{key}: {twin.title or twin.name}" + (f', from "{twin.section}"' if twin.section else "")
               + f" (steps {min(numbers)}-{max(numbers)})")
    return Section(key, heading, tuple(py_paths), tuple(r_paths), rows)


def build(twins=None, root=ROOT):
    """The translation table of ``twins`` (default: the shipped ones) from the markers in their source
    files, read under ``root`` for the files of the project; its gaps; the twins' pitfalls."""
    twins = list(twins) if twins is not None else shipped()
    problems = []
    sections = [_section(twin, root, problems) for twin in twins]
    return Rosetta(sections, problems, twins, pitfalls(twins))


# -- the pitfalls -------------------------------------------------------------------------------

def pitfalls(twins=None):
    """The translation pitfalls ``twins`` declare (default: the shipped ones), as (title, sentence, test);
    a sentence given as a callable (a fact measured on this machine) is computed now."""
    twins = list(twins) if twins is not None else shipped()
    out, seen = [], set()
    for twin in twins:
        for title, sentence, test in twin.pitfalls:
            if title not in seen:
                seen.add(title)
                out.append((title, sentence() if callable(sentence) else sentence, test))
    return out


# -- the live demonstration: prediction on new data ---------------------------------------------------

@dataclass
class PredictionDemo:
    twin: object
    scenario: str
    epochs: int
    python_predict: str  # the Python predict function's name
    python_file: str  # its file, as the page shows it
    predictions: list  # [(variant, crossverify.explain.steps.Prediction)]


def twin_scenarios(twin, fixtures_dir=None):
    """The scenarios of ``twin`` in ``fixtures_dir`` (default: the twin's own scenarios/ folder, else the
    shipped fixtures), loaded and validated."""
    from crossverify.paths import SHIPPED_FIXTURES
    from crossverify.twins.scenarios import load_scenario, scenarios_folder, scenarios_of

    folder = scenarios_folder(twin, fixtures_dir) or SHIPPED_FIXTURES
    if not os.path.isdir(folder):
        return []
    return [load_scenario(n, folder, twin) for n in scenarios_of(twin, folder)]


def _cost(scenario):
    return scenario.epochs * sum(v.size for v in scenario.data.values())


def prediction_demo(session, twins=None, fixtures_dir=None, kernels=R_ARITHMETIC):
    """For each twin with predict functions: its cheapest scenario trained in full, then the new data of
    its new_data hook scored by Python and by R's every variant. [PredictionDemo]."""
    from crossverify.explain.steps import prediction
    from crossverify.twins.runner import network_for

    demos = []
    for twin in (list(twins) if twins is not None else shipped()):
        predict = twin.resolve(twin.python_predict, "python_predict")
        scenarios = twin_scenarios(twin, fixtures_dir)
        if predict is None or not twin.r.predict or not scenarios:
            continue
        scenario = min(scenarios, key=_cost)
        net = network_for(scenario)
        last = scenario.epochs - 1
        py = net.python(kernels, scenario.epochs, record=[last])
        py_state = {w: py.at(last, w) for w in twin.state}
        shown = _source(twin, inspect.getsourcefile(inspect.unwrap(predict))).shown
        demo = PredictionDemo(twin, scenario.name, scenario.epochs, predict.__name__, shown, [])
        for variant in twin.variants:
            r = net.r(session, variant, scenario.epochs, record=[last])
            demo.predictions.append((variant, prediction(session, net, py_state, {w: r.at(last, w) for w in twin.state},
                                                         variant, kernels)))
        demos.append(demo)
    return demos


# -- output -------------------------------------------------------------------------------------------

INTRO = ("Each row: the step's formula as the twin's declaration writes it, the Python line and the R line that "
         "compute it, extracted from the source files by their `# rosetta: <key> <step>` marker comments "
         "(`crossverify rosetta` regenerates this page). In the Python lines `xp` is the array namespace: "
         "plain numpy (`np.dot`, `np.exp`, `np.sum(..., keepdims=True)`) with float kernels, R's arithmetic "
         "in numpy with exact kernels (python_impl/kernels.py).")
TITLE = "Rosetta: numpy line by R line"


def _md_code(text):
    return "`" + text.replace("|", "\\|") + "`"


def _variant_label(tag):
    return f"variant `{tag}` alone"


def _md_cell(snippets, alternatives=()):
    parts = [f"{_md_code(s.text)} ({s.function})" for s in snippets]
    parts += [f"{_variant_label(tag)}: {_md_code(s.text)}" for tag, s in alternatives]
    return "<br>".join(parts) or "(missing)"


def _matrix_text(m):
    return ", ".join("[" + " ".join(f"{v:g}" for v in row) + "]" for row in m)


def _demo_parts(demo):
    """(heading, introduction, [bullet]) of one twin's demonstration, in markdown."""
    first = demo.predictions[0][1]
    twin = demo.twin
    heading = f"{twin.title or twin.name}: scenario `{demo.scenario}`"
    inputs = "; ".join(f"`{name}`, {m.shape[0]}x{m.shape[1]}: {_matrix_text(m)}" for name, m in first.data.items())
    intro = (f"After its {demo.epochs} training epochs, asked to score "
             f"{first.description or 'new data'} ({inputs}):")
    values = ", ".join(f"{v:.8f}" for v in first.python.ravel())
    bullets = [f"Python (`{demo.python_predict}` in `{demo.python_file}`) scores them: {values}."]
    for variant, pred in demo.predictions:
        code = pred.r_code.split("  #")[0]
        if pred.r_error:
            said = f"R says `{pred.r_error.split(': ', 1)[-1]}`. "
        else:
            said = f"{', '.join(f'{v:.8f}' for v in pred.r.ravel())}. "
        bullets.append(f"R, variant `{variant}`, `{code}`: {said}{pred.note}")
    return heading, intro, bullets


def render_markdown(rosetta, demos=None):
    out = [f"# {TITLE}", "", INTRO, ""]
    for key, heading, py_paths, r_paths, rows in rosetta.sections:
        out += [f"## {heading}", "",
                f"Python: {', '.join(f'`{p}`' for p in py_paths)}; R: {', '.join(f'`{p}`' for p in r_paths)}.", "",
                "| step | formula | Python | R |", "| --- | --- | --- | --- |"]
        for row in rows:
            formula = _md_code(row.formula) if "=" in row.formula else row.formula
            out.append(f"| {row.label} | {formula} | {_md_cell(row.python)} | "
                       f"{_md_cell(row.r, row.r_alternatives)} |")
        out.append("")
    if demos:
        out += ["## Prediction on new data", ""]
        for demo in demos:
            heading, intro, bullets = _demo_parts(demo)
            out += [f"### {heading}", "", intro, ""] + [f"* {b}" for b in bullets] + [""]
    if rosetta.pitfalls:
        out += ["## Pitfalls this project hit", ""]
        for title, sentence, test in rosetta.pitfalls:
            out.append(f"* **{title}**: {sentence} Demonstrated by `{test}`.")
    return "\n".join(out).rstrip("\n") + "\n"


def _html_cell(snippets):
    return "<br>".join(f'{_html_code(s.text)} <span class="fn">{html.escape(s.function)}</span>'
                       for s in snippets) or "(missing)"


def render_html(rosetta, demos=None):
    out = head(TITLE) + [f"<h1>{html.escape(TITLE)}</h1>", f"<p>{_inline(INTRO)}</p>"]
    for key, heading, py_paths, r_paths, rows in rosetta.sections:
        out += [f"<h2>{html.escape(heading)}</h2>",
                f"<p>Python: {', '.join(map(_html_code, py_paths))}; R: {', '.join(map(_html_code, r_paths))}.</p>"]
        table = ['<table class="code"><tr><th>step</th><th>formula</th><th>Python</th><th>R</th></tr>']
        for row in rows:
            r = _html_cell(row.r) + "".join(
                f'<br><span class="alt">{_inline(_variant_label(tag))}: {_html_code(s.text)}</span>'
                for tag, s in row.r_alternatives)
            formula = _html_code(row.formula) if "=" in row.formula else html.escape(row.formula)
            table.append(f'<tr><td class="step">{html.escape(row.label)}</td><td class="code">{formula}</td>'
                         f'<td class="code">{_html_cell(row.python)}</td><td class="code">{r}</td></tr>')
        table.append("</table>")
        out.append(scrolling("\n".join(table)))
    if demos:
        out.append("<h2>Prediction on new data</h2>")
        for demo in demos:
            heading, intro, bullets = _demo_parts(demo)
            out += [f"<h3>{_inline(heading)}</h3>", f"<p>{_inline(intro)}</p><ul>"]
            out += [f"<li>{_inline(b)}</li>" for b in bullets]
            out.append("</ul>")
    if rosetta.pitfalls:
        out.append("<h2>Pitfalls this project hit</h2><ul>")
        for title, sentence, test in rosetta.pitfalls:
            out.append(f"<li><b>{_inline(title)}</b>: {_inline(sentence)} Demonstrated by {_html_code(test)}.</li>")
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
