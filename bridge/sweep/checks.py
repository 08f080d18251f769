"""Every configuration of a sweep checked before the first one runs: whole numbers where the run
needs a count (epochs, hidden sizes, seeds, discarded draws), finite real numbers for the twin's
hyper-parameters. Without this, epochs = -1 or hidden = 0 reach R and come back as R errors inside
Parquet rows, and lr = "abc" as a Python traceback from a worker."""
import math

from crossverify.sweep.spec import SweepError

COUNTS = {"epochs": 1, "hidden": 1, "seed": 0, "discard": 0}  # name -> smallest value allowed


def _least(name):
    return 1 if name.startswith("dim_") else COUNTS.get(name)


def check_value(name, value, hyper):
    """The problem with one grid value, or None."""
    least = _least(name)
    if least is not None:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            return f"{name} = {value!r} is not a whole number of {least} or more"
    elif name in hyper:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{name} = {value!r} is not a finite number"
    return None


def check_configs(configs, twin_hyper, source):
    """Raise a SweepError naming the first configuration value a run could not use."""
    for config in configs:
        for name, value in config.params:
            problem = check_value(name, value, twin_hyper)
            if problem:
                values = " ".join(f"{k}={v!r}" for k, v in config.params)
                raise SweepError(source, f"{problem} (configuration {values}); nothing was run",
                                 f"give {name} {'a whole number' if _least(name) is not None else 'a number'} "
                                 f"in the sweep file's [grid] or --param {name}=VALUE")
