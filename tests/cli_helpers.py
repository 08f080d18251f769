"""Running the command line in this test process (R is the test session's), and the rule every
error message on a user's input obeys."""
import contextlib
import io

from crossverify.cli.main import main


def cli(*args):
    """``crossverify ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(a) for a in args], out=out)
    return code, out.getvalue(), err.getvalue()


def one_paragraph(err):
    """err == "crossverify: error: <one line>\\n", with no traceback in it."""
    return err.startswith("crossverify: error: ") and err.count("\n") == 1 and "Traceback" not in err
