"""Golden regression traces (bridge/check/golden.py, fixtures/golden/README.md): the digests' byte
encoding, the committed record against both languages, one language at a time, `golden record`
refusing to overwrite and writing atomically, and the R package checking its own side natively.
Mirror: r_impl/tests/testthat/test-golden.R."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from crossverify import files
from crossverify.check import golden
from crossverify.errors import CrossverifyError
from crossverify.twins.scenarios import SHIPPED_FIXTURES
from tests.specs import BIAS_NET_SPEC
from crossverify.shipped_twins.bias_net.rmodel import VARIANTS
from crossverify.python_impl import bias_net
from tests.conftest import ROOT

RECORD = golden.golden_path("bias-net")
RLIB = os.path.join(ROOT, ".venv", "R-library")

# `golden` is a sub-command module (bridge/cli/golden.py); registered here whether or not
# bridge/cli/main.py lists it yet, so the tests run the command line exactly as users will.
GOLDEN_CLI = ("import sys, crossverify.cli.main as cli; "
              "cli.COMMAND_MODULES = tuple(dict.fromkeys(tuple(cli.COMMAND_MODULES) + ('crossverify.cli.golden',))); "
              "sys.exit(cli.main(sys.argv[1:]))")


def golden_cli_command(*args):
    return [sys.executable, "-c", GOLDEN_CLI, *args]


def run_golden_cli(*args, timeout=600):
    """``crossverify ARGS`` with the golden sub-command registered, in a child process."""
    proc = subprocess.run(golden_cli_command(*args), cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr


USER_TWIN = """\"\"\"A twin of one's own, outside the project: the shipped bias network's Python and R
functions under a new name, with one R variant.\"\"\"
from crossverify.twins.protocol import Printed, RSide, Twin  # noqa: F401 - for the extra fields
from crossverify.shipped_twins.bias_net.twin import TWIN as SHIPPED

TWIN = Twin(
    name="wrapped_net",
    python="crossverify.python_impl.bias_net:epoch",
    python_predict="crossverify.python_impl.bias_net:predict",
    r=RSide(files=({r_file!r},), epoch="bias_net_epoch", start="bias_net_start", predict="bias_net_predict"),
    state=SHIPPED.state, steps=SHIPPED.steps, data=SHIPPED.data, init=SHIPPED.init,
    loss="loss.py:loss",
    {extra}
)
"""
USER_LOSS = """def loss(E):
    \"\"\"mean of E^2 / 2\"\"\"
    return (E * E / 2).reshape(len(E), -1).mean(axis=1)
"""


def write_user_twin(tmp_path, epochs=200, extra="", files=None):
    """A twin folder of one's own under ``tmp_path``: wrapped_net/twin.py (the shipped bias
    network's functions under a new name), its loss, any ``files`` ({name: text}) and one scenario,
    wrapped_net/scenarios/wrapped (the bias-net fixture cut to ``epochs`` epochs). Its path."""
    folder = tmp_path / "wrapped_net"
    (folder / "scenarios" / "wrapped").mkdir(parents=True)
    r_file = os.path.join(ROOT, "r_impl", "R", "bias_net.R")
    (folder / "twin.py").write_text(USER_TWIN.format(r_file=r_file, extra=extra))
    (folder / "loss.py").write_text(USER_LOSS)
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    with open(os.path.join(SHIPPED_FIXTURES, "bias-net", "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    manifest.update(name="wrapped", network="wrapped_net")
    manifest["hyper_parameters"]["epochs"] = epochs
    (folder / "scenarios" / "wrapped" / "manifest.json").write_text(json.dumps(manifest))
    return folder


def fixtures_copy(tmp_path, with_record=True):
    """A fixtures folder holding bias-net (and its golden record), to change without touching the shipped one."""
    root = tmp_path / "fixtures"
    shutil.copytree(os.path.join(SHIPPED_FIXTURES, "bias-net"), root / "bias-net")
    if with_record:
        (root / "golden").mkdir()
        shutil.copy(RECORD, root / "golden" / "bias-net.json")
    return root


def doctor(path, variant, impl, epoch, name):
    """Change one recorded sha256 and md5, as a changed computation would."""
    record = json.loads(path.read_text())
    for e in record["traces"][variant][impl]:
        if e["epoch"] == epoch and e["name"] == name:
            e["sha256"], e["md5"] = "0" * 64, "0" * 32
    path.write_text(golden.dumps(record))


@pytest.fixture(scope="module")
def record():
    with open(RECORD, encoding="utf-8") as fh:
        return json.load(fh)


def _trace_of(verifier, variant, impl):
    if impl == "r":
        return verifier.r(variant)
    return verifier.python("exact") if variant == "corrected" else verifier.model(variant, "exact")


# -- the encoding ------------------------------------------------------------------------------

def test_recorded_epochs_are_0_1_10_100_1000_and_the_last():
    assert golden.golden_epochs(5000) == [0, 1, 10, 100, 1000, 4999]
    assert golden.golden_epochs(20) == [0, 1, 10, 19]
    assert golden.golden_epochs(1) == [0]


def test_digest_is_of_little_endian_row_major_float64_bytes_whatever_the_array_layout():
    a = np.array([[1.0, 2.0], [3.0, -0.0], [0.1, 2.0 ** -1074]])
    expected = hashlib.sha256(b"".join(np.float64(v).astype("<f8").tobytes() for v in a.ravel())).hexdigest()
    for layout in (a, np.asfortranarray(a), a.astype(">f8")):
        assert golden.entry(0, 2, "X", layout)["sha256"] == expected
    # the same md5 r_impl/tests/testthat/test-golden.R computes from writeBin(as.vector(t(m)))
    assert golden.entry(0, 2, "X", a)["md5"] == "17f71074e3590a83170b60751916b5da"


def test_minus_zero_and_plus_zero_have_different_digests():
    assert golden.entry(0, 2, "E", np.array([[0.0]]))["sha256"] != golden.entry(0, 2, "E", np.array([[-0.0]]))["sha256"]


def test_one_row_biases_are_digested_as_the_matrix_every_sample_adds():
    bh = np.array([[0.25, -0.5, 0.75]])
    # the shape both languages broadcast to, as golden.common_shapes measures it from the two traces
    as_python_holds_it = golden.entry(0, 11, "bh", bh, (3, 3))
    as_r_holds_it = golden.entry(0, 11, "bh", np.repeat(bh, 3, axis=0), (3, 3))
    assert as_python_holds_it == as_r_holds_it and as_python_holds_it["shape"] == [3, 3]


# -- the committed record ------------------------------------------------------------------------

def test_committed_record_covers_every_variant_language_epoch_and_intermediate(record, bias_scenario):
    assert record["format"] == golden.FORMAT and record["kernels"] == "exact"
    assert record["epochs"] == golden.golden_epochs(bias_scenario.epochs)
    assert record["inputs"] == golden.inputs_fingerprint(bias_scenario)
    assert set(record["traces"]) == set(VARIANTS)
    for variant, impls in record["traces"].items():
        assert set(impls) == {"python", "r"}
        for entries in impls.values():
            assert [(e["epoch"], e["step"], e["name"]) for e in entries] == [
                (epoch, step, name) for epoch in record["epochs"] for step, name, _ in BIAS_NET_SPEC]


@pytest.mark.parametrize("variant", VARIANTS)
def test_python_and_r_digests_are_equal_entry_for_entry(record, variant):
    """Exact kernels are bit for bit R's arithmetic, so the two languages' bytes coincide."""
    python, r = record["traces"][variant]["python"], record["traces"][variant]["r"]
    assert python == r


@pytest.mark.parametrize("impl", ["python", "r"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_todays_traces_reproduce_every_committed_digest(record, bias_verifier, variant, impl):
    trace = _trace_of(bias_verifier, variant, impl)
    change = golden.compare_entries(record["traces"][variant][impl], trace)
    assert change is None, change


def test_python_and_r_corrected_digests_are_equal_when_computed_afresh(bias_verifier, bias_scenario):
    epochs = golden.golden_epochs(bias_scenario.epochs)
    traces = bias_verifier.python("exact"), bias_verifier.r("corrected")
    shapes = golden.common_shapes(traces, epochs, BIAS_NET_SPEC)
    python, r = (golden.trace_entries(t, epochs, BIAS_NET_SPEC, shapes) for t in traces)
    assert python == r


# -- check: one language at a time, the first change named -------------------------------------

def test_check_names_the_first_changed_epoch_step_and_intermediate(tmp_path):
    root = fixtures_copy(tmp_path)
    path = root / "golden" / "bias-net.json"
    doctor(path, "corrected", "python", 100, "Error_at_hidden_layer")
    doctor(path, "corrected", "python", 1000, "wh")
    results = golden.check(["bias-net"], str(root), impls=["python"], variants=["corrected"])
    assert [(r.variant, r.impl, r.ok) for r in results] == [("corrected", "python", False)]
    change = results[0].first_change
    assert (change["epoch"], change["step"], change["name"]) == (100, 8, "Error_at_hidden_layer")
    assert change["recorded_sha256"] == "0" * 64
    assert results[0].describe_change().startswith("epoch 100, step 8, Error_at_hidden_layer (sha256 000000000000")


def test_a_change_to_python_alone_fails_python_and_leaves_r_matching(monkeypatch, r_session):
    # x - x*x is x(1 - x) in exact arithmetic and differs from it by a rounding: invisible to R
    monkeypatch.setattr(bias_net, "derivatives_sigmoid", lambda x: x - x * x)
    results = golden.check(["bias-net"], variants=["corrected"], session_factory=lambda: r_session)
    by_impl = {r.impl: r for r in results}
    assert by_impl["r"].ok
    change = by_impl["python"].first_change
    assert (change["epoch"], change["step"], change["name"]) == (0, 6, "slope_output_layer")


def test_a_change_to_r_alone_fails_r_and_leaves_python_matching(r_session, bias_scenario):
    ro, env = r_session.ro, r_session.twin_env(bias_scenario.twin)  # the twin's R code lives in its own environment
    original = ro.r["get"]("derivatives_sigmoid", envir=env)
    ro.r["assign"]("derivatives_sigmoid", ro.r("function(x) x - x * x"), envir=env)
    try:
        results = golden.check(["bias-net"], variants=["corrected"], session_factory=lambda: r_session)
    finally:
        ro.r["assign"]("derivatives_sigmoid", original, envir=env)
    by_impl = {r.impl: r for r in results}
    assert by_impl["python"].ok
    change = by_impl["r"].first_change
    assert (change["epoch"], change["step"], change["name"]) == (0, 6, "slope_output_layer")


def test_changed_inputs_are_reported_as_such(tmp_path):
    root = fixtures_copy(tmp_path)
    path = root / "bias-net" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["data"]["X"]["values"][0][1] = (0.0009765625).hex()  # X[0, 1]: 0 -> 2^-10
    path.write_text(json.dumps(manifest))
    result = golden.check(["bias-net"], str(root), impls=["python"], variants=["corrected"])[0]
    assert not result.ok and any("inputs of scenario bias-net" in p and "changed" in p for p in result.problems)
    assert (result.first_change["epoch"], result.first_change["step"]) == (0, 2)  # X is first used at step 2


def test_golden_check_exits_0_when_every_digest_matches():
    code, out, err = run_golden_cli("golden", "check", "--scenario", "bias-net", "--format", "json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["ok"] and len(report["results"]) == 2 * len(VARIANTS)
    assert {(r["variant"], r["impl"]) for r in report["results"]} == {(v, i) for v in VARIANTS for i in ("python", "r")}
    assert all(r["entries"] == 6 * len(BIAS_NET_SPEC) for r in report["results"])


def test_golden_check_exits_1_and_prints_the_first_change(tmp_path):
    root = fixtures_copy(tmp_path)
    doctor(root / "golden" / "bias-net.json", "article", "python", 10, "bout")
    code, out, err = run_golden_cli("golden", "check", "--impl", "python", "--variant", "article",
                                    "--fixtures", str(root))
    assert code == 1, err
    assert "CHANGED" in out and "epoch 10, step 11, bout" in out
    assert "0 of 1 traces match their golden digests." in out


@pytest.mark.parametrize("command", [["golden"], ["golden", "record"], ["golden", "check"]])
def test_golden_commands_have_help(command):
    code, out, _ = run_golden_cli(*command, "--help")
    assert code == 0 and "usage: crossverify golden" in out


# -- record -----------------------------------------------------------------------------------------

def test_record_refuses_to_overwrite_without_force(tmp_path):
    root = fixtures_copy(tmp_path)
    path = root / "golden" / "bias-net.json"
    before = path.read_bytes()
    with pytest.raises(CrossverifyError, match="already exists; a golden record is only replaced on purpose"):
        golden.record(["bias-net"], str(root), session_factory=lambda: pytest.fail("R started before refusing"))
    assert path.read_bytes() == before


def test_record_with_force_rewrites_the_committed_record_byte_for_byte(tmp_path, r_session):
    """Recording is deterministic: a fresh recording of the shipped scenario is the committed file."""
    root = fixtures_copy(tmp_path)
    written = golden.record(["bias-net"], str(root), force=True, session_factory=lambda: r_session)
    assert written == [str(root / "golden" / "bias-net.json")]
    with open(RECORD, "rb") as fh:
        assert (root / "golden" / "bias-net.json").read_bytes() == fh.read()
    assert sorted(p.name for p in (root / "golden").iterdir()) == ["bias-net.json"]


def test_record_that_fails_to_write_leaves_no_file_and_no_temporary_file(tmp_path, monkeypatch):
    root = fixtures_copy(tmp_path, with_record=False)
    monkeypatch.setattr(golden, "make_record", lambda scenario, session, progress=None: {"traces": {}})

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(golden.os, "replace", fail)
    with pytest.raises(CrossverifyError, match="No space left on device. Nothing was written"):
        golden.record(["bias-net"], str(root), session_factory=lambda: None)
    assert list((root / "golden").iterdir()) == []


def test_record_creates_the_golden_folder_of_a_fixtures_folder_of_your_own(tmp_path, monkeypatch):
    root = fixtures_copy(tmp_path, with_record=False)
    monkeypatch.setattr(golden, "make_record", lambda scenario, session, progress=None: {"traces": {}, "x": 1})
    golden.record(None, str(root), session_factory=lambda: None)
    assert json.loads((root / "golden" / "bias-net.json").read_text()) == {"x": 1, "traces": {}}
    assert (root / "golden" / "bias-net.json").stat().st_mode & 0o777 == 0o666 & ~files._umask()


# -- the R package's own check -----------------------------------------------------------------------

def _r_golden_suite(fixtures):
    env = dict(os.environ, R_LIBS=RLIB, CROSSVERIFY_FIXTURES=str(fixtures))
    code = ('for (f in list.files("r_impl/R", full.names = TRUE)) source(f); '
            'res <- as.data.frame(testthat::test_file("r_impl/tests/testthat/test-golden.R", reporter = "summary")); '
            'cat(sprintf("\\nGOLDEN %d passed, %d failed\\n", sum(res$passed), sum(res$failed) + sum(res$error)))')
    return subprocess.run(["Rscript", "-e", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_r_native_golden_check_passes_on_the_committed_record():
    proc = _r_golden_suite(os.path.join(ROOT, "fixtures"))
    assert "GOLDEN 16 passed, 0 failed" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_r_native_golden_check_names_the_first_changed_digest(tmp_path):
    root = fixtures_copy(tmp_path)
    doctor(root / "golden" / "bias-net.json", "colsums-only", "r", 1, "d_hiddenlayer")
    proc = _r_golden_suite(root)
    # R's trace no longer matches its digest, and the record's R and Python sides now disagree
    assert "GOLDEN 14 passed, 2 failed" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "variant colsums-only: first changed digest at epoch 1, step 9, d_hiddenlayer" in proc.stdout


# -- any twin ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", ["detail-toy", "detail-moons"])
def test_committed_detail_records_have_equal_python_and_r_digests_in_the_twins_step_order(scenario):
    from tests.specs import DETAIL_SPEC
    with open(golden.golden_path(scenario), encoding="utf-8") as fh:
        rec = json.load(fh)
    assert rec["network"] == "detail" and list(rec["traces"]) == ["article"]
    python, r = rec["traces"]["article"]["python"], rec["traces"]["article"]["r"]
    assert python == r
    assert [(e["epoch"], e["step"], e["name"]) for e in python] == [
        (epoch, step, name) for epoch in rec["epochs"] for step, name, _ in DETAIL_SPEC]


def test_todays_detail_toy_traces_reproduce_its_committed_digests_in_either_language(r_session):
    results = golden.check(["detail-toy"], session_factory=lambda: r_session)
    assert [(r.variant, r.impl, r.ok, r.entries) for r in results] == [("article", "python", True, 5 * 16),
                                                                       ("article", "r", True, 5 * 16)]


def test_a_twin_of_ones_own_is_recorded_and_checked_through_the_command_line(tmp_path, record):
    folder = write_user_twin(tmp_path, epochs=200)
    code, out, err = run_golden_cli("golden", "record", "--twin", str(folder))
    path = folder / "scenarios" / "golden" / "wrapped.json"
    assert code == 0 and out == f"wrote {path}\n", err
    mine = json.loads(path.read_text())
    assert mine["network"] == "wrapped_net" and mine["epochs"] == [0, 1, 10, 100, 199]
    assert list(mine["traces"]) == ["reference"] and mine["traces"]["reference"]["python"] == mine["traces"]["reference"]["r"]
    # the same functions on the same inputs: the bytes of the shipped record's corrected variant
    shipped = [e for e in record["traces"]["corrected"]["r"] if e["epoch"] in (0, 1, 10, 100)]
    assert [e for e in mine["traces"]["reference"]["r"] if e["epoch"] != 199] == shipped
    code, out, err = run_golden_cli("golden", "check", "--twin", str(folder))
    assert code == 0 and "2 of 2 traces match their golden digests." in out, out + err
