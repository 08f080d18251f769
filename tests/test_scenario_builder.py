"""`crossverify scenario new|check|format` (bridge/twins/builder.py, bridge/cli/scenario.py) and the
loader's refusals they rely on (bridge/twins/scenarios.py): a scenario of your own in one command,
validated against the twin's declaration before anything is written; misspelt keys named with the
closest known one; an empty folder, a data file or one scenario's folder where a folder of
scenarios is expected, each refused with exit 2 and a sentence saying so."""
import hashlib
import json
import os
import shutil

import numpy as np
import pytest

from crossverify.cli.main import main
from crossverify.errors import FixtureError
from crossverify.twins.builder import format_tables
from crossverify.twins.protocol import load_twin, shipped_twins
from crossverify.twins.scenarios import SHIPPED_FIXTURES, load_scenario
from tests.cli_helpers import cli, one_paragraph
from tests.conftest import ROOT

ARTICLE_CSV = "x1,x2,x3,x4,y\n1,0,1,0,1\n1,0,1,1,1\n0,1,0,1,0\n"  # the article's X and y, one sample per row




def article_csv(tmp_path):
    path = tmp_path / "article.csv"
    path.write_text(ARTICLE_CSV)
    return path


def same_bits(a, b):
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


# -- the two done-when exercises -----------------------------------------------------------------

def test_the_articles_blobs_exercise_is_two_commands_and_meets_every_row(tmp_path, r_session):
    out = tmp_path / "my-scenarios"
    code, text, err = cli("scenario", "new", "blobs", "--twin", "detail", "--make", "blobs", "--param", "n_samples=200",
                          "--param", "centers=2", "--hidden", "4", "--lr", "0.1", "--epochs", "500", "--out", out)
    assert code == 0, err
    assert "X 2x200, y 1x200, weights_input_hidden 2x4, weights_hidden_output 4x1" in text
    code, text, err = cli("run", "--fixtures", out, "--format", "json")
    rows = json.loads(text)["rows"]
    assert code == 0 and len(rows) == 4 and all(r["ok"] for r in rows), err + text
    assert {(r["kernels"], r["mode"]) for r in rows} == {(k, m) for k in ("exact", "float")
                                                         for m in ("lockstep", "free-running")}


def test_a_hundred_hidden_neuron_bias_net_from_a_csv_is_two_commands(tmp_path, r_session):
    out = tmp_path / "wide"
    code, text, err = cli("scenario", "new", "wide", "--twin", "bias_net", "--from", article_csv(tmp_path),
                          "--size", "h=100", "--epochs", "20", "--out", out)
    assert code == 0 and "wh 4x100, bh 1x100, wout 100x1" in text, err
    code, text, err = cli("run", "--fixtures", out, "--format", "json")
    rows = json.loads(text)["rows"]
    assert code == 0 and len(rows) == 16 and all(r["ok"] for r in rows), err + text


def test_the_shipped_scenarios_are_rebuilt_bit_for_bit_from_their_data_and_seed(tmp_path):
    out = tmp_path / "rebuilt"
    assert cli("scenario", "new", "bias-net", "--twin", "bias_net", "--from", article_csv(tmp_path), "--size", "h=3",
               "--epochs", "5000", "--out", out)[0] == 0
    # the moons: raw make_moons rows stored as they are, 30 draws discarded (docs/FACTS.md section 3)
    assert cli("scenario", "new", "detail-moons", "--twin", "detail", "--make", "moons", "--param", "n_samples=1000",
               "--param", "noise=0.1", "--preprocessing", "normalise", "--hidden", "10", "--epochs", "10000",
               "--discard", "30", "--out", out)[0] == 0
    for name in ("bias-net", "detail-moons"):
        shipped, rebuilt = load_scenario(name), load_scenario(name, str(out))
        for group in ("data", "init"):
            for k, v in getattr(shipped, group).items():
                assert same_bits(v, getattr(rebuilt, group)[k]), (name, group, k)
        assert (rebuilt.hyper, rebuilt.epochs, rebuilt.preprocessing) == (shipped.hyper, shipped.epochs,
                                                                         shipped.preprocessing)


# -- what the manifest records ----------------------------------------------------------------------

def test_the_manifest_records_the_source_its_sha256_the_seed_the_draws_and_the_transposition(tmp_path):
    source = article_csv(tmp_path)
    # detail declares X (f, n): the CSV's rows are samples, so X and y are stored transposed
    assert cli("scenario", "new", "toy", "--twin", "detail", "--from", source, "--hidden", "3", "--lr", "0.01",
               "--epochs", "10", "--seed", "7", "--out", tmp_path / "s")[0] == 0
    manifest = json.loads((tmp_path / "s" / "toy" / "manifest.json").read_text())
    prov = manifest["provenance"]
    assert prov["source"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert prov["source"]["header"] == ["x1", "x2", "x3", "x4", "y"]
    assert prov["seed"] == 7 and prov["discarded_draws"] == 0
    assert prov["draw_order"] == [["weights_input_hidden", [4, 3]], ["weights_hidden_output", [3, 1]]]
    assert "X transposed to 4x3" in manifest["orientation"] and "one sample per column" in manifest["orientation"]
    assert manifest["hyper_parameters"] == {"lr": (0.01).hex(), "epochs": 10}
    toy = load_scenario("toy", str(tmp_path / "s"))
    assert same_bits(toy.data["X"], np.array([[1, 0, 1, 0], [1, 0, 1, 1], [0, 1, 0, 1]], dtype=float).T)
    np.random.seed(7)
    assert same_bits(toy.init["weights_input_hidden"], np.random.uniform(size=(4, 3)))


def test_draw_order_decides_which_matrix_gets_the_first_uniform_numbers(tmp_path):
    assert cli("scenario", "new", "b", "--twin", "bias_net", "--from", article_csv(tmp_path), "--hidden", "3",
               "--draw", "bout,wout,bh,wh", "--out", tmp_path / "s")[0] == 0
    s = load_scenario("b", str(tmp_path / "s"))
    np.random.seed(42)
    expected = {k: np.random.uniform(size=shape) for k, shape in (("bout", (1, 1)), ("wout", (3, 1)),
                                                                  ("bh", (1, 3)), ("wh", (4, 3)))}
    assert all(same_bits(s.init[k], v) for k, v in expected.items())
    assert s.manifest["provenance"]["draw_order"][0] == ["bout", [1, 1]]


def test_npy_and_npz_sources_give_the_same_scenario_as_the_csv(tmp_path):
    X = np.array([[1, 0, 1, 0], [1, 0, 1, 1], [0, 1, 0, 1]], dtype=float)
    y = np.array([1.0, 1.0, 0.0])
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.savez(tmp_path / "xy.npz", X=X, y=y)
    for name, source in (("csv", article_csv(tmp_path)), ("npy", f"{tmp_path / 'X.npy'},{tmp_path / 'y.npy'}"),
                         ("npz", tmp_path / "xy.npz")):
        assert cli("scenario", "new", name, "--twin", "bias_net", "--from", source, "--hidden", "3",
                   "--out", tmp_path / "s")[0] == 0, name
    loaded = [load_scenario(n, str(tmp_path / "s")) for n in ("csv", "npy", "npz")]
    for s in loaded[1:]:
        assert all(same_bits(s.data[k], loaded[0].data[k]) for k in ("X", "y"))
        assert all(same_bits(s.init[k], loaded[0].init[k]) for k in loaded[0].init)


TANH_NET = os.path.join(ROOT, "examples", "tanh_net")
SMALL_TANH = ("--make", "moons", "--param", "n_samples=30", "--size", "h1=4", "--size", "h2=3", "--epochs", "5")


def copy_of_tanh_net(folder):
    """examples/tanh_net copied to ``folder`` without its scenarios: a twin of the user's own."""
    shutil.copytree(TANH_NET, folder, ignore=shutil.ignore_patterns("scenarios", "__pycache__"))
    return str(folder)


def test_a_twin_outside_the_shipped_ones_is_named_by_its_declared_name_and_its_folder(tmp_path):
    twin_dir = copy_of_tanh_net(tmp_path / "proj" / "tanh")
    out = tmp_path / "proj" / "scenarios"
    code, _, err = cli("scenario", "new", "small", "--twin", twin_dir, *SMALL_TANH, "--out", out)
    assert code == 0, err
    manifest = json.loads((out / "small" / "manifest.json").read_text())
    assert (manifest["twin"], manifest["twin_folder"]) == ("tanh_net", os.path.join("..", "tanh"))
    assert load_scenario("small", str(out)).twin.name == "tanh_net"
    assert load_scenario("small", str(out), load_twin(twin_dir)).init["W2"].shape == (4, 3)  # as `run --twin` loads it
    # the project copied elsewhere: the copy's scenario finds the copy's twin, by the recorded folder
    shutil.copytree(tmp_path / "proj", tmp_path / "elsewhere")
    shutil.rmtree(tmp_path / "proj")
    moved = load_scenario("small", str(tmp_path / "elsewhere" / "scenarios"))
    assert os.path.samefile(moved.twin.base_dir, tmp_path / "elsewhere" / "tanh")


def test_a_twin_moved_with_its_own_scenarios_is_found_by_steps_explain_and_trace_without_scenario(tmp_path, r_session):
    twin_dir = copy_of_tanh_net(tmp_path / "tanh")
    out = tmp_path / "tanh" / "scenarios"
    assert cli("scenario", "new", "small", "--twin", twin_dir, *SMALL_TANH, "--out", out)[0] == 0
    shutil.move(twin_dir, tmp_path / "moved")
    for command in (("steps",), ("explain", "--epochs", "2")):
        code, text, err = cli(*command, "--twin", tmp_path / "moved")
        assert code == 0 and "small" in text.splitlines()[0], (command, err, text[:500])
    out = tmp_path / "trace"
    code, _, err = cli("trace", "--twin", tmp_path / "moved", "--impl", "python", "--format", "folder", "--out", out)
    assert code == 0 and json.loads((out / "index.json").read_text())["scenario"] == "small", err


def test_a_scenario_naming_its_twin_by_the_older_relative_path_is_still_the_twins(tmp_path, r_session):
    twin_dir = copy_of_tanh_net(tmp_path / "tanh")
    out = tmp_path / "tanh" / "scenarios"
    assert cli("scenario", "new", "small", "--twin", twin_dir, *SMALL_TANH, "--out", out)[0] == 0
    path = out / "small" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.pop("twin_folder")
    path.write_text(json.dumps(dict(manifest, twin="..")))  # what `scenario new` wrote before
    code, text, err = cli("steps", "--twin", twin_dir)
    assert code == 0 and "small" in text.splitlines()[0], err


# -- refusals: exit 2, one paragraph, nothing written -------------------------------------------------

def test_an_existing_scenario_is_replaced_only_with_force(tmp_path):
    args = ["scenario", "new", "b", "--twin", "bias_net", "--from", article_csv(tmp_path), "--hidden", "3",
            "--out", tmp_path / "s"]
    assert cli(*args)[0] == 0
    path = tmp_path / "s" / "b" / "manifest.json"
    before = path.read_bytes()
    code, _, err = cli(*args[:-2], "--seed", "1", "--out", tmp_path / "s")
    assert code == 2 and one_paragraph(err) and "already exists" in err and "--force" in err, err
    assert path.read_bytes() == before
    assert cli(*args[:-2], "--seed", "1", "--force", "--out", tmp_path / "s")[0] == 0
    assert path.read_bytes() != before and os.listdir(path.parent) == ["manifest.json"]


BAD_NEW = {
    "unknown twin": (["--twin", "bias-net", "--hidden", "3"], "unknown twin 'bias-net'"),
    "hidden size not given": (["--twin", "bias_net"], "does not fix the size h"),
    "unknown size": (["--twin", "bias_net", "--size", "hh=3"], "has no size 'hh' (did you mean 'h'?)"),
    "size contradicts data": (["--twin", "bias_net", "--hidden", "3", "--size", "n=7"],
                              "--size n=7 contradicts the data, where n is 3"),
    "columns do not split": (["--twin", "bias_net", "--hidden", "3", "--size", "f=5"],
                             "the table has 5 columns, which do not split into X 5, y 0"),
    "draw names an unknown matrix": (["--twin", "bias_net", "--hidden", "3", "--draw", "wh,bh,wout,bot"],
                                     "'bot' is not an initial matrix of 'bias_net' (did you mean 'bout'?)"),
    "draw leaves one out": (["--twin", "bias_net", "--hidden", "3", "--draw", "wh,bh,wout"],
                            "does not name each initial matrix once"),
    "unknown preprocessing": (["--twin", "detail", "--hidden", "3", "--preprocessing", "normalize"],
                              "--preprocessing 'normalize' is not one of none, normalise"),
    "zero epochs": (["--twin", "bias_net", "--hidden", "3", "--epochs", "0"], "--epochs 0"),
    "lr for a twin without one": (["--twin", os.path.join(ROOT, "examples", "power_iteration"), "--lr", "0.1"],
                                  "has no learning rate"),
}


@pytest.mark.parametrize("case", sorted(BAD_NEW))
def test_bad_scenario_new_arguments_exit_2_in_one_paragraph_and_write_nothing(tmp_path, case):
    extra, message = BAD_NEW[case]
    code, out, err = cli("scenario", "new", "s", "--from", article_csv(tmp_path), "--out", tmp_path / "out", *extra)
    assert code == 2 and out == "" and one_paragraph(err) and message in err, err
    assert not (tmp_path / "out").exists()


BAD_SOURCES = {
    "a cell that is not a number": ("x1,x2,x3,x4,y\n1,0,1,0,1\n1,0,one,1,1\n",
                                    "line 3, column 3: 'one' is not a number"),
    "a short row": ("1,0,1,0,1\n1,0,1,1\n", "line 2 has 4 values where the first has 5"),
    "an empty file": ("", "is empty"),
    "an infinite value": ("1,0,1,0,inf\n", "row 1, column 5 is inf"),
}


@pytest.mark.parametrize("case", sorted(BAD_SOURCES))
def test_bad_csv_is_refused_naming_line_and_column(tmp_path, case):
    text, message = BAD_SOURCES[case]
    (tmp_path / "d.csv").write_text(text)
    code, _, err = cli("scenario", "new", "s", "--twin", "bias_net", "--hidden", "3", "--from", tmp_path / "d.csv",
                       "--out", tmp_path / "out")
    assert code == 2 and one_paragraph(err) and message in err, err
    assert not (tmp_path / "out").exists()


def test_bad_sources_and_generators_are_refused_in_one_paragraph(tmp_path):
    np.savez(tmp_path / "xy.npz", X=np.ones((3, 4)), why=np.ones(3))
    cases = [
        (["--from", tmp_path / "missing.csv"], "no such file"),
        (["--from", tmp_path / "xy.npz"], "holds an array 'why'"),
        (["--from", tmp_path / "data.txt"], "no such file"),
        (["--make", "spirals"], "--make 'spirals' is not one of moons, blobs, circles"),
        (["--make", "blobs", "--param", "n_sample=20"], "make_blobs takes no parameter 'n_sample' (did you mean "
                                                        "'n_samples'?)"),
        (["--make", "blobs", "--param", "n_samples"], "is not of the form name=value"),
        (["--from", article_csv(tmp_path), "--param", "n_samples=3"], "goes with --make, not --from"),
    ]
    for extra, message in cases:
        code, _, err = cli("scenario", "new", "s", "--twin", "bias_net", "--hidden", "3", "--out", tmp_path / "out",
                           *extra)
        assert code == 2 and one_paragraph(err) and message in err, (extra, err)
    assert not (tmp_path / "out").exists()


def test_make_without_scikit_learn_says_how_to_install_it(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    code, _, err = cli("scenario", "new", "s", "--twin", "detail", "--hidden", "3", "--make", "moons",
                       "--out", tmp_path / "out")
    assert code == 2 and one_paragraph(err) and "needs scikit-learn" in err and "pip install scikit-learn" in err
    assert not (tmp_path / "out").exists()


# -- the loader and `scenario check`: unknown keys, empty folders ---------------------------------------

def shipped_copy(tmp_path, edit=None, name="bias-net"):
    root = tmp_path / "fixtures"
    (root / name).mkdir(parents=True)
    manifest = json.loads(open(os.path.join(SHIPPED_FIXTURES, name, "manifest.json"), encoding="utf-8").read())
    if edit:
        edit(manifest)
    (root / name / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.mark.parametrize("where, key, close", [
    ((), "provenence", "provenance"),
    (("hyper_parameters",), "hidden_nuerons", "hidden_neurons"),
    (("init",), "wh_", "wh"),
    (("data", "X"), "shpe", "shape"),
])
def test_a_misspelt_key_is_refused_by_the_loader_with_the_closest_known_one(tmp_path, where, key, close):
    def edit(m):
        node = m
        for part in where:
            node = node[part]
        node[key] = node.get(close, 1)
    root = shipped_copy(tmp_path, edit)
    with pytest.raises(FixtureError) as err:
        load_scenario("bias-net", str(root))
    assert err.value.field == ".".join(where + (key,))
    assert f"unknown key '{key}' (did you mean '{close}'?)" in str(err.value)


def test_scenario_check_lists_every_unknown_key_and_the_problem_they_hid(tmp_path):
    def edit(m):
        m["hyper_parameters"]["hidden_nuerons"] = m["hyper_parameters"].pop("hidden_neurons")
        m["provenence"] = m.pop("provenance")
        m["data"]["y"]["values"][0][0] = "0.5"
    root = shipped_copy(tmp_path, edit)
    (root / "detail-toy").mkdir()
    (root / "detail-toy" / "manifest.json").write_bytes(
        open(os.path.join(SHIPPED_FIXTURES, "detail-toy", "manifest.json"), "rb").read())
    code, out, _ = cli("scenario", "check", root, "--format", "json")
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    problems = {r["scenario"]: r["problems"] for r in report["scenarios"]}
    assert problems["detail-toy"] == []
    assert [p.split(":")[0] for p in problems["bias-net"]] == [
        "field 'provenence'", "field 'hyper_parameters.hidden_nuerons'", "field 'data.y.values[0][0]'"]
    assert "did you mean 'hidden_neurons'?" in problems["bias-net"][1]


def test_scenario_check_of_the_shipped_fixtures_passes():
    code, out, _ = cli("scenario", "check", SHIPPED_FIXTURES)
    assert code == 0 and "3 of 3 scenarios load." in out


@pytest.mark.parametrize("command", [("run", "--fixtures"), ("scenario", "check")])
def test_an_empty_folder_a_data_file_and_one_scenario_folder_are_each_refused_with_exit_2(tmp_path, command):
    (tmp_path / "empty").mkdir()
    data = article_csv(tmp_path)
    one = shipped_copy(tmp_path) / "bias-net"
    for folder, message in ((tmp_path / "empty", "the folder holds no scenario"),
                            (data, "this is a data file, where a folder of scenarios is expected"),
                            (one, "this is one scenario's folder")):
        code, out, err = cli(*command, folder)
        assert code == 2 and out == "" and one_paragraph(err) and message in err, err
    assert "crossverify scenario new" in cli(*command, tmp_path / "empty")[2]


def test_a_broken_user_scenario_suggests_scenario_check_not_the_shipped_generator(tmp_path):
    root = shipped_copy(tmp_path, lambda m: m["hyper_parameters"].update(epochs=0))
    with pytest.raises(FixtureError) as err:
        load_scenario("bias-net", str(root))
    assert "crossverify scenario check" in str(err.value) and "generate.py" not in str(err.value)
    shipped = FixtureError(os.path.join(SHIPPED_FIXTURES, "bias-net", "manifest.json"), "x", "broken")
    assert "python fixtures/generate.py" in str(shipped)


def test_the_readme_tables_of_each_twins_manifest_are_what_scenario_format_prints():
    code, out, _ = cli("scenario", "format")
    assert code == 0 and out == format_tables([load_twin(n) for n in shipped_twins()])
    readme = open(os.path.join(SHIPPED_FIXTURES, "README.md"), encoding="utf-8").read()
    block = readme.split("<!-- crossverify scenario format: begin -->\n")[1].split("<!-- crossverify scenario")[0]
    assert block == out, "fixtures/README.md is out of date: paste `crossverify scenario format` between its markers"
    for twin in shipped_twins():
        assert f"### `{twin}`" in out


@pytest.mark.parametrize("command", [["scenario"], ["scenario", "new"], ["scenario", "check"], ["scenario", "format"],
                                     ["predict"], ["compare"]])
def test_the_new_commands_have_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        main(command + ["--help"])
    assert done.value.code == 0 and "usage: crossverify" in capsys.readouterr().out


def test_through_the_process_boundary_a_refusal_is_exit_2_and_one_paragraph(tmp_path):
    from tests.conftest import run_cli
    code, out, err = run_cli("scenario", "new", "s", "--twin", "bias_net", "--from", str(tmp_path),
                             "--out", str(tmp_path / "out"))
    assert code == 2 and out == "" and one_paragraph(err) and "is a folder, not a data file" in err, err
    assert not (tmp_path / "out").exists()
