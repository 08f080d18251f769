"""One embedded R session, through rpy2, with the R package's code loaded into it.

R runs in this process, on the main thread only. Every conversion is explicit and local:
numpy arrays travel as R double vectors in column-major order with a ``dim`` attribute, and
come back the same way, so row/column order is never left to a global converter.
"""
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading

import numpy as np

from crossverify.errors import RCallError, RUnavailableError

from crossverify.paths import INSTALLED, R_PACKAGE_DIR
from crossverify.session import platform
from crossverify.session.versions import rpy2_requirement, series_fits, version_tuple  # noqa: F401 - re-exported
INSTALL_R = "sudo apt-get update && sudo apt-get install -y r-base-core r-base-dev r-cran-jsonlite r-cran-testthat"
# what finishes the set-up: the checkout's own `make setup`; an installed copy's user works in an environment of their own
PIP = "python -m pip" if INSTALLED else ".venv/bin/pip"
AFTER_R = ("then reinstall rpy2 in this Python environment (`python -m pip install --force-reinstall --no-binary rpy2 "
           "rpy2`), so that it is built against that R" if INSTALLED else "then run `make setup`")
OR_SETUP = "" if INSTALLED else " (or run `make setup`, which chooses the series from `R --version`)"

_SESSION = None


def explain_r_start_failure(exc, rpy2_version=None, r_version=None):
    """The one-paragraph message for an exception raised while rpy2 starts R."""
    text = f"{type(exc).__name__}: {exc}"
    if "R_getVar" in text or "undefined symbol" in text:
        wanted = rpy2_requirement(r_version)
        return (f"rpy2 {rpy2_version or '(unknown version)'} cannot load R {r_version or '(unknown version)'}: "
                f"it was built for another R API ({text.strip().splitlines()[-1]}). rpy2 3.6 needs R 4.5 or "
                f"newer; R older than 4.5 needs rpy2 3.5. For this R: {wanted}. To fix: "
                f"`{PIP} install '{wanted}'`{OR_SETUP}.")
    return (f"R could not be started in this process ({text.strip().splitlines()[-1] if text.strip() else text}). "
            f"Is R installed and on PATH (`R RHOME` must print its home)? To install it on Debian/Ubuntu: "
            f"`{INSTALL_R}`, {AFTER_R}.")


def installed_r_version():
    """R's version as ``R --version`` prints it, or None when there is no R on PATH."""
    exe = shutil.which("R")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"R version (\S+)", out)
    return match.group(1) if match else None


def check_versions(rpy2_version, r_version):
    """None when this rpy2 series embeds this R, else the message saying why not (the rule of
    bridge/session/versions.py: rpy2 3.5 for R < 4.5, rpy2 3.6 for R >= 4.5)."""
    if series_fits(rpy2_version, r_version):
        return None
    wanted = rpy2_requirement(r_version)
    if version_tuple(r_version) < (4, 5):
        why = "rpy2 3.6 calls R 4.5's API (R_getVar, 'undefined symbol' at start-up)"
    else:
        why = "rpy2 3.5 predates R 4.5 (the 3.6 series is the one made for it)"
    return (f"rpy2 {rpy2_version} cannot load R {r_version}: {why}. For R {r_version} this project "
            f"installs {wanted}. To fix: `{PIP} install '{wanted}'`{OR_SETUP}.")


def find_r_home():
    """R's home as rpy2 will find it ($R_HOME, else `R RHOME`), checked to hold R's base package."""
    home = os.environ.get("R_HOME")
    if not home:
        exe = shutil.which("R")
        if exe is None:
            raise RUnavailableError(
                f"R is not installed (no `R` on PATH and R_HOME is not set). To install it on Debian/Ubuntu: "
                f"`{INSTALL_R}`, {AFTER_R}.")
        try:
            home = subprocess.run([exe, "RHOME"], capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            raise RUnavailableError(f"`R RHOME` failed ({exc}); R looks broken. Reinstall it: `{INSTALL_R}`.") from None
    if not os.path.isdir(os.path.join(home, "library", "base")):
        raise RUnavailableError(
            f"R_HOME is {home!r}, which is not an R installation (it has no library/base). Unset R_HOME or point "
            f"it at R's home (`R RHOME` prints it); to install R on Debian/Ubuntu: `{INSTALL_R}`.")
    return home


def installed_rpy2_version():
    try:
        from importlib.metadata import version
        return version("rpy2")
    except Exception:
        return None


@contextlib.contextmanager
def ctrl_c_ends_process():
    """While R computes, Ctrl-C ends the process with status 130: rpy2 3.5 loses a KeyboardInterrupt
    raised inside R, and asking R itself to interrupt makes embedded R abort. Nothing is being
    written while R computes (files are written afterwards, through a temporary file)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        sys.stderr.write("crossverify: interrupted; nothing was written.\n")
        sys.stderr.flush()
        os._exit(130)

    saved = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)


def _restore(name, value):
    """Set environment variable ``name`` back to ``value`` (None: unset)."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


class RSession:
    """The embedded R, with ``r_impl/R/*.R`` sourced into one environment of its own."""

    def __init__(self, package_dir=R_PACKAGE_DIR):
        # R's start-up can end the whole process (a bad R_HOME, an rpy2 built for another R), so
        # everything that can be checked is checked before rpy2 is imported.
        find_r_home()
        problem = check_versions(installed_rpy2_version(), installed_r_version())
        if problem:
            raise RUnavailableError(problem)
        library_path = os.environ.get("LD_LIBRARY_PATH")
        try:
            import rpy2
            version = getattr(rpy2, "__version__", None)
            import rpy2.rinterface_lib.callbacks as callbacks
            import rpy2.robjects as ro
        except Exception as exc:  # rpy2 raises many kinds here: OSError, RuntimeError, ImportError
            raise RUnavailableError(explain_r_start_failure(
                exc, locals().get("version"), installed_r_version())) from None
        finally:
            # R's start-up puts its own library folders (and the system's) first in LD_LIBRARY_PATH;
            # R's libraries are loaded by then, and a child process inheriting that path can load
            # another Python's libpython (a Python started as a worker then fails to import _ssl)
            _restore("LD_LIBRARY_PATH", library_path)
        self.ro = ro
        self._callbacks = callbacks
        self.rpy2_version = version
        self.messages = []
        with self._quiet():
            self.env = ro.r("new.env(parent = globalenv())")
            files = sorted(f for f in os.listdir(os.path.join(package_dir, "R")) if f.endswith(".R"))
            for name in files:
                self.call("sys.source", os.path.join(package_dir, "R", name), envir=self.env)
        self.r_version = self.eval("paste(R.version$major, R.version$minor, sep = '.')")[0]
        self.blas = self.eval("extSoftVersion()[['BLAS']]")[0]
        # what R's arithmetic depends on (its BLAS, matprod, long double), and the path of %*% this
        # session runs and the exact kernels reproduce: R's BLAS when it is the reference BLAS,
        # else R's own long-double loop ($CROSSVERIFY_R_MATPROD overrides)
        self.platform = platform.probe(self)
        self.matprod = platform.apply_matprod(self, self.platform, platform.requested_matprod())

    def _quiet(self):
        """Collect what R prints (warnings, messages) instead of writing it to the console."""
        session = self

        class _Capture:
            def __enter__(self):
                self.saved = (session._callbacks.consolewrite_print, session._callbacks.consolewrite_warnerror)
                session._callbacks.consolewrite_print = session.messages.append
                session._callbacks.consolewrite_warnerror = session.messages.append

            def __exit__(self, *exc):
                session._callbacks.consolewrite_print, session._callbacks.consolewrite_warnerror = self.saved
                return False

        return _Capture()

    # -- conversions: explicit, column-major, local ------------------------------------------
    def to_r(self, value):
        """A numpy array as an R double array with the same indices (R is column-major)."""
        a = np.asarray(value, dtype=np.float64)
        vec = self.ro.FloatVector(a.ravel(order="F"))
        if a.ndim == 0:
            return vec
        return self.ro.baseenv["array"](vec, dim=self.ro.IntVector(a.shape))

    def from_r(self, value):
        """An R numeric vector or array as a float64 numpy array with the same indices."""
        flat = np.array(self.ro.FloatVector(value), dtype=np.float64)
        dim = self.ro.baseenv["dim"](value)
        if dim is self.ro.NULL or dim == self.ro.NULL:
            return flat
        return flat.reshape(tuple(int(d) for d in dim), order="F")

    # -- calls ---------------------------------------------------------------------------------
    def call(self, fn, *args, **kwargs):
        """Call R function ``fn`` (looked up in the package environment), raising R's own message."""
        return self.call_in(getattr(self, "env", None), fn, *args, **kwargs)

    def call_in(self, env, fn, *args, **kwargs):
        """Call R function ``fn``, looked up from ``env`` (an R environment; None: the global one)."""
        from rpy2.rinterface_lib.embedded import RRuntimeError
        from rpy2.robjects.conversion import localconverter
        try:
            with localconverter(self.ro.default_converter), self._quiet(), ctrl_c_ends_process():
                func = self.ro.r["get"](fn, envir=env) if env is not None else self.ro.r[fn]
                return func(*args, **kwargs)
        except RRuntimeError as exc:
            raise RCallError(f"R raised an error in {fn}(): {str(exc).strip()}") from None

    def call_by_name(self, env, fn, args):
        """R function ``fn`` of ``env`` called by R's call_by_name (r_impl/R/twin_run.R) with what its
        formals name of ``args`` (a dict of R values); R's error names ``fn``, not the caller."""
        from rpy2.rinterface_lib.embedded import RRuntimeError
        from rpy2.robjects.conversion import localconverter
        try:
            with localconverter(self.ro.default_converter), self._quiet(), ctrl_c_ends_process():
                get = self.ro.r["get"]
                return get("call_by_name", envir=env)(get(fn, envir=env), self.ro.ListVector(args))
        except RRuntimeError as exc:
            raise RCallError(f"R raised an error in {fn}(): {str(exc).strip()}") from None

    def twin_env(self, twin):
        """An R environment holding a twin's R files, sourced once (child of the package's, so the
        twin's names never clash with another twin's)."""
        envs = self.__dict__.setdefault("_twin_envs", {})
        key = (twin.name, twin.r_files)
        if key not in envs:
            for path in twin.r_files:
                if not os.path.isfile(path):
                    raise RCallError(f"twin {twin.name!r}: its R file {path} does not exist. To fix: correct "
                                     f"r=RSide(files=...) in its twin.py (paths are relative to that file).")
            env = self.call("new.env", parent=self.env)
            for path in twin.r_files:
                self.call("sys.source", path, envir=env)
            for fn in filter(None, (twin.r.epoch, twin.r.start, twin.r.predict)):
                if not self.call("exists", fn, envir=env, mode="function")[0]:
                    raise RCallError(f"twin {twin.name!r}: its R files define no function {fn!r}. To fix: define "
                                     f"it in {', '.join(twin.r_files)} or correct its name in twin.py.")
            envs[key] = env
        return envs[key]

    def eval(self, code):
        from rpy2.rinterface_lib.embedded import RRuntimeError
        try:
            with self._quiet():
                return self.ro.r(code)
        except RRuntimeError as exc:
            raise RCallError(f"R raised an error evaluating `{code}`: {str(exc).strip()}") from None


def get_session():
    """The process's one R session, started on first use."""
    global _SESSION
    if _SESSION is None:
        _SESSION = RSession()
    return _SESSION
