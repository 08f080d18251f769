"""`crossverify compare` (bridge/check/compare.py) and the trace format both languages share
(docs/TRACES.md; bridge/check/traceio.py and r_impl/R/traceio.R): a trace written by plain Rscript,
with no Python, compared with Python's; identical with exact kernels, and a perturbed element
reported by epoch, step and element."""
import json
import os
import struct
import subprocess

import numpy as np
import pytest

from crossverify.check import traceio
from crossverify.check.compare import compare, parse_tolerance
from crossverify.errors import CrossverifyError
from tests.conftest import ROOT
from tests.test_scenario_builder import cli, one_paragraph

EPOCHS = 6
# R alone, as an R user would run it (r_impl/R/traceio.R, docs/TRACES.md)
R_SCRIPT = """
library(crossverify)
s <- read_scenario(file.path("{fixtures}", "bias-net", "manifest.json"))
state <- bias_net_start(s$data$X, s$init, "corrected")
run <- twin_run(bias_net_epoch, c(s$data, list(lr = s$lr, variant = "corrected")), state, {epochs})
write_trace(run, "{out}", init = s$init, meta = list(twin = "bias_net", scenario = "bias-net"))
"""


@pytest.fixture(scope="module")
def r_library(tmp_path_factory):
    """The R library `make setup` installs the package into, when it is up to date with r_impl/;
    else the package installed afresh into a temporary library (what `make setup` would do)."""
    lib = os.path.join(ROOT, ".venv", "R-library")
    stamp = os.path.join(lib, ".installed")
    newest = max(os.path.getmtime(os.path.join(d, f)) for d, _, files in os.walk(os.path.join(ROOT, "r_impl"))
                 for f in files)
    if os.path.isfile(stamp) and os.path.getmtime(stamp) >= newest:
        return lib
    lib = str(tmp_path_factory.mktemp("R-library"))
    proc = subprocess.run(["R", "CMD", "INSTALL", "--no-multiarch", f"--library={lib}", os.path.join(ROOT, "r_impl")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return lib


def rscript(r_library, code, cwd):
    proc = subprocess.run(["Rscript", "-e", code], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, R_LIBS=r_library))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def traces(r_library, tmp_path_factory):
    """An R trace written by plain Rscript and a Python trace (exact kernels) of the same run."""
    folder = tmp_path_factory.mktemp("traces")
    rscript(r_library, R_SCRIPT.format(fixtures=os.path.join(ROOT, "fixtures"), epochs=EPOCHS, out="r-trace"), folder)
    code, _, err = cli("trace", "--scenario", "bias-net", "--impl", "python", "--kernels", "exact", "--epochs", EPOCHS,
                       "--format", "folder", "--out", folder / "py-trace")
    assert code == 0, err
    return folder


def test_an_r_trace_written_by_plain_rscript_is_identical_to_pythons_with_exact_kernels(traces):
    code, out, err = cli("compare", traces / "py-trace", traces / "r-trace")
    assert code == 0, err
    assert "tolerance: identical: the same 64 bits" in out and "verdict: IDENTICAL" in out
    index = json.loads((traces / "r-trace" / "index.json").read_text())
    assert index["producer"]["language"] == "R" and index["epochs"] == list(range(EPOCHS))


def perturbed(traces, tmp_path, name, epoch, row, col, by_ulps=1):
    """A copy of the R trace with one element moved ``by_ulps`` doubles up, written into its .bin at
    the offset docs/TRACES.md gives: 8 ((k r + i) c + j)."""
    import shutil
    copy = tmp_path / "perturbed"
    shutil.copytree(traces / "r-trace", copy)
    index = json.loads((copy / "index.json").read_text())
    entry = next(e for e in index["steps"] if e["name"] == name)
    r, c = entry["shape"]
    offset = 8 * ((index["epochs"].index(epoch) * r + row) * c + col)
    with open(copy / entry["file"], "r+b") as fh:
        fh.seek(offset)
        (value,) = struct.unpack("<d", fh.read(8))
        moved = value
        for _ in range(by_ulps):
            moved = float(np.nextafter(moved, np.inf))
        fh.seek(offset)
        fh.write(struct.pack("<d", moved))
    return copy, value, moved


def test_a_perturbed_element_is_reported_by_epoch_step_and_element(traces, tmp_path):
    copy, value, moved = perturbed(traces, tmp_path, "Error_at_hidden_layer", 4, 2, 1)
    code, out, err = cli("compare", traces / "py-trace", copy, "--format", "json")
    result = json.loads(out)
    assert code == 1 and result["verdict"] == "different", err
    first = result["first_divergence"]
    assert (first["epoch"], first["step"], first["name"], first["index"]) == (4, 8, "Error_at_hidden_layer", [2, 1])
    assert (first["left"], first["right"], first["ulps"]) == (value, moved, 1)
    stats = {s["name"]: s for s in result["intermediates"] if s["step"] is not None}
    assert stats["Error_at_hidden_layer"]["differing"] == 1 and stats["wh"]["differing"] == 0
    code, text, _ = cli("compare", traces / "py-trace", copy)
    assert "first divergence: epoch 4, step 8, Error_at_hidden_layer[2, 1]" in text and "1 ULP apart" in text


def test_a_stated_tolerance_is_applied_and_stated(traces, tmp_path):
    copy, _, _ = perturbed(traces, tmp_path, "output", 2, 0, 0, by_ulps=3)
    code, out, _ = cli("compare", traces / "py-trace", copy, "--tolerance", "4ulp")
    assert code == 0 and "tolerance: within 4 ULPs" in out and "WITHIN TOLERANCE, not identical" in out
    assert "first difference: epoch 2, step 4, output[0, 0]" in out
    code, out, _ = cli("compare", traces / "py-trace", copy, "--tolerance", "2ulp")
    assert code == 1 and "verdict: DIFFERENT: 1 element beyond the tolerance" in out
    code, out, _ = cli("compare", traces / "py-trace", copy, "--tolerance", "1e-12rel", "--format", "json")
    assert code == 0 and json.loads(out)["tolerance"]["kind"] == "rel"


def test_r_reads_a_python_trace_and_writes_it_back_bit_for_bit(traces, r_library):
    rscript(r_library, 'library(crossverify); t <- read_trace("py-trace"); '
                       'stopifnot(identical(dim(t$steps$bh), c(1L, 3L, 6L)), identical(t$epochs, 0:5)); '
                       'write_trace(t, "py-through-r")', traces)
    again = traceio.read(str(traces / "py-through-r"))
    assert again.meta["producer"]["language"] == "python" and again.step_numbers["bh"] == 11
    result = compare(traceio.read(str(traces / "py-trace")), again)
    assert result.identical and sum(s.elements for s in result.stats) > 0


def test_the_npz_of_crossverify_trace_compares_with_the_folder_format(traces):
    code, _, err = cli("trace", "--scenario", "bias-net", "--impl", "r", "--epochs", EPOCHS, "--out",
                       traces / "r.npz")
    assert code == 0, err
    code, out, _ = cli("compare", traces / "r.npz", traces / "py-trace")
    assert code == 0 and "verdict: IDENTICAL" in out
    npz = traceio.read(str(traces / "r.npz"))
    assert npz.step_numbers["hidden_layer_input"] == 2  # the shipped twin with these names gives the steps


def test_traces_of_different_lengths_compare_the_epochs_both_recorded_and_say_so(traces):
    code, _, _ = cli("trace", "--scenario", "bias-net", "--impl", "python", "--epochs", 3, "--format", "folder",
                     "--out", traces / "short")
    assert code == 0
    code, out, _ = cli("compare", traces / "short", traces / "r-trace")
    assert code == 0 and "A recorded 3 epochs and B 6: the 3 both recorded are compared" in out


@pytest.mark.parametrize("args, message", [
    (["{t}/nowhere", "{t}/py-trace"], "trace {t}/nowhere: no such file or folder"),
    (["{t}/r-trace/index.json", "{t}/py-trace"], "is neither a trace folder (holding index.json) nor a .npz"),
    (["{t}", "{t}/py-trace"], "the folder holds no index.json"),
    (["{t}/py-trace", "{t}/r-trace", "--tolerance", "4 bits"], "--tolerance '4 bits' is not a tolerance"),
    (["{t}/py-trace", "{t}/r-trace", "--tolerance", "1.5ulp"], "is not a tolerance"),
])
def test_bad_compare_input_exits_2_in_one_paragraph(traces, args, message):
    code, out, err = cli("compare", *[a.format(t=traces) for a in args])
    assert code == 2 and out == "" and one_paragraph(err) and message.format(t=traces) in err, err


def test_a_truncated_bin_file_is_refused_naming_it(traces, tmp_path):
    import shutil
    copy = tmp_path / "truncated"
    shutil.copytree(traces / "py-trace", copy)
    path = copy / "steps-wh.bin"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(CrossverifyError, match=r"steps wh: steps-wh.bin holds 71 values, expected 72 \(6 x 4 x 3\)"):
        traceio.read(str(copy))


def test_trace_format_folder_refuses_to_overwrite_what_is_not_a_trace(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    code, _, err = cli("trace", "--scenario", "bias-net", "--impl", "python", "--epochs", 2, "--format", "folder",
                       "--out", tmp_path / "notes")
    assert code == 2 and one_paragraph(err) and "exists and is not a trace folder" in err
    assert os.listdir(tmp_path / "notes") == ["keep.txt"]
    assert sorted(os.listdir(tmp_path)) == ["notes"]  # no temporary folder stays


def test_tolerances_are_parsed_from_their_text():
    assert parse_tolerance(None).kind == "identical" and parse_tolerance("0ulp").kind == "identical"
    assert parse_tolerance("4ulp") == parse_tolerance("4 ulps") and parse_tolerance("4ulp").value == 4
    assert parse_tolerance("1e-12rel").value == 1e-12
    for bad in ("-1ulp", "2rel", "ulp", "1e-12"):
        with pytest.raises(CrossverifyError):
            parse_tolerance(bad)
