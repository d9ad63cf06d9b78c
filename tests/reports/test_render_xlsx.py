"""The XLSX read back: openpyxl opens it, one sheet per section, every value equal to the
model's (money in yuan = fen / 100 exactly) with its number format, and native charts
whose series point at the cells that hold the chart's table."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from engine.reports.model import Kind, Report, Table, Text, Value
from engine.reports.render import file_name, render
from engine.reports.render.xlsx import NUMBER_FORMATS, write_xlsx
from tests.reports.sample import CHART_COUNT, HOSTILE_SKU, REPORT

NS = {
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
}


def cell_value(value: Value, kind: Kind) -> object:
    """What openpyxl reads back for a model value."""
    if isinstance(value, int) and not isinstance(value, bool) and kind == "money":
        return value / 100
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return value


@pytest.fixture(scope="module", params=["en", "zh"])
def book(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    lang = request.param
    out = tmp_path_factory.mktemp(f"xlsx-{lang}")
    path = render(REPORT, lang, out, formats=["xlsx"])["xlsx"]
    return lang, path, openpyxl.load_workbook(path)


def header_row(ws: Worksheet, table: Table, lang: str) -> int:
    labels = [c.label(lang) for c in table.columns]
    for row in ws.iter_rows():
        if [c.value for c in row[: len(labels)]] == labels:
            return row[0].row
    raise AssertionError(f"no header row {labels} on sheet {ws.title}")


def test_file_named_and_written_whole(book: tuple) -> None:
    lang, path, _ = book
    assert path.name == f"b1-campaign-2026-11-10-2026-11-12-{lang}.xlsx"
    assert path.name == file_name(REPORT, lang, "xlsx")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_one_sheet_per_section_in_order(book: tuple) -> None:
    lang, _, wb = book
    assert wb.sheetnames == [s.title(lang) for s in REPORT.sections]


def test_figures_equal_the_model_with_number_formats(book: tuple) -> None:
    lang, _, wb = book
    for section in REPORT.sections:
        ws = wb[section.title(lang)]
        labels = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
        for n, f in enumerate(section.figures, 1):
            row = labels[f.label(lang)]
            value = ws.cell(row, 2)
            assert value.value == cell_value(f.value, f.kind), f.key
            assert value.number_format == NUMBER_FORMATS[f.kind]
            assert ws.cell(row, 3).value == f"[{n}]"
            # its definition as a footnote under the tables
            note = f"[{n}] {f.label(lang)}: {f.definition(lang)}"
            assert note in [ws.cell(r, 1).value for r in range(row, ws.max_row + 1)]
    gmv = wb[REPORT.sections[0].title(lang)]
    assert 123456789 / 100 in [c.value for c in gmv["B"]]  # 1,234,567.89 yuan, exactly


def test_tables_equal_the_model_cell_by_cell(book: tuple) -> None:
    lang, _, wb = book
    for section in REPORT.sections:
        ws = wb[section.title(lang)]
        for table in section.tables:
            top = header_row(ws, table, lang)
            assert ws.cell(top - 1, 1).value == table.title(lang)
            for i, row in enumerate(table.rows, 1):
                for j, (value, column) in enumerate(zip(row, table.columns, strict=True), 1):
                    cell = ws.cell(top + i, j)
                    assert cell.value == cell_value(value, column.kind), (table.key, i, j)
                    assert cell.number_format == NUMBER_FORMATS[column.kind]
            if table.note:
                assert ws.cell(top + len(table.rows) + 1, 1).value == table.note(lang)


def test_text_that_looks_like_a_formula_stays_text(book: tuple) -> None:
    lang, _, wb = book
    ws = wb[REPORT.section("products").title(lang)]
    texts = {c.value: c.data_type for row in ws.iter_rows() for c in row if c.value}
    assert texts['=HYPERLINK("http://x")'] == "s"
    assert texts[HOSTILE_SKU] == "s"


def test_header_frozen_and_columns_sized(book: tuple) -> None:
    lang, _, wb = book
    sales = REPORT.section("sales")
    ws = wb[sales.title(lang)]
    top = header_row(ws, sales.tables[0], lang)
    assert ws.freeze_panes == f"A{top + 1}"
    assert wb[REPORT.section("settlement").title(lang)].freeze_panes == "A2"
    products = wb[REPORT.section("products").title(lang)]
    assert (products.page_setup.paperSize, products.page_setup.orientation) == (9, "landscape")
    assert products.sheet_properties.pageSetUpPr.fitToPage
    # one page wide (1: the file format's default, left out), as many long as it takes
    assert products.page_setup.fitToWidth in (None, 1) and products.page_setup.fitToHeight == 0
    widths = [width(products, i) for i in range(1, 6)]
    assert min(widths) >= 8
    assert widths[1] > widths[2]  # product names are wider than unit counts


def width(ws: Worksheet, column: int) -> float:
    """A column's width (openpyxl keeps neighbours of one width as one range)."""
    for d in ws.column_dimensions.values():
        if d.min <= column <= d.max:
            return float(d.width)
    raise AssertionError(f"column {column} of {ws.title} has no width set")


def test_empty_section_says_why(book: tuple) -> None:
    lang, _, wb = book
    settlement = REPORT.section("settlement")
    assert settlement.empty is not None
    values = [c.value for row in wb[settlement.title(lang)].iter_rows() for c in row]
    assert settlement.empty(lang) in values


def child(element: ElementTree.Element, path: str) -> ElementTree.Element:
    found = element.find(path, NS)
    assert found is not None, path
    return found


def chart_refs(path: Path) -> list[dict]:
    """Each chart's title, type and series (name, categories, values references)."""
    charts = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if re.match(r"xl/charts/chart\d+\.xml", n)):
            root = ElementTree.fromstring(z.read(name))
            title = child(root, "c:chart/c:title").iter(f"{{{NS['a']}}}t")
            plots = [p for p in child(root, "c:chart/c:plotArea") if p.tag.endswith("Chart")]
            kinds = set()
            series = []
            for plot in plots:
                line = plot.tag.endswith("lineChart")
                kinds.add("line" if line else child(plot, "c:barDir").get("val"))
                for ser in plot.findall("c:ser", NS):
                    parts = ("tx", "cat", "val")
                    series.append({part: child(ser, f"c:{part}//c:f").text for part in parts})
            charts.append(
                {"title": "".join(t.text or "" for t in title), "kinds": kinds, "series": series}
            )
    return charts


def resolve(wb: openpyxl.Workbook, ref: str) -> list[object]:
    sheet, cells = ref.rsplit("!", 1)
    ws = wb[sheet.strip("'").replace("''", "'")]
    found = ws[cells.replace("$", "")]
    if isinstance(found, tuple):
        return [row[0].value for row in found]
    return [found.value]


def test_charts_are_native_and_drawn_from_the_tables_cells(book: tuple) -> None:
    lang, path, wb = book
    charts = chart_refs(path)
    assert len(charts) == CHART_COUNT
    by_title = {c["title"]: c for c in charts}
    kind_in_xml = {"line": "line", "column": "col", "bar": "bar"}
    for section in REPORT.sections:
        for chart in section.charts:
            drawn = by_title[chart.title(lang)]
            assert drawn["kinds"] == {kind_in_xml[chart.kind]}
            table = section.table(chart.table)
            category = table.column(chart.category)
            assert len(drawn["series"]) == len(chart.series)
            for key, series in zip(chart.series, drawn["series"], strict=True):
                column = table.column(key)
                kind = table.columns[column].kind
                assert series["tx"].startswith(f"'{section.title(lang)}'!")
                assert resolve(wb, series["tx"]) == [table.columns[column].label(lang)]
                assert resolve(wb, series["cat"]) == [
                    cell_value(row[category], table.columns[category].kind) for row in table.rows
                ]
                assert resolve(wb, series["val"]) == [
                    cell_value(row[column], kind) for row in table.rows
                ]
    # the line chart puts GMV (money) on a second axis beside units
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/charts/chart1.xml").decode()
    assert xml.count("<c:valAx>") == 2


def test_table_without_rows_gets_no_chart(tmp_path: Path) -> None:
    products = REPORT.section("products")
    bare = replace(products, tables=(replace(products.tables[0], rows=()),))
    report = replace(REPORT, sections=(bare,))
    path = write_xlsx(report, "en", tmp_path / "bare.xlsx")
    assert chart_refs(path) == []
    ws = openpyxl.load_workbook(path)[bare.title("en")]
    assert header_row(ws, bare.tables[0], "en") == 5


def test_sheet_names_made_valid_and_unique(tmp_path: Path) -> None:
    sales = REPORT.section("sales")
    odd = Text("Sales: 11/11 [peak] * shop's? " + "x" * 40, "销售")
    sections = (replace(sales, title=odd), replace(sales, key="again", title=odd))
    path = write_xlsx(replace(REPORT, sections=sections), "en", tmp_path / "odd.xlsx")
    wb = openpyxl.load_workbook(path)
    assert len(wb.sheetnames) == 2
    assert all(len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) for n in wb.sheetnames)
    assert wb.sheetnames[1].endswith(" (2)")
    # the chart of the second sheet points at its own sheet
    refs = [s["val"] for c in chart_refs(path) for s in c["series"]]
    quoted = wb.sheetnames[1].replace("'", "''")  # shop's -> shop''s in a reference
    assert sum(r.startswith(f"'{quoted}'!") for r in refs) == 3
    assert all(resolve(wb, r) for r in refs)


def test_workbook_dated_by_the_data(tmp_path: Path) -> None:
    path = write_xlsx(REPORT, "en", tmp_path / "r.xlsx")
    props = openpyxl.load_workbook(path).properties
    assert props.created == REPORT.as_of.replace(tzinfo=None)
    assert "snapshot = sha256:abc" in (props.description or "")


def test_a_stored_report_draws_the_same_workbook(tmp_path: Path) -> None:
    """A report kept as JSON and drawn again later gives the same bytes: the workbook is
    dated by the data's moment, not the writing's."""
    first = write_xlsx(REPORT, "zh", tmp_path / "first.xlsx").read_bytes()
    again = write_xlsx(Report.from_json(REPORT.to_json()), "zh", tmp_path / "again.xlsx")
    assert again.read_bytes() == first
