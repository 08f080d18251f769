"""Bad input, nothing lost: each case gets one clear paragraph and a non-zero exit (or, through the
Python API, a CrossverifyError or ValueError saying what to do), and leaves no file behind.

Already covered elsewhere, not repeated here (29 cases): tests/test_fixtures.py (a wrong shape,
rows shorter than the shape, NaN text, decimal text, a JSON number, a missing field, a missing
learning rate, zero epochs, a subnormal R misreads, a truncated manifest, an unknown scenario,
a bad fixture through the CLI), tests/test_cli.py (unknown scenario, variant, kernels and mode
for `run`, unknown variant for `trace`, --epochs 0 and -3, an --out that is not .npz, a missing
fixtures folder, an unwritable and a missing output folder) and tests/test_errors.py (R missing,
an R_HOME that is not R, rpy2 too new, rpy2's start-up symbol error, R's own errors, R's
non-conformable matrices).

Here: the malformed manifests, infinite weights, inconsistent shapes and epochs those leave out;
`trace` with unknown kernels or scenario or a directory for --out; every bad input of the
`golden` command; Ctrl-C in a long run; R missing and rpy2 too new end to end; bad names through
the Python API. Then what is *not* an error: legal but extreme inputs (pre-activations of +-1000,
where numpy warns of overflow in exp and R says nothing) on which both languages still agree and
the run says which steps saturated; and determinism, two runs giving identical digests.

Five cases here first failed and were fixed in the code they name (an overflowing hex float, a
manifest that is not UTF-8, Ctrl-C while R computes, unknown names through Verifier.row).
"""
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from crossverify.check import golden
from crossverify.errors import CrossverifyError, UnknownNameError
from crossverify.check.saturation import describe, saturated_steps, saturation
from crossverify.twins.scenarios import SHIPPED_FIXTURES, load_scenario
from crossverify.check.verify import Verifier, run
from tests.specs import BIAS_NET_SPEC
from crossverify.python_impl.kernels import get_kernels
from tests.conftest import ROOT, assert_traces_agree, run_cli
from tests.test_golden import fixtures_copy, golden_cli_command, run_golden_cli

MANIFEST = os.path.join(SHIPPED_FIXTURES, "bias-net", "manifest.json")


def one_paragraph(err):
    """The error is one line starting 'crossverify: error:', with no traceback."""
    return err.startswith("crossverify: error: ") and err.count("\n") == 1 and "Traceback" not in err


def fixtures_with(tmp_path, edit=None, raw=None):
    """A fixtures folder whose bias-net manifest is the shipped one edited by ``edit``, or ``raw`` bytes."""
    root = tmp_path / "fixtures"
    (root / "bias-net").mkdir(parents=True)
    path = root / "bias-net" / "manifest.json"
    if raw is not None:
        path.write_bytes(raw)
    else:
        with open(MANIFEST, encoding="utf-8") as fh:
            manifest = json.load(fh)
        edit(manifest)
        path.write_text(json.dumps(manifest))
    return root


def hex_matrix(a):
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    return {"shape": list(a.shape), "values": [[float(v).hex() for v in row] for row in a]}


# -- malformed manifests, through the CLI --------------------------------------------------------

def _set(path, value):
    def edit(m):
        *parents, last = path
        for p in parents:
            m = m[p]
        m[last] = value
    return edit


BAD_MANIFESTS = {
    "top level is a list": (None, b"[1, 2]", "field '(file)': the top level must be a JSON object"),
    "empty file": (None, b"", "field '(file)': not valid JSON (Expecting value at line 1, column 1)"),
    "unknown format": (_set(("format",), "crossverify-scenario/2"), None,
                       "field 'format': 'crossverify-scenario/2' is not 'crossverify-scenario/1'"),
    "unknown network": (_set(("network",), "resnet"), None, "field 'network': 'resnet' is not one of"),
    "matrix is not an object": (_set(("init", "wh"), [1, 2]), None,
                                "field 'init.wh': expected an object with 'shape' and 'values'"),
    "shape is not a pair": (_set(("init", "wh", "shape"), "4x3"), None,
                            "field 'init.wh.shape': '4x3' is not [rows, columns] of positive integers"),
    "zero rows": (_set(("data", "X", "shape"), [0, 4]), None,
                  "field 'data.X.shape': [0, 4] is not [rows, columns] of positive integers"),
    "a row is not a list": (_set(("init", "wh", "values", 1), "0x1p+0"), None,
                            "field 'init.wh.values[1]': shape says 3 columns, found str"),
    "minus infinity as text": (_set(("init", "wout", "values", 0, 0), "-inf"), None,
                               "field 'init.wout.values[0][0]': '-inf' is not a C99 hex float"),
    "targets for fewer samples": (lambda m: m["data"]["y"].update(shape=[2, 1], values=m["data"]["y"]["values"][:2]),
                                  None, "field 'data.y.shape': y has 2 along an axis where X has 3"),
    "two rows of hidden biases": (lambda m: m["init"]["bh"].update(shape=[2, 3], values=m["init"]["bh"]["values"] * 2),
                                  None, "field 'init.bh.shape': bh must have 1 rows, has 2"),
    "negative epochs": (_set(("hyper_parameters", "epochs"), -5), None,
                        "field 'hyper_parameters.epochs': -5 is not a positive whole number"),
    "epochs as text": (_set(("hyper_parameters", "epochs"), "5000"), None,
                       "field 'hyper_parameters.epochs': '5000' is not a positive whole number"),
    "epochs as a boolean": (_set(("hyper_parameters", "epochs"), True), None,
                            "field 'hyper_parameters.epochs': True is not a positive whole number"),
}


@pytest.mark.parametrize("case", list(BAD_MANIFESTS))
def test_malformed_manifest_is_refused_in_one_paragraph_naming_file_and_field(tmp_path, case):
    edit, raw, message = BAD_MANIFESTS[case]
    root = fixtures_with(tmp_path, edit, raw)
    out = tmp_path / "t.npz"
    code, stdout, err = run_cli("trace", "--impl", "python", "--epochs", "2", "--fixtures", str(root), "--out", str(out))
    assert code == 2 and stdout == "" and one_paragraph(err), err
    assert f"fixture {root / 'bias-net' / 'manifest.json'}: {message}" in err
    assert not out.exists()


def test_infinite_weight_written_as_an_overflowing_hex_float_is_refused(tmp_path):
    root = fixtures_with(tmp_path, _set(("init", "wout", "values", 0, 0), "0x1p+1024"))
    code, _, err = run_cli("trace", "--impl", "python", "--epochs", "2", "--fixtures", str(root), "--out",
                           str(tmp_path / "t.npz"))
    assert code == 2 and one_paragraph(err) and "field 'init.wout.values[0][0]'" in err, err


def test_manifest_that_is_not_utf8_is_refused(tmp_path):
    root = fixtures_with(tmp_path, raw=b"\xff\xfe{\"format\": 1}")
    code, _, err = run_cli("trace", "--impl", "python", "--epochs", "2", "--fixtures", str(root), "--out",
                           str(tmp_path / "t.npz"))
    assert code == 2 and one_paragraph(err) and "field '(file)'" in err, err


# -- the trace command -----------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--kernels", "fast"], "unknown kernels 'fast'"),
    (["--scenario", "bias_net"], "unknown scenario 'bias_net'. Known scenarios:"),
])
def test_trace_with_an_unknown_name_lists_the_known_ones(tmp_path, args, message):
    out = tmp_path / "t.npz"
    code, _, err = run_cli("trace", "--impl", "python", *args, "--epochs", "2", "--out", str(out))
    assert code == 2 and one_paragraph(err) and message in err, err
    assert not out.exists()


def test_trace_out_that_is_a_directory_is_refused_and_no_temporary_file_stays(tmp_path):
    (tmp_path / "t.npz").mkdir()
    code, _, err = run_cli("trace", "--impl", "python", "--epochs", "2", "--out", str(tmp_path / "t.npz"))
    assert code == 2 and one_paragraph(err) and "Is a directory. Nothing was written" in err, err
    assert [p.name for p in tmp_path.iterdir()] == ["t.npz"] and not any((tmp_path / "t.npz").iterdir())


# -- the golden command ------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["golden", "check", "--variant", "colsums"], "unknown variant 'colsums'. Known variants: article, corrected"),
    (["golden", "check", "--scenario", "moons"], "unknown scenario 'moons'. Known scenarios:"),
    (["golden", "check", "--impl", "julia"], "argument --impl: invalid choice: 'julia'"),
    (["golden"], "the following arguments are required: ACTION"),
    (["golden", "record", "--scenario", "bias-net"], "already exists; a golden record is only replaced on purpose"),
])
def test_golden_bad_arguments_exit_2_with_one_clear_message(args, message):
    code, out, err = run_golden_cli(*args)
    assert code == 2 and message in err and "Traceback" not in err, err


@pytest.mark.parametrize("record,message", [
    (None, "no golden record"),
    (b'{"format": "crossverify-golden/1", "epochs": [0, 1', "not valid JSON (Expecting"),
    (b'{"format": "crossverify-golden/0", "epochs": [0], "traces": {}}', "format 'crossverify-golden/0' is not"),
    (b'{"format": "crossverify-golden/1", "epochs": [0], "traces": {"corrected": {"r": [{"epoch": 0}]}}}',
     "traces.corrected.r[0] is not an entry"),
])
def test_golden_check_of_a_missing_or_malformed_record_exits_2(tmp_path, record, message):
    root = fixtures_copy(tmp_path, with_record=False)
    if record is not None:
        (root / "golden").mkdir()
        (root / "golden" / "bias-net.json").write_bytes(record)
    code, out, err = run_golden_cli("golden", "check", "--scenario", "bias-net", "--fixtures", str(root))
    assert code == 2 and out == "" and one_paragraph(err) and message in err, err


def test_golden_record_into_a_folder_it_cannot_create_writes_nothing(tmp_path):
    root = fixtures_copy(tmp_path, with_record=False)
    (root / "golden").write_text("a file where the golden folder should be")
    code, _, err = run_golden_cli("golden", "record", "--fixtures", str(root))
    assert code == 2 and one_paragraph(err) and "Nothing was written" in err, err
    assert sorted(p.name for p in root.iterdir()) == ["bias-net", "golden"]


def test_golden_record_api_refuses_a_network_it_does_not_cover(tmp_path):
    root = fixtures_with(tmp_path, _set(("network",), "detail"))
    with pytest.raises(CrossverifyError):
        golden.record(["bias-net"], str(root), session_factory=lambda: pytest.fail("R started"))
    assert not (root / "golden").exists()


# -- Ctrl-C: a clean exit, no partial file --------------------------------------------------------------

def _read_until(fd, deadline, wanted=None):
    """What the terminal ``fd`` shows until ``wanted`` appears, the writer closes it, or ``deadline``."""
    seen = b""
    while wanted is None or wanted.encode() not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: every writer has closed the terminal
            chunk = b""
        if not chunk:
            break
        seen += chunk
    return seen


def interrupt(command, shows, within=300.0, grace=20.0):
    """Start ``command`` with its stderr on a terminal (so that it shows its progress line), send SIGINT
    once that shows ``shows``: (exit code, or None if it ran on after Ctrl-C; what stderr showed).
    The wait is for the command's own sign that the long part runs, never a guess of this machine's
    speed; ``within`` only bounds a command that never shows it."""
    master, slave = pty.openpty()
    # Ctrl-C as a terminal delivers it, even where this suite runs in a background job (which ignores SIGINT,
    # and a Python started with it ignored never installs its KeyboardInterrupt handler)
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(slave)
    try:
        seen = _read_until(master, time.monotonic() + within, shows)
        if shows.encode() not in seen:
            proc.kill()
            proc.wait()
            return proc.returncode, seen.decode(errors="replace") + f"\n(it never showed {shows!r})"
        proc.send_signal(signal.SIGINT)
        seen += _read_until(master, time.monotonic() + grace)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None, "still running after Ctrl-C"
        return proc.returncode, seen.decode(errors="replace")
    finally:
        os.close(master)


def test_ctrl_c_in_a_long_python_trace_exits_130_and_leaves_no_file(tmp_path):
    out = tmp_path / "trace.npz"
    code, err = interrupt([sys.executable, "-m", "crossverify", "trace", "--impl", "python", "--epochs", "200000",
                           "--out", str(out)], shows="python trace of bias-net: 200000 epochs")
    assert code == 130 and "interrupted; nothing was written" in err, err
    assert list(tmp_path.iterdir()) == []  # neither the trace nor a temporary file


def test_ctrl_c_in_a_long_r_trace_exits_130_and_leaves_no_file(tmp_path):
    out = tmp_path / "trace.npz"
    code, err = interrupt([sys.executable, "-m", "crossverify", "trace", "--impl", "r", "--epochs", "200000",
                           "--out", str(out)], shows="r trace of bias-net: 200000 epochs", grace=6.0)
    assert code == 130 and "interrupted; nothing was written" in err, err
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_in_golden_record_exits_130_and_leaves_no_record_and_no_temporary_file(tmp_path):
    root = fixtures_copy(tmp_path, with_record=False)
    # interrupted as the first of its eight runs (four variants, two languages) starts: the record is
    # written only once all have finished
    code, err = interrupt(golden_cli_command("golden", "record", "--fixtures", str(root)), shows="crossverify: bias-net")
    assert code == 130 and "interrupted; nothing was written" in err, err
    assert not (root / "golden").exists() or list((root / "golden").iterdir()) == []


# -- R missing, rpy2 too new: end to end -----------------------------------------------------------------

def _without_r(**changes):
    env = {k: v for k, v in os.environ.items() if k != "R_HOME"}
    env.update(PATH=os.path.dirname(sys.executable), **changes)
    return env


def test_golden_check_of_r_without_r_exits_3_with_the_install_command():
    proc = subprocess.run(golden_cli_command("golden", "check", "--impl", "r", "--variant", "corrected"), cwd=ROOT,
                          capture_output=True, text=True, env=_without_r(), timeout=600)
    assert proc.returncode == 3 and "R is not installed" in proc.stderr and "apt-get install" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_golden_check_of_python_alone_needs_no_r():
    proc = subprocess.run(golden_cli_command("golden", "check", "--impl", "python", "--variant", "corrected"), cwd=ROOT,
                          capture_output=True, text=True, env=_without_r(), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 of 1 traces match their golden digests." in proc.stdout


def test_rpy2_too_new_is_refused_before_r_starts_end_to_end(tmp_path):
    # what importlib.metadata sees when rpy2 3.6 is installed: its dist-info first on sys.path
    info = tmp_path / "rpy2-3.6.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rpy2\nVersion: 3.6.0\n")
    code, out, err = run_cli("run", "--scenario", "bias-net", env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert code == 3 and out == "" and one_paragraph(err), err
    assert "rpy2 3.6.0 cannot load R 4." in err and "rpy2>=3.5.17,<3.6" in err


# -- bad names through the Python API -------------------------------------------------------------------

def test_unknown_kernels_through_the_api_name_the_known_ones():
    with pytest.raises(ValueError, match="unknown kernels 'fast': choose one of"):
        get_kernels("fast")


def test_unknown_variant_through_run_lists_the_known_ones(r_session):
    with pytest.raises(UnknownNameError, match="unknown variant 'colsums'. Known variants: article"):
        run(r_session, ["bias-net"], variants=["colsums"])


def test_unknown_variant_and_language_through_golden_check_list_the_known_ones():
    with pytest.raises(UnknownNameError, match="unknown variant 'colsums'"):
        golden.check(["bias-net"], variants=["colsums"])
    with pytest.raises(UnknownNameError, match="unknown language 'julia'. Known languages: python, r"):
        golden.check(["bias-net"], impls=["julia"])


def test_unknown_variant_through_verifier_row_is_a_clear_error(r_session, bias_scenario):
    with pytest.raises(UnknownNameError):
        Verifier(r_session, bias_scenario, epochs=2).row("colsums", "exact", "free-running")


def test_unknown_mode_through_verifier_row_is_a_clear_error(r_session, bias_scenario):
    with pytest.raises(UnknownNameError):
        Verifier(r_session, bias_scenario, epochs=2).row("corrected", "exact", "sideways")


# -- legal but extreme: not errors -------------------------------------------------------------------------

# Hidden pre-activations of +-1100 (neurons 0 and 1 of samples 0 and 2) and output pre-activations
# near +-1000 (output 0), beside neurons and an output that stay in range, so the network learns
# through the unsaturated ones: two targets per sample.
EXTREME = {"y": np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]),
           "wh": np.array([[600.25, -700.5, 0.3], [-800.5, 450.25, -0.2], [500.5, -400.25, 0.4], [-1100.75, 650.5, 0.1]]),
           "wout": np.array([[1000.5, 1.5], [-900.25, -2.0], [0.75, 0.5]]),
           "bout": np.array([[0.1, -0.2]])}


@pytest.fixture(scope="module")
def extreme_scenario(bias_scenario):
    data = dict(bias_scenario.data, y=EXTREME["y"])
    init = dict(bias_scenario.init, wh=EXTREME["wh"], wout=EXTREME["wout"], bout=EXTREME["bout"])
    return type(bias_scenario)("extreme", "bias_net", "(built in the test)", bias_scenario.lr, 40, data, init,
                               manifest={})


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")  # legal here: the point of the test
def test_extreme_preactivations_agree_bit_for_bit_and_within_bound_and_saturate(r_session, extreme_scenario):
    verifier = Verifier(r_session, extreme_scenario)
    before = len(r_session.messages)
    r = verifier.r("corrected")
    assert not any("Warning" in m for m in r_session.messages[before:])  # R says nothing
    with pytest.warns(RuntimeWarning, match="overflow encountered in exp"):  # numpy does
        verifier.python("float")
    assert_traces_agree(verifier.python("exact"), r, "identical", "extreme", "corrected", BIAS_NET_SPEC)
    rows = [verifier.row(v, k, m) for v in verifier.variants for k in ("exact", "float")
            for m in ("free-running", "lockstep")]
    assert [(r.variant, r.kernels, r.mode, r.note) for r in rows if not r.ok] == []
    for trace in (verifier.python("exact"), verifier.python("float"), r):
        report = {s.name: s for s in saturated_steps(trace, BIAS_NET_SPEC)}
        assert set(report) == {"hiddenlayer_activations", "output"}
        assert report["hiddenlayer_activations"].at_zero > 0 and report["hiddenlayer_activations"].at_one > 0
        assert report["hiddenlayer_activations"].first_epoch == 0 and report["output"].step == 4
        assert report["output"].at_zero > 0 and report["output"].at_one > 0
    assert [s.to_dict() for s in saturation(verifier.python("exact"), BIAS_NET_SPEC)] == [
        s.to_dict() for s in saturation(r, BIAS_NET_SPEC)]


def test_saturation_report_says_which_steps_saturated_and_how_often():
    from crossverify.python_impl.trace import Trace
    steps = {"hiddenlayer_activations": np.array([[[0.5, 1.0]], [[0.0, 0.25]]]), "output": np.array([[[0.5]], [[0.75]]])}
    trace = Trace({}, [0, 1], steps, ("hiddenlayer_activations", "output"))
    hidden, output = saturation(trace, BIAS_NET_SPEC)
    assert (hidden.step, hidden.at_zero, hidden.at_one, hidden.elements, hidden.first_epoch) == (3, 1, 1, 4, 0)
    assert not output.saturated and saturated_steps(trace, BIAS_NET_SPEC) == [hidden]
    assert describe([hidden]) == ("step 3 hiddenlayer_activations: 2 of 4 elements saturated "
                                  "(exactly 0.0: 1, exactly 1.0: 1), first at epoch 0")


def test_extreme_scenario_through_the_cli_meets_every_expectation(tmp_path):
    def edit(m):
        m["data"]["y"] = hex_matrix(EXTREME["y"])
        m["init"].update({k: hex_matrix(EXTREME[k]) for k in ("wh", "wout", "bout")})
        m["hyper_parameters"]["epochs"] = 40

    root = fixtures_with(tmp_path, edit)
    code, out, err = run_cli("run", "--fixtures", str(root), "--format", "json")
    assert code == 0, out + err
    assert all(row["ok"] for row in json.loads(out)["rows"])


# -- determinism ------------------------------------------------------------------------------------------

def _npz_digests(path):
    with np.load(path) as npz:
        return {k: golden.digests(np.ascontiguousarray(npz[k], dtype="<f8").tobytes())[0] for k in npz.files}


@pytest.mark.parametrize("impl,extra", [("python", ["--kernels", "exact"]), ("python", ["--kernels", "float"]),
                                        ("r", ["--variant", "colsums-only"])])
def test_two_runs_in_two_processes_give_identical_trace_digests(tmp_path, impl, extra):
    digests = []
    for k in range(2):
        out = tmp_path / f"run{k}.npz"
        code, _, err = run_cli("trace", "--impl", impl, *extra, "--epochs", "300", "--out", str(out))
        assert code == 0, err
        digests.append(_npz_digests(out))
    assert digests[0] == digests[1] and len(digests[0]) == 4 + 300 * len(BIAS_NET_SPEC)


def test_two_runs_in_one_process_give_identical_golden_digests(r_session, bias_scenario):
    epochs = golden.golden_epochs(bias_scenario.epochs)
    first = [golden.trace_entries(Verifier(r_session, bias_scenario).r("article"), epochs, BIAS_NET_SPEC)
             for _ in range(2)]
    assert first[0] == first[1]
    assert load_scenario("bias-net").init["wh"].tobytes() == bias_scenario.init["wh"].tobytes()
