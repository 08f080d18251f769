"""`crossverify report` (bridge/explain/report.py): one self-contained HTML page whose tables equal what
`crossverify run --format json` and `crossverify reproduce --format json` print, every figure embedded,
written whole or not at all. The page is made for detail-toy (the cheapest scenario); the moons and
bias-net figures are drawn from traces computed once for this module."""
import base64
import json
import os
import re
import socket
from html.parser import HTMLParser
from unittest import mock

import numpy as np
import pytest

from crossverify.explain import report
from crossverify.twins.scenarios import load_scenario
from crossverify.python_impl import detail
from crossverify.python_impl.kernels import get_kernels
from tests.conftest import ROOT
from tests.test_steps import crossverify


class Tables(HTMLParser):
    """Every <table id=...> of a page as a list of {data-field: text} rows, and every <img> src."""

    def __init__(self, page):
        super().__init__()
        self.tables, self.images, self._table, self._row, self._field = {}, [], None, None, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = {}
        elif tag == "td" and self._row is not None:
            self._field = attrs.get("data-field")
            self._row[self._field] = ""
        elif tag == "img":
            self.images.append(attrs)

    def handle_endtag(self, tag):
        if tag == "tr" and self._row:
            self._table.append(self._row)
        if tag in ("tr", "table"):
            self._row = None
        if tag == "table":
            self._table = None
        if tag == "td":
            self._field = None

    def handle_data(self, data):
        if self._field is not None:
            self._row[self._field] += data


@pytest.fixture(scope="module")
def toy(tmp_path_factory, r_session):
    out = tmp_path_factory.mktemp("report") / "toy-report"
    code, text, err = crossverify("report", "--out", out, "--scenario", "detail-toy")
    return {"code": code, "text": text, "err": err, "out": out, "page": (out / "index.html").read_text(),
            "json": json.loads((out / "report.json").read_text())}


@pytest.fixture(scope="module")
def printed(r_session):
    """What `crossverify run` and `crossverify reproduce` print as JSON for the same scenario."""
    code, run_out, err = crossverify("run", "--format", "json", "--scenario", "detail-toy")
    assert code == 0, err
    code, reproduce_out, err = crossverify("reproduce", "--format", "json")
    assert code == 0, err
    return json.loads(run_out), json.loads(reproduce_out)


# -- the page -------------------------------------------------------------------------------------------

def test_report_writes_one_page_and_says_what_it_holds(toy):
    assert toy["code"] == 0, toy["err"]
    assert sorted(os.listdir(toy["out"])) == ["figures", "index.html", "report.json"]
    assert toy["text"].startswith(f"wrote {toy['out']}/index.html: 4 of 4 checks meet their expectation, "
                                  f"3 of 3 printed numbers as expected, 2 figures (loss, differences).")


def test_page_is_self_contained_and_names_no_machine_path(toy):
    page = toy["page"]
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r'(src|href)="(?!data:image/png;base64,)', page)
    assert str(toy["out"]) not in page and ROOT not in page and "/usr/" not in page
    text = re.sub(r"base64,[A-Za-z0-9+/=]+", "", page)
    assert not re.search(rf"\b{re.escape(socket.gethostname())}\b", text)


def test_every_figure_is_embedded_as_the_png_beside_it(toy):
    images = Tables(toy["page"]).images
    listed = toy["json"]["figures"]
    assert [f["id"] for f in listed] == ["loss", "differences"] and len(images) == len(listed)
    for image, figure in zip(images, listed):
        png = base64.b64decode(image["src"].split(",", 1)[1], validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10000
        assert png == (toy["out"] / figure["file"]).read_bytes()
        assert image["alt"] == figure["title"]


def test_run_table_equals_what_crossverify_run_prints(toy, printed):
    rows = Tables(toy["page"]).tables["run-rows"]
    expected = printed[0]["rows"]
    assert len(rows) == len(expected) == 4
    for got, want in zip(rows, expected):
        for key in ("scenario", "variant", "kernels", "mode", "expectation"):
            assert got[key] == want[key], key
        assert got["verdict"] == want["verdict_text"]  # "meets (each step; ...)" as `run` prints it
        assert got["max_abs_difference"] == f"{want['max_abs_difference']:.3g}"  # as `run` prints it
        d = want["first_divergence"]
        said = f"epoch {d['epoch']} step {d['step']} {d['name']}{d['index']}" if d else "none"
        assert got["first_divergence"] == said
        if want["expectation"] == "within-bound" and want["mode"] == "free-running":
            assert got["horizon"] == (f"epoch {want['horizon']}" if want["horizon"] is not None else "none")


def test_reproduce_table_equals_what_crossverify_reproduce_prints(toy, printed):
    rows = Tables(toy["page"]).tables["reproduce-rows"]
    expected = [r for r in printed[1]["rows"] if r["scenario"] == "detail-toy"]
    assert len(rows) == len(expected) == 3
    for got, want in zip(rows, expected):
        for key in ("scenario", "quantity", "article", "python", "r", "status"):
            assert got[key] == want[key], key
        assert got["ok"] == ("yes" if want["ok"] else "NO")


def test_report_json_holds_the_same_rows_as_the_page(toy, printed):
    rows = toy["json"]["rows"]
    assert [{k: v for k, v in r.items() if k != "per_intermediate"} for r in printed[0]["rows"]] == rows
    assert toy["json"]["ok"] is True


def test_summary_counts_the_checks_and_the_numbers(toy):
    assert "4 of 4 checks meet their expectation" in toy["page"]
    assert "3 of 3 printed numbers have their expected status" in toy["page"]


# -- written whole or not at all -------------------------------------------------------------------------

def _failing(*_args, **_kwargs):
    raise RuntimeError("drawing failed on purpose")


def test_a_figure_that_fails_is_named_in_its_place_and_the_rest_of_the_page_is_written(tmp_path, r_session):
    target = tmp_path / "report"
    with mock.patch.object(report, "difference_figure", _failing):
        code, out, err = crossverify("report", "--out", target, "--scenario", "detail-toy", tty=True)
    assert code == 1 and "1 figures (loss)" in out
    assert ("the figure '|Python - R| per epoch, float versus exact kernels' could not be drawn (RuntimeError: "
            "drawing failed on purpose); the page says so in its place") in err
    page = (target / "index.html").read_text()
    assert "This figure could not be drawn: RuntimeError: drawing failed on purpose." in page
    assert json.loads((target / "report.json").read_text())["figures_not_drawn"][0]["id"] == "differences"
    assert sorted(os.listdir(tmp_path)) == ["report"]
    # on a terminal the long run shows one status line (tqdm), redrawn in place ("\r")
    assert "\rcrossverify: detail-toy: check " in err


def test_a_failed_run_leaves_the_previous_report_as_it_was(toy, tmp_path, r_session):
    import shutil
    target = tmp_path / "report"
    shutil.copytree(toy["out"], target)
    before = {p: (target / p).read_bytes() for p in ("index.html", "report.json")}
    def failing_page(*_args, **_kwargs):
        raise report.ReportError("the page could not be written on purpose")

    with mock.patch.object(report, "render_page", failing_page):
        code, _, err = crossverify("report", "--out", target, "--scenario", "detail-toy")
    assert code != 0 and "the page could not be written on purpose" in err
    assert {p: (target / p).read_bytes() for p in before} == before
    assert sorted(os.listdir(tmp_path)) == ["report"]


def test_an_interrupted_run_exits_130_and_leaves_nothing(tmp_path, r_session):
    def interrupt(*_args, **_kwargs):
        raise KeyboardInterrupt

    with mock.patch.object(report, "loss_figure", interrupt):
        code, _, err = crossverify("report", "--out", tmp_path / "report", "--scenario", "detail-toy")
    assert code == 130 and "interrupted" in err
    assert os.listdir(tmp_path) == []


def test_report_replaces_a_previous_report_whole(toy, tmp_path, r_session):
    import shutil
    target = tmp_path / "report"
    shutil.copytree(toy["out"], target)
    (target / "figures" / "stale.png").write_bytes(b"old")
    figures = report.write_report(str(target), report.ReportData([], [], [], {}, r_session))
    assert figures.ids == [] and not (target / "figures" / "stale.png").exists()
    assert sorted(os.listdir(tmp_path)) == ["report"]


@pytest.mark.parametrize("make,message", [
    (lambda d: (d / "x.txt").write_text("mine"), "holds files a report did not write (x.txt)"),
    (lambda d: None, "the folder"),
])
def test_out_that_would_lose_other_files_is_refused_before_any_work(tmp_path, make, message):
    target = tmp_path / "dir"
    if message == "the folder":
        target = tmp_path / "missing" / "dir"
    else:
        target.mkdir()
        make(target)
    code, out, err = crossverify("report", "--out", target, "--scenario", "detail-toy")
    assert code == 2 and message in err and out == ""


# -- the figures of the long runs -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def moons(r_session):
    """detail-moons, 10000 epochs: the weights and mean error after every epoch, both kernels and R."""
    return report.scenario_run(r_session, load_scenario("detail-moons"))


@pytest.fixture(scope="module")
def bias(bias_verifier):
    return report.run_from_verifier(bias_verifier)


def test_moons_float_kernels_part_from_r_at_the_chaos_horizon_and_exact_never(moons):
    h = report.horizons_of([moons])["detail-moons"]
    assert 3800 < h < 4100, h
    float_d = report.weight_difference(moons, moons.python["float"], moons.reference)
    exact_d = report.weight_difference(moons, moons.python["exact"], moons.reference)
    assert float_d[:h - 100].max() < 1e-12 and float_d[h + 1000:].max() > 1e-3
    assert not exact_d.any()


def test_difference_figure_draws_exact_at_the_floor_as_zero_and_marks_the_horizon(moons):
    h = report.horizons_of([moons])["detail-moons"]
    fig = report.difference_figure([moons], {"detail-moons": h})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("exact kernels: 0 at every epoch") for label in labels)
    floor = ax.get_ylim()[0] * 3
    assert ax.yaxis.get_major_formatter()(floor) == "0"
    assert any(len(line.get_xdata()) == 2 and np.allclose(line.get_xdata(), [h, h]) for line in ax.lines)
    assert report._png(fig).startswith(b"\x89PNG")


def test_loss_curves_overlay_python_and_r_and_start_at_the_article_epoch_0_error(moons):
    python = report.loss_series(moons, moons.python["float"])
    r = report.loss_series(moons, moons.reference)
    assert f"{python[0]:.5f}" == f"{r[0]:.5f}" == "0.23478"
    ax = report.loss_figure([moons]).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Python (float kernels, as the article)", "R (article)"]


def test_decision_boundary_is_both_languages_trained_output_over_the_grid(moons, r_session):
    (_, python), (_, r) = report.boundary_values(moons, r_session)
    _, _, grid = report.boundary_grid(moons.net.X)
    assert python.shape == r.shape == (1, grid.shape[1])
    exact = detail.predict(grid, {w: moons.python["exact"].series(w)[-1] for w in detail.WEIGHTS}, get_kernels("exact"))
    assert np.array_equal(r.view(np.uint64), exact.view(np.uint64))  # R's trained network is the exact kernels'
    # the two boundaries are one: the classes agree at every grid point but a handful on the 0.5 line
    assert np.mean((python > 0.5) != (r > 0.5)) < 0.01
    fig = report.decision_boundary_figure(moons, r_session)
    assert len(fig.axes) == 3  # Python, R, the colour bar


def test_every_figure_of_every_scenario_is_drawn(moons, bias, r_session):
    toy = report.scenario_run(r_session, load_scenario("detail-toy"))
    specs = report.figures_for([bias, moons, toy], r_session)
    assert [s.id for s in specs] == ["loss", "differences", "variants", "growth", "boundary"]
    for spec in specs:
        assert report._png(spec.draw()).startswith(b"\x89PNG"), spec.id
    assert "detail-moons: epoch" in specs[1].caption
    assert "the horizon at epoch 3926" in specs[3].caption  # explain's account of the chaotic moons run


def test_variants_figure_shows_corrected_at_zero_and_the_other_three_apart(bias):
    ax = report.variants_figure(bias).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 4
    assert any(label.startswith("R corrected: 0 at every epoch") for label in labels)
    assert "R article" in labels and "R colsums-only" in labels


# -- a twin of one's own -------------------------------------------------------------------------------------

TWO_FEATURES_TWIN = '''"""The shipped detail network's functions under a new name, on data of its own with two features."""
from crossverify.twins.protocol import RSide, Twin
from crossverify.shipped_twins.detail.twin import TWIN as SHIPPED

TWIN = Twin(
    name="two_features",
    python="crossverify.python_impl.detail:epoch",
    python_predict="crossverify.python_impl.detail:predict",
    r=RSide(files=({files}), epoch="detail_epoch", predict="detail_predict"),
    state=SHIPPED.state, history=SHIPPED.history, steps=SHIPPED.steps, data=SHIPPED.data, init=SHIPPED.init,
    loss="mean_error",
)
'''


def _hex(a):
    return {"shape": list(a.shape), "values": [[float(v).hex() for v in row] for row in a]}


def write_two_feature_twin(tmp_path):
    """A twin folder with one scenario: 40 points in the unit square, labelled by which side of the
    diagonal they fall, columns are samples as the detail network takes them."""
    folder = tmp_path / "two_features"
    (folder / "scenarios" / "halves").mkdir(parents=True)
    files = ", ".join(repr(os.path.join(ROOT, "r_impl", "R", f)) for f in ("bias_net.R", "detail.R"))
    (folder / "twin.py").write_text(TWO_FEATURES_TWIN.format(files=files + ","))
    rng = np.random.default_rng(7)
    X = rng.uniform(size=(2, 40))
    manifest = {"format": "crossverify-scenario/1", "name": "halves", "twin": "two_features",
                "provenance": {"how": "numpy default_rng(7), drawn in tests/test_report.py"},
                "hyper_parameters": {"lr": (0.5).hex(), "epochs": 100},
                "data": {"X": _hex(X), "y": _hex((X[0] > X[1]).astype(float)[None, :])},
                "init": {"weights_input_hidden": _hex(rng.uniform(size=(2, 5))),
                         "weights_hidden_output": _hex(rng.uniform(size=(5, 1)))}}
    (folder / "scenarios" / "halves" / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_report_of_a_twin_of_ones_own_draws_its_loss_and_its_decision_boundary(tmp_path, r_session):
    folder = write_two_feature_twin(tmp_path)
    out = tmp_path / "report"
    code, text, err = crossverify("report", "--twin", folder, "--out", out)
    assert code == 0, err
    assert text == (f"wrote {out}/index.html: 4 of 4 checks meet their expectation, 0 of 0 printed numbers as "
                    f"expected, 3 figures (loss, differences, boundary).\n")
    page = (out / "index.html").read_text()
    assert "Scenarios: halves." in page
    rows = Tables(page).tables["run-rows"]
    assert {r["scenario"] for r in rows} == {"halves"} and all(r["verdict"].startswith("meets") for r in rows)


def test_report_of_a_wrapped_bias_network_plots_the_loss_its_own_function_computes(tmp_path, r_session):
    from tests.test_golden import write_user_twin
    from crossverify.twins.protocol import load_twin
    from crossverify.twins.scenarios import load_scenario
    folder = write_user_twin(tmp_path, epochs=50)
    run = report.scenario_run(r_session, load_scenario("wrapped", str(folder / "scenarios"), load_twin(str(folder))))
    E = run.python["float"].steps["E"]
    assert np.array_equal(report.loss_series(run, run.python["float"]), (E * E / 2).reshape(50, -1).mean(axis=1))
    assert report.loss_label(run.twin) == "mean of E^2 / 2"
    assert [s.id for s in report.figures_for([run], r_session)] == ["loss", "differences"]
