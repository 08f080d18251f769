"""Before a run starts: how much memory and time it will take, estimated from the scenario, and a
refusal, with the estimate and what would fit, when it cannot fit in this machine's memory.

A trace keeps every intermediate at its recorded epochs and the state (plus the twin's history)
after every epoch, 8 bytes a number:

    bytes(trace) = recorded epochs x numbers per epoch's intermediates + epochs x numbers of the state and history

The sizes come from one Python epoch (float kernels) of the scenario itself, so they hold for any
twin; the time from a few epochs of each kernel, measured here. ``crossverify run`` holds several
traces at once (R's reference run, Python's per kernels and mode, and per other variant R's run and
the model of it), and a trace being converted from R exists twice for a moment.
"""
import math
import os
import time
from dataclasses import dataclass

import numpy as np

from crossverify.errors import CrossverifyError
from crossverify.twins.request import NUMPY_ARITHMETIC, R_ARITHMETIC

BYTES = 8
OVERRIDE = "--ignore-memory-estimate"
TIMED_EPOCHS = 3  # epochs of each kernel timed for the time estimate
CHUNK_EPOCHS = 25  # a full audit streams R and Python in chunks of this many epochs (verify.AUDIT_CHUNK)


def available_memory():
    """Bytes this process can still allocate without swapping: Linux's MemAvailable, else the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def checkpoint_count(epochs, record_all, keep_all_limit, numbers_per_epoch, every):
    """How many epochs keep every intermediate, without building the list (TwinRun.checkpoints)."""
    if record_all or epochs * numbers_per_epoch <= keep_all_limit:
        return epochs
    return math.ceil(epochs / every) + (0 if (epochs - 1) % every == 0 else 1)


def human_bytes(n):
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g} {unit}" if unit != "bytes" else f"{int(n)} bytes"
        n /= 1000


def human_seconds(s):
    if s < 120:
        return f"{s:.2g} s"
    if s < 7200:
        return f"{s / 60:.2g} min"
    if s < 3 * 86400:
        return f"{s / 3600:.2g} h"
    return f"{s / 86400:.3g} days"


@dataclass
class Estimate:
    """What one command's run of one scenario needs."""

    scenario: str
    epochs: int
    bytes_needed: float
    seconds: float
    per_epoch_bytes: float  # the part that grows with every epoch (state and history of each trace)
    fixed_bytes: float  # the rest: intermediates at recorded epochs
    traces: int

    def describe(self):
        return (f"scenario {self.scenario!r}, {self.epochs} epochs: about {human_bytes(self.bytes_needed)} of memory "
                f"({self.traces} trace{'s' if self.traces != 1 else ''} held at once) and {human_seconds(self.seconds)}")

    def epochs_that_fit(self, available):
        """The most epochs whose run fits in ``available`` bytes, at this scenario's cost per epoch."""
        per_epoch = self.bytes_needed / self.epochs
        return max(0, int(available / per_epoch))


def _numbers(net, trace):
    """Numbers in one epoch's intermediates, and in its state and history, read off a trace of ``net``."""
    step_numbers = sum(int(np.size(trace.steps[n][0])) for n in trace.names)
    kept = tuple(dict.fromkeys(tuple(net.weights) + tuple(net.twin.history_names)))
    history_numbers = sum(int(np.size(trace.steps[n][0])) for n in kept if n in trace.steps)
    return step_numbers, history_numbers


def _sizes(net):
    """_numbers, and seconds per epoch of each kernel."""
    with np.errstate(all="ignore"):
        seconds = {}
        for kernels in (NUMPY_ARITHMETIC, R_ARITHMETIC):
            t = time.perf_counter()
            trace = net.python(kernels, TIMED_EPOCHS, record=None)
            seconds[kernels] = (time.perf_counter() - t) / TIMED_EPOCHS
    return (*_numbers(net, trace), seconds)


def trace_bytes(net, epochs, recorded):
    """bytes(trace) of the module docstring: ``net`` run ``epochs`` epochs, every intermediate kept at
    ``recorded`` of them (the sizes from one float epoch; nothing is timed)."""
    with np.errstate(all="ignore"):
        step_numbers, history_numbers = _numbers(net, net.python(NUMPY_ARITHMETIC, 1, record=None))
    return (recorded * step_numbers + epochs * history_numbers) * BYTES


def _traces_of_run(net, variants, kernels, modes):
    """How many traces `crossverify run` holds for one scenario (verify.Verifier's cache)."""
    ks, ms = len(kernels), len(modes)
    count = 1 + ks * ms  # R's reference run; Python per kernels, free-running and lockstep
    for v in variants:
        if v != net.reference_variant:
            count += 1 + ks * ms  # R's run of the variant; the model of it per kernels and mode
    return count


def estimate_run(net, epochs, variants, kernels, modes, audit="checkpoints", record_all=False, traces=None):
    """The memory and time of `crossverify run` (or, with ``traces=1``, `trace`) on one scenario."""
    from crossverify.twins.runner import CHECKPOINT_EVERY, KEEP_ALL_LIMIT
    step_numbers, history_numbers, seconds = _sizes(net)
    largest = max(np.size(v) for v in list(net.scenario.data.values()) + list(net.scenario.init.values()))
    recorded = checkpoint_count(epochs, record_all, KEEP_ALL_LIMIT, len(net.twin.steps) * largest, CHECKPOINT_EVERY)
    held = traces or _traces_of_run(net, variants, kernels, modes)
    fixed = recorded * step_numbers * BYTES
    growing = epochs * history_numbers * BYTES
    if audit == "full" and recorded == epochs and traces is None:
        fixed = min(epochs, CHUNK_EPOCHS) * step_numbers * BYTES  # streamed in chunks, each dropped once compared
    needed = (held + 1) * (fixed + growing)  # +1: a trace converted from R exists twice for a moment
    runs = len(kernels) * len(modes) * max(1, len(variants))
    per_epoch = seconds[NUMPY_ARITHMETIC] + seconds[R_ARITHMETIC] * 2  # R's loop assumed about as fast as the exact kernels
    return Estimate(net.scenario.name, epochs, needed, epochs * per_epoch * max(1, runs // 2),
                    growing / max(epochs, 1), fixed, held)


def refuse_if_too_big(estimates, override, available=None, lighter=None):
    """Raise a CrossverifyError naming the estimate and what fits, unless ``override`` or it fits.
    ``lighter`` is the option that keeps fewer intermediates (e.g. "--record checkpoints"), if any."""
    available = available_memory() if available is None else available
    if override or available is None:
        return
    total = sum(e.bytes_needed for e in estimates)
    if total <= available:
        return
    worst = max(estimates, key=lambda e: e.bytes_needed)
    fits = worst.epochs_that_fit(available - (total - worst.bytes_needed))
    fewer = f"--epochs {fits} or fewer" if fits else "a scenario with smaller matrices"
    if lighter and worst.fixed_bytes > worst.per_epoch_bytes * worst.epochs:
        advice = f"most of it is the intermediates of every epoch: {lighter} keeps them only at checkpoints, or {fewer}"
    else:
        advice = f"most of it is the state kept after every epoch, which every option keeps: {fewer}"
    raise CrossverifyError(
        f"this run would not fit in memory: {worst.describe()}, and this machine has {human_bytes(available)} "
        f"available; nothing was run. What fits: {advice}. To run it anyway, give {OVERRIDE}.")
