"""One configuration, run free-running in R and in Python (exact and float kernels), compared, and
returned as one flat result row (plain Python values, so it pickles and becomes a Parquet row).

What a row records (docs/SWEEP.md):

* ``exact_identical``: Python's exact kernels equal R bit for bit at every checkpoint epoch and in
  the state after every epoch.
* ``exact_rule`` and ``exact_meets_rule``: the rule `crossverify run` holds the exact kernels to on
  this machine (Kernels.rule: ``identical``, or ``within-bound`` when R's %*% takes a path they
  cannot reproduce) and whether the run meets it; a False is a finding, with where it broke.
* ``float_first_*``: the first bit where the float kernels part from R (epoch, step, intermediate).
  Every intermediate is kept only at checkpoint epochs; when the first difference shows in the
  state between them, at epoch e, both sides started epoch e from the same bits (the state after
  e - 1 was equal), so one epoch of each side from that state, every intermediate kept, names the
  step exactly.
* ``horizon``: the first epoch whose weights differ by more than 2^-26 of their size (engine.py).
* ``final_max_abs``: the largest |float - R| of the state after the last epoch.
* ``printed_*``: the twin's loss at each checkpoint epoch as printed to ``decimals`` places, per side,
  and whether R's and the float kernels' printed text differ (the article prints 5 decimals).
* ``saturated_*``: activation outputs exactly at their limits (bridge/check/saturation.py).
* ``nonfinite_*``: where each side first produced NaN or Inf (epoch, step, element), or None
  (bridge/check/nonfinite.py); ``warnings`` joins them, and targets outside the output's range.
* ``seconds_*``: the time of each side and of the comparison.

R runs on the thread that started it: a worker process's main thread (local.py), or on a Dask
worker, whose tasks run in a thread pool while its main thread runs the event loop, one dedicated
thread per process that starts R on first use and runs every configuration (``run_in_r_thread``).
"""
import os
import socket
import threading
import time
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from crossverify.check import bounds
from crossverify.check.engine import compare_traces
from crossverify.check.nonfinite import first_nonfinite, nonfinite_data, targets_out_of_range
from crossverify.check.saturation import describe, saturation
from crossverify.errors import RCallError
from crossverify.twins.request import NUMPY_ARITHMETIC, R_ARITHMETIC
from crossverify.twins.runner import TwinRun
from crossverify.twins.tracing import Params

STATUS_OK, STATUS_FAILED = "ok", "failed"


def checkpoint_epochs(epochs, every):
    """Epochs whose every intermediate is kept: 0, every, 2 every, ... and the last."""
    return sorted(set(range(0, epochs, every)) | {epochs - 1})


def printed(values, decimals):
    return [] if values is None else [f"{v:.{decimals}f}" for v in values]


def bits_only(spec):
    """``spec`` with every step's expression one that no bound rule knows: under the identical rule
    the engine then decides by the 64 bits alone (bridge/check/engine.py) and derives no bound,
    which the first differing bit does not need; the float run's bound is derived once, in
    ``within_bound``."""
    untraced = ("untraced", Params("the first differing bit needs no bound"))
    return tuple((step, name, untraced) for step, name, _ in spec)


def first_divergence(net, session, kernels, left, right):
    """The first bit where ``left`` (Python, ``kernels``) parts from ``right`` (R), to the step."""
    spec = bits_only(net.spec)
    cmp = compare_traces(left, right, spec, net.fixed(), "identical", weights=net.weights)
    first = cmp.first
    if first is None or first.epoch in set(int(e) for e in left.epochs):
        return cmp, first
    # the state each side started epoch e from is the same bits: replay that one epoch, all kept
    start = right.state_before(first.epoch, net.weights)
    r_one = net.r(session, None, 1, start=start, first_epoch=first.epoch)
    py_one = net.python(kernels, 1, start=start, first_epoch=first.epoch)
    exact = compare_traces(py_one, r_one, spec, net.fixed(), "identical", weights=net.weights).first
    return cmp, exact or first


def within_bound(net, left, right):
    """Whether every recorded step of the float run lies inside its bound; None when a step's bound
    needs an operation without a rule (bridge/check/bounds.py)."""
    try:
        bounds.check_known(net.spec)
        return compare_traces(left, right, net.spec, net.fixed(), "within-bound", weights=net.weights).holds
    except bounds.UnknownOperationError:
        return None


def _divergence_fields(prefix, d):
    return {f"{prefix}_epoch": None if d is None else d.epoch, f"{prefix}_step": None if d is None else d.step,
            f"{prefix}_name": None if d is None else d.name,
            f"{prefix}_detail": None if d is None else d.describe()}


def _saturation_fields(trace, spec, side):
    report = saturation(trace, spec)
    firsts = [s.first_epoch for s in report if s.saturated]
    return {f"saturated_{side}": int(sum(s.count for s in report)),
            f"saturation_first_epoch_{side}": min(firsts) if firsts else None,
            f"saturation_{side}": describe([s for s in report if s.saturated])}


def _nonfinite_fields(net, traces):
    """Where each side first went NaN or Inf, and every warning a reader of the row must see."""
    found = {side: first_nonfinite(trace, net.spec, side) for side, trace in traces.items()}
    warnings_ = nonfinite_data(net.data) + targets_out_of_range(net.data, net.spec)
    warnings_ += [f"not finite: {f.describe()}" for f in found.values() if f is not None]
    return {**{f"nonfinite_{side}": None if f is None else f.where() for side, f in found.items()},
            "warnings": "; ".join(warnings_) or None}


def evaluate(config, session):
    """The result fields of one configuration (raises on any error: ``run_config`` records it)."""
    from crossverify.sweep.build import scenario_for
    clock = {}
    started = time.perf_counter()
    scenario = scenario_for(config)
    net = TwinRun(scenario.twin, scenario)
    setting = config.setting
    epochs = scenario.epochs
    record = checkpoint_epochs(epochs, setting["checkpoint_every"])
    t = time.perf_counter()
    r = net.r(session, None, epochs, record=record)
    clock["r"] = time.perf_counter() - t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # float exp overflows to inf in saturated runs: legal
        with np.errstate(all="ignore"):
            t = time.perf_counter()
            exact = net.python(R_ARITHMETIC, epochs, record=record)
            clock[R_ARITHMETIC] = time.perf_counter() - t
            t = time.perf_counter()
            flt = net.python(NUMPY_ARITHMETIC, epochs, record=record)
            clock[NUMPY_ARITHMETIC] = time.perf_counter() - t
            t = time.perf_counter()
            _, exact_first = first_divergence(net, session, R_ARITHMETIC, exact, r)
            float_cmp, float_first = first_divergence(net, session, NUMPY_ARITHMETIC, flt, r)
            bound_ok = within_bound(net, flt, r)
            exact_rule = R_ARITHMETIC.rule(session)
            exact_ok = exact_first is None if exact_rule == "identical" else within_bound(net, exact, r)
    final = max(float(np.max(np.abs(flt.series(w)[-1] - r.series(w)[-1]), initial=0.0)) for w in net.weights)
    # the twin's loss at each recorded epoch (None when it declares none)
    losses = {side: net.loss(trace.steps) for side, trace in (("r", r), (NUMPY_ARITHMETIC, flt), (R_ARITHMETIC, exact))}
    decimals = setting["decimals"]
    text = {side: printed(v, decimals) for side, v in losses.items()}
    differ = [a != b for a, b in zip(text["r"], text[NUMPY_ARITHMETIC])]
    row = {
        "exact_identical": exact_first is None,
        "exact_rule": exact_rule,
        "exact_meets_rule": exact_ok,
        **_divergence_fields("exact_first", exact_first),
        **_divergence_fields("float_first", float_first),
        "float_within_bound": bound_ok,
        "horizon": float_cmp.horizon,
        "final_max_abs": final,
        "final_loss_r": None if losses["r"] is None else float(losses["r"][-1]),
        "final_loss_float": None if losses[NUMPY_ARITHMETIC] is None else float(losses[NUMPY_ARITHMETIC][-1]),
        "checkpoint_epochs": [int(e) for e in r.epochs],
        "printed_r": text["r"], "printed_float": text[NUMPY_ARITHMETIC], "printed_exact": text[R_ARITHMETIC],
        "printed_differ": differ, "printed_differ_count": int(sum(differ)),
        **_saturation_fields(r, net.spec, "r"),
        **_saturation_fields(flt, net.spec, NUMPY_ARITHMETIC),
        **_nonfinite_fields(net, {"r": r, R_ARITHMETIC: exact, NUMPY_ARITHMETIC: flt}),
    }
    clock["compare"] = time.perf_counter() - t
    clock["total"] = time.perf_counter() - started
    row.update({f"seconds_{k}": v for k, v in clock.items()})
    return row


def environment(session):
    import sklearn
    return {"worker": f"{socket.gethostname()}:{os.getpid()}", "r_version": session.r_version,
            "r_blas": os.path.basename(str(session.blas)),
            "numpy_version": np.__version__, "sklearn_version": sklearn.__version__}


def base_row(config):
    """The columns every row has: the key, the twin, each parameter under its own name (a data
    parameter as data_<name>) and the settings."""
    row = {"key": config.key, "twin": config.twin}
    for name, value in config.params:
        row[name.replace("data.", "data_")] = value
    for name, value in config.settings:
        row[name] = value
    return row


def failure_row(config, kind, message, elapsed=None):
    return {**base_row(config), "status": STATUS_FAILED, "error_kind": kind, "error": message,
            "seconds_total": elapsed}


def run_config(config, session):
    """One configuration's row; an error (R's own message for an R error) becomes a failed row."""
    started = time.perf_counter()
    before = len(session.messages)
    try:
        row = {**base_row(config), "status": STATUS_OK, "error_kind": None, "error": None, **evaluate(config, session)}
    except RCallError as exc:
        row = failure_row(config, "r-error", str(exc), time.perf_counter() - started)
    except Exception as exc:  # a worker must outlive any one configuration
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" (at {os.path.basename(last[0].filename)}:{last[0].lineno})" if last else ""
        row = failure_row(config, "python-error", f"{type(exc).__name__}: {exc}{where}", time.perf_counter() - started)
    del session.messages[before:]  # what R printed is not kept from one configuration to the next
    row.update(environment(session))
    return row


# -- R's own thread on a Dask worker -----------------------------------------------------------------

_R_EXECUTOR = None
_R_LOCK = threading.Lock()


def _r_thread():
    global _R_EXECUTOR
    with _R_LOCK:
        if _R_EXECUTOR is None:
            _R_EXECUTOR = ThreadPoolExecutor(1, thread_name_prefix="crossverify-R")
        return _R_EXECUTOR


def _start_and_run(config_dict):
    from crossverify.session import rsession
    from crossverify.sweep.spec import Config
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rpy2: "R is not initialized by the main thread" - by design here
        session = rsession.get_session()
    return run_config(Config.from_dict(config_dict), session)


def run_in_r_thread(config_dict):
    """A Dask task: the configuration run on this process's R thread, started on first use. On the
    main thread (a process that already runs R there) it runs in place."""
    if threading.current_thread() is threading.main_thread():
        return _start_and_run(config_dict)
    return _r_thread().submit(_start_and_run, config_dict).result()
