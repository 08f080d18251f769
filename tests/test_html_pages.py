"""The three HTML pages (`crossverify rosetta --format html`, `crossverify report`, `crossverify questions
--html`) read on a phone as on a laptop, checked without a browser on the pages as the code renders
them (bridge/explain/style.py): each has a viewport meta tag (else a phone lays it out 980 px wide
and shrinks it), each table and code block scrolls sideways inside its own box (else one wide table
widens the whole page), the text keeps a maximum width and a margin, and all three share one
stylesheet. The report is made for detail-toy, the questions page for question 2 (matrices and an
error message in its table): about a second with R."""
import io
import os
import re
from html.parser import HTMLParser

import pytest

from crossverify.cli.main import main
from crossverify.explain import questions as Q
from crossverify.explain import report, rosetta, style

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Layout(HTMLParser):
    """What a page's layout rests on: its meta tags, its <style> text, and for every <table> and <pre>
    whether it lies inside an element of class "scroll"."""

    def __init__(self, page):
        super().__init__()
        self.metas, self.styles, self.boxed, self._open, self._in_style = [], [], [], [], False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta":
            self.metas.append(attrs)
        if tag in ("table", "pre"):
            self.boxed.append((tag, any("scroll" in classes for _, classes in self._open)))
        if tag == "style":
            self._in_style = True
            self.styles.append("")
        if tag not in VOID:
            self._open.append((tag, (attrs.get("class") or "").split()))

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        while self._open:  # close up to the matching tag (HTML allows some end tags to be left out)
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._in_style:
            self.styles[-1] += data


def rules(stylesheet):
    """{selector: {property: value}} of the rules that hold at every screen width (outside @media)."""
    top = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", stylesheet)
    out = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", top):
        declarations = dict(d.split(":", 1) for d in body.split(";") if ":" in d)
        for selector in selectors.split(","):
            out.setdefault(selector.strip(), {}).update({k.strip(): v.strip() for k, v in declarations.items()})
    return out


@pytest.fixture(scope="module")
def pages(r_session):
    data = report.collect(r_session, ["detail-toy"])
    return {"rosetta": rosetta.render_html(rosetta.build()),
            "report": report.render_page(data, []),
            "questions": Q.render_html(Q.answers(r_session, [2]))}


@pytest.fixture(scope="module")
def layouts(pages):
    return {name: Layout(page) for name, page in pages.items()}


def test_every_page_has_a_viewport_meta_tag_for_the_screen_width(layouts):
    for name, layout in layouts.items():
        viewport = [m for m in layout.metas if m.get("name") == "viewport"]
        assert len(viewport) == 1, name
        content = {k.strip(): v.strip() for k, v in (p.split("=") for p in viewport[0]["content"].split(","))}
        assert content.get("width") == "device-width" and content.get("initial-scale") == "1", name


def test_every_table_and_code_block_scrolls_inside_its_own_box(layouts):
    css = rules(style.STYLESHEET)
    assert css[".scroll"]["overflow-x"] == "auto" and css["pre"]["overflow-x"] == "auto"
    for name, layout in layouts.items():
        tables = [boxed for tag, boxed in layout.boxed if tag == "table"]
        assert tables, f"the {name} page has no table to check"
        assert all(tables), f"the {name} page has a table outside a scrolling box"
        # a <pre> scrolls on its own (pre{overflow-x:auto}) whether or not it is in a box


def test_the_text_keeps_a_maximum_width_a_margin_and_a_readable_size(layouts):
    css = rules(style.STYLESHEET)
    body = css["body"]
    assert body["max-width"].endswith("px") and body["margin"] == "0 auto" and body["padding"].split()[1] != "0"
    assert body["font-size"] == "16px"
    assert css["p"]["max-width"].endswith("rem") and css["img"]["max-width"] == "100%"
    relative = [float(v["font-size"][:-3 if v["font-size"].endswith("rem") else -2])
                for v in css.values() if re.fullmatch(r"[\d.]+r?em", v.get("font-size", ""))]
    assert relative and min(relative) >= 0.85  # code in a table: 16 px * 0.9 * 0.88, about 12.7 px at the least


def test_the_three_pages_share_one_stylesheet(layouts):
    for name, layout in layouts.items():
        assert [s.strip() for s in layout.styles] == [style.STYLESHEET], name


def test_questions_html_writes_the_page_through_a_temporary_file(r_session, tmp_path):
    target = tmp_path / "questions.html"
    out = io.StringIO()
    assert main(["questions", "9", "--html", "--out", str(target)], out) == 0
    assert out.getvalue() == f"wrote {target}\n"
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert f"<h1>{Q.TITLE.replace(chr(39), '&#x27;')}</h1>" in page and '<section id="9-dz1-dw">' in page
    assert os.listdir(tmp_path) == ["questions.html"]
