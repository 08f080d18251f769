"""What one answer holds: numbers computed by both languages, the source lines involved, a one-line
conclusion and the claims that conclusion rests on (each recomputed by tests/test_questions.py)."""
from dataclasses import dataclass, field

import numpy as np


def same_bits(a, b):
    """True when ``a`` and ``b`` have the same shape and every element the same 64 bits."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def agree(python, r):
    """Same bits once Python's matrix is broadcast to R's shape (numpy keeps a bias as one row, R as
    one row per sample)."""
    python, r = np.asarray(python, dtype=np.float64), np.asarray(r, dtype=np.float64)
    try:
        python = np.broadcast_to(python, r.shape)
    except ValueError:
        return False
    return same_bits(python, r)


@dataclass
class Figure:
    """One quantity computed by both languages: numbers (scalars or matrices) or text (an error
    message, a shape). ``same_bits`` is None when the two are not expected to be equal."""

    label: str
    python: object
    r: object
    same_bits: object = None

    @classmethod
    def of(cls, label, python, r, compare=True):
        both_numbers = not isinstance(python, str) and not isinstance(r, str)
        return cls(label, python, r, same_bits(python, r) if compare and both_numbers else None)


@dataclass
class Code:
    """One source statement: its language, file (from the project root), line number, text and the
    function it is in."""

    language: str
    path: str
    line: int
    text: str
    function: str = ""


@dataclass
class Answer:
    """A question, in our own words, answered by computation."""

    number: int
    key: str
    question: str
    reply: list  # paragraphs, with the computed numbers in them
    figures: list  # [Figure]
    code: list  # [Code]
    conclusion: str
    claims: list = field(default_factory=list)  # [(statement, bool)]

    @property
    def holds(self):
        """True when every claim the conclusion rests on is true."""
        return bool(self.claims) and all(ok for _, ok in self.claims)

    @property
    def failed(self):
        return [text for text, ok in self.claims if not ok]

    def figure(self, label):
        return next(f for f in self.figures if f.label == label)


def fmt(value, digits=6):
    """A number, a matrix (rows in brackets) or text, compactly: ``digits`` significant digits."""
    if isinstance(value, str):
        return value
    a = np.asarray(value)
    if a.dtype == bool:
        return str(a.tolist())
    if a.ndim == 0:
        return _number(float(a), digits)
    if a.ndim == 1:
        a = a[None, :]
    return ", ".join("[" + " ".join(_number(float(v), digits) for v in row) + "]" for row in a)


def _number(v, digits):
    if np.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return "-0" if v == 0 and np.signbit(v) else str(int(v))  # -0.0 is a result worth showing
    return f"{v:.{digits}g}"
