"""Scenario fixtures: loading and validating ``<fixtures>/<scenario>/manifest.json``.

The format is documented in fixtures/README.md. Every float is C99 hex text; matrices are
``{"shape": [r, c], "values": [[row], ...]}`` in row order.
"""
import difflib
import json
import os
import re
from dataclasses import dataclass, field

import numpy as np

from crossverify.errors import FixtureError, UnknownNameError
from crossverify.twins.protocol import DECLARATION, load_twin, shipped_twins

from crossverify.paths import SHIPPED_FIXTURES  # noqa: F401 - re-exported
FORMAT = "crossverify-scenario/1"
SMALLEST_NORMAL = 2.0 ** -1022
SUBNORMAL_HEX = re.compile(r"^[+-]?0x0\.[0-9a-fA-F]*p-1022$")
HEX_FLOAT = re.compile(r"^[+-]?0x[0-9a-fA-F]+(\.[0-9a-fA-F]*)?p[+-]?[0-9]+$")

PREPROCESSING_NONE = "none"


@dataclass
class Scenario:
    name: str
    network: str
    path: str
    lr: float
    epochs: int
    data: dict
    init: dict
    manifest: dict = field(repr=False)
    preprocessing: str = "none"
    hyper: dict = field(default_factory=dict)
    twin: object = field(default=None, repr=False)  # the Twin declaration it is a scenario of

    def __post_init__(self):  # a scenario built in code names its twin and learning rate only
        if self.twin is None:
            self.twin = load_twin(self.network)
        if not self.hyper and self.lr is not None:
            self.hyper = {"lr": self.lr}


MAKE_ONE = "make one with `crossverify scenario new NAME --twin T --from DATA.csv --out DIR` (fixtures/README.md)"


def own_scenarios(twin):
    """The twin's own scenarios/ folder, beside its twin.py (docs/TWINS.md), or None when it has none."""
    own = os.path.join(twin.base_dir, "scenarios") if twin is not None and twin.base_dir else None
    return own if own and os.path.isdir(own) else None


def scenarios_folder(twin=None, fixtures_dir=None):
    """Where ``twin``'s scenarios are read from: ``fixtures_dir`` when given, else the twin's own
    scenarios/ folder when it has one, else None: the shipped fixtures."""
    return fixtures_dir or own_scenarios(twin)


def list_scenarios(fixtures_dir=None):
    """Names of the scenario folders under ``fixtures_dir`` that hold a manifest; a folder holding
    none is an error, as is a data file or a single scenario's folder given in its place."""
    root = fixtures_dir or SHIPPED_FIXTURES
    if os.path.isfile(root):
        kind = "a data file" if os.path.splitext(root)[1].lower() in DATA_SUFFIXES else "a file"
        raise FixtureError(root, "(folder)", f"this is {kind}, where a folder of scenarios is expected "
                           "(one sub-folder per scenario, each holding manifest.json)",
                           f"pass the folder instead; to turn data into a scenario, {MAKE_ONE}")
    if not os.path.isdir(root):
        raise FixtureError(root, "(folder)", "no such fixtures folder",
                           "pass --fixtures a folder laid out like the shipped fixtures/")
    names = sorted(d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "manifest.json")))
    if not names:
        if os.path.isfile(os.path.join(root, "manifest.json")):
            raise FixtureError(root, "(folder)", "this is one scenario's folder (it holds manifest.json itself), "
                               "where the folder above it is expected",
                               f"pass its parent, {os.path.dirname(os.path.abspath(root))}")
        raise FixtureError(root, "(folder)", "the folder holds no scenario (no sub-folder with a manifest.json)",
                           MAKE_ONE)
    return names


# -- keys a manifest may hold: anything else is most likely a misspelling -----------------------------
DATA_SUFFIXES = (".csv", ".npy", ".npz", ".txt", ".tsv")
TOP_LEVEL_KEYS = ("format", "name", "network", "twin", "twin_folder", "description", "article_section",
                  "orientation", "preprocessing", "hyper_parameters", "provenance", "data", "init", "article_numbers")
# besides the twin's own hyper-parameters: the run length, and sizes and words that only describe
DESCRIPTIVE_HYPER_KEYS = ("epochs", "hidden_neurons", "output_neurons", "activation", "loss", "batch")
MATRIX_KEYS = ("shape", "values")


@dataclass
class UnknownKey:
    where: str  # the enclosing field ("" for the top level, "hyper_parameters.", "init.<name>.")
    key: str
    known: tuple

    @property
    def field(self):
        return f"{self.where}{self.key}"

    @property
    def problem(self):
        close = difflib.get_close_matches(self.key, self.known, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key '{self.key}'{hint}; the keys known here are {', '.join(self.known)}"


def unknown_keys(manifest, twin=None):
    """Every key of ``manifest`` that the format does not know, with where it is; below the top
    level only when ``twin`` (the declaration that says which matrices and hyper-parameters exist)
    is given. Provenance and article_numbers are free-form."""
    out = [UnknownKey("", k, TOP_LEVEL_KEYS) for k in manifest if k not in TOP_LEVEL_KEYS]
    if twin is None:
        return out
    hyper = manifest.get("hyper_parameters")
    if isinstance(hyper, dict):
        known = tuple(dict.fromkeys(twin.hyper + DESCRIPTIVE_HYPER_KEYS))
        out += [UnknownKey("hyper_parameters.", k, known) for k in hyper if k not in known]
    groups = _groups(twin, PREPROCESSING_NONE)
    for group in ("data", "init"):
        block = manifest.get(group)
        if not isinstance(block, dict):
            continue
        known = tuple(groups[group])
        out += [UnknownKey(f"{group}.", k, known) for k in block if k not in known]
        for name, obj in block.items():
            if name in known and isinstance(obj, dict):
                out += [UnknownKey(f"{group}.{name}.", k, MATRIX_KEYS) for k in obj if k not in MATRIX_KEYS]
    return out


def _refuse_unknown_keys(manifest, path, twin=None):
    found = unknown_keys(manifest, twin)
    if found:
        raise FixtureError(path, found[0].field, found[0].problem)


def parse_hex(text, path, where):
    """One C99 hex float; anything else (decimal, NaN, Inf, a number) is an error naming ``where``."""
    if not isinstance(text, str) or not HEX_FLOAT.match(text):
        raise FixtureError(path, where, f"{text!r} is not a C99 hex float such as '0x1.8p+1'")
    try:
        value = float.fromhex(text)
    except OverflowError:  # float.fromhex raises for an exponent past the largest double
        raise FixtureError(path, where, f"{text!r} is not finite (too large for a double)") from None
    if value != 0 and abs(value) < SMALLEST_NORMAL and not SUBNORMAL_HEX.match(text):
        # R 4.2.2 reads "0x1p-1074" as 0; it reads float.hex()'s "0x0.0000000000001p-1022" exactly
        raise FixtureError(path, where, f"{text!r} is a subnormal number written in a form R reads as 0",
                           f"write it as Python's float.hex() does: {value.hex()!r}")
    return value


def parse_matrix(obj, path, where):
    """A ``{"shape", "values"}`` object as a float64 array, checked against its own shape."""
    if not isinstance(obj, dict) or "shape" not in obj or "values" not in obj:
        raise FixtureError(path, where, "expected an object with 'shape' and 'values'")
    shape = obj["shape"]
    if (not isinstance(shape, list) or len(shape) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape)):
        raise FixtureError(path, f"{where}.shape", f"{shape!r} is not [rows, columns] of positive integers")
    rows = obj["values"]
    if not isinstance(rows, list) or len(rows) != shape[0]:
        got = len(rows) if isinstance(rows, list) else type(rows).__name__
        raise FixtureError(path, f"{where}.values", f"shape says {shape[0]} rows, found {got}")
    out = np.empty(shape, dtype=np.float64)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != shape[1]:
            got = len(row) if isinstance(row, list) else type(row).__name__
            raise FixtureError(path, f"{where}.values[{i}]", f"shape says {shape[1]} columns, found {got}")
        for j, text in enumerate(row):
            out[i, j] = parse_hex(text, path, f"{where}.values[{i}][{j}]")
    return out


def _require(obj, key, path, where):
    if not isinstance(obj, dict) or key not in obj:
        raise FixtureError(path, f"{where}{key}", "missing")
    return obj[key]


def _groups(twin, preprocessing):
    """The matrices a manifest must hold, by group, with their shapes as stored."""
    stored = twin.preprocessing[preprocessing].stored if preprocessing != PREPROCESSING_NONE else {}
    return {"data": {k: stored.get(k, v) for k, v in twin.data.items()}, "init": dict(twin.init)}


def _check_shapes(twin, mats, path, preprocessing="none"):
    sizes = {}
    spec = _groups(twin, preprocessing)
    network = twin.name
    for group in ("data", "init"):
        for name, dims in spec[group].items():
            for axis, dim in enumerate(dims):
                got = mats[name].shape[axis]
                if isinstance(dim, int):
                    if got != dim:
                        raise FixtureError(path, f"{group}.{name}.shape",
                                           f"{name} must have {dim} {'rows' if axis == 0 else 'columns'}, has {got}")
                elif sizes.setdefault(dim, (got, name))[0] != got:
                    first = sizes[dim]
                    raise FixtureError(path, f"{group}.{name}.shape",
                                       f"{name} has {got} along an axis where {first[1]} has {first[0]} "
                                       f"(expected {network} shapes: {spec[group]})")
    return {k: v[0] for k, v in sizes.items()}


def load_scenario(name, fixtures_dir=None, twin=None):
    """The scenario ``name`` under ``fixtures_dir`` (default: the shipped fixtures), validated."""
    root = fixtures_dir or SHIPPED_FIXTURES
    known = list_scenarios(root)
    if name not in known:
        raise UnknownNameError("scenario", name, known)
    path = os.path.join(root, name, "manifest.json")
    try:
        with open(path, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except json.JSONDecodeError as exc:
        raise FixtureError(path, "(file)", f"not valid JSON ({json_problem(exc)})") from None
    except UnicodeDecodeError as exc:
        raise FixtureError(path, "(file)", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not isinstance(manifest, dict):
        raise FixtureError(path, "(file)", "the top level must be a JSON object")
    _refuse_unknown_keys(manifest, path)
    if _require(manifest, "format", path, "") != FORMAT:
        raise FixtureError(path, "format", f"{manifest['format']!r} is not {FORMAT!r}")
    key = "twin" if "twin" in manifest else "network"
    network = _require(manifest, key, path, "")
    twin = _twin_of(network, path, key, twin)
    _refuse_unknown_keys(manifest, path, twin)
    hyper = _require(manifest, "hyper_parameters", path, "")
    values = {h: parse_hex(_require(hyper, h, path, "hyper_parameters."), path, f"hyper_parameters.{h}")
              for h in twin.hyper}
    lr = values.get("lr")
    epochs = _require(hyper, "epochs", path, "hyper_parameters.")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise FixtureError(path, "hyper_parameters.epochs", f"{epochs!r} is not a positive whole number")
    _require(manifest, "provenance", path, "")
    preprocessing = manifest.get("preprocessing", PREPROCESSING_NONE)
    known = [PREPROCESSING_NONE] + list(twin.preprocessing)
    if preprocessing not in known:
        raise FixtureError(path, "preprocessing", f"{preprocessing!r} is not one of {known}")
    mats = {}
    groups = _groups(twin, preprocessing)
    for group in ("data", "init"):
        block = _require(manifest, group, path, "")
        for key in groups[group]:
            mats[key] = parse_matrix(_require(block, key, path, f"{group}."), path, f"{group}.{key}")
    _check_shapes(twin, mats, path, preprocessing)
    data = {k: mats[k] for k in groups["data"]}
    init = {k: mats[k] for k in groups["init"]}
    return Scenario(manifest.get("name", name), twin.name, path, lr, epochs, data, init, manifest, preprocessing,
                    values, twin)


def _twin_of(name, path, key, given=None):
    """The twin a manifest names, or an error naming the field and the known twins; with ``given``,
    the manifest must name that twin. A name is looked for, in order, in the twin folder that holds
    the scenarios folder (``scenarios/..``), in the manifest's ``twin_folder`` (relative to the
    scenarios folder), then among the shipped twins; a path (older manifests) is a twin folder
    relative to the scenarios folder."""
    folder = _twin_folder(name, path)
    if given is not None:
        same_folder = folder and given.base_dir and os.path.samefile(folder, given.base_dir)
        if name != given.name and not same_folder:
            raise FixtureError(path, key, f"{name!r} is not the twin {given.name!r} these scenarios were loaded for",
                               f"write \"{key}\": \"{given.name}\"")
        return given
    try:
        return load_twin(folder or name)
    except UnknownNameError:
        raise FixtureError(path, key, f"{name!r} is not one of {sorted(shipped_twins())}, nor the twin of the folder "
                           "holding this scenarios folder or of the manifest's twin_folder",
                           "name a shipped twin, give the path of a folder holding a twin.py, or pass --twin DIR") \
            from None


def _twin_folder(name, path):
    """The folder of the twin a manifest at ``path`` names (see _twin_of), or None for a shipped twin's
    name (or a name nothing here declares)."""
    scenarios_root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    beside = os.path.join(scenarios_root, str(name))
    if os.path.isfile(os.path.join(beside, DECLARATION)):  # a path to a twin's folder, not a scenario's
        return beside
    recorded = _recorded_folder(path)
    for folder in (os.path.dirname(scenarios_root), recorded and os.path.join(scenarios_root, recorded)):
        if folder and _declares(folder, name):
            return folder
    return None


def _recorded_folder(path):
    try:
        with open(path, encoding="utf-8") as fh:
            folder = json.load(fh).get("twin_folder")
    except (OSError, ValueError, AttributeError):
        return None
    return folder if isinstance(folder, str) else None


def _declares(folder, name):
    """Whether ``folder`` holds a twin.py that declares the twin ``name``."""
    return os.path.isfile(os.path.join(folder, DECLARATION)) and load_twin(folder).name == name


def names_twin(manifest_path, twin):
    """Whether the scenario at ``manifest_path`` is one of ``twin``'s: its manifest names the twin
    (by its declared name, or by the path of its folder as older manifests do)."""
    try:
        with open(manifest_path, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (OSError, ValueError):
        return False
    name = manifest.get("twin", manifest.get("network")) if isinstance(manifest, dict) else None
    if not isinstance(name, str):
        return False
    if name == twin.name:
        return True
    beside = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(manifest_path))), name)
    return bool(twin.base_dir) and os.path.isfile(os.path.join(beside, DECLARATION)) \
        and os.path.samefile(beside, twin.base_dir)


def scenarios_of(twin, fixtures_dir=None):
    """The names of the scenarios under ``fixtures_dir`` (default: the shipped fixtures) that are
    ``twin``'s; every scenario there when ``twin`` is None."""
    root = fixtures_dir or SHIPPED_FIXTURES
    names = list_scenarios(root)
    return names if twin is None else [n for n in names if names_twin(os.path.join(root, n, "manifest.json"), twin)]


def json_problem(exc):
    """A JSONDecodeError as "what at line L, column C" (json's "Unterminated string starting at" already ends in "at")."""
    what = exc.msg[:-3] if exc.msg.endswith(" at") else exc.msg
    return f"{what} at line {exc.lineno}, column {exc.colno}"
