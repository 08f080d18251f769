"""A sweep: a twin, fixed settings, and axes of parameters, expanded into configurations.

A sweep file (TOML or JSON) has four parts; the command line's ``--param NAME=VALUES`` sets the
same keys (``data.NAME`` for the data table, a setting's own name for a setting)::

    twin = "NAME"                   # a shipped twin's name or the folder of a twin.py
    preprocessing = "none"          # one of the twin's preprocessings, or "none"
    checkpoint_every = 1000         # epochs whose every intermediate is kept and compared
    decimals = 5                    # the precision the loss is printed to

    [grid]                          # one axis per parameter; a scalar is a fixed value
    epochs = 10000
    seed = {from = 0, to = 20}      # weight seeds 0..19: np.random.seed(seed), then uniform draws
    discard = 0                     # uniform draws thrown away before the weights
    hidden = [6, 10, 14]            # the size of the declaration's free dimension (a dimension no data sets)
    lr = [0.05, 0.1]                # each of the twin's hyper-parameters by name

    [data]                          # a generator of scikit-learn and its parameters, axes alike
    generator = "moons"             # moons, blobs or circles
    n_samples = 1000
    noise = [0.05, 0.1, 0.2]
    random_state = 42

    [sample]                        # optional: a seeded random sample instead of the whole grid
    n = 50
    seed = 0

An axis is a list, ``{from, to[, step]}`` (whole numbers, ``to`` excluded), ``{low, high, num}``
(``num`` evenly spaced values, both ends included) or, in a sample only, ``{low, high}`` (drawn
uniformly). A configuration is one point of the grid; its key is the SHA-256 of its canonical JSON,
so the same configuration has the same key in every sweep and a rerun skips it.
"""
import hashlib
import itertools
import json
import os
from dataclasses import dataclass, field

import numpy as np

from crossverify.errors import CrossverifyError

SETTINGS = {"twin": None, "preprocessing": "none", "checkpoint_every": 1000, "decimals": 5}
GRID_DEFAULTS = {"epochs": 1000, "seed": 42, "discard": 0}
DATA_DEFAULTS = {"generator": "moons", "n_samples": 200, "random_state": 42}
SAMPLE_KEYS = ("n", "seed")
FORMAT = "crossverify-sweep/1"  # part of every key: a change of what a row means changes every key


class SweepError(CrossverifyError):
    """A sweep file or --param that cannot be used as it is."""

    def __init__(self, where, problem, fix="see docs/SWEEP.md for the sweep file's keys"):
        super().__init__(f"sweep {where}: {problem}. To fix: {fix}.")


@dataclass
class Spec:
    """A parsed sweep: its settings, its axes (name -> list of values or a range to draw from) and an
    optional sample."""

    settings: dict
    grid: dict
    data: dict
    sample: dict = None
    source: str = "(command line)"
    configs: list = field(default=None, repr=False)

    def to_dict(self):
        return {"settings": self.settings, "grid": self.grid, "data": self.data, "sample": self.sample,
                "source": self.source}


@dataclass(frozen=True)
class Config:
    """One configuration: every value the run depends on, and its key."""

    twin: str
    params: tuple  # sorted (name, value) pairs: grid values, then data values as ("data.NAME", value)
    settings: tuple

    @property
    def values(self):
        return dict(self.params)

    @property
    def grid(self):
        return {k: v for k, v in self.params if not k.startswith("data.")}

    @property
    def data(self):
        return {k[5:]: v for k, v in self.params if k.startswith("data.")}

    @property
    def setting(self):
        return dict(self.settings)

    def canonical(self):
        return json.dumps({"format": FORMAT, "twin": self.twin, "params": dict(self.params),
                           "settings": dict(self.settings)}, sort_keys=True, separators=(",", ":"))

    @property
    def key(self):
        return hashlib.sha256(self.canonical().encode()).hexdigest()[:20]

    def to_dict(self):
        return {"twin": self.twin, "params": dict(self.params), "settings": dict(self.settings)}

    @classmethod
    def from_dict(cls, d):
        return cls(d["twin"], tuple(sorted(d["params"].items())), tuple(sorted(d["settings"].items())))


# -- reading ---------------------------------------------------------------------------------------

def read_file(path):
    """The sweep file at ``path`` (.toml or .json) as a dict."""
    if not os.path.isfile(path):
        raise SweepError(path, "no such file", "give the path of a .toml or .json sweep file")
    with open(path, "rb") as fh:
        raw = fh.read()
    if path.endswith(".json"):
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SweepError(path, f"not valid JSON ({exc})") from None
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise SweepError(path, "TOML needs Python 3.11 or the package tomli",
                             "pip install tomli, or write the sweep as JSON") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SweepError(path, f"not valid TOML ({exc})") from None


def parse_value(text):
    """A command-line value: ``a:b`` (whole numbers a..b-1), ``v1,v2`` (a list), or one int, float or word."""
    if ":" in text and all(p.strip().lstrip("-").isdigit() for p in text.split(":")):
        parts = [int(p) for p in text.split(":")]
        return {"from": parts[0], "to": parts[1], **({"step": parts[2]} if len(parts) > 2 else {})}
    items = [_scalar(p.strip()) for p in text.split(",")]
    return items if len(items) > 1 else items[0]


def _scalar(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def apply_params(raw, assignments):
    """``raw`` (a sweep file's dict) with each ``NAME=VALUES`` of the command line set in it."""
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for text in assignments or ():
        name, eq, value = text.partition("=")
        if not eq or not name:
            raise SweepError("--param", f"{text!r} is not NAME=VALUES", "write e.g. --param hidden=6,10 or "
                             "--param data.noise=0.1,0.2 or --param seed=0:20")
        name, value = name.strip(), parse_value(value)
        if name.startswith("data."):
            raw.setdefault("data", {})[name[5:]] = value
        elif name.startswith("sample."):
            raw.setdefault("sample", {})[name[7:]] = value
        elif name in SETTINGS:
            raw[name] = value
        else:
            raw.setdefault("grid", {})[name] = value
    return raw


def parse(raw, source="(command line)"):
    """A Spec from a sweep file's dict, every key checked."""
    if not isinstance(raw, dict):
        raise SweepError(source, "the top level must be a table (a JSON object)")
    known = set(SETTINGS) | {"grid", "data", "sample"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SweepError(source, f"unknown key(s) {unknown}; the top level knows {sorted(known)}",
                         "put sweep axes under [grid] and data parameters under [data]")
    settings = {k: raw.get(k, v) for k, v in SETTINGS.items()}
    if not settings["twin"]:
        raise SweepError(source, "no twin named", "write twin = \"NAME\" in the file (or give --twin NAME)")
    for name in ("checkpoint_every", "decimals"):
        if not isinstance(settings[name], int) or settings[name] < 1:
            raise SweepError(source, f"{name} = {settings[name]!r} is not a positive whole number")
    grid = {**GRID_DEFAULTS, **_table(raw, "grid", source)}
    data = {**DATA_DEFAULTS, **_table(raw, "data", source)}
    sample = _table(raw, "sample", source) or None
    if sample is not None:
        bad = sorted(set(sample) - set(SAMPLE_KEYS))
        if bad or not isinstance(sample.get("n"), int) or sample["n"] < 1:
            raise SweepError(source, f"[sample] must hold n (a positive whole number) and optionally seed; got {sample}")
        sample.setdefault("seed", 0)
    for table, axes in (("grid", grid), ("data", data)):
        for name, value in axes.items():
            _check_axis(f"{source} [{table}] {name}", value, sample is not None)
    return Spec(settings, grid, data, sample, source)


def _table(raw, name, source):
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise SweepError(source, f"[{name}] must be a table of NAME = VALUES")
    return dict(value)


def _check_axis(where, value, sampling):
    if isinstance(value, dict):
        keys = set(value)
        if keys in ({"from", "to"}, {"from", "to", "step"}):
            if not all(isinstance(value[k], int) for k in keys):
                raise SweepError(where, "{from, to, step} takes whole numbers")
        elif keys == {"low", "high", "num"}:
            if not isinstance(value["num"], int) or value["num"] < 1:
                raise SweepError(where, "num must be a positive whole number")
        elif keys == {"low", "high"}:
            if not sampling:
                raise SweepError(where, "{low, high} draws at random and needs a [sample] table",
                                 "add [sample] n = ..., or give num = ... for evenly spaced values")
        else:
            raise SweepError(where, f"{value} is none of {{from, to[, step]}}, {{low, high, num}}, {{low, high}}")
    elif isinstance(value, list) and not value:
        raise SweepError(where, "an empty list gives no configuration")


def axis_values(value):
    """The values of one grid axis (a fixed value is an axis of one)."""
    if isinstance(value, dict):
        if "from" in value:
            return list(range(value["from"], value["to"], value.get("step", 1)))
        if "num" in value:
            return [float(v) for v in np.linspace(value["low"], value["high"], value["num"])]
    return list(value) if isinstance(value, list) else [value]


# -- expanding -------------------------------------------------------------------------------------

def expand(spec):
    """Every configuration of the sweep, in a fixed order (the grid's, or the sample's draw order)."""
    axes = [(k, spec.grid[k]) for k in sorted(spec.grid)] + [(f"data.{k}", spec.data[k]) for k in sorted(spec.data)]
    settings = tuple(sorted((k, v) for k, v in spec.settings.items() if k != "twin"))
    twin = str(spec.settings["twin"])
    if spec.sample is None:
        names = [k for k, _ in axes]
        points = itertools.product(*(axis_values(v) for _, v in axes))
        configs = [Config(twin, tuple(sorted(zip(names, point))), settings) for point in points]
    else:
        configs = _sample(axes, spec.sample, twin, settings)
    return _unique(configs)


def _sample(axes, sample, twin, settings):
    """``sample.n`` configurations drawn with numpy's seeded Generator: a list axis by uniform choice,
    {low, high} uniformly, whole-number ranges by choice; without repeats when the grid is finite."""
    rng = np.random.default_rng(sample["seed"])
    finite = all(not (isinstance(v, dict) and "num" not in v and "from" not in v) for _, v in axes)
    if finite:
        lists = [axis_values(v) for _, v in axes]
        total = int(np.prod([len(v) for v in lists]))
        picks = rng.choice(total, size=min(sample["n"], total), replace=False)
        out = []
        for flat in picks:
            point, rest = [], int(flat)
            for values in reversed(lists):  # the flat index of the product, last axis fastest
                rest, i = divmod(rest, len(values))
                point.append(values[i])
            out.append(Config(twin, tuple(sorted(zip([k for k, _ in axes], reversed(point)))), settings))
        return out
    out = []
    for _ in range(sample["n"]):
        point = []
        for name, v in axes:
            if isinstance(v, dict) and "num" not in v and "from" not in v:
                point.append((name, float(rng.uniform(v["low"], v["high"]))))
            else:
                values = axis_values(v)
                point.append((name, values[int(rng.integers(len(values)))]))
        out.append(Config(twin, tuple(sorted(point)), settings))
    return out


def _unique(configs):
    seen, out = set(), []
    for c in configs:
        if c.key not in seen:
            seen.add(c.key)
            out.append(c)
    return out


def load(path=None, params=(), twin=None):
    """The Spec of a sweep file and/or command-line assignments, with its configurations expanded."""
    raw = read_file(path) if path else {}
    if twin:
        raw["twin"] = twin
    raw = apply_params(raw, params)
    spec = parse(raw, path or "(command line)")
    spec.settings["twin"] = _twin_reference(spec.settings["twin"], path)
    spec.configs = expand(spec)
    return spec


def _twin_reference(name, path):
    """A shipped twin's name as it is; a twin's folder as an absolute path (relative to the sweep file)."""
    from crossverify.twins.protocol import shipped_twins
    if name in shipped_twins():
        return name
    base = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    candidate = name if os.path.isabs(name) else os.path.join(base, name)
    if os.path.exists(candidate):
        return os.path.abspath(candidate)
    if os.path.exists(name):
        return os.path.abspath(name)
    raise SweepError(path or "(command line)", f"twin {name!r} is neither a shipped twin "
                     f"({', '.join(shipped_twins())}) nor a folder holding a twin.py")
