"""Golden regression traces: digests of every intermediate at a fixed set of epochs, for any twin.

A golden record (``<fixtures>/golden/<scenario>.json``, format in fixtures/golden/README.md) pins,
per scenario, R variant and language, the sha256 (and md5) of the bytes of each intermediate:
float64, little-endian, row-major (C order), so the same matrix gives the same digest on any
machine and in either language. ``check`` recomputes one language at a time and names the first
(epoch, step, intermediate) whose digest changed, so a change to either side alone is caught
even when the two sides still agree with each other.

Everything is read from the scenario's twin (bridge/twins/protocol.py): its steps (the derived
spec, in the order one epoch computes them), its variants and reference, its data, initial state
and hyper-parameters.

* Python's trace of the reference variant is the twin's Python epoch; of any other variant, the
  twin's Python model of that R variant. Both run on the exact kernels, bit for bit R's
  arithmetic, so every Python digest equals R's.
* Where the two languages hold one value in different shapes (numpy broadcasts a one-row matrix
  that R holds with one row per sample), the value is digested at the shape both broadcast to:
  measured from both languages when the record is made, and read from the record's entry when
  one language is checked alone.
* The md5 is there for R: base R computes md5 (``tools::md5sum``) but not sha256, and an R
  package's own tests can check its side natively against the same record.
"""
import hashlib
import json
import os
from dataclasses import dataclass, field

import numpy as np

from crossverify.errors import CrossverifyError
from crossverify.files import write_atomically
from crossverify.twins.runner import network_for
from crossverify.twins.scenarios import SHIPPED_FIXTURES, load_scenario
from crossverify.python_impl.kernels import matprod_path_as
from crossverify.twins.request import R_ARITHMETIC

FORMAT = "crossverify-golden/1"
IMPLS = ("python", "r")
KERNELS = R_ARITHMETIC
MILESTONES = (0, 1, 10, 100, 1000)
BYTES = ("float64, little-endian, row-major (C order); a value numpy broadcasts (one row where R holds "
         "several) digested at the shape both languages broadcast it to")


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

def canonical(value, shape=None):
    """The array whose bytes are digested: float64, little-endian, C order, broadcast to ``shape``
    (the shape both languages hold it in) when given."""
    a = np.asarray(value, dtype=np.float64)
    if shape is not None and tuple(a.shape) != tuple(shape):
        a = np.broadcast_to(a, tuple(shape))
    return np.ascontiguousarray(a, dtype="<f8")


def digests(data):
    """sha256 and md5 of ``data`` (bytes)."""
    return hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()


def entry(epoch, step, name, value, shape=None):
    a = canonical(value, shape)
    sha256, md5 = digests(a.tobytes())
    return {"epoch": int(epoch), "step": int(step), "name": name, "shape": list(a.shape), "sha256": sha256, "md5": md5}


def common_shapes(traces, epochs, spec):
    """{(epoch, name): the shape every trace's value broadcasts to}; a GoldenError naming the
    intermediate when the languages hold shapes that are not one matrix broadcast."""
    shapes = {}
    for e in epochs:
        for _, name, _ in spec:
            held = [np.shape(t.at(e, name)) for t in traces]
            try:
                shapes[(e, name)] = np.broadcast_shapes(*held)
            except ValueError:
                raise GoldenError(f"{name} at epoch {e} is held in shapes {held} by the two languages, which do "
                                  f"not broadcast to one matrix; its digest would differ between them.") from None
    return shapes


def trace_entries(trace, epochs, spec, shapes=None):
    """The digest of every intermediate of ``trace`` at ``epochs``, in the order of ``spec`` (the
    twin's steps), each at ``shapes[(epoch, name)]`` when given."""
    shapes = shapes or {}
    return [entry(e, step, name, trace.at(e, name), shapes.get((e, name))) for e in epochs for step, name, _ in spec]


def inputs_fingerprint(scenario):
    """sha256 and md5 of the scenario's inputs as its manifest holds them: the data matrices, then
    the initial state (each in the twin's declaration order, C order), then the hyper-parameters."""
    twin = scenario.twin
    matrices = {**{k: scenario.data[k] for k in twin.data}, **{k: scenario.init[k] for k in twin.init}}
    data = b"".join(canonical(v).tobytes() for v in matrices.values())
    data += b"".join(np.float64(scenario.hyper[h]).astype("<f8").tobytes() for h in twin.hyper)
    sha256, md5 = digests(data)
    return {"sha256": sha256, "md5": md5, "shapes": {k: list(v.shape) for k, v in matrices.items()}}


# -- traces ------------------------------------------------------------------------------------

def python_trace(scenario, variant, epochs, record=None):
    """Python's exact-kernel trace of ``variant``: the twin's epoch for its reference variant, the
    twin's Python model of R otherwise; intermediates kept at the epochs in ``record`` (default all)."""
    net = network_for(scenario)
    if variant == net.reference_variant:
        return net.python(KERNELS, epochs, record=record)
    return net.model(variant, KERNELS, epochs, record=record)


def r_trace(session, scenario, variant, epochs, record=None):
    """R's trace of ``variant``, ``epochs`` epochs of it, intermediates kept at ``record``."""
    # Ctrl-C while R computes ends the process with status 130: RSession.call guards every R call
    return network_for(scenario).r(session, variant, epochs, record=record)


# -- scenarios -----------------------------------------------------------------------------------

def load_golden_scenario(name, fixtures_dir=None, twin=None):
    return load_scenario(name, fixtures_dir, twin)


def default_scenarios(fixtures_dir=None, twin=None):
    """Every scenario under ``fixtures_dir`` of ``twin`` (whatever its twin when None)."""
    from crossverify.twins.scenarios import scenarios_of
    return scenarios_of(twin, fixtures_dir)


def recorded_scenarios(fixtures_dir=None):
    folder = golden_dir(fixtures_dir)
    if not os.path.isdir(folder):
        return []
    return sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".json"))


# -- record --------------------------------------------------------------------------------------

def make_record(scenario, session=None, variants=None, progress=None):
    """The golden record of ``scenario``: every variant of its twin, both languages."""
    epochs = golden_epochs(scenario.epochs)
    net = network_for(scenario)
    traces = {}
    for variant in variants or net.variants:
        runs = {}
        for impl in IMPLS:
            if progress:
                progress(f"{scenario.name} {variant} {impl}")
            runs[impl] = (python_trace(scenario, variant, epochs[-1] + 1, epochs) if impl == "python"
                          else r_trace(session, scenario, variant, epochs[-1] + 1, epochs))
        shapes = common_shapes(list(runs.values()), epochs, net.spec)
        traces[variant] = {impl: trace_entries(t, epochs, net.spec, shapes) for impl, t in runs.items()}
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


def write_record(path, text):
    """Write one record through bridge/files.py's writer: never a partial file, the folder made if missing."""
    write_atomically(path, text, hint=f"make the folder {os.path.dirname(os.path.abspath(path))} writable or "
                                      f"choose another --fixtures", error=GoldenError, make_folder=True)


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


def record(scenarios=None, fixtures_dir=None, force=False, session_factory=None, progress=None, twin=None):
    """Record ``scenarios`` (default: every scenario under ``fixtures_dir``; with ``twin``, scenarios
    of that twin); returns the paths written."""
    names = scenarios or default_scenarios(fixtures_dir, twin)
    if not names:
        raise GoldenError(f"no scenario to record under {fixtures_dir or SHIPPED_FIXTURES}: a golden record is "
                          f"made per scenario (a folder holding manifest.json, fixtures/README.md).")
    loaded = [load_golden_scenario(n, fixtures_dir, twin) for n in names]  # every input checked before the long part
    existing = [golden_path(s.name, fixtures_dir) for s in loaded if os.path.exists(golden_path(s.name, fixtures_dir))]
    if existing and not force:
        raise GoldenError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; a golden record "
                          f"is only replaced on purpose. Run `crossverify golden check` to see what changed, and "
                          f"`crossverify golden record --force` to replace it.")
    check_writable(golden_dir(fixtures_dir))
    session = (session_factory or _default_session)()
    problem = r_sums_problem(session)
    if problem:
        raise GoldenError(f"not recorded: {problem}.")
    written = []
    for scenario in loaded:
        text = dumps(make_record(scenario, session, progress=progress))
        path = golden_path(scenario.name, fixtures_dir)
        write_record(path, text)
        written.append(path)
    return written


def _default_session():
    from crossverify.session.rsession import get_session
    return get_session()


def r_sums_problem(session):
    """Why this R's digests cannot be held against a golden record, or None. A record pins the sums
    of R's %*% on the reference BLAS (its default path); on any other BLAS R runs its own
    long-double loop, or sums the BLAS's way (bridge/session/platform.py), and other bits are right."""
    plan = getattr(session, "matprod", None)
    if plan is None or (plan.kernel_path == "reference" and plan.exact):
        return None
    return (f"R's %*% here runs matprod \"{plan.option}\" on {session.platform.blas_name}, which does not sum "
            f"as the reference BLAS's default path the record pins; check and record R's digests with R on the "
            f"reference BLAS and $CROSSVERIFY_R_MATPROD unset (`crossverify doctor` shows what R loads)")


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
        from crossverify.twins.scenarios import json_problem
        raise _bad(path, f"not valid JSON ({json_problem(exc)})") from None
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


def compare_entries(recorded, trace):
    """The first recorded entry whose digest (or shape) ``trace`` no longer reproduces, or None.
    Today's value is digested at the recorded shape when it broadcasts to it (the other language's
    shape, measured when the record was made)."""
    for e in recorded:
        if e["name"] not in trace.steps:
            return {**_where(e), "recorded_shape": e["shape"], "shape": None,
                    "recorded_sha256": e["sha256"], "sha256": None}
        value = trace.at(e["epoch"], e["name"])
        now = entry(e["epoch"], e["step"], e["name"], value, _broadcast_shape(np.shape(value), e["shape"]))
        if now["shape"] != e["shape"] or now["sha256"] != e["sha256"]:
            return {**_where(e), "recorded_shape": e["shape"], "shape": now["shape"],
                    "recorded_sha256": e["sha256"], "sha256": now["sha256"]}
    return None


def _where(e):
    return {"epoch": e["epoch"], "step": e["step"], "name": e["name"]}


def _broadcast_shape(shape, recorded):
    """``recorded`` when ``shape`` broadcasts to it, else ``shape`` (a changed shape is a change)."""
    try:
        return tuple(recorded) if np.broadcast_shapes(shape, tuple(recorded)) == tuple(recorded) else shape
    except ValueError:
        return shape


def _variants_to_check(scenario, variants, rec, path):
    """The variants of ``rec`` to check: all, or those of ``variants`` the scenario's twin declares."""
    if not variants:
        unknown = [v for v in rec["traces"] if v not in scenario.twin.variants]
        if unknown:
            raise _bad(path, f"its variant(s) {unknown} are not variants of the twin {scenario.twin.name!r} "
                             f"({', '.join(scenario.twin.variants)})")
        return list(rec["traces"])
    chosen = [v for v in variants if v in scenario.twin.variants]
    for v in chosen:
        if v not in rec["traces"]:
            raise _bad(path, f"it holds no variant {v!r} (it holds {', '.join(rec['traces'])})")
    return chosen


def check(scenarios=None, fixtures_dir=None, impls=None, variants=None, session_factory=None, progress=None,
          twin=None):
    """One GoldenResult per (scenario, variant, language); each language is run on its own. A
    ``variants`` filter applies to the scenarios whose twin declares the variant."""
    from crossverify.check.verify import check_name
    names = scenarios or recorded_scenarios(fixtures_dir)
    if not names:
        raise GoldenError(f"no golden records under {golden_dir(fixtures_dir)}. Record them with "
                          f"`crossverify golden record` (see fixtures/golden/README.md).")
    for i in impls or ():
        check_name("language", i, IMPLS)
    loaded = [load_golden_scenario(name, fixtures_dir, twin) for name in names]
    known = tuple(dict.fromkeys(v for s in loaded for v in s.twin.variants))
    for v in variants or ():
        check_name("variant", v, known)
    work = []
    for scenario in loaded:  # every input checked before the long part
        path = golden_path(scenario.name, fixtures_dir)
        rec = load_record(path)
        chosen = _variants_to_check(scenario, variants, rec, path)
        if chosen:
            work.append((scenario, path, rec, chosen))
    session = None
    results = []
    for scenario, path, rec, chosen in work:
        epochs = max(rec["epochs"]) + 1
        inputs = inputs_fingerprint(scenario)["sha256"]
        stale = rec.get("inputs", {}).get("sha256")
        for impl in impls or IMPLS:  # one language at a time: either side alone is checked
            for variant in chosen:
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
                    with matprod_path_as("reference"):  # whatever R does here: the record's sums
                        trace = python_trace(scenario, variant, epochs, rec["epochs"])
                else:
                    session = session or (session_factory or _default_session)()
                    if r_sums_problem(session):
                        result.problems.append(r_sums_problem(session))
                        continue
                    trace = r_trace(session, scenario, variant, epochs, rec["epochs"])
                result.entries = len(recorded)
                result.first_change = compare_entries(recorded, trace)
    return results
