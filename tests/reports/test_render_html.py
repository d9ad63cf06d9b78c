"""The HTML page parsed back (html.parser): every figure, definition and table cell as
text, hostile text escaped, one inline SVG chart per chart with rows, drawn from the
data, inline styles only; the chat summary; the file names and bad arguments."""

from __future__ import annotations

import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import pytest

from engine.core.errors import InputError
from engine.reports.model import Report, Section, Text
from engine.reports.render import file_name, html_page, render, summary_text
from engine.reports.render.charts import chart_svg
from engine.reports.render.fonts import CjkFont
from engine.reports.render.html import ROWS_AT_MOST
from engine.reports.render.values import money_text, shown
from tests.reports.sample import CHART_COUNT, HOSTILE_SHOP, HOSTILE_SKU, REPORT


class Page(HTMLParser):
    """The tags and the text of a page, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append(data.strip())

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


@pytest.fixture(scope="module", params=["en", "zh"])
def page(request: pytest.FixtureRequest) -> tuple[str, str, Page]:
    html = html_page(REPORT, request.param)
    return request.param, html, Page(html)


def test_every_figure_and_definition_is_on_the_page(page: tuple[str, str, Page]) -> None:
    lang, _, parsed = page
    texts = set(parsed.texts)
    for section in REPORT.sections:
        assert section.title(lang) in texts
        for f in section.figures:
            assert f.label(lang) in texts
            assert shown(f.value, f.kind) in texts
            assert f": {f.definition(lang)}" in texts  # the footnote, after its label
    assert "¥1,234,567.89" in texts  # 123456789 fen
    assert "45.7%" in texts


def test_every_table_cell_is_on_the_page(page: tuple[str, str, Page]) -> None:
    lang, _, parsed = page
    texts = parsed.texts
    for section in REPORT.sections:
        for table in section.tables:
            assert table.title(lang) in texts
            for row in table.rows:
                cells = [shown(v, c.kind) for v, c in zip(row, table.columns, strict=True)]
                runs = (texts[i : i + len(cells)] for i in range(len(texts)))
                assert cells in runs, (table.key, cells)
            if table.note:
                assert table.note(lang) in texts
    assert "-¥0.05" in texts  # a refund day: -5 fen
    assert "—" in texts  # a missing share, not 0%


def test_hostile_text_is_shown_not_run(page: tuple[str, str, Page]) -> None:
    _, html, parsed = page
    assert HOSTILE_SKU in parsed.texts
    assert HOSTILE_SHOP in parsed.texts
    assert parsed.count("script") == 0
    assert parsed.count("b") == 0  # the shop's <b> is text
    assert "<script>" not in html


def test_charts_inline_svg_one_per_chart(page: tuple[str, str, Page]) -> None:
    lang, html, parsed = page
    svgs = [attrs for tag, attrs in parsed.tags if tag == "svg"]
    assert len(svgs) == CHART_COUNT
    labels = {a["aria-label"] for a in svgs}
    assert labels == {c.title(lang) for s in REPORT.sections for c in s.charts}
    assert all(a["width"] == "100%" and a.get("viewbox") for a in svgs)
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html


def test_ids_are_unique_on_the_page_and_every_reference_resolves(
    page: tuple[str, str, Page],
) -> None:
    """matplotlib numbers each figure's ids from 1: unscoped, two charts share ids and
    one chart's clip path reference can reach another's."""
    html = page[1]
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) > CHART_COUNT and len(ids) == len(set(ids))
    references = re.findall(r'(?:href="#|url\(#)([^")]+)', html)
    assert references and set(references) <= set(ids)


def test_styles_inline_no_style_block(page: tuple[str, str, Page]) -> None:
    lang, _, parsed = page
    assert parsed.count("style") == 0  # mail clients drop <style>: none, not even in an SVG
    assert all("style" in attrs for tag, attrs in parsed.tags if tag in ("table", "th", "td", "h2"))
    assert parsed.tags[0] == ("html", {"lang": "zh-CN" if lang == "zh" else "en"})


def test_empty_section_says_why(page: tuple[str, str, Page]) -> None:
    lang, _, parsed = page
    settlement = REPORT.section("settlement")
    assert settlement.empty is not None
    assert settlement.empty(lang) in parsed.texts


def test_charts_drawn_from_the_data_of_each_run() -> None:
    sales = REPORT.section("sales")
    by_day = sales.table("by_day")
    more = replace(by_day, rows=((by_day.rows[0][0], 5000, 1),) + by_day.rows[1:])
    first = html_page(replace(REPORT, sections=(sales,)), "en")
    second = html_page(
        replace(REPORT, sections=(replace(sales, tables=(more, sales.tables[1])),)), "en"
    )
    assert "5,000" in Page(second).texts
    chart = first.index("<svg")
    assert first[chart:] != second[second.index("<svg") :]
    assert Page(first).count("svg") == Page(second).count("svg") == len(sales.charts)


def test_no_sales_says_so_instead_of_failing() -> None:
    nothing = Section(
        key="sales",
        title=Text("Sales", "销售"),
        empty=Text("No sales in the window.", "统计期内无销售。"),
    )
    products = REPORT.section("products")
    no_rows = replace(products, tables=(replace(products.tables[0], rows=()),))
    report = replace(REPORT, sections=(nothing, no_rows))
    for lang in ("en", "zh"):
        parsed = Page(html_page(report, lang))
        assert nothing.empty is not None and nothing.empty(lang) in parsed.texts
        assert parsed.count("svg") == 0  # a chart of an empty table is left out
        assert [c.label(lang) for c in products.tables[0].columns][0] in parsed.texts
    assert summary_text(report, "en").splitlines()[-1] == "Sales: No sales in the window."


def test_long_tables_cut_in_the_mail_whole_in_the_xlsx() -> None:
    products = REPORT.section("products")
    table = products.tables[0]
    rows = tuple((f"SKU-{i}", "p", i, i, None) for i in range(ROWS_AT_MOST + 25))
    report = replace(REPORT, sections=(replace(products, tables=(replace(table, rows=rows),)),))
    parsed = Page(html_page(report, "en"))
    assert f"SKU-{ROWS_AT_MOST - 1}" in parsed.texts
    assert f"SKU-{ROWS_AT_MOST}" not in parsed.texts
    assert "25 more rows are in the XLSX attachment." in parsed.texts


def test_summary_for_a_chat_robot() -> None:
    assert summary_text(REPORT, "zh").splitlines() == [
        "b1 · 双十一活动报告",
        "统计期: 2026-11-10 – 2026-11-12",
        "销量: 1,234",
        "成交额: ¥1,234,567.89",
        "售罄率: 45.7%",
        "销售峰值日: 2026-11-11",
        "超卖件数: 0",
    ]
    monthly = replace(REPORT, kind="monthly", title=None)
    assert summary_text(monthly, "en").splitlines()[0] == "b1 · Monthly report"


def test_money_text_is_exact() -> None:
    assert money_text(0) == "¥0.00"
    assert money_text(-5) == "-¥0.05"
    assert money_text(123456789012345678) == "¥1,234,567,890,123,456.78"


def test_render_writes_named_files_and_refuses_bad_arguments(tmp_path: Path) -> None:
    paths = render(REPORT, "en", tmp_path, formats=["html"])
    assert paths == {"html": tmp_path / "b1-campaign-2026-11-10-2026-11-12-en.html"}
    assert (
        Page(paths["html"].read_text(encoding="utf-8")).texts == Page(html_page(REPORT, "en")).texts
    )
    with pytest.raises(InputError, match="lang"):
        render(REPORT, "fr", tmp_path)
    with pytest.raises(InputError, match="docx"):
        render(REPORT, "en", tmp_path, formats=["html", "docx"])
    sneaky: Report = replace(REPORT, brand="../../etc/b 1")
    assert file_name(sneaky, "en", "pdf") == "_.._etc_b_1-campaign-2026-11-10-2026-11-12-en.pdf"


def test_pages_drawn_in_threads_at_once_are_whole() -> None:
    """The API renders in worker threads: charts drawn on Figure objects share no pyplot
    state, so pages drawn at once are each the page drawn alone."""
    sales = replace(REPORT, sections=(REPORT.section("sales"),))
    alone = {lang: Page(html_page(sales, lang)) for lang in ("en", "zh")}
    with ThreadPoolExecutor(max_workers=4) as pool:
        langs = ["zh", "en"] * 2
        pages = list(pool.map(lambda lang: Page(html_page(sales, lang)), langs))
    for lang, page in zip(langs, pages, strict=True):
        assert page.texts == alone[lang].texts
        assert page.count("svg") == len(REPORT.section("sales").charts)


def test_chinese_labels_drawn_with_a_chinese_font() -> None:
    """matplotlib warns of each glyph its font lacks (and draws a box): none in zh."""
    sales = REPORT.section("sales")
    chart, table = sales.charts[1], sales.table("by_shop")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font")
        svg = chart_svg(chart, table, "zh", None)  # finds the system's Chinese font
    assert re.search(r'<path id="c[0-9a-f]{8}-(NotoSansCJK|WenQuanYi|SourceHan)', svg)
    latin = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    with pytest.warns(UserWarning, match="missing from font"):  # the check can fail
        chart_svg(chart, table, "zh", CjkFont(latin, "DejaVu Sans"))
