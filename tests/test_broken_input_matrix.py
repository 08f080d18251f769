"""Each documented command driven with broken input of each kind it reads (issue 21): a truncated
or empty file, a file of the wrong type, an output it cannot write, a value of the wrong type. Every
case must answer with one paragraph ("crossverify: error: ...", one line, no traceback) and exit 2,
and write nothing.

The table is the test: one row per (command, kind of input), each with the arguments (built in a
temporary folder) and a phrase the message must hold. Rows run in this process against the test
session's R; the closed pipe and Ctrl-C need a real process and are at the end.
"""
import subprocess
import sys

import numpy as np
import pytest

from tests.cli_helpers import cli, one_paragraph
from tests.conftest import ROOT




def good_npz(tmp):
    path = tmp / "good.npz"
    np.savez(path, **{"init/wh": np.zeros((4, 3)), "epoch0/wh": np.ones((4, 3))})
    return path


def empty_npz(tmp):
    (tmp / "empty.npz").write_bytes(b"")
    return tmp / "empty.npz"


def truncated_npz(tmp):
    path = tmp / "cut.npz"
    path.write_bytes(good_npz(tmp).read_bytes()[:300])
    return path


def text_as_npz(tmp):
    path = tmp / "notes.npz"
    path.write_text("these are not arrays\n")
    return path


def rows_csv(tmp):
    path = tmp / "rows.csv"
    path.write_text("1,0,1,0\n")
    return path


def a_sweep(tmp, r_session):
    """A sweep folder of one finished configuration, as `crossverify sweep` leaves it."""
    from crossverify.sweep import spec as sweep_spec
    from crossverify.sweep.storage import Store
    from crossverify.sweep.worker import run_config
    spec = sweep_spec.load(None, ["lr=0.1", "epochs=3", "hidden=3", "data.n_samples=20"], "bias_net")
    store = Store(str(tmp / "sweep"))
    store.open(spec)
    store.write(run_config(spec.configs[0], r_session))
    store.consolidate()
    return tmp / "sweep"


def a_file(tmp):
    path = tmp / "plain-file"
    path.write_text("x")
    return path


# (arguments given the temporary folder, phrase of the message)
CASES = {
    "compare: an empty .npz": (lambda t: ["compare", empty_npz(t), good_npz(t)], "cannot be read as .npz: it is empty"),
    "compare: a truncated .npz": (lambda t: ["compare", truncated_npz(t), good_npz(t)],
                                  "it is not a complete .npz, perhaps truncated"),
    "compare: text named .npz": (lambda t: ["compare", good_npz(t), text_as_npz(t)], "cannot be read as .npz"),
    "compare: a tolerance that is no tolerance": (lambda t: ["compare", good_npz(t), good_npz(t), "--tolerance", "4"],
                                                 "--tolerance '4' is not a tolerance"),
    "predict: an empty --trace": (lambda t: ["predict", "--scenario", "bias-net", "--trace", empty_npz(t), "--input",
                                             rows_csv(t)], "cannot be read as .npz: it is empty"),
    "predict: a truncated --trace": (lambda t: ["predict", "--scenario", "bias-net", "--trace", truncated_npz(t),
                                                "--input", rows_csv(t)], "perhaps truncated"),
    "trace: --out under a file": (lambda t: ["trace", "--impl", "python", "--epochs", "2", "--out",
                                             a_file(t) / "t.npz"], "does not exist"),
    "sweep: --report under a file": (lambda t, r: ["sweep", "--report", a_file(t) / "atlas", "--out", a_sweep(t, r)],
                                     "plain-file"),
    "sweep: a learning rate of text": (lambda t: ["sweep", "--twin", "bias_net", "--param", "lr=abc", "--out", t / "s"],
                                       "lr = 'abc' is not a finite number"),
    "sweep: no workers": (lambda t: ["sweep", "--twin", "bias_net", "--param", "lr=0.1", "--workers", "-2", "--out",
                                     t / "s"], "--workers -2"),
    "run: epochs of zero": (lambda t: ["run", "--scenario", "bias-net", "--epochs", "0"], "--epochs 0"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_command_answers_broken_input_in_one_paragraph_with_exit_2(tmp_path, case, r_session):
    make_args, phrase = CASES[case]
    args = make_args(tmp_path, r_session) if make_args.__code__.co_argcount == 2 else make_args(tmp_path)
    before = {p for p in tmp_path.rglob("*")}
    code, out, err = cli(*args)
    assert code == 2 and one_paragraph(err), err
    assert phrase in err, err
    assert {p for p in tmp_path.rglob("*")} == before  # nothing written


def test_a_closed_pipe_ends_the_listing_with_one_paragraph_and_exit_2(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "crossverify", "sweep", "--twin", "bias_net", "--param", "lr=0.1",
                             "--param", "seed=0:3000", "--dry-run", "--out", str(tmp_path / "s")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    proc.stdout.readline()  # `| head -1`: read one line, then go away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 2
    assert one_paragraph(err) and "the output was closed before everything was written" in err, err
