"""A sweep's folder: nothing that finished is ever lost, and no file is ever half written.

    OUT/sweep.json                  the sweep as given and its configurations (written first)
    OUT/parts/<key>.ok.parquet      one finished configuration: one row, one file
    OUT/parts/<key>.failed.parquet  one configuration that failed, with why (R's own message)
    OUT/results.parquet             every part in one table, written when a run ends (any way but a kill)

Each part is written to a temporary name in the same folder, flushed to disk, and renamed over
its final name (a rename within one file system is atomic): a crash leaves either the whole part
or none, plus at most a temporary file that the next run deletes. A finished configuration's
``ok`` part is what a rerun skips; a failed one is run again and its ``failed`` part removed once
it succeeds. The parts folder alone is the record: results.parquet is rebuilt from it at any time
(``consolidate``), again through a temporary file.
"""
import glob
import json
import os
import signal
import threading

from crossverify.errors import CrossverifyError
from crossverify.files import TMP_PREFIX, write_atomically
from crossverify.twins.request import NUMPY_ARITHMETIC, R_ARITHMETIC

PARTS = "parts"
RESULTS = "results.parquet"
SWEEP = "sweep.json"


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise CrossverifyError("the sweep stores its results with pyarrow, which is not installed. "
                               "To fix: pip install pyarrow (make setup installs it).") from None
    return pa, pq


def result_types(pa):
    """The Arrow type of each result column a row may leave empty, so every part agrees (a column
    that is None in one row is still an integer column in the table)."""
    text, integer, real, flag = pa.string(), pa.int64(), pa.float64(), pa.bool_()
    types = {"status": text, "error_kind": text, "error": text, "exact_identical": flag,
             "exact_rule": text, "exact_meets_rule": flag,
             "float_within_bound": flag, "horizon": integer, "final_max_abs": real, "final_loss_r": real,
             "final_loss_float": real, "checkpoint_epochs": pa.list_(integer), "printed_r": pa.list_(text),
             "printed_float": pa.list_(text), "printed_exact": pa.list_(text), "printed_differ": pa.list_(flag),
             "printed_differ_count": integer, "worker": text, "r_version": text, "r_blas": text,
             "numpy_version": text, "sklearn_version": text, "warnings": text,
             "nonfinite_r": text, "nonfinite_exact": text, "nonfinite_float": text}
    for side in ("exact_first", "float_first"):
        types.update({f"{side}_epoch": integer, f"{side}_step": integer, f"{side}_name": text,
                      f"{side}_detail": text})
    for side in ("r", NUMPY_ARITHMETIC):
        types.update({f"saturated_{side}": integer, f"saturation_first_epoch_{side}": integer,
                      f"saturation_{side}": text})
    for part in ("r", R_ARITHMETIC, NUMPY_ARITHMETIC, "compare", "total"):
        types[f"seconds_{part}"] = real
    return types


def typed(table):
    """``table`` with each known result column cast to its type (a column of None has none)."""
    pa, _ = _pyarrow()
    types = result_types(pa)
    for i, name in enumerate(table.column_names):
        want = types.get(name)
        if want is not None and table.schema.field(i).type != want:
            table = table.set_column(i, pa.field(name, want), table.column(i).cast(want))
    return table


class deferred_interrupt:
    """Ctrl-C while a result is being received or stored waits until it is stored: a result that
    arrived is never lost (the interrupt is raised as soon as the block ends)."""

    def __enter__(self):
        self.hit = False
        self.saved = None
        if threading.current_thread() is threading.main_thread():
            self.saved = signal.signal(signal.SIGINT, self._note)
        return self

    def _note(self, signum, frame):
        self.hit = True

    def __exit__(self, *exc):
        if self.saved is not None:
            signal.signal(signal.SIGINT, self.saved)
        if self.hit and exc[0] is None:
            raise KeyboardInterrupt
        return False


class Store:
    """The parts folder of one sweep."""

    def __init__(self, folder):
        self.folder = folder
        self.parts = os.path.join(folder, PARTS)

    def open(self, spec):
        """Create the folders, drop leftover temporary files, and record the sweep."""
        try:
            os.makedirs(self.parts, exist_ok=True)
        except OSError as exc:
            raise CrossverifyError(f"cannot create {self.parts}: {exc.strerror}. Choose another --out.") from None
        for leftover in glob.glob(os.path.join(self.parts, TMP_PREFIX + "*")):
            os.unlink(leftover)
        record = {"spec": spec.to_dict(), "configurations": [c.to_dict() | {"key": c.key} for c in spec.configs]}
        write_atomically(os.path.join(self.folder, SWEEP), json.dumps(record, indent=1))
        return self

    def _part(self, key, status):
        return os.path.join(self.parts, f"{key}.{status}.parquet")

    def keys(self, status):
        suffix = f".{status}.parquet"
        if not os.path.isdir(self.parts):
            return set()
        return {name[: -len(suffix)] for name in os.listdir(self.parts) if name.endswith(suffix)}

    def done(self):
        """Keys of the configurations that finished (what a rerun skips)."""
        return self.keys("ok")

    def failed(self):
        return self.keys("failed") - self.done()

    def write(self, row):
        """One result row as one part file, atomically; a success removes an earlier failure's part."""
        pa, pq = _pyarrow()
        table = typed(pa.Table.from_pylist([row]))
        path = self._part(row["key"], row["status"])
        write_atomically(path, lambda fh: pq.write_table(table, fh))
        if row["status"] == "ok" and os.path.exists(self._part(row["key"], "failed")):
            os.unlink(self._part(row["key"], "failed"))

    def table(self, keys_in_order=None):
        """Every part as one pyarrow Table: successes, then failures not since succeeded, ordered by
        ``keys_in_order`` (the sweep's own order) when given."""
        pa, pq = _pyarrow()
        done = self.done()
        names = sorted(done) + sorted(self.failed())
        paths = [self._part(k, "ok" if k in done else "failed") for k in names]
        if not paths:
            return None
        tables = [pq.read_table(p) for p in paths]
        table = typed(pa.concat_tables([typed(t) for t in tables], promote_options="permissive"))
        if keys_in_order:
            rank = {k: i for i, k in enumerate(keys_in_order)}
            order = sorted(range(len(names)), key=lambda i: rank.get(names[i], len(rank)))
            table = table.take(pa.array(order))
        return table

    def consolidate(self, keys_in_order=None):
        """results.parquet rebuilt from the parts (atomically); the number of rows written."""
        _, pq = _pyarrow()
        table = self.table(keys_in_order)
        if table is None:
            return 0
        write_atomically(os.path.join(self.folder, RESULTS), lambda fh: pq.write_table(table, fh))
        return table.num_rows


def read_results(folder):
    """The results of a sweep folder as a pandas DataFrame: its parts when it has them (the newest
    record), else its results.parquet."""
    store = Store(folder)
    if store.done() or store.failed():
        table = store.table()
    else:
        path = folder if folder.endswith(".parquet") else os.path.join(folder, RESULTS)
        if not os.path.isfile(path):
            raise CrossverifyError(f"{folder} holds no sweep results (no {PARTS}/ and no {RESULTS}). To fix: run "
                                   f"`crossverify sweep SPEC --out {folder}` first, or name the folder that holds them.")
        _, pq = _pyarrow()
        table = pq.read_table(path)
    return table.to_pandas()


def read_sweep(folder):
    path = os.path.join(folder, SWEEP)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
