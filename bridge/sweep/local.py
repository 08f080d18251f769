"""Worker processes on this machine, one embedded R each, on each worker's main thread.

Workers are started with multiprocessing's ``spawn`` method: a fresh interpreter that imports what
it needs and starts its own R, so no process that already holds R is ever forked (a forked R
shares its parent's state and is not safe to use). Each worker:

* leaves the terminal's process group (``os.setpgrp``), so Ctrl-C reaches only the coordinator,
  which ends the workers itself and keeps every finished configuration;
* starts R on its main thread, says it is ready, then runs one configuration per message and
  sends back its row; an error inside one configuration (R's included) is a failed row, and the
  worker goes on;
* ends when its pipe closes, so a worker outliving a killed coordinator stops after the
  configuration it is running.

The coordinator hands each idle worker the next configuration, so it always knows which
configuration a worker was running: when a worker process dies (killed, out of memory, a crash
inside R), that configuration is recorded as failed with the exit status and a new worker takes
the dead one's place. BLAS and OpenMP run one thread per worker, as Dask's nanny sets them, so a
float kernel's sums are the same on either runner.
"""
import multiprocessing
import os
import signal
from collections import deque
from multiprocessing.connection import wait

from crossverify.errors import CrossverifyError
from crossverify.sweep.storage import deferred_interrupt

ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
START_TIMEOUT = 300.0  # seconds for a worker to import everything and start R


def default_workers():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def serve(conn):
    """A worker process's main function: R on this (main) thread, then one configuration per message."""
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from crossverify.errors import CrossverifyError as Error
    try:
        from crossverify.session.rsession import get_session
        session = get_session()
    except Error as exc:
        conn.send(("fatal", str(exc)))
        return
    from crossverify.sweep.spec import Config
    from crossverify.sweep.worker import run_config
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        conn.send(("result", run_config(Config.from_dict(message), session)))


class _Slot:
    """One worker process, its pipe, and the configuration it is running."""

    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child,), daemon=True, name="crossverify-sweep-worker")
        self.process.start()
        child.close()
        self.ready = False
        self.config = None

    def send(self, config):
        self.config = config
        self.conn.send(config.to_dict())

    def stop(self):
        try:
            self.conn.send(None)
        except OSError:
            pass

    def kill(self):
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


class LocalRunner:
    """``workers`` spawned processes on this machine."""

    def __init__(self, workers=None):
        self.workers = max(1, int(workers or default_workers()))

    @property
    def processes(self):
        """The worker processes this machine runs."""
        return self.workers

    def describe(self):
        return f"{self.workers} local worker process{'es' if self.workers != 1 else ''}"

    def run(self, configs, on_result):
        """Run ``configs``, calling ``on_result(row)`` in this process as each finishes."""
        from crossverify.sweep.worker import failure_row
        pending = deque(configs)
        if not pending:
            return
        ctx = multiprocessing.get_context("spawn")
        saved = {k: os.environ.get(k) for k in ONE_THREAD}
        os.environ.update(ONE_THREAD)  # inherited by the spawned workers
        slots = []
        try:
            slots = [_Slot(ctx) for _ in range(min(self.workers, len(pending)))]
            while pending or any(s.config is not None for s in slots):
                for slot in slots:
                    if slot.ready and slot.config is None and pending:
                        slot.send(pending.popleft())
                ready = wait([s.conn for s in slots] + [s.process.sentinel for s in slots], timeout=START_TIMEOUT)
                if not ready:
                    if not any(s.ready for s in slots):
                        raise CrossverifyError(f"no sweep worker started within {START_TIMEOUT:.0f} s")
                    continue
                for slot in [s for s in slots if s.conn in ready or s.process.sentinel in ready]:
                    if self._read(slot, on_result):
                        continue
                    died, started = slot.config, slot.ready
                    slot.kill()
                    slots.remove(slot)
                    if died is not None:
                        on_result(failure_row(died, "worker-died", f"the worker process running this configuration "
                                                                   f"died ({_exit_text(slot.process.exitcode)})"))
                    elif not started:
                        raise CrossverifyError(f"a sweep worker died while starting "
                                               f"({_exit_text(slot.process.exitcode)})")
                    if pending:
                        slots.append(_Slot(ctx))  # a new worker takes the dead one's place
        finally:
            for slot in slots:
                slot.stop()
            for slot in slots:
                slot.kill()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    @staticmethod
    def _read(slot, on_result):
        """Every message waiting on ``slot``'s pipe; False when the worker is gone."""
        while True:
            with deferred_interrupt():  # a row received is a row stored
                try:
                    if not slot.conn.poll():
                        return slot.process.is_alive()
                    kind, payload = slot.conn.recv()
                except (EOFError, OSError):
                    return False
                if kind == "fatal":
                    raise CrossverifyError(f"a sweep worker could not start R: {payload}")
                if kind == "ready":
                    slot.ready = True
                elif kind == "result":
                    slot.config = None
                    on_result(payload)


def _exit_text(code):
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"
