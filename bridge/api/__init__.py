"""The public API behind ``import crossverify``: run the checks from Python and get the rows as a table.

Everything else a user's code needs is re-exported by the package itself (bridge/__init__.py).
"""
import os


def run(twin=None, scenarios=None, variants=None, kernels=None, modes=None, fixtures=None, epochs=None,
        audit="checkpoints"):
    """The rows ``crossverify run`` prints, as a pandas DataFrame (one row per check, the columns of
    ``--format json``); ``twin`` is a folder holding twin.py, a twin.py or a shipped twin's name, and
    its own ``scenarios/`` folder is used unless ``fixtures`` names another."""
    import pandas as pd

    from crossverify.check.verify import run as run_rows
    from crossverify.session.rsession import get_session
    from crossverify.twins.protocol import load_twin
    from crossverify.twins.scenarios import scenarios_folder

    declared = load_twin(os.fspath(twin)) if twin is not None else None
    fixtures = scenarios_folder(declared, os.fspath(fixtures) if fixtures is not None else None)
    if isinstance(scenarios, str):
        scenarios = [scenarios]
    rows = run_rows(get_session(), scenarios=scenarios, variants=variants, kernels=kernels, modes=modes,
                    fixtures_dir=fixtures, audit=audit,
                    twin=declared, epochs=epochs)
    return pd.DataFrame([row.to_dict() for row in rows])


def read_trace(path):
    """A trace folder (docs/TRACES.md) or a ``crossverify trace`` .npz, as TraceData."""
    from crossverify.check.traceio import read
    return read(os.fspath(path))


def write_trace(path, data):
    """Write TraceData as a trace folder (docs/TRACES.md), built beside ``path`` and renamed into place."""
    from crossverify.check.traceio import write_folder
    return write_folder(os.fspath(path), data)
