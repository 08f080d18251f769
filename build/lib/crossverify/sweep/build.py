"""A configuration as an in-memory Scenario (bridge/twins/scenarios.py): data from a generator of
scikit-learn, starting state drawn as the article draws its weights, every shape read from the
twin's declaration.

* Data: ``make_moons``, ``make_blobs`` (two centres: labels 0 and 1) or ``make_circles``, called with
  the configuration's data parameters (``random_state`` makes them reproducible). The generator
  gives X one sample per row and one label per sample; the twin's first data matrix receives X and
  its second the labels, each laid out as the declaration says (the samples' dimension is the one
  both matrices share; a preprocessing's stored shapes are used when the sweep names one).
* State: ``np.random.seed(seed)``, ``discard`` uniform draws thrown away, then one
  ``np.random.uniform(size=shape)`` per matrix of the declaration's ``init``, in its order: how the
  shipped fixtures draw the article's weights (fixtures/README.md), so a sweep can rebuild them.
* Sizes: the dimensions the data sets (samples, features, outputs) come from the data; the one
  dimension no data sets (a hidden layer's width) is ``hidden``, or ``dim_<symbol>`` for each when
  a twin has several.
"""
import numpy as np

from crossverify.errors import CrossverifyError
from crossverify.twins.protocol import load_twin
from crossverify.twins.scenarios import PREPROCESSING_NONE, Scenario

GENERATORS = ("moons", "blobs", "circles")
RESERVED = ("epochs", "seed", "discard", "hidden")


class BuildError(CrossverifyError):
    """A configuration that does not fit its twin."""


def generate(params):
    """X (samples x features) and labels (samples,) from ``params["generator"]`` and its parameters."""
    try:
        from sklearn import datasets
    except ImportError:
        raise BuildError("the sweep's data generators need scikit-learn. To fix: pip install "
                         "'crossverify[cluster]' (or scikit-learn)") from None
    kwargs = {k: v for k, v in params.items() if k != "generator"}
    name = params["generator"]
    if name == "moons":
        fn = datasets.make_moons
    elif name == "circles":
        fn = datasets.make_circles
    elif name == "blobs":
        fn = datasets.make_blobs
        kwargs.setdefault("centers", 2)
    else:
        raise BuildError(f"unknown data generator {name!r}. Known generators: {', '.join(GENERATORS)}.")
    try:
        X, labels = fn(**kwargs)
    except TypeError as exc:
        raise BuildError(f"data generator {name!r}: {exc}. To fix: use the parameters of "
                         f"sklearn.datasets.make_{name}.") from None
    return np.asarray(X, dtype=np.float64), np.asarray(labels, dtype=np.float64)


def stored_shapes(twin, preprocessing):
    """The shapes of the data matrices as a scenario stores them (before any preprocessing)."""
    stored = twin.preprocessing[preprocessing].stored if preprocessing != PREPROCESSING_NONE else {}
    return {k: tuple(stored.get(k, v)) for k, v in twin.data.items()}


def lay_out(twin, preprocessing, X, labels):
    """The generator's X and labels as the twin's two data matrices, and the sizes that fixes."""
    shapes = stored_shapes(twin, preprocessing)
    if len(shapes) != 2:
        raise BuildError(f"twin {twin.name!r} declares {len(shapes)} data matrices ({', '.join(shapes)}); "
                         f"a sweep's generated data fills two: inputs and targets")
    (x_name, x_dims), (y_name, y_dims) = shapes.items()
    shared = [d for d in x_dims if d in y_dims and not isinstance(d, int)]
    if len(shared) != 1:
        raise BuildError(f"twin {twin.name!r}: no single dimension is shared by {x_name}{x_dims} and "
                         f"{y_name}{y_dims}, so the samples' axis is unknown")
    n = shared[0]
    x = X if x_dims[0] == n else X.T
    y = labels.reshape(-1, 1) if y_dims[0] == n else labels.reshape(1, -1)
    sizes = {}
    for dims, matrix in ((x_dims, x), (y_dims, y)):
        for axis, d in enumerate(dims):
            if isinstance(d, int):
                if matrix.shape[axis] != d:
                    raise BuildError(f"twin {twin.name!r}: the generated data has {matrix.shape[axis]} along "
                                     f"an axis declared {d}")
            else:
                sizes[d] = matrix.shape[axis]
    return {x_name: x, y_name: y}, sizes


def free_dimensions(twin, sizes):
    """The symbols of the declaration's init shapes that no data matrix sets, in order of appearance."""
    out = []
    for dims in twin.init.values():
        for d in dims:
            if not isinstance(d, int) and d not in sizes and d not in out:
                out.append(d)
    return out


def resolve_sizes(twin, sizes, grid):
    """Every dimension's size: the data's, then ``hidden`` or ``dim_<symbol>`` for the free ones."""
    sizes = dict(sizes)
    free = free_dimensions(twin, sizes)
    for d in free:
        if f"dim_{d}" in grid:
            sizes[d] = int(grid[f"dim_{d}"])
        elif "hidden" in grid and len(free) == 1:
            sizes[d] = int(grid["hidden"])
        else:
            name = "hidden" if len(free) == 1 else f"dim_{d}"
            raise BuildError(f"twin {twin.name!r}: the size of dimension {d!r} is not set. To fix: add "
                             f"{name} = [...] to the sweep's [grid]")
    return sizes


def draw_state(twin, sizes, seed, discard):
    """The article's draw: seed, ``discard`` uniform draws thrown away, one uniform array per init
    matrix in declaration order (one draw of size k consumes the stream as k scalar draws do)."""
    state = np.random.RandomState(int(seed))  # np.random.seed(seed)'s generator, without touching the global one
    state.uniform(size=int(discard))
    return {name: state.uniform(size=tuple(d if isinstance(d, int) else sizes[d] for d in dims))
            for name, dims in twin.init.items()}


def scenario_for(config):
    """The in-memory Scenario of a configuration (bridge/sweep/spec.py Config)."""
    twin = load_twin(config.twin)
    grid, data, setting = config.grid, config.data, config.setting
    preprocessing = setting.get("preprocessing", PREPROCESSING_NONE)
    if preprocessing != PREPROCESSING_NONE and preprocessing not in twin.preprocessing:
        raise BuildError(f"twin {twin.name!r} has no preprocessing {preprocessing!r}. Known: "
                         f"{', '.join([PREPROCESSING_NONE] + list(twin.preprocessing))}.")
    unknown = sorted(k for k in grid if k not in RESERVED and k not in twin.hyper and not k.startswith("dim_"))
    if unknown:
        raise BuildError(f"sweep parameter(s) {unknown} are not known to twin {twin.name!r}. Known: "
                         f"{', '.join(RESERVED + twin.hyper)} and dim_<symbol>.")
    missing = [h for h in twin.hyper if h not in grid]
    if missing:
        raise BuildError(f"twin {twin.name!r} needs the hyper-parameter(s) {missing}. To fix: add them to [grid].")
    X, labels = generate(data)
    matrices, sizes = lay_out(twin, preprocessing, X, labels)
    sizes = resolve_sizes(twin, sizes, grid)
    init = draw_state(twin, sizes, grid["seed"], grid["discard"])
    hyper = {h: float(grid[h]) for h in twin.hyper}
    return Scenario(f"sweep-{config.key}", twin.name, "(built by crossverify sweep)", hyper.get("lr"),
                    int(grid["epochs"]), matrices, init, manifest={}, preprocessing=preprocessing,
                    hyper=hyper, twin=twin)
