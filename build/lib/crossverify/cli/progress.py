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


class Progress:
    """One command's status line (module docstring); use as a context manager or call ``close``."""

    def __init__(self, stream=None, interval=None, prefix="crossverify"):
        from tqdm import tqdm
        stream = stream or sys.stderr
        tty = bool(getattr(stream, "isatty", lambda: False)())
        if interval is None:
            interval = TTY_INTERVAL if tty else float(os.environ.get("CROSSVERIFY_PROGRESS_SECONDS", LOG_INTERVAL))
        self.interval = interval
        self.bar = tqdm(total=None, file=stream if tty else _Lines(stream), bar_format="{desc} [{elapsed}]",
                        mininterval=self.interval, miniters=0, leave=False, dynamic_ncols=tty, desc=prefix,
                        delay=1e-9)  # nothing drawn before the first status
        self.prefix = prefix

    def __call__(self, message):
        """Show ``message``; tqdm draws it when ``interval`` has passed since the last one drawn."""
        self.bar.set_description_str(f"{self.prefix}: {message}", refresh=False)
        self.bar.update(0)

    def close(self):
        self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
