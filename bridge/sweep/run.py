"""The sweep loop: skip what is done, run the rest on a runner (local.py or cluster.py), store each
row the moment it arrives, show done/total and the rate, and consolidate however the run ends.

A Ctrl-C stops the runner (its workers are ended), keeps every finished configuration, writes
results.parquet from the parts and ends with status 130; running the same command again carries
on from there. A configuration that failed (an R error, a worker that died) is stored with why,
counted, and run again by the next run.
"""
import sys
import time
from dataclasses import dataclass

from crossverify.sweep.storage import Store, deferred_interrupt


@dataclass
class Summary:
    total: int
    skipped: int  # finished by an earlier run
    ok: int = 0
    failed: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    rows: int = 0  # rows of results.parquet
    exact_broken: int = 0  # configurations where the exact kernels did not meet run's rule for them
    failed_in_table: int = 0  # over every row of results.parquet, this run's and earlier runs'
    exact_broken_in_table: int = 0

    @property
    def clean(self):
        """Every configuration of the table finished and its exact kernels equalled R."""
        return self.failed_in_table == 0 and self.exact_broken_in_table == 0

    @property
    def ran(self):
        return self.ok + self.failed

    @property
    def rate_per_minute(self):
        return 60.0 * self.ran / self.seconds if self.seconds > 0 else 0.0

    def describe(self, out_dir):
        text = (f"{self.ran} configuration(s) run in {self.seconds:.1f} s ({self.rate_per_minute:.1f} per minute): "
                f"{self.ok} finished, {self.failed} failed; {self.skipped} already done by an earlier run; "
                f"{self.rows} of {self.total} in {out_dir}/results.parquet.")
        if self.failed_in_table > self.failed:
            text += f"\n{self.failed_in_table} configuration(s) of the table failed (column error says why)."
        if self.exact_broken_in_table:
            text += (f"\nFINDING: in {self.exact_broken_in_table} configuration(s) the exact kernels did not meet the "
                     f"rule run holds them to (column exact_rule; exact_first_detail says where they first differ).")
        if self.interrupted:
            text += (f"\nInterrupted: every finished configuration is kept; run the same command again to do the "
                     f"other {self.total - self.skipped - self.ok} (finished ones are skipped).")
        return text


def progress_bar(total, initial, enabled):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, unit="config", dynamic_ncols=True, file=sys.stderr,
                disable=None if enabled else True, desc="sweep", smoothing=0.1)


def sweep(spec, out_dir, runner, progress=True, limit=None):
    """Run every configuration of ``spec`` not yet finished in ``out_dir``; returns a Summary."""
    store = Store(out_dir).open(spec)
    done = store.done()
    todo = [c for c in spec.configs if c.key not in done]
    if limit is not None:
        todo = todo[:limit]
    summary = Summary(total=len(spec.configs), skipped=len(spec.configs) - len([c for c in spec.configs
                                                                                 if c.key not in done]))
    bar = progress_bar(summary.total, summary.skipped, progress)

    def on_result(row):
        with deferred_interrupt():
            store.write(row)  # on disk before anything else happens
        if row["status"] == "ok":
            summary.ok += 1
            summary.exact_broken += row.get("exact_meets_rule") is False
        else:
            summary.failed += 1
        bar.update(1)
        if summary.failed:
            bar.set_postfix(failed=summary.failed, refresh=False)

    started = time.perf_counter()
    try:
        runner.run(todo, on_result)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        summary.seconds = time.perf_counter() - started
        bar.close()
        summary.rows = store.consolidate([c.key for c in spec.configs])
        wanted = {c.key for c in spec.configs}
        summary.failed_in_table = len(store.failed() & wanted)
        summary.exact_broken_in_table = _exact_broken(store, wanted)
    return summary


def _exact_broken(store, keys):
    """How many finished configurations of ``keys`` had exact kernels that did not meet run's rule."""
    table = store.table()
    if table is None or "exact_meets_rule" not in table.column_names:
        return 0
    rows = table.select(["key", "status", "exact_meets_rule"]).to_pylist()
    return sum(1 for r in rows if r["key"] in keys and r["status"] == "ok" and r["exact_meets_rule"] is False)
