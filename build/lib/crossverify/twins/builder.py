"""Scenarios of your own: a manifest (fixtures/README.md) built from your data and a seed, for any twin.

The article draws its starting weights with ``np.random.seed(42)`` followed by one
``np.random.uniform(size=shape)`` per weight, in a fixed order; a scenario built here does the
same with the seed and order given, and stores every float as ``float.hex()`` text so that both
languages read the same bits. Everything about the twin comes from its declaration
(bridge/twins/protocol.py):

* the *sample size* is the size that the data matrices name and the initial state does not (the
  weights do not depend on how many samples there are): ``n`` for both shipped twins;
* a data file gives one sample per row; a matrix the twin declares with the sample size second,
  ``(f, n)``, is transposed, and the provenance says so;
* the sizes the data fixes (``n``, ``f``, ``o``) are read from it; the others (a hidden layer's
  ``h``) come from ``--size name=K`` or, when there is exactly one, ``--hidden K``.

The manifest is validated by the loader itself (load_scenario on a temporary copy) before
anything is written, and written through a temporary file and a rename.
"""
import ast
import difflib
import hashlib
import inspect
import json
import os
import shutil
import tempfile

import numpy as np

from crossverify.errors import CrossverifyError
from crossverify.twins.protocol import shipped_twins
from crossverify.twins.scenarios import FORMAT, PREPROCESSING_NONE, _groups, load_scenario, unknown_keys

RNG = "numpy.random.seed(seed), then numpy.random.uniform(size=shape) per weight, [0, 1)"
GENERATORS = {"moons": "make_moons", "blobs": "make_blobs", "circles": "make_circles"}
DATA_FORMATS = (".csv", ".npz", ".npy")


class BuildError(CrossverifyError):
    """A scenario that cannot be built from what was given; nothing was written."""

    def __init__(self, problem, fix):
        self.problem, self.fix = problem, fix
        super().__init__(f"scenario new: {problem}. To fix: {fix}. Nothing was written.")


# -- what the declaration says about sizes ----------------------------------------------------------

def _size_names(shapes):
    return {d for dims in shapes.values() for d in dims if isinstance(d, str)}


def sample_size(twin):
    """The size the data name and the initial state does not: the number of samples, or None."""
    only = _size_names(twin.data) - _size_names(twin.init)
    return next(iter(only)) if len(only) == 1 else None


def free_sizes(twin):
    """Sizes only the initial state names (a hidden layer's width): the data cannot fix them."""
    return sorted(_size_names(twin.init) - _size_names(twin.data))


def sample_axis(dims, n_name):
    """Which axis of a declared shape holds the samples (0 or 1), or None."""
    return next((axis for axis, d in enumerate(dims) if d == n_name), None)


# -- reading data: every array one sample per row ----------------------------------------------------

def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _as_rows(a, what):
    a = np.asarray(a)
    if a.ndim == 1:
        a = a.reshape(-1, 1)  # a vector is one value per sample
    if a.ndim != 2 or a.size == 0:
        raise BuildError(f"{what} has shape {a.shape}; expected a table, one sample per row", "give a 2-D array")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise BuildError(f"{what} holds {a.dtype} values, not real numbers", "give numbers only")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        i, j = np.argwhere(~np.isfinite(a))[0]
        raise BuildError(f"{what} row {i + 1}, column {j + 1} is {a[i, j]}", "give finite numbers only")
    return a


def read_csv(path):
    """A CSV table of numbers (an optional header row of names), as float64 rows."""
    import csv
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    if not rows:
        raise BuildError(f"{path} is empty", "give a CSV with one sample per row")
    header = None
    try:
        [float(c) for c in rows[0]]
    except ValueError:
        header, rows = [c.strip() for c in rows[0]], rows[1:]
    width = len(header) if header else len(rows[0]) if rows else 0
    table = np.empty((len(rows), width))
    for i, row in enumerate(rows):
        line = i + 1 + (header is not None)
        if len(row) != width:
            raise BuildError(f"{path} line {line} has {len(row)} values where the first has {width}",
                             "give every row the same number of columns")
        for j, cell in enumerate(row):
            try:
                table[i, j] = float(cell)
            except ValueError:
                raise BuildError(f"{path} line {line}, column {j + 1}: {cell!r} is not a number",
                                 "give numbers only (one header row of names is allowed)") from None
    if not len(table):
        raise BuildError(f"{path} has a header and no rows", "give one sample per row")
    return _as_rows(table, path), header


def read_source(spec, twin):
    """(arrays or a table, provenance) from ``--from``: a CSV (a table to split into the twin's data
    matrices), a .npz (arrays named after them) or .npy files, one per data matrix, comma-separated."""
    names = list(twin.data)
    files = [p for p in spec.split(",") if p] if spec.endswith(".npy") else [spec]
    for path in files:
        if not os.path.isfile(path):
            what = "is a folder, not a data file" if os.path.isdir(path) else "no such file"
            raise BuildError(f"--from {path}: {what}", "give a .csv, a .npz, or .npy files (comma-separated)")
    ext = os.path.splitext(files[0])[1].lower()
    if ext not in DATA_FORMATS:
        raise BuildError(f"--from {spec}: {ext or 'no extension'} is not one of {', '.join(DATA_FORMATS)}",
                         "give a .csv, a .npz, or .npy files (comma-separated)")
    record = [{"file": p, "sha256": _sha256(p)} for p in files]
    provenance = {"source": record[0] if len(record) == 1 else record}
    if ext == ".csv":
        table, header = read_csv(files[0])
        provenance["source"].update(format="csv, one sample per row", **({"header": header} if header else {}))
        return {"table": table}, provenance
    if ext == ".npz":
        with np.load(files[0], allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        for k in arrays:
            if k not in names:
                close = difflib.get_close_matches(k, names, n=1)
                raise BuildError(f"{files[0]} holds an array '{k}'{f' (did you mean {close[0]!r}?)' if close else ''}, "
                                 f"which the twin {twin.name!r} does not declare (its data: {', '.join(names)})",
                                 "name the arrays after the twin's data matrices")
        missing = [k for k in names if k not in arrays]
        if missing:
            raise BuildError(f"{files[0]} has no array {', '.join(map(repr, missing))}",
                             f"give every data matrix of {twin.name!r}: {', '.join(names)}")
        provenance["source"]["format"] = "npz, arrays named after the data matrices, one sample per row"
        return {k: _as_rows(arrays[k], f"{files[0]}[{k}]") for k in names}, provenance
    if len(files) != len(names):
        raise BuildError(f"--from gives {len(files)} .npy file(s) for the {len(names)} data matrices of "
                         f"{twin.name!r} ({', '.join(names)})", "give one .npy per data matrix, in that order, "
                                                                  "separated by commas")
    for r in record:
        r["format"] = "npy, one sample per row"
    return {k: _as_rows(np.load(p, allow_pickle=False), p) for k, p in zip(names, files)}, provenance


def parse_params(pairs, option="--param"):
    """``k=v`` strings as a dict; values read as Python literals (200, 0.1, True, None), else text."""
    out = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise BuildError(f"{option} {pair!r} is not of the form name=value", f"write e.g. {option} n_samples=200")
        try:
            out[key.strip()] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = text.strip()
    return out


def make_data(kind, params, seed):
    """A scikit-learn toy data set (X one sample per row, the labels as y), and its provenance."""
    if kind not in GENERATORS:
        raise BuildError(f"--make {kind!r} is not one of {', '.join(GENERATORS)}", "choose one of them")
    try:
        import sklearn
        from sklearn import datasets
    except ImportError:
        raise BuildError("--make needs scikit-learn, which is not installed",
                         "`pip install scikit-learn` (or the project's test extra: pip install -e '.[test]')") from None
    fn = getattr(datasets, GENERATORS[kind])
    accepted = inspect.signature(fn).parameters
    for k in params:
        if k not in accepted:
            close = difflib.get_close_matches(k, list(accepted), n=1)
            raise BuildError(f"{GENERATORS[kind]} takes no parameter '{k}'"
                             f"{f' (did you mean {close[0]!r}?)' if close else ''}",
                             f"use its parameters: {', '.join(accepted)}")
    params = {"random_state": seed, **params}  # the data drawn from the seed too, unless told otherwise
    try:
        X, labels = fn(**params)
    except (TypeError, ValueError) as exc:
        raise BuildError(f"{GENERATORS[kind]}({_call_text(params)}) failed: {exc}",
                         "correct the --param values") from None
    provenance = {"source": {"generator": f"sklearn.datasets.{GENERATORS[kind]}({_call_text(params)})",
                             "parameters": params, "scikit_learn_version": sklearn.__version__,
                             "format": "X one sample per row, y the labels"}}
    return {"X": _as_rows(X, "X"), "y": _as_rows(labels, "y")}, provenance


def _call_text(params):
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


# -- from samples-as-rows arrays to the matrices the twin declares -------------------------------------

def split_table(table, twin, stored, sizes):
    """A table's columns split into the data matrices, in declared order: each takes as many columns
    as its declared width (a number, or a size given with --size); the first whose width is open
    takes what the others leave, any further open one a single column."""
    n_name = sample_size(twin)
    widths, open_ = {}, []
    for name in twin.data:
        dims = stored[name]
        axis = sample_axis(dims, n_name)
        if axis is None:
            raise BuildError(f"the twin {twin.name!r} declares {name} as {tuple(dims)}, with no sample axis, so a "
                             f"table cannot be split into its matrices", "give --from a .npz with arrays named "
                                                                          f"{', '.join(twin.data)}")
        width = dims[1 - axis]
        width = width if isinstance(width, int) else sizes.get(width)
        widths[name] = width
        if width is None:
            open_.append(name)
    for name in open_[1:]:
        widths[name] = 1
    if open_:
        widths[open_[0]] = table.shape[1] - sum(w for k, w in widths.items() if k != open_[0])
    if sum(widths.values()) != table.shape[1] or min(widths.values()) < 1:
        plan = ", ".join(f"{k} {w if w is not None else '?'}" for k, w in widths.items())
        raise BuildError(f"the table has {table.shape[1]} columns, which do not split into {plan}",
                         "give the widths with --size (e.g. --size o=2), or a table with that many columns")
    out, notes, start = {}, [], 0
    for name, w in widths.items():
        out[name] = table[:, start:start + w]
        notes.append(f"{name}: column{'s' if w > 1 else ''} {start + 1}{f'-{start + w}' if w > 1 else ''}")
        start += w
    return out, "columns, in the twin's data order: " + "; ".join(notes)


def orient(twin, stored, arrays):
    """Each samples-as-rows array in the shape the twin declares for it (transposed where the
    declaration has the samples second), and a sentence per matrix saying what was done."""
    n_name = sample_size(twin)
    out, notes = {}, []
    for name, dims in stored.items():
        a = arrays[name]
        if sample_axis(dims, n_name) == 1:
            out[name] = np.ascontiguousarray(a.T)
            notes.append(f"{name} transposed to {out[name].shape[0]}x{out[name].shape[1]}: the twin declares it "
                         f"{_dims(dims)}, one sample per column")
        else:
            out[name] = a
            notes.append(f"{name} kept as {a.shape[0]}x{a.shape[1]}: the twin declares it {_dims(dims)}"
                         + (", one sample per row" if sample_axis(dims, n_name) == 0 else ""))
    return out, notes


def _dims(dims):
    return "(" + ", ".join(str(d) for d in dims) + ")"


def sizes_of(twin, stored, data):
    """The sizes the data fixes, checked for consistency across the data matrices."""
    sizes = {}
    for name, dims in stored.items():
        for axis, d in enumerate(dims):
            got = data[name].shape[axis]
            where = f"{name} ({data[name].shape[0]}x{data[name].shape[1]} as the twin lays it out)"
            if isinstance(d, int) and got != d:
                raise BuildError(f"{where} must have {d} {'rows' if axis == 0 else 'columns'}, has {got}; the twin "
                                 f"{twin.name!r} declares {name} {_dims(dims)}", "give data of that shape")
            if isinstance(d, str) and sizes.setdefault(d, (got, name))[0] != got:
                raise BuildError(f"{where} has {got} along {d} where {sizes[d][1]} has {sizes[d][0]}",
                                 "give every data matrix the same number of samples")
    return {k: v[0] for k, v in sizes.items()}


def resolve_sizes(twin, data_sizes, given, hidden):
    """Every size the initial state needs: from the data, --size and --hidden (which must not
    contradict the data)."""
    known = sorted(_size_names(twin.data) | _size_names(twin.init))
    given = dict(given)
    if hidden is not None:
        free = free_sizes(twin)
        if len(free) != 1:
            raise BuildError(f"--hidden sets the one size only the initial state names, but {twin.name!r} has "
                             f"{len(free)} ({', '.join(free) or 'none'})", "give each with --size name=K")
        given.setdefault(free[0], hidden)
    for k, v in given.items():
        if k not in known:
            close = difflib.get_close_matches(k, known, n=1)
            raise BuildError(f"--size {k}: the twin {twin.name!r} has no size {k!r}"
                             f"{f' (did you mean {close[0]!r}?)' if close else ''}; its sizes are {', '.join(known)}",
                             "name one of them")
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise BuildError(f"--size {k}={v!r} is not a whole number of at least 1", f"write e.g. --size {k}=10")
        if k in data_sizes and data_sizes[k] != v:
            raise BuildError(f"--size {k}={v} contradicts the data, where {k} is {data_sizes[k]}",
                             f"drop --size {k}, or give data with {k} = {v}")
    sizes = {**given, **data_sizes}
    missing = [k for k in free_sizes(twin) if k not in sizes]
    if missing:
        hint = f"--hidden K or --size {missing[0]}=K" if len(free_sizes(twin)) == 1 else f"--size {missing[0]}=K"
        raise BuildError(f"the data does not fix the size {', '.join(missing)} of the initial state "
                         f"({', '.join(f'{k} {_dims(d)}' for k, d in twin.init.items())})", f"give {hint}")
    return sizes


def draw_init(twin, sizes, seed, order, discard=0):
    """The article's draws: np.random.seed(seed), ``discard`` uniform draws thrown away, then one
    np.random.uniform(size=shape) per initial matrix in ``order``."""
    names = list(twin.init)
    order = list(order) if order else names
    unknown = [k for k in order if k not in names]
    if unknown or sorted(order) != sorted(names):
        close = difflib.get_close_matches(unknown[0], names, n=1) if unknown else []
        what = (f"'{unknown[0]}' is not an initial matrix of {twin.name!r}"
                f"{f' (did you mean {close[0]!r}?)' if close else ''}" if unknown
                else f"{','.join(order)} does not name each initial matrix once")
        raise BuildError(f"--draw {','.join(order)}: {what}", f"list each of {', '.join(names)} once, in draw order")
    if discard < 0:
        raise BuildError(f"--discard {discard} is negative", "give 0 or more draws to throw away")
    shapes = {k: tuple(d if isinstance(d, int) else sizes[d] for d in twin.init[k]) for k in names}
    np.random.seed(seed)
    if discard:
        np.random.uniform(size=discard)  # one draw of size k consumes the stream as k scalar draws do
    init = {k: np.random.uniform(size=shapes[k]) for k in order}
    return {k: init[k] for k in names}, [[k, list(shapes[k])] for k in order]


# -- the manifest ----------------------------------------------------------------------------------

def hex_matrix(a):
    """A matrix as {"shape": [r, c], "values": rows of C99 hex text}, rows in order."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    return {"shape": list(a.shape), "values": [[float(v).hex() for v in row] for row in a]}


def dumps(manifest):
    """JSON with each matrix row on a line of its own (as fixtures/generate.py writes them)."""

    def emit(obj, pad):
        inner = pad + "  "
        if isinstance(obj, dict):
            items = [f"{inner}{json.dumps(k)}: {emit(v, inner)}" for k, v in obj.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}" if items else "{}"
        if isinstance(obj, list) and obj and all(isinstance(r, list) for r in obj):
            return "[\n" + ",\n".join(inner + json.dumps(r) for r in obj) + "\n" + pad + "]"
        return json.dumps(obj)

    return emit(manifest, "") + "\n"


def twin_reference(twin, out_dir):
    """How the manifest finds its twin again: ``{"twin": its declared name}``, plus, for a twin that is
    not shipped, ``twin_folder``, its folder relative to the scenarios folder. The loader looks for
    the name in the twin folder holding the scenarios folder first (``scenarios/..``), so a twin
    copied or moved with its scenarios is found wherever it is; ``twin_folder`` finds it from a
    scenarios folder kept elsewhere, as long as both keep their relative places."""
    shipped = shipped_twins().get(twin.name)
    if shipped and os.path.dirname(os.path.abspath(shipped)) == os.path.abspath(twin.base_dir or ""):
        return {"twin": twin.name}
    return {"twin": twin.name,
            "twin_folder": os.path.relpath(os.path.abspath(twin.base_dir), os.path.abspath(out_dir))}


def build(twin, name, source, seed=42, draw=None, discard=0, sizes=None, hidden=None, hyper=None, epochs=100,
          preprocessing=PREPROCESSING_NONE, out_dir="."):
    """The manifest of scenario ``name``: ``source`` is (arrays or {"table": ...}, provenance) from
    read_source or make_data; everything else as the options of `crossverify scenario new`."""
    known = [PREPROCESSING_NONE] + list(twin.preprocessing)
    if preprocessing not in known:
        raise BuildError(f"--preprocessing {preprocessing!r} is not one of {', '.join(known)} (those of {twin.name!r})",
                         "choose one of them")
    stored = _groups(twin, preprocessing)["data"]
    arrays, provenance = source
    layout = None
    if "table" in arrays:
        arrays, layout = split_table(arrays["table"], twin, stored, dict(sizes or {}))
    elif list(arrays) != list(twin.data):
        if len(arrays) != len(twin.data):
            raise BuildError(f"the generator gives {len(arrays)} arrays (inputs and labels) and the twin {twin.name!r} "
                             f"declares {len(twin.data)} data matrices ({', '.join(twin.data)})",
                             "give --from a .npz with arrays named after them")
        arrays = dict(zip(twin.data, arrays.values()))  # inputs then targets, in declared order
    data, notes = orient(twin, stored, arrays)
    data_sizes = sizes_of(twin, stored, data)
    all_sizes = resolve_sizes(twin, data_sizes, sizes or {}, hidden)
    init, draw_order = draw_init(twin, all_sizes, seed, draw, discard)
    values = _hyper_values(twin, hyper or {})
    if not isinstance(epochs, int) or epochs < 1:
        raise BuildError(f"--epochs {epochs} is not a whole number of at least 1", "give e.g. --epochs 1000")
    step = twin.preprocessing.get(preprocessing)
    provenance = {
        "generator": "crossverify scenario new",
        **provenance,
        "orientation": notes + ([layout] if layout else []),
        "sizes": {k: all_sizes[k] for k in sorted(all_sizes)},
        "rng": RNG,
        "seed": seed,
        "discarded_draws": discard,
        "draw_order": draw_order,
        "preprocessing": f"{preprocessing}: {step.description}" if step else PREPROCESSING_NONE,
    }
    return {
        "format": FORMAT,
        "name": name,
        **twin_reference(twin, out_dir),
        "preprocessing": preprocessing,
        "orientation": "; ".join(notes),
        "hyper_parameters": {**{k: float(v).hex() for k, v in values.items()}, "epochs": epochs},
        "provenance": provenance,
        "data": {k: hex_matrix(v) for k, v in data.items()},
        "init": {k: hex_matrix(v) for k, v in init.items()},
    }


def _hyper_values(twin, given):
    for k in given:
        if k not in twin.hyper:
            close = difflib.get_close_matches(k, twin.hyper, n=1)
            raise BuildError(f"the twin {twin.name!r} has no hyper-parameter {k!r}"
                             f"{f' (did you mean {close[0]!r}?)' if close else ''}; its hyper-parameters are "
                             f"{', '.join(twin.hyper)}",
                             "name one of them")
    missing = [k for k in twin.hyper if k not in given]
    if missing:
        raise BuildError(f"no value for the hyper-parameter(s) {', '.join(missing)} of {twin.name!r}",
                         f"give --hyper {missing[0]}=VALUE")
    out = {}
    for k, v in given.items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            raise BuildError(f"hyper-parameter {k}={v!r} is not a number", f"give e.g. --hyper {k}=0.1") from None
        if not np.isfinite(out[k]):
            raise BuildError(f"hyper-parameter {k}={v!r} is not finite", "give a finite number")
    return out


# -- validation and writing ------------------------------------------------------------------------

def check_name(name):
    if not name or name.startswith(".") or os.sep in name or (os.altsep and os.altsep in name):
        raise BuildError(f"{name!r} is not a usable scenario name", "give a plain folder name such as my-blobs")


def validate(manifest, twin):
    """The loader's own checks, on a temporary copy: the Scenario, or the loader's error."""
    tmp = tempfile.mkdtemp(prefix="crossverify-scenario-")
    try:
        copy = dict(manifest, twin=twin.name)  # the copy lives elsewhere: name the loaded twin
        os.makedirs(os.path.join(tmp, manifest["name"]))
        with open(os.path.join(tmp, manifest["name"], "manifest.json"), "w", encoding="utf-8") as fh:
            fh.write(dumps(copy))
        problems = unknown_keys(copy, twin)
        if problems:
            raise BuildError(f"the manifest would hold an unknown key ({problems[0].problem})", "report this as a bug")
        return load_scenario(manifest["name"], tmp, twin)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def target(out_dir, name, force):
    """DIR/NAME/manifest.json, refused when it exists and ``force`` is not given."""
    check_name(name)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise BuildError(f"--out {out_dir} is a file", "give a folder (it is created when missing)")
    path = os.path.join(out_dir, name, "manifest.json")
    if os.path.exists(path) and not force:
        raise BuildError(f"{path} already exists", "pass --force to replace it, or choose another NAME or --out")
    return path


def write(path, manifest):
    """Write ``manifest`` to ``path`` through a temporary file and a rename (bridge/files.py); a
    folder made for it is removed again when the write fails."""
    from crossverify.files import write_atomically

    folders = [os.path.dirname(os.path.abspath(path))]
    folders.append(os.path.dirname(folders[0]))
    made = [d for d in folders if not os.path.isdir(d)]
    try:
        write_atomically(path, dumps(manifest), hint="choose another --out", make_folder=True)
    except CrossverifyError:
        for d in made:
            try:
                os.rmdir(d)
            except OSError:
                pass
        raise
    return path


# -- the format of every twin's manifest, from its declaration ----------------------------------------

def format_tables(twins):
    """Markdown: per twin, the matrices a manifest holds (group, name, shape in named sizes, as
    stored under each preprocessing), what the sizes are, and the hyper-parameters."""
    parts = []
    for twin in twins:
        n_name, free = sample_size(twin), free_sizes(twin)
        preps = list(twin.preprocessing)
        head = ["group", "matrix", "shape"] + [f"stored with `{p}`" for p in preps] + ["what it is"]
        lines = [f"### `{twin.name}`" + (f": {twin.title}" if twin.title else ""), "",
                 "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for group, shapes in (("data", twin.data), ("init", twin.init)):
            for k, dims in shapes.items():
                stored = [_dims(twin.preprocessing[p].stored.get(k, dims)) for p in preps]
                what = twin.inputs.get(k, "").replace("|", "/")
                lines.append("| " + " | ".join([group, f"`{k}`", _dims(dims)] + stored + [what]) + " |")
        lines.append("")
        sizes = [f"`{n_name}` is the number of samples (a data file's rows)"] if n_name else []
        fixed = sorted(_size_names(twin.data) - {n_name})
        if fixed:
            sizes.append(f"{', '.join(f'`{s}`' for s in fixed)} {'are' if len(fixed) > 1 else 'is'} read from the data")
        if free:
            sizes.append(f"{', '.join(f'`{s}`' for s in free)} {'are' if len(free) > 1 else 'is'} given with "
                         + ("`--hidden K` or " if len(free) == 1 else "") + " ".join(f"`--size {s}=K`" for s in free))
        lines.append("Sizes: " + "; ".join(sizes) + ".")
        lines.append(f"Hyper-parameters: {', '.join(f'`{h}` (a hex float)' for h in twin.hyper)}"
                     + (", and " if twin.hyper else "") + "`epochs` (a whole number).")
        lines.append(f"Initial draws, by default in this order: {', '.join(f'`{k}`' for k in twin.init)}.")
        if preps:
            lines.append("Preprocessing: " + "; ".join(f"`{p}`: {twin.preprocessing[p].description}" for p in preps)
                         + ".")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
