"""Golden regression traces: digests of every intermediate at a fixed set of epochs.

A golden record (``fixtures/golden/<scenario>.json``, format in fixtures/golden/README.md) pins,
per scenario, R variant and language, the sha256 (and md5) of the bytes of each intermediate:
float64, little-endian, row-major (C order), so the same matrix gives the same digest on any
machine and in either language. ``check`` recomputes one language at a time and names the first
(epoch, step, intermediate) whose digest changed, so a change to either side alone is caught
even when the two sides still agree with each other.

* Python's trace of ``corrected`` is python_impl's network; of the other variants, the Python
  model of R's recycling (twins/bias_net/rmodel.py, which reuses python_impl's steps 2-10). Both run on
  the exact kernels, bit for bit R's arithmetic, so every Python digest equals R's.
* Bias matrices are digested as the n-row matrix every sample adds at steps 2 and 4: R's
  matrix as it is, Python's one row repeated n times.
* The md5 is there for R: base R computes md5 (``tools::md5sum``) but not sha256, and the R
  package's testthat suite checks its own side natively against the same record.
"""
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from bridge.errors import CrossverifyError
from bridge.twins.scenarios import SHIPPED_FIXTURES, list_scenarios, load_scenario

FORMAT = "crossverify-golden/1"
IMPLS = ("python", "r")
NETWORKS = ("bias_net",)
KERNELS = "exact"
MILESTONES = (0, 1, 10, 100, 1000)
BIAS_NAMES = ("bh", "bout")
INPUT_NAMES = ("X", "y", "wh", "bh", "wout", "bout")
BYTES = "float64, little-endian, row-major (C order); biases as the n-row matrix every sample adds"


class GoldenError(CrossverifyError):
    """A golden record that cannot be used, or cannot be written."""


def golden_epochs(total):
    """The recorded epochs: 0, 1, 10, 100, 1000 (those a run of ``total`` epochs reaches) and the last."""
    return sorted({e for e in MILESTONES if e < total} | {total - 1})


def golden_dir(fixtures_dir=None):
    return os.path.join(fixtures_dir or SHIPPED_FIXTURES, "golden")


def golden_path(scenario, fixtures_dir=None):
    return os.path.join(golden_dir(fixtures_dir), f"{scenario}.json")


# -- digests ---------------------------------------------------------------------------------

def canonical(name, value, n):
    """The array whose bytes are digested: float64, little-endian, C order; a one-row bias
    repeated to the ``n`` rows R holds (what each sample adds, in both languages)."""
    a = np.asarray(value, dtype=np.float64)
    if name in BIAS_NAMES and a.ndim == 2 and a.shape[0] == 1 and n > 1:
        a = np.broadcast_to(a, (n, a.shape[1]))
    return np.ascontiguousarray(a, dtype="<f8")


def digests(data):
    """sha256 and md5 of ``data`` (bytes)."""
    return hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()


def entry(epoch, step, name, value, n):
    a = canonical(name, value, n)
    sha256, md5 = digests(a.tobytes())
    return {"epoch": int(epoch), "step": int(step), "name": name, "shape": list(a.shape), "sha256": sha256, "md5": md5}


def trace_entries(trace, epochs, n, spec=None):
    """The digest of every intermediate of ``trace`` at ``epochs``, in the order a run computes them."""
    if spec is None:
        from bridge.twins.runner import network_for
        from bridge.twins.scenarios import load_scenario
        spec = network_for(load_scenario("bias-net")).spec
    return [entry(e, step, name, trace.at(e, name), n) for e in epochs for step, name, _ in spec]


def inputs_fingerprint(scenario):
    """sha256 and md5 of the scenario's inputs: X, y, wh, bh, wout, bout (C order), then lr."""
    parts = [canonical(k, scenario.data[k] if k in scenario.data else scenario.init[k], 1).tobytes()
             for k in INPUT_NAMES]
    data = b"".join(parts) + np.float64(scenario.lr).astype("<f8").tobytes()
    sha256, md5 = digests(data)
    return {"sha256": sha256, "md5": md5,
            "shapes": {k: list((scenario.data | scenario.init)[k].shape) for k in INPUT_NAMES}}


# -- traces ------------------------------------------------------------------------------------

def python_trace(scenario, variant, epochs):
    """Python's exact-kernel trace of ``variant``: python_impl for corrected, the model of R otherwise."""
    from bridge.check.verify import Verifier
    verifier = Verifier(None, scenario, epochs)
    return verifier.python(KERNELS) if variant == "corrected" else verifier.model(variant, KERNELS)


def r_trace(session, scenario, variant, epochs):
    """R's trace of ``variant`` (r_impl/R/bias_net.R), all ``epochs`` of it."""
    from bridge.check.verify import Verifier
    # Ctrl-C while R computes ends the process with status 130: RSession.call guards every R call
    return Verifier(session, scenario, epochs).r(variant)


# -- scenarios -----------------------------------------------------------------------------------

def _network_of(name, fixtures_dir):
    try:
        with open(os.path.join(fixtures_dir or SHIPPED_FIXTURES, name, "manifest.json"), encoding="utf-8") as fh:
            return json.load(fh).get("network")
    except (OSError, ValueError, AttributeError):
        return None  # load_scenario reports what is wrong, if the scenario is asked for


def load_golden_scenario(name, fixtures_dir=None):
    scenario = load_scenario(name, fixtures_dir)
    if scenario.network not in NETWORKS:
        raise GoldenError(f"scenario {name!r} is a {scenario.network!r} network; golden records are made for "
                          f"{', '.join(NETWORKS)} scenarios only.")
    return scenario


def default_scenarios(fixtures_dir=None):
    """Every scenario under ``fixtures_dir`` whose manifest names a network golden records cover."""
    return [s for s in list_scenarios(fixtures_dir) if _network_of(s, fixtures_dir) in NETWORKS]


def recorded_scenarios(fixtures_dir=None):
    folder = golden_dir(fixtures_dir)
    if not os.path.isdir(folder):
        return []
    return sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".json"))


# -- record --------------------------------------------------------------------------------------

def make_record(scenario, session=None, variants=None, progress=None):
    """The golden record of ``scenario``: every variant, both languages."""
    from twins.bias_net.rmodel import VARIANTS  # golden covers bias_net alone for now
    epochs = golden_epochs(scenario.epochs)
    n = scenario.data["X"].shape[0]
    traces = {}
    for variant in variants or VARIANTS:
        traces[variant] = {}
        for impl in IMPLS:
            if progress:
                progress(f"{scenario.name} {variant} {impl}")
            trace = (python_trace(scenario, variant, epochs[-1] + 1) if impl == "python"
                     else r_trace(session, scenario, variant, epochs[-1] + 1))
            traces[variant][impl] = trace_entries(trace, epochs, n)
    return {"format": FORMAT, "scenario": scenario.name, "network": scenario.network, "kernels": KERNELS,
            "bytes": BYTES, "epochs": epochs, "scenario_epochs": scenario.epochs,
            "inputs": inputs_fingerprint(scenario), "traces": traces}


def dumps(record):
    """JSON with one digest entry per line, so a diff of a re-recording shows which ones moved."""
    head = {k: v for k, v in record.items() if k != "traces"}
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()] + ['  "traces": {']
    variants = list(record["traces"].items())
    for i, (variant, impls) in enumerate(variants):
        lines.append(f"    {json.dumps(variant)}: {{")
        for j, (impl, entries) in enumerate(impls.items()):
            lines.append(f"      {json.dumps(impl)}: [")
            lines += [f"        {json.dumps(e)}" + ("," if k < len(entries) - 1 else "") for k, e in enumerate(entries)]
            lines.append("      ]" + ("," if j < len(impls) - 1 else ""))
        lines.append("    }" + ("," if i < len(variants) - 1 else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def write_atomically(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder: never a partial file."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise GoldenError(f"cannot create the folder {folder} for {path} ({exc.strerror}). "
                          f"Nothing was written; check --fixtures.") from None
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".crossverify-", suffix=".json.tmp", dir=folder)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a record is an ordinary file
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise GoldenError(f"cannot write {path}: {exc.strerror}. Nothing was written; make the folder "
                          f"{folder} writable or choose another --fixtures.") from None
    finally:  # also on Ctrl-C: no temporary file stays behind
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def check_writable(folder):
    """Refuse before the long part when ``folder`` cannot receive a record (it is created if missing)."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        problem = "it exists and is not a folder"
    elif not os.path.isdir(folder if os.path.exists(folder) else os.path.dirname(folder)):
        problem = "its parent folder does not exist"
    elif not os.access(folder if os.path.exists(folder) else os.path.dirname(folder), os.W_OK):
        problem = "it is not writable"
    else:
        return
    raise GoldenError(f"cannot write golden records into {folder}: {problem}. Nothing was written; "
                      f"choose another --fixtures.")


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def record(scenarios=None, fixtures_dir=None, force=False, session_factory=None, progress=None):
    """Record ``scenarios`` (default: every bias_net scenario); returns the paths written."""
    names = scenarios or default_scenarios(fixtures_dir)
    if not names:
        raise GoldenError(f"no scenario to record under {fixtures_dir or SHIPPED_FIXTURES}: golden records are "
                          f"made for {', '.join(NETWORKS)} scenarios.")
    loaded = [load_golden_scenario(n, fixtures_dir) for n in names]  # every input checked before the long part
    existing = [golden_path(s.name, fixtures_dir) for s in loaded if os.path.exists(golden_path(s.name, fixtures_dir))]
    if existing and not force:
        raise GoldenError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; a golden record "
                          f"is only replaced on purpose. Run `crossverify golden check` to see what changed, and "
                          f"`crossverify golden record --force` to replace it.")
    check_writable(golden_dir(fixtures_dir))
    session = (session_factory or _default_session)()
    written = []
    for scenario in loaded:
        text = dumps(make_record(scenario, session, progress=progress))
        path = golden_path(scenario.name, fixtures_dir)
        write_atomically(path, text)
        written.append(path)
    return written


def _default_session():
    from bridge.session.rsession import get_session
    return get_session()


# -- check ---------------------------------------------------------------------------------------

@dataclass
class GoldenResult:
    scenario: str
    variant: str
    impl: str
    entries: int = 0
    first_change: dict = None
    problems: list = field(default_factory=list)

    @property
    def ok(self):
        return self.first_change is None and not self.problems

    def describe_change(self):
        c = self.first_change
        if c is None:
            return "-"
        text = f"epoch {c['epoch']}, step {c['step']}, {c['name']}"
        if c["shape"] != c["recorded_shape"]:
            return text + f" (shape {c['recorded_shape']} recorded, now {c['shape']})"
        return text + f" (sha256 {c['recorded_sha256'][:12]}... recorded, now {c['sha256'][:12]}...)"

    def to_dict(self):
        return {"scenario": self.scenario, "variant": self.variant, "impl": self.impl, "ok": self.ok,
                "entries": self.entries, "first_change": self.first_change, "problems": self.problems}


def _bad(path, problem):
    return GoldenError(f"golden record {path}: {problem}. To fix: re-record it with "
                       f"`crossverify golden record --force` (see fixtures/golden/README.md).")


def load_record(path):
    """A golden record, checked for the fields ``check`` reads."""
    if not os.path.isfile(path):
        raise GoldenError(f"no golden record {path}. Record one with `crossverify golden record` "
                          f"(see fixtures/golden/README.md).")
    try:
        with open(path, encoding="utf-8") as fh:
            rec = json.load(fh)
    except json.JSONDecodeError as exc:
        raise _bad(path, f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise _bad(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror})") from None
    if not isinstance(rec, dict):
        raise _bad(path, "the top level must be a JSON object")
    if rec.get("format") != FORMAT:
        raise _bad(path, f"format {rec.get('format')!r} is not {FORMAT!r}")
    epochs = rec.get("epochs")
    if not isinstance(epochs, list) or not epochs or not all(isinstance(e, int) and e >= 0 for e in epochs):
        raise _bad(path, f"'epochs' {epochs!r} is not a list of epoch numbers")
    traces = rec.get("traces")
    if not isinstance(traces, dict) or not traces:
        raise _bad(path, "'traces' is missing or empty")
    for variant, impls in traces.items():
        if not isinstance(impls, dict):
            raise _bad(path, f"traces.{variant} is not an object of languages")
        for impl, entries in impls.items():
            if impl not in IMPLS:
                raise _bad(path, f"traces.{variant}.{impl}: unknown language (known: {', '.join(IMPLS)})")
            if not isinstance(entries, list) or not entries:
                raise _bad(path, f"traces.{variant}.{impl} is not a list of digests")
            for k, e in enumerate(entries):
                if (not isinstance(e, dict) or not isinstance(e.get("name"), str) or e.get("epoch") not in epochs
                        or not isinstance(e.get("step"), int) or not isinstance(e.get("shape"), list)
                        or not (isinstance(e.get("sha256"), str) and len(e["sha256"]) == 64)):
                    raise _bad(path, f"traces.{variant}.{impl}[{k}] is not an entry "
                                     f"{{epoch, step, name, shape, sha256, md5}}")
    return rec


def compare_entries(recorded, trace, n):
    """The first recorded entry whose digest (or shape) ``trace`` no longer reproduces, or None."""
    for e in recorded:
        if e["name"] not in trace.steps:
            return {**_where(e), "recorded_shape": e["shape"], "shape": None,
                    "recorded_sha256": e["sha256"], "sha256": None}
        now = entry(e["epoch"], e["step"], e["name"], trace.at(e["epoch"], e["name"]), n)
        if now["shape"] != e["shape"] or now["sha256"] != e["sha256"]:
            return {**_where(e), "recorded_shape": e["shape"], "shape": now["shape"],
                    "recorded_sha256": e["sha256"], "sha256": now["sha256"]}
    return None


def _where(e):
    return {"epoch": e["epoch"], "step": e["step"], "name": e["name"]}


def check(scenarios=None, fixtures_dir=None, impls=None, variants=None, session_factory=None, progress=None):
    """One GoldenResult per (scenario, variant, language); each language is run on its own."""
    from bridge.check.verify import check_name
    from twins.bias_net.rmodel import VARIANTS
    names = scenarios or recorded_scenarios(fixtures_dir)
    if not names:
        raise GoldenError(f"no golden records under {golden_dir(fixtures_dir)}. Record them with "
                          f"`crossverify golden record` (see fixtures/golden/README.md).")
    for v in variants or ():
        check_name("variant", v, VARIANTS)
    for i in impls or ():
        check_name("language", i, IMPLS)
    work = []
    for name in names:  # every input checked before the long part
        scenario = load_golden_scenario(name, fixtures_dir)
        path = golden_path(name, fixtures_dir)
        rec = load_record(path)
        for v in variants or ():
            if v not in rec["traces"]:
                raise _bad(path, f"it holds no variant {v!r} (it holds {', '.join(rec['traces'])})")
        work.append((scenario, path, rec))
    session = None
    results = []
    for scenario, path, rec in work:
        n = scenario.data["X"].shape[0]
        epochs = max(rec["epochs"]) + 1
        inputs = inputs_fingerprint(scenario)["sha256"]
        stale = rec.get("inputs", {}).get("sha256")
        for impl in impls or IMPLS:  # one language at a time: either side alone is checked
            for variant in variants or rec["traces"]:
                recorded = rec["traces"][variant].get(impl)
                result = GoldenResult(scenario.name, variant, impl)
                results.append(result)
                if recorded is None:
                    result.problems.append(f"{path} holds no {impl} digests for {variant}")
                    continue
                if stale != inputs:
                    result.problems.append(f"the inputs of scenario {scenario.name} ({scenario.path}) changed since "
                                           f"the record was made")
                if progress:
                    progress(f"{scenario.name} {variant} {impl}")
                if impl == "python":
                    trace = python_trace(scenario, variant, epochs)
                else:
                    session = session or (session_factory or _default_session)()
                    trace = r_trace(session, scenario, variant, epochs)
                result.entries = len(recorded)
                result.first_change = compare_entries(recorded, trace, n)
    return results
