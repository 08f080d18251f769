"""Scenario fixtures (fixtures/README.md): regenerated from the seed, validated, and read to the
same bits by Python and R. Mirror: r_impl/tests/testthat/test-fixtures.R."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from crossverify.errors import FixtureError, UnknownNameError
from crossverify.twins.scenarios import SHIPPED_FIXTURES, list_scenarios, load_scenario
from tests.conftest import ROOT, run_cli

BIAS_NET = os.path.join(SHIPPED_FIXTURES, "bias-net", "manifest.json")


def test_committed_bias_net_fixture_equals_a_fresh_generation(tmp_path):
    # the detail scenarios' regeneration is checked in tests/test_detail.py (moons needs scikit-learn)
    subprocess.run([sys.executable, os.path.join(ROOT, "fixtures", "generate.py"), "--out", str(tmp_path), "bias-net"],
                   check=True, capture_output=True)
    for name in os.listdir(tmp_path):
        fresh = (tmp_path / name / "manifest.json").read_bytes()
        with open(os.path.join(SHIPPED_FIXTURES, name, "manifest.json"), "rb") as fh:
            assert fh.read() == fresh, f"fixtures/{name}/manifest.json differs from `python fixtures/generate.py`"


def test_bias_net_manifest_records_the_seed_and_draw_order():
    manifest = load_scenario("bias-net").manifest
    assert manifest["provenance"]["seed"] == 42
    assert [d[0] for d in manifest["provenance"]["draw_order"]] == ["wh", "bh", "wout", "bout"]
    np.random.seed(42)
    for name, shape in manifest["provenance"]["draw_order"]:
        drawn = np.random.uniform(size=shape)
        assert np.array_equal(load_scenario("bias-net").init[name], drawn), name


def test_r_and_python_load_identical_bits(r_session):
    for name in list_scenarios():
        scenario = load_scenario(name)
        from_r = r_session.call("read_scenario", scenario.path)
        parts = dict(zip(from_r.names, from_r))
        for group, mats in (("data", scenario.data), ("init", scenario.init)):
            r_mats = dict(zip(parts[group].names, parts[group]))
            for key, value in mats.items():
                got = r_session.from_r(r_mats[key])
                assert got.shape == value.shape, (name, key)
                assert np.array_equal(got.view(np.uint64), value.view(np.uint64)), (name, key)
        assert np.float64(r_session.from_r(parts["lr"])[0]).tobytes() == np.float64(scenario.lr).tobytes()


finite_doubles = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(finite_doubles, min_size=1, max_size=40))
def test_r_reads_python_hex_text_exactly(r_session, values):
    as_text = r_session.ro.StrVector([v.hex() for v in values])
    parsed = r_session.from_r(r_session.call("hex_number", as_text, "hypothesis"))
    expected = np.array(values, dtype=np.float64)
    assert np.array_equal(parsed.view(np.uint64), expected.view(np.uint64))


# -- bad fixtures: each names the file and the field ---------------------------------------------

def _broken_copy(tmp_path, edit):
    root = tmp_path / "fixtures"
    shutil.copytree(os.path.join(SHIPPED_FIXTURES, "bias-net"), root / "bias-net")
    path = root / "bias-net" / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))
    return str(root), str(path)


BAD_FIXTURES = {
    "wrong shape": (lambda m: m["init"]["wh"].update(shape=[3, 3], values=m["init"]["wh"]["values"][:3]),
                    "init.wh.shape", "wh has 3 along an axis where X has 4"),
    "rows shorter than shape": (lambda m: m["init"]["wout"]["values"].pop(),
                                "init.wout.values", "shape says 3 rows, found 2"),
    "NaN": (lambda m: m["init"]["bh"]["values"][0].__setitem__(1, "nan"),
            "init.bh.values[0][1]", "'nan' is not a C99 hex float"),
    "decimal number": (lambda m: m["data"]["X"]["values"][2].__setitem__(0, "0.5"),
                       "data.X.values[2][0]", "'0.5' is not a C99 hex float"),
    "JSON number": (lambda m: m["data"]["y"]["values"][0].__setitem__(0, 1.0),
                    "data.y.values[0][0]", "1.0 is not a C99 hex float"),
    "missing field": (lambda m: m["init"].pop("bout"), "init.bout", "missing"),
    "missing learning rate": (lambda m: m["hyper_parameters"].pop("lr"), "hyper_parameters.lr", "missing"),
    "zero epochs": (lambda m: m["hyper_parameters"].__setitem__("epochs", 0),
                    "hyper_parameters.epochs", "0 is not a positive whole number"),
    "subnormal R misreads": (lambda m: m["init"]["bh"]["values"][0].__setitem__(0, "0x1p-1074"),
                             "init.bh.values[0][0]", "subnormal number written in a form R reads as 0"),
}


@pytest.mark.parametrize("case", sorted(BAD_FIXTURES))
def test_bad_fixture_is_refused_naming_file_and_field(tmp_path, case):
    edit, field, problem = BAD_FIXTURES[case]
    root, path = _broken_copy(tmp_path, edit)
    with pytest.raises(FixtureError) as err:
        load_scenario("bias-net", root)
    assert err.value.path == path and err.value.field == field
    assert problem in str(err.value)


def test_truncated_manifest_is_refused_with_the_json_position(tmp_path):
    root = tmp_path / "fixtures"
    shutil.copytree(os.path.join(SHIPPED_FIXTURES, "bias-net"), root / "bias-net")
    path = root / "bias-net" / "manifest.json"
    path.write_text(path.read_text()[:400])
    with pytest.raises(FixtureError, match=r"not valid JSON .* at line \d+"):
        load_scenario("bias-net", str(root))


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match="unknown scenario 'bias_net'. Known scenarios: bias-net, detail-moons"):
        load_scenario("bias_net")


def test_cli_reports_a_bad_fixture_in_one_paragraph_without_traceback(tmp_path):
    root, path = _broken_copy(tmp_path, BAD_FIXTURES["NaN"][0])
    code, out, err = run_cli("run", "--fixtures", root)
    assert code == 2 and out == ""
    assert err.startswith(f"crossverify: error: fixture {path}: field 'init.bh.values[0][1]'")
    assert "Traceback" not in err and err.count("\n") == 1
