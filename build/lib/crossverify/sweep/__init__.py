"""``crossverify sweep``: one twin run free-running in both languages over many configurations
(weight seeds, sizes, learning rates, epochs, generated data), each recorded as one row of a
Parquet table, on this machine's cores or on a Dask cluster, and drawn as an atlas of where the
two languages part (docs/SWEEP.md).

spec.py      the sweep file (TOML or JSON) and the command line, expanded into configurations
build.py     a configuration as an in-memory Scenario: generated data, weights drawn like the article
worker.py    one configuration run and compared, as one result row; R's thread on a Dask worker
storage.py   the append-only parts folder, resumable, consolidated into results.parquet
local.py     worker processes on this machine (spawned, one embedded R each)
cluster.py   the same on a Dask cluster (--cluster tcp://host:port or local:N)
run.py       the loop: skip what is done, dispatch, store each result as it arrives, progress bar
atlas.py     the figures and the HTML page drawn from a results table
"""
