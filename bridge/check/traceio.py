"""Traces on disk, in a format both languages write and read natively (docs/TRACES.md).

``crossverify-trace/1`` is a folder: ``index.json`` (names, shapes, epochs, step numbers, where
each array is) and one ``.bin`` file per array holding raw little-endian IEEE-754 float64 values
in row-major order (the last index fastest), a per-epoch array being its recorded epochs one
after another. Python writes it with ``ndarray.tobytes`` and reads it with ``np.fromfile``; R with
``writeBin``/``readBin`` (``size = 8, endian = "little"``) and jsonlite (r_impl/R/traceio.R), so no
bit is lost to decimal text and neither side needs the other's packages.

The older ``.npz`` written by ``crossverify trace`` (keys ``init/<name>`` and ``epoch<k>/<name>``)
is read too. Both come back as a :class:`TraceData`.
"""
import json
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np

from crossverify.errors import CrossverifyError

FORMAT = "crossverify-trace/1"
INDEX = "index.json"
DTYPE = np.dtype("<f8")
LAYOUT = ("each .bin file holds float64 values, little-endian, in row-major order (the last index fastest); "
          "a per-epoch array holds its epochs one after another, in the order of 'epochs' (history: every epoch "
          "from first_epoch)")
SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class TraceFileError(CrossverifyError):
    """A trace that cannot be read or written as it is."""

    def __init__(self, path, problem, fix="see docs/TRACES.md for the format"):
        super().__init__(f"trace {path}: {problem}. To fix: {fix}.")


@dataclass
class TraceData:
    """A trace as stored: ``steps[name]`` has shape (len(epochs), rows, cols); ``history[name]``
    (n_epochs, rows, cols), the value after every epoch from ``first_epoch``."""

    init: dict
    epochs: np.ndarray
    steps: dict
    step_numbers: dict = field(default_factory=dict)  # name -> step number (None when unknown)
    history: dict = field(default_factory=dict)
    first_epoch: int = 0
    n_epochs: int = None
    meta: dict = field(default_factory=dict)  # twin, scenario, producer (language, kernels, variant)

    @property
    def names(self):
        return tuple(self.steps)

    def label(self):
        p = self.meta.get("producer") or {}
        parts = [p.get("language") or p.get("implementation"), p.get("kernels") and f"{p['kernels']} kernels",
                 p.get("variant") and f"variant {p['variant']}"]
        if not any(parts) and p.get("format") == "npz":
            return "npz: its producer is not recorded, as --format folder records it"
        return ", ".join(x for x in parts if x) or "unknown producer"


def from_trace(trace, twin=None, scenario=None, producer=None):
    """A crossverify.python_impl.trace.Trace as TraceData, with the twin's step numbers and what made it."""
    steps = {name: np.asarray(trace.steps[name], dtype=np.float64) for name in trace.names}
    numbers = {name: (twin.step_of(name) if twin is not None else None) for name in trace.names}
    history = {k: np.asarray(v, dtype=np.float64) for k, v in (trace.history or {}).items()}
    meta = {"twin": twin.name if twin is not None else None, "scenario": scenario, "producer": producer or {}}
    return TraceData(dict(trace.init), np.asarray(trace.epochs, dtype=np.int64), steps, numbers, history,
                     trace.first_epoch, trace.n_epochs, meta)


# -- writing ---------------------------------------------------------------------------------------

def _entry(name, array, group, per_epoch):
    shape = list(array.shape[1:] if per_epoch else array.shape)
    return {"name": name, "shape": shape, "file": f"{group}-{SAFE.sub('_', name)}.bin"}


def _check_matrix(name, a, per_epoch, path):
    if a.ndim != (3 if per_epoch else 2):
        raise TraceFileError(path, f"{name} has shape {a.shape}; every value of a trace is a matrix",
                             "make it 2-D (rows x columns)")


def index_of(data):
    """index.json's content for ``data``."""
    def entries(group, arrays, per_epoch):
        out = []
        for name, a in arrays.items():
            e = _entry(name, a, group, per_epoch)
            if group == "steps":
                e["step"] = data.step_numbers.get(name)
            out.append(e)
        return out

    return {
        "format": FORMAT,
        "byte_order": "little",
        "dtype": "float64",
        "layout": LAYOUT,
        **{k: data.meta.get(k) for k in ("twin", "scenario")},
        "producer": data.meta.get("producer") or {},
        "first_epoch": int(data.first_epoch),
        "n_epochs": int(data.n_epochs if data.n_epochs is not None else len(data.epochs)),
        "epochs": [int(e) for e in data.epochs],
        "init": entries("init", data.init, False),
        "steps": entries("steps", data.steps, True),
        "history": entries("history", data.history, True),
    }


def check_target(path):
    """Refuse, before any work, a place a trace folder cannot be written to."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise TraceFileError(path, f"the folder {parent} does not exist", "create it or choose another --out")
    if not os.access(parent, os.W_OK):
        raise TraceFileError(path, f"the folder {parent} is not writable; nothing was written", "choose another --out")
    if os.path.exists(path) and not os.path.isfile(os.path.join(path, INDEX)):
        raise TraceFileError(path, "exists and is not a trace folder; nothing was written", "choose another --out")


def write_folder(path, data):
    """Write ``data`` as a crossverify-trace/1 folder at ``path``, built beside it and renamed into
    place (bridge/files.py); an existing trace folder there is replaced, anything else is refused."""
    from crossverify.files import replace_folder_atomically

    check_target(path)
    for group, arrays, per_epoch in (("init", data.init, False), ("steps", data.steps, True),
                                     ("history", data.history, True)):
        for name, a in arrays.items():
            _check_matrix(f"{group} {name}", np.asarray(a), per_epoch, path)
    index = index_of(data)

    def fill(folder):
        for group, arrays in (("init", data.init), ("steps", data.steps), ("history", data.history)):
            for entry in index[group]:
                a = np.ascontiguousarray(arrays[entry["name"]], dtype=DTYPE)  # C order: row-major, little-endian
                with open(os.path.join(folder, entry["file"]), "wb") as fh:
                    fh.write(a.tobytes(order="C"))
        with open(os.path.join(folder, INDEX), "w", encoding="utf-8") as fh:
            fh.write(_json(index) + "\n")

    replace_folder_atomically(path, fill)
    return path


def _json(obj, pad=""):
    """JSON, one entry a line, lists of numbers on one line."""
    inner = pad + "  "
    if isinstance(obj, dict) and obj:
        return "{\n" + ",\n".join(f"{inner}{json.dumps(k)}: {_json(v, inner)}" for k, v in obj.items()) + f"\n{pad}}}"
    if isinstance(obj, list) and obj and any(isinstance(v, (dict, list)) for v in obj):
        return "[\n" + ",\n".join(inner + _json(v, inner) for v in obj) + f"\n{pad}]"
    return json.dumps(obj)


# -- reading ---------------------------------------------------------------------------------------

def read(path):
    """A trace folder (crossverify-trace/1) or a ``crossverify trace`` .npz, as TraceData."""
    if os.path.isdir(path):
        return read_folder(path)
    if not os.path.exists(path):
        raise TraceFileError(path, "no such file or folder", "give a trace folder (index.json and .bin files) "
                                                             "or a .npz written by `crossverify trace`")
    if path.endswith(".npz"):
        return read_npz(path)
    raise TraceFileError(path, "is neither a trace folder (holding index.json) nor a .npz",
                         "give a trace written by `crossverify trace`, or by write_trace() in R")


def _load_bin(folder, entry, count, where):
    """The array of one index entry: (count, rows, cols) for a per-epoch array, (rows, cols) when
    ``count`` is None (an initial matrix)."""
    shape = tuple(int(s) for s in entry.get("shape", ()))
    if len(shape) != 2 or min(shape) < 1:
        raise TraceFileError(folder, f"{where} has shape {list(shape)}, not [rows, columns]")
    file = os.path.join(folder, str(entry.get("file")))
    if not os.path.isfile(file):
        raise TraceFileError(folder, f"{where}: its file {entry.get('file')} is missing")
    full = shape if count is None else (count,) + shape
    values = np.fromfile(file, dtype=DTYPE)
    if values.size != int(np.prod(full)):
        raise TraceFileError(folder, f"{where}: {entry['file']} holds {values.size} values, "
                                     f"expected {int(np.prod(full))} ({' x '.join(map(str, full))})")
    return values.astype(np.float64).reshape(full)


def read_folder(folder):
    path = os.path.join(folder, INDEX)
    if not os.path.isfile(path):
        raise TraceFileError(folder, f"the folder holds no {INDEX}", "give a folder written by `crossverify trace "
                                                                    "--format folder` or write_trace() in R")
    try:
        with open(path, encoding="utf-8") as fh:
            index = json.load(fh)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TraceFileError(folder, f"{INDEX} is not valid JSON ({exc})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise TraceFileError(folder, f"{INDEX} does not say format {FORMAT!r}")
    if index.get("byte_order", "little") != "little" or index.get("dtype", "float64") != "float64":
        raise TraceFileError(folder, "only little-endian float64 values are defined")
    epochs = np.asarray(index.get("epochs", []), dtype=np.int64)
    first = int(index.get("first_epoch", 0))
    n = int(index.get("n_epochs", len(epochs)))
    init = {e["name"]: _load_bin(folder, e, None, f"init {e['name']}") for e in index.get("init", [])}
    steps = {e["name"]: _load_bin(folder, e, len(epochs), f"steps {e['name']}") for e in index.get("steps", [])}
    history = {e["name"]: _load_bin(folder, e, n, f"history {e['name']}") for e in index.get("history", [])}
    numbers = {e["name"]: e.get("step") for e in index.get("steps", [])}
    meta = {k: index.get(k) for k in ("twin", "scenario", "producer")}
    return TraceData(init, epochs, steps, numbers, history, first, n, meta)


NPZ_KEY = re.compile(r"^epoch(\d+)/(.+)$")


def _npz_arrays(path):
    """(init, {epoch: {name: array}}, names in the order written) of a trace .npz."""
    init, per_epoch, names = {}, {}, []
    with np.load(path, allow_pickle=False) as z:
        for key in z.files:
            if key.startswith("init/"):
                init[key[5:]] = np.asarray(z[key], dtype=np.float64)
                continue
            m = NPZ_KEY.match(key)
            if not m:
                raise TraceFileError(path, f"key {key!r} is neither init/<name> nor epoch<k>/<name>")
            e, name = int(m.group(1)), m.group(2)
            per_epoch.setdefault(e, {})[name] = np.asarray(z[key], dtype=np.float64)
            if name not in names:
                names.append(name)
    return init, per_epoch, names


def read_npz(path):
    """A .npz of ``crossverify trace`` (init/<name>, epoch<k>/<name>): names in the order written;
    step numbers from the shipped twin whose intermediates these are, when one is."""
    try:
        init, per_epoch, names = _npz_arrays(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        # an empty file (EOFError), a truncated one (BadZipFile, or a member that stops short)
        reason = "it is empty" if os.path.isfile(path) and os.path.getsize(path) == 0 else \
            f"it is not a complete .npz, perhaps truncated ({type(exc).__name__}: {exc})"
        raise TraceFileError(path, f"cannot be read as .npz: {reason}",
                             "write it again with crossverify trace ... --out FILE.npz") from None
    epochs = np.array(sorted(per_epoch), dtype=np.int64)
    for e in epochs:
        missing = [n for n in names if n not in per_epoch[e]]
        if missing:
            raise TraceFileError(path, f"epoch {e} lacks {missing[0]!r}, which other epochs hold")
    steps = {n: np.stack([np.atleast_2d(per_epoch[e][n]) for e in epochs]) if len(epochs) else np.empty((0, 1, 1))
             for n in names}
    twin = _twin_with(names)
    numbers = {n: (twin.step_of(n) if twin else None) for n in names}
    first = int(epochs[0]) if len(epochs) else 0
    meta = {"twin": twin.name if twin else None, "scenario": None, "producer": {"format": "npz"}}
    return TraceData(init, epochs, steps, numbers, {}, first, len(epochs), meta)


def _twin_with(names):
    """The shipped twin whose intermediates are exactly ``names``, if any (for step numbers)."""
    from crossverify.twins.protocol import load_twin, shipped_twins
    for name in shipped_twins():
        try:
            twin = load_twin(name)
        except CrossverifyError:
            continue
        if set(twin.names) == set(names):
            return twin
    return None
