"""What the answers share: the embedded R session, the exact kernels (numpy with R's arithmetic, so
that Python and R can be compared bit for bit), scenarios built from the shipped ones, twins derived
from the shipped ones (a reader's change to one step), runs computed once and reused, and the
source lines each answer quotes.

Runs go through the twin protocol (bridge/twins): a scenario's ``TwinRun`` gives the Python trace
(``python``) and the R trace (``r``); a reader's variant of a network is the shipped twin with another
epoch function on both sides (``derived_twin``).
"""
import dataclasses
import os
import re

import numpy as np

from crossverify.errors import RCallError
from crossverify.explain.answer import Code
from crossverify.paths import PROJECT_ROOT
from crossverify.twins.protocol import RSide, Variant, load_twin
from crossverify.twins.request import epochs_for
from crossverify.twins.runner import network_for
from crossverify.twins.scenarios import Scenario, load_scenario
from crossverify.python_impl.kernels import get_kernels

HERE = os.path.dirname(os.path.abspath(__file__))
QUESTIONS_R = os.path.join(HERE, "questions.R")  # the R half of the readers' experiments


class Lab:
    """One R session and the runs several answers share, each computed once."""

    def __init__(self, session):
        self.session = session
        self.xp = get_kernels("exact")
        self._memo = {}

    def memo(self, key, compute):
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # -- scenarios and twins ------------------------------------------------------------------------
    def scenario(self, name):
        return self.memo(("scenario", name), lambda: load_scenario(name))

    def built(self, base, name, data=None, init=None, lr=None, epochs=None, twin=None):
        """A scenario made in code from ``base`` (a shipped scenario's name), with some parts replaced."""
        b = self.scenario(base)
        return Scenario(name, b.network, f"(built from {base} for docs/QUESTIONS.md)",
                        b.hyper["lr"] if lr is None else lr, epochs_for(epochs, b),
                        dict(b.data if data is None else data), dict(b.init if init is None else init),
                        manifest={}, preprocessing=b.preprocessing, twin=twin or b.twin)

    def derived_twin(self, base, label, python, r_args, description):
        """The twin ``base`` with another epoch on both sides: ``python`` (a callable) and R's
        ``question_epoch`` (twins/bias_net/questions/questions.R) called with ``r_args``."""
        def make():
            twin = load_twin(base)
            return dataclasses.replace(
                twin, name=f"{twin.name}-{label}", python=python,
                r=RSide(files=tuple(twin.r.files) + (QUESTIONS_R,), epoch="question_epoch", start=twin.r.start,
                        predict=twin.r.predict),
                variants={label: Variant(r_args=dict(r_args), description=description)}, reference=label)
        return self.memo(("twin", base, label), make)

    def python(self, scenario, epochs=None, record=None):
        """The Python trace of ``scenario`` with exact kernels; ``record``: the epochs that keep every
        intermediate (default: all of them)."""
        epochs = epochs_for(epochs, scenario)
        key = ("python", scenario.name, scenario.twin.name, epochs, None if record is None else tuple(record))
        return self.memo(key, lambda: network_for(scenario).python("exact", epochs, record=record))

    def r(self, scenario, epochs=None, variant=None, record=None):
        """The R trace of ``scenario`` under ``variant`` (default: the twin's reference)."""
        epochs = epochs_for(epochs, scenario)
        key = ("r", scenario.name, scenario.twin.name, epochs, variant, None if record is None else tuple(record))
        return self.memo(key, lambda: network_for(scenario).r(self.session, variant, epochs, record=record))

    def runs(self, scenario, epochs=None, variant=None, record=None):
        """(Python trace with exact kernels, R trace) of ``scenario``."""
        return self.python(scenario, epochs, record), self.r(scenario, epochs, variant, record)

    # -- R -------------------------------------------------------------------------------------------
    @property
    def env(self):
        """An R environment inside the package's with questions.R sourced, sourced once."""
        def make():
            env = self.session.call("new.env", parent=self.session.env)
            self.session.call("sys.source", QUESTIONS_R, envir=env)
            return env
        return self.memo(("env",), make)

    def to_r(self, value):
        return self.session.to_r(value)

    def r_list(self, mats):
        return self.session.ro.ListVector({k: self.to_r(v) for k, v in mats.items()})

    def _conv(self, v):
        """numpy matrices and dicts of them (named lists) as R objects; anything else as it is."""
        if isinstance(v, dict):
            return self.r_list(v)
        if isinstance(v, np.ndarray):
            return self.to_r(v)
        return v

    def r_call(self, fn, *args, **kwargs):
        """R's ``fn`` on numpy arguments (dicts become named lists); its result as numpy."""
        out = self.session.call_in(self.env, fn, *[self._conv(a) for a in args],
                                   **{k: self._conv(v) for k, v in kwargs.items()})
        return self.from_r(out)

    def from_r(self, value):
        names = getattr(value, "names", None)
        if isinstance(value, self.session.ro.vectors.ListVector) and names is not None:
            return {k: self.from_r(v) for k, v in zip(names, value)}
        return self.session.from_r(value)

    def r_error(self, fn, *args, **kwargs):
        """R's own error message when ``fn`` fails on these arguments, else None."""
        try:
            self.r_call(fn, *args, **kwargs)
        except RCallError as exc:
            return r_message(str(exc))
        return None

    def r_eval(self, code, **values):
        """Evaluate R ``code`` with ``values`` (numpy matrices, dicts of them, numbers) bound by name in
        an environment inside the package's; the value as numpy, or R's error message (a str)."""
        env = self.session.call("new.env", parent=self.env)
        for k, v in values.items():
            self.session.call("assign", k, self._conv(v), envir=env)
        try:
            expr = self.session.call("parse", text=code)
            return self.from_r(self.session.call("eval", expr, envir=env))
        except RCallError as exc:
            return r_message(str(exc))

    # -- the lines of code an answer quotes -------------------------------------------------------------
    def snippets(self):
        """Every marked statement of the shipped twins' source files and of the questions' own files."""
        def read():
            from crossverify.explain.rosetta import read_snippets, shipped, source_files
            paths = []
            for twin in shipped():
                py, r = source_files(twin)
                paths += list(py) + list(r)
            own = [os.path.join(HERE, f) for f in sorted(os.listdir(HERE)) if f.endswith(".py")] + [QUESTIONS_R]
            paths += [os.path.relpath(p, PROJECT_ROOT) for p in own]
            return [s for p in dict.fromkeys(paths) for s in read_snippets(p)]
        return self.memo(("snippets",), read)

    def code(self, network, key, tag=""):
        """The lines marked ``# rosetta: <network> <key> [<tag>]``, Python first."""
        found = [s for s in self.snippets() if s.network == network and s.key == str(key) and s.tag == tag]
        if not found:
            raise LookupError(f"no line is marked '# rosetta: {f'{network} {key} {tag}'.strip()}'")
        found.sort(key=lambda s: s.language != "python")
        return [Code("Python" if s.language == "python" else "R", s.path, s.line, s.text, s.function) for s in found]

    def source_line(self, path, pattern):
        """The first line of ``path`` (from the project root) matching the regular expression ``pattern``."""
        with open(os.path.join(PROJECT_ROOT, path), encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        head = re.compile(r"^\s*def (\w+)\(" if path.endswith(".py") else r"^([\w.]+)\s*<-\s*function\b")
        function = ""
        for number, line in enumerate(lines, 1):
            found = head.match(line)
            function = found.group(1) if found else function
            if re.search(pattern, line):
                text = line.split("#")[0].strip() if path.endswith(".R") else line.strip()
                return Code("R" if path.endswith(".R") else "Python", path, number, text, function)
        raise LookupError(f"{path}: no line matches {pattern!r}")


def r_message(text):
    """R's own message from an RCallError's text ("R raised an error in f(): Error in ...: message")."""
    text = text.split(": ", 1)[-1] if text.startswith("R raised an error") else text
    return " ".join(text.split())


def shape(a):
    """A matrix's shape as the article writes it: 3x1."""
    return "x".join(str(d) for d in np.shape(a))


def first_nonfinite(series):
    """The first index along axis 0 where any element is NaN or infinite, else None."""
    bad = ~np.isfinite(np.asarray(series)).reshape(len(series), -1).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None
