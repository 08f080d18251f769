"""crossverify: a numpy and an R implementation of one algorithm, checked step by step, bit for bit.

``import crossverify`` is the only import a twin's declaration (docs/TWINS.md) or a user's test
suite needs::

    from crossverify import Twin, Step, RSide   # declare a twin in twin.py
    from crossverify import assert_twin_agrees  # in a pytest test (the plugin is registered on install)
    rows = crossverify.run("path/to/twin")      # every check, as a pandas DataFrame

The names are loaded on first use (PEP 562), so that ``import crossverify`` starts neither R nor
pandas.
"""

# public name -> the module that defines it
_PUBLIC = {
    "Twin": "crossverify.twins.protocol",
    "Step": "crossverify.twins.protocol",
    "RSide": "crossverify.twins.protocol",
    "Variant": "crossverify.twins.protocol",
    "Preprocess": "crossverify.twins.protocol",
    "Printed": "crossverify.twins.protocol",
    "load_twin": "crossverify.twins.protocol",
    "assert_twin_agrees": "crossverify.check.pytest_plugin",
    "TraceData": "crossverify.check.traceio",
    "read_trace": "crossverify.api",
    "write_trace": "crossverify.api",
    "run": "crossverify.api",
    "CrossverifyError": "crossverify.errors",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'crossverify' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
