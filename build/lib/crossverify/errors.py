"""Errors the command line turns into one clear paragraph: what was wrong, where, what to do."""
import os


class CrossverifyError(Exception):
    """Base class: ``str(err)`` is the whole message a user sees."""

    exit_code = 2


class FixtureError(CrossverifyError):
    """A scenario file that cannot be used as it is."""

    def __init__(self, path, field, problem, fix=None):
        self.path, self.field, self.problem = path, field, problem
        super().__init__(f"fixture {path}: field '{field}': {problem}. To fix: {fix or fixture_fix(path)}.")


def fixture_fix(path):
    """What to do about a broken scenario: the shipped ones are regenerated from their seeds by
    fixtures/generate.py; a user's scenario is checked and rebuilt with `crossverify scenario`."""
    from crossverify.paths import SHIPPED_FIXTURES
    inside = os.path.abspath(str(path)).startswith(os.path.join(SHIPPED_FIXTURES, ""))
    if inside:
        return ("regenerate it with `python fixtures/generate.py` or correct the field by hand "
                "(see fixtures/README.md)")
    return ("correct the field by hand, or rebuild the scenario with `crossverify scenario new NAME --twin T "
            "... --out DIR --force`; `crossverify scenario check DIR` lists every problem of a folder "
            "(see fixtures/README.md)")


class UnknownNameError(CrossverifyError):
    """A scenario, variant, kernels or mode that does not exist."""

    def __init__(self, kind, name, known):
        plural = kind if kind.endswith("s") else kind + "s"
        super().__init__(f"unknown {kind} {name!r}. Known {plural}: {', '.join(known) or '(none)'}.")


class RUnavailableError(CrossverifyError):
    """R cannot be started in-process (missing, or an rpy2 built for another R)."""

    exit_code = 3


class RCallError(CrossverifyError):
    """R itself raised an error; the message is R's own."""
