"""Every configuration of a sweep checked before the first one runs: whole numbers where the run
needs a count (epochs, hidden sizes, seeds, discarded draws), finite real numbers for the twin's
hyper-parameters. Without this, epochs = -1 or hidden = 0 reach R and come back as R errors inside
Parquet rows, and lr = "abc" as a Python traceback from a worker. And the memory the workers' traces
will need, estimated by bridge/check/budget.py's rule, so that a sweep that cannot fit is refused
before it starts rather than swapping the machine to a halt."""
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


# a worker holds R's trace and Python's exact and float ones (bridge/sweep/worker.py), and R's twice while
# it is converted
TRACES_HELD = 3 + 1


def worker_bytes(config):
    """What one worker's traces of ``config`` need at once, in bytes (bridge/check/budget.py)."""
    from crossverify.check import budget
    from crossverify.sweep.build import scenario_for
    from crossverify.twins.runner import TwinRun

    scenario = scenario_for(config)
    epochs, every = scenario.epochs, config.setting["checkpoint_every"]
    recorded = budget.checkpoint_count(epochs, False, 0, 1, every)  # 0, every, 2 every, ... and the last
    return TRACES_HELD * budget.trace_bytes(TwinRun(scenario.twin, scenario), epochs, recorded)


def check_sweep_fits(configs, hyper, workers, override=False, available=None):
    """Raise a CrossverifyError, before anything runs, when ``workers`` processes each running the sweep's
    largest configuration would need more memory than this machine has available (unless ``override``).
    Sizes depend on neither the seed nor a hyper-parameter's value, so one configuration of each other
    combination is measured. Counted: the traces; not each worker's R and Python themselves."""
    from crossverify.check import budget
    from crossverify.errors import CrossverifyError

    available = budget.available_memory() if available is None else available
    if override or available is None or not configs:
        return
    shapes = {}
    for config in configs:
        shapes.setdefault(tuple((k, v) for k, v in config.params if k != "seed" and k not in hyper) + config.settings,
                          config)
    sizes = []
    for config in shapes.values():
        try:
            sizes.append((worker_bytes(config), config))
        except CrossverifyError:  # it cannot be built: its own row will say why
            continue
    if not sizes:
        return
    largest, config = max(sizes, key=lambda s: s[0])
    if workers * largest <= available:
        return
    values = ", ".join(f"{k}={v}" for k, v in config.params if k != "seed")
    fit = int(available // largest)
    what = (f"--workers {fit}" if fit >= 1 else
            "fewer epochs or a larger checkpoint_every (the traces of one configuration alone exceed it)")
    raise CrossverifyError(f"this sweep would not fit in memory: its largest configuration ({values}) needs about "
                           f"{budget.human_bytes(largest)} of traces in each worker process, {workers} at once about "
                           f"{budget.human_bytes(workers * largest)}, and this machine has "
                           f"{budget.human_bytes(available)} available; nothing was run. What fits: {what}. To run "
                           f"it anyway, give {budget.OVERRIDE}.")
