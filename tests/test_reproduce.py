"""Every number the article prints (docs/FACTS.md section 4), one pytest case each, through
`crossverify reproduce` (bridge/explain/reproduce.py) on the real R."""
import json

import pytest

from tests.conftest import run_cli
from tests.test_golden import write_user_twin
from crossverify.shipped_twins.detail.printed import CHAOTIC_EPOCHS

TOY = [("detail-toy", f"untrained error, sample {i}", "reproduced") for i in (1, 2, 3)]
MOONS = [("detail-moons", f"mean error, epoch {e}", "diverges-chaotically" if e in CHAOTIC_EPOCHS else "reproduced")
         for e in range(0, 10000, 1000)]
BIAS = [("bias-net", f"trained output, sample {i}", "unseeded-in-article") for i in (1, 2, 3)]
ROWS = TOY + MOONS + BIAS


@pytest.fixture(scope="module")
def reproduced():
    code, out, err = run_cli("reproduce", "--format", "json")
    report = json.loads(out)
    return code, {(r["scenario"], r["quantity"]): r for r in report["rows"]}, report


def test_reproduce_lists_every_printed_number_and_exits_zero(reproduced):
    code, rows, report = reproduced
    assert code == 0 and report["ok"]
    assert sorted(rows) == sorted((s, q) for s, q, _ in ROWS)


@pytest.mark.parametrize("scenario,quantity,expected", ROWS, ids=[f"{s}: {q}" for s, q, _ in ROWS])
def test_printed_number_has_its_expected_status(reproduced, scenario, quantity, expected):
    row = reproduced[1][(scenario, quantity)]
    assert row["status"] == expected, row
    if expected == "reproduced":
        assert row["python"] == row["r"] == row["article"]


def test_chaotic_tail_moves_with_a_1e_16_nudge_while_epochs_0_to_6000_stay(reproduced):
    rows = reproduced[1]
    for e in CHAOTIC_EPOCHS:
        detail = rows[("detail-moons", f"mean error, epoch {e}")]["detail"]
        before, after = detail.split("prints ")[1].split(";")[0].split(" -> ")
        assert before != after and detail.endswith("epochs 0-6000 unchanged"), detail
    for e in range(0, 7000, 1000):
        row = rows[("detail-moons", f"mean error, epoch {e}")]
        assert row["detail"] == f"after the 1e-16 nudge: {row['article']}"


def test_reproduce_prints_a_table_by_default():
    code, out, _ = run_cli("reproduce")
    assert code == 0 and "16 of 16 numbers have their expected status." in out
    assert "diverges-chaotically" in out and "unseeded-in-article" in out


def test_the_detail_twins_printed_numbers_are_the_ones_its_manifests_keep():
    from crossverify.twins.protocol import load_twin
    from crossverify.twins.scenarios import load_scenario
    printed = load_twin("detail").printed
    toy = load_scenario("detail-toy").manifest["article_numbers"]
    moons = load_scenario("detail-moons").manifest["article_numbers"]
    assert [p.text for p in printed if p.scenario == "detail-toy"] == toy["untrained_error"]
    assert [(p.epoch, p.text) for p in printed if p.scenario == "detail-moons"] == list(
        zip(moons["mean_error_epochs"], moons["mean_error"]))


def test_a_twin_of_ones_own_declares_its_printed_numbers_and_reproduce_checks_them(tmp_path):
    from crossverify.twins.runner import network_for
    from crossverify.twins.scenarios import load_scenario
    first = network_for(load_scenario("bias-net")).python("float", 1, record=[0]).at(0, "output")[0, 0]
    extra = (f'printed=(Printed("wrapped", "untrained output, sample 1", "output", "{first:.6f}"),\n'
             f'         Printed("wrapped", "trained output, sample 3", "output", "0.50000", epoch=-1, index=(2, 0))),')
    folder = write_user_twin(tmp_path, epochs=30, extra=extra)
    code, out, err = run_cli("reproduce", "--twin", str(folder), "--format", "json")
    rows = json.loads(out)["rows"]
    assert code == 1, err  # the second number is not what the twin computes
    assert [(r["scenario"], r["quantity"], r["status"], r["ok"]) for r in rows] == [
        ("wrapped", "untrained output, sample 1", "reproduced", True),
        ("wrapped", "trained output, sample 3", "not-reproduced", False)]
    assert rows[0]["python"] == rows[0]["r"] == f"{first:.6f}" and rows[1]["python"] == rows[1]["r"] != "0.50000"
