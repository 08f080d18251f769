"""What the command line says when the machine, not the input file, stops a command: an output it
cannot write (a read-only folder, a file where a folder should be, a full disk), a pipe closed
before the output was written (`crossverify ... | head`), memory that ran out. Each is one paragraph
and exit 2, as a bad input is, instead of a traceback."""
import os
import sys

from crossverify.errors import CrossverifyError

EXIT_BAD_INPUT = CrossverifyError.exit_code


def describe_os_error(exc):
    """One sentence for an OSError: the path, what the system said, what to do."""
    path = exc.filename or "a file"
    what = exc.strerror or str(exc)
    if isinstance(exc, (PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError)):
        fix = "choose a folder you can write to (or fix its permissions), or a path whose parents are folders"
    elif isinstance(exc, FileNotFoundError):
        fix = "check the path: its folder must exist"
    else:
        fix = "check the path and the space left on its disk"
    return f"{path}: {what}. To fix: {fix}; nothing else was changed."


def closed_pipe():
    """The reader of stdout went away (`| head`): say so once on stderr, and write nothing more to stdout."""
    if sys.stdout is sys.__stdout__:  # the process's own stdout (not a caller's stream)
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit must not fail again
        except (OSError, ValueError, AttributeError):
            pass
    return ("the output was closed before everything was written (a pipe such as `| head` stopped reading); "
            "the command stopped there. To fix: read the whole output, or give --out FILE where the command has it.")


def out_of_memory():
    return ("this machine ran out of memory. To fix: fewer --epochs, --record checkpoints, or --audit full "
            "(which streams the intermediates); `crossverify run` and `trace` estimate what a run needs first.")


def handle(exc):
    """(message, exit code) for an exception the command line turns into a paragraph, or None."""
    if isinstance(exc, BrokenPipeError):
        return closed_pipe(), EXIT_BAD_INPUT
    if isinstance(exc, MemoryError):  # numpy's _ArrayMemoryError is one
        return out_of_memory(), EXIT_BAD_INPUT
    if isinstance(exc, OSError) and exc.filename:
        return describe_os_error(exc), EXIT_BAD_INPUT
    return None


def check_output(path, hint="choose another --out"):
    """Refuse, before any work, an output file that could not be written at the end: its folder
    missing or not writable, or a folder in its place (the same tests bridge/files.py makes when it writes)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CrossverifyError(f"cannot write {path}: the folder {folder} does not exist. Create it or {hint}; "
                               f"nothing was run.")
    if os.path.isdir(path):
        raise CrossverifyError(f"cannot write {path}: Is a directory. Nothing was written; {hint}.")
    if not os.access(folder, os.W_OK):
        raise CrossverifyError(f"cannot write {path}: the folder {folder} is not writable. Nothing was written; "
                               f"{hint}.")
