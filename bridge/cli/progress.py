"""Progress of a long command, through tqdm, on a terminal and in a CI log alike.

``status(message)`` is called at each step of a long run ("detail-moons: check 3 of 16 ..."). On a
terminal tqdm redraws one status line in place (at most every TTY_INTERVAL seconds) and clears it
at the end; when stderr is not a terminal (a pipe, a CI log) the same tqdm writes the status as a
plain line at most every LOG_INTERVAL seconds, so a log shows the run is alive without a flood. The
elapsed time is tqdm's own. CROSSVERIFY_PROGRESS_SECONDS sets the log's interval (0: every step).

Lines come at steps: a step that runs inside R for a long time (R holds the interpreter) shows
nothing until it returns.
"""
import os
import sys

TTY_INTERVAL = 0.1
LOG_INTERVAL = 5.0  # seconds between two lines in a log


class _Lines:
    """tqdm's output for a log: each status it draws ("\\r...") as one line of its own."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        text = text.replace("\r", "").replace("\x1b[A", "").strip()
        if text:
            self.stream.write(text + "\n")

    def flush(self):
        self.stream.flush()


def _columns(stream):
    """The terminal's width, or 0 when it does not say (a pseudo-terminal of size 0 x 0)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


class Progress:
    """One command's status line (module docstring); use as a context manager or call ``close``."""

    def __init__(self, stream=None, interval=None, prefix="crossverify"):
        stream = stream or sys.stderr
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        if interval is None:
            interval = TTY_INTERVAL if self.tty else float(os.environ.get("CROSSVERIFY_PROGRESS_SECONDS", LOG_INTERVAL))
        self.interval, self.stream, self.prefix = interval, stream, prefix
        self.bar = None  # made with the first status, which tqdm then draws at once

    def __call__(self, message):
        """Show ``message``: the first at once (a single long step would otherwise show nothing until it
        ends), later ones when ``interval`` has passed since the last one drawn."""
        desc = f"{self.prefix}: {message}"
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=None, file=self.stream if self.tty else _Lines(self.stream),
                            bar_format="{desc} [{elapsed}]", mininterval=self.interval, miniters=0, leave=False,
                            desc=desc, **self._width())
            return
        self.bar.set_description_str(desc, refresh=False)
        self.bar.update(0)

    def _width(self):
        """tqdm follows the terminal's size; a terminal that gives none (a pseudo-terminal of 0 x 0)
        would make it cut every line to nothing and draw no line at all, so it gets 80 x 24."""
        if not self.tty:
            return {}
        return {"dynamic_ncols": True} if _columns(self.stream) > 0 else {"ncols": 80, "nrows": 24}

    def close(self):
        if self.bar is not None:
            self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
