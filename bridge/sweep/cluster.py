"""The same sweep on a Dask cluster (the optional 'cluster' extra: dask[distributed]).

``--cluster tcp://host:port`` connects to a running scheduler; ``--cluster local:N`` starts a real
LocalCluster of N worker processes (one thread each) on this machine and closes it afterwards.
docs/SWEEP.md gives the evidence behind the choices below.

* A Dask worker runs tasks in a thread pool; its main thread runs the event loop. R must be
  called from the thread that started it, so every task hands its configuration to one dedicated
  thread per worker process, which starts R on first use and runs every configuration after it
  (bridge/sweep/worker.py ``run_in_r_thread``). One thread per worker (``--nthreads 1``) is the
  right setting: more threads would only queue on R's thread.
* Worker processes are spawned by the nanny (Dask's default start method is 'spawn'), so no
  process holding R is forked; the nanny gives each worker one BLAS/OpenMP thread, as the local
  runner does, so both runners compute the same bits.
* Results travel as pickled rows from the worker to this process, which stores each one the
  moment ``as_completed`` yields it, then releases it on the cluster.
* A worker that dies is restarted by its nanny and its task rescheduled; after
  ``distributed.scheduler.allowed-failures`` (3) deaths the task fails with KilledWorker, which is
  recorded as that configuration's failure. An R error is not a death: it is a failed row with R's
  message, returned like any other row.
"""
import contextlib
import signal
import threading

from crossverify.errors import CrossverifyError, RUnavailableError
from crossverify.sweep.storage import deferred_interrupt

LOCAL_PREFIX = "local:"


def _dask():
    try:
        import distributed
    except ImportError:
        raise CrossverifyError("--cluster needs Dask's distributed scheduler, which is not installed. To fix: "
                               "pip install 'crossverify[cluster]' (or 'dask[distributed]').") from None
    return distributed


def parse_address(address):
    """('local', N) for local:N, else ('remote', address)."""
    if address.startswith(LOCAL_PREFIX):
        n = address[len(LOCAL_PREFIX):]
        if not n.isdigit() or int(n) < 1:
            raise CrossverifyError(f"--cluster {address}: local:N takes a positive number of worker processes")
        return "local", int(n)
    if "://" not in address:
        raise CrossverifyError(f"--cluster {address}: give a scheduler address such as tcp://host:8786, or local:N")
    return "remote", address


@contextlib.contextmanager
def _children_ignore_ctrl_c():
    """Ctrl-C reaches every process of the terminal's group: the nannies and workers started here
    inherit an ignored SIGINT (Python installs its KeyboardInterrupt handler only where SIGINT is at
    its default), so only this process answers it, cancels the tasks and closes the cluster, instead
    of every worker printing a KeyboardInterrupt traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)


class DaskRunner:
    """Configurations as Dask tasks, rows stored as they complete."""

    def __init__(self, address):
        self.kind, self.where = parse_address(address)
        self.address = address

    @property
    def processes(self):
        """The worker processes this machine runs (a local cluster's), None for a remote cluster."""
        return self.where if self.kind == "local" else None

    def describe(self):
        if self.kind == "local":
            return f"a local Dask cluster of {self.where} worker process{'es' if self.where != 1 else ''}"
        return f"the Dask cluster at {self.where}"

    def _connect(self):
        distributed = _dask()
        import logging
        if self.kind == "local":
            with _children_ignore_ctrl_c():
                cluster = distributed.LocalCluster(n_workers=self.where, threads_per_worker=1, processes=True,
                                                   dashboard_address=None, silence_logs=logging.ERROR)
            return cluster, distributed.Client(cluster)
        try:
            return None, distributed.Client(self.where, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise CrossverifyError(f"cannot reach the Dask scheduler at {self.where} ({exc}). Is it running "
                                   f"(`dask scheduler`), and is the address right?") from None

    @staticmethod
    def _row(distributed, future, config, failure_row):
        """The finished future's row, or the configuration's failure row; the future is released."""
        try:
            return future.result()
        except distributed.KilledWorker as exc:
            return failure_row(config, "worker-died", f"the Dask worker running this configuration died each "
                                                      f"time it was tried ({type(exc).__name__}: {exc})")
        except RUnavailableError:
            raise
        except Exception as exc:  # a task that raised outside run_config's own handling
            return failure_row(config, "task-error", f"{type(exc).__name__}: {exc}")
        finally:
            future.release()

    def run(self, configs, on_result):
        if not configs:
            return
        distributed = _dask()
        from crossverify.sweep.worker import failure_row, run_in_r_thread
        cluster, client = self._connect()
        by_key = {}
        futures = []
        try:
            for config in configs:
                # pure=False: a rerun is a new task, never a cached result of the scheduler's
                future = client.submit(run_in_r_thread, config.to_dict(), key=f"crossverify-sweep-{config.key}",
                                       pure=False)
                by_key[future.key] = config
                futures.append(future)
            for future in distributed.as_completed(futures):
                with deferred_interrupt():  # a row received is a row stored
                    on_result(self._row(distributed, future, by_key[future.key], failure_row))
        except KeyboardInterrupt:
            client.cancel([f for f in futures if not f.done()])
            raise
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
