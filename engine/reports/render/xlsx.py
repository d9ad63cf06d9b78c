"""A report as an Excel workbook: one sheet per section, native Excel charts.

The charts are Excel chart objects whose series point at the sheet's cells (xlsxwriter),
not pictures: a reader who sorts or edits the table sees the chart follow. Values stay
numbers with a number format (money as yuan, shares as percentages, days as dates), so
they add up in Excel. Only plain features (no tables objects, no conditional formats,
no formulas) so the file opens the same in Excel and WPS.

A sheet reads top down: the section's title, the report's brand and window, the
sentence of an empty section, the headline figures, each table with its note, the
charts to the right of the tables, and the figures' definitions as footnotes.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from engine.core.files import write_atomically
from engine.reports.model import Chart, Kind, Report, Section, Table, Value
from engine.reports.render.values import WORDS, as_of, check_lang, shown, title, window, yuan

NUMBER_FORMATS: dict[Kind, str] = {
    "money": '"¥"#,##0.00',
    "share": "0.0%",
    "units": "#,##0",
    "date": "yyyy-mm-dd",
    "text": "@",
    "term": "@",
}
AXIS_FORMATS: dict[Kind, str] = {"money": '"¥"#,##0', "share": "0%", "units": "#,##0"}
CHART_SIZE = {"width": 640, "height": 320}
CHART_ROWS = 17  # rows a chart covers at the default row height, with a gap below
WIDTH_MIN, WIDTH_MAX = 8, 60
FROZEN_AT_MOST = 20  # a first table's header further down is not frozen (the title is)
A4 = 9  # Excel's paper size code
SHEET_NAME_MAX = 31  # Excel's limit
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


@dataclass
class _Place:
    """Where a table's cells landed on its sheet (0-based rows and columns)."""

    header: int
    first: int
    last: int


@dataclass
class _Sheet:
    """One section's sheet being written: the next free row and each column's width."""

    ws: Worksheet
    name: str
    row: int = 0
    widths: dict[int, int] = field(default_factory=dict)
    places: dict[str, _Place] = field(default_factory=dict)

    def fit(self, col: int, text: str) -> None:
        self.widths[col] = max(self.widths.get(col, 0), _display_width(text))


def write_xlsx(report: Report, lang: str, path: Path) -> Path:
    """The report in `lang` as an .xlsx at `path` (written whole or not at all)."""
    check_lang(lang)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            # Every string a string: a product called "=HYPERLINK(...)" stays text.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    book.set_properties(
        {
            "title": f"{report.brand} · {title(report)(lang)} · {window(report)}",
            "author": "omnistock",
            "comments": "; ".join(f"{k} = {v}" for k, v in sorted(report.sources.items())),
            # The data's moment, not the writing's: the same report gives the same file.
            "created": report.as_of.replace(tzinfo=None),
        }
    )
    styles = _Styles(book)
    names: set[str] = set()
    for section in report.sections:
        name = _sheet_name(section.title(lang), names)
        sheet = _Sheet(book.add_worksheet(name), name)
        _write_section(book, sheet, section, report, lang, styles)
    book.close()
    write_atomically(path, buffer.getvalue())
    return path


class _Styles:
    def __init__(self, book: Workbook) -> None:
        self.title = book.add_format({"bold": True, "font_size": 14, "font_color": "#102A43"})
        self.meta = book.add_format({"font_color": "#52606D"})
        self.empty = book.add_format({"italic": True, "bg_color": "#FFFBEA"})
        self.heading = book.add_format({"bold": True, "font_size": 12})
        self.header = book.add_format(
            {"bold": True, "bg_color": "#E4E7EB", "bottom": 1, "text_wrap": True}
        )
        self.header_number = book.add_format(
            {"bold": True, "bg_color": "#E4E7EB", "bottom": 1, "text_wrap": True, "align": "right"}
        )
        self.note = book.add_format({"italic": True, "font_color": "#52606D"})
        self.values = {
            kind: book.add_format({"num_format": f}) for kind, f in NUMBER_FORMATS.items()
        }
        self.figures = {
            kind: book.add_format({"num_format": f, "bold": True})
            for kind, f in NUMBER_FORMATS.items()
        }


def _write_section(
    book: Workbook, sheet: _Sheet, s: Section, report: Report, lang: str, styles: _Styles
) -> None:
    ws = sheet.ws
    ws.write_string(0, 0, s.title(lang), styles.title)
    line = f"{report.brand} · {title(report)(lang)} · {window(report)}"
    ws.write_string(1, 0, f"{line} · {WORDS['as_of'](lang)}: {as_of(report)}", styles.meta)
    sheet.row = 3
    if s.empty:
        ws.write_string(sheet.row, 0, s.empty(lang), styles.empty)
        sheet.row += 2
    notes = _write_figures(sheet, s, lang, styles)
    for table in s.tables:
        _write_table(sheet, table, lang, styles)
    _write_charts(book, sheet, s, lang)
    _write_footnotes(sheet, notes, lang, styles)
    first = s.tables[0].key if s.tables else None
    header = sheet.places[first].header if first else None
    ws.freeze_panes(header + 1 if header is not None and header < FROZEN_AT_MOST else 1, 0)
    for col, width in sheet.widths.items():
        ws.set_column(col, col, min(max(width + 2, WIDTH_MIN), WIDTH_MAX))
    # Printed on A4 across, tables and charts one page wide, as long as it takes.
    ws.set_paper(A4)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


def _write_figures(sheet: _Sheet, s: Section, lang: str, styles: _Styles) -> list[str]:
    """The headline figures, each marked [n]; the footnotes' texts, in that order."""
    if not s.figures:
        return []
    ws, row = sheet.ws, sheet.row
    for col, word in enumerate(("figure", "value", "note")):
        header = styles.header_number if word == "value" else styles.header
        ws.write_string(row, col, WORDS[word](lang), header)
        sheet.fit(col, WORDS[word](lang))
    notes = []
    for f in s.figures:
        row += 1
        notes.append(f"{f.label(lang)}: {f.definition(lang)}")
        ws.write_string(row, 0, f.label(lang))
        sheet.fit(0, f.label(lang))
        _write_value(ws, row, 1, f.value, f.kind, styles.figures[f.kind])
        sheet.fit(1, shown(f.value, f.kind))
        ws.write_string(row, 2, f"[{len(notes)}]", styles.note)
    sheet.row = row + 2
    return notes


def _write_table(sheet: _Sheet, t: Table, lang: str, styles: _Styles) -> None:
    ws = sheet.ws
    ws.write_string(sheet.row, 0, t.title(lang), styles.heading)
    header = sheet.row + 1
    for col, c in enumerate(t.columns):
        numeric = c.kind in AXIS_FORMATS
        ws.write_string(
            header, col, c.label(lang), styles.header_number if numeric else styles.header
        )
        sheet.fit(col, c.label(lang))
    for i, row in enumerate(t.rows):
        for col, (value, c) in enumerate(zip(row, t.columns, strict=True)):
            _write_value(ws, header + 1 + i, col, value, c.kind, styles.values[c.kind], lang)
            sheet.fit(col, shown(value, c.kind))
    sheet.places[t.key] = _Place(header, header + 1, header + len(t.rows))
    sheet.row = header + 1 + len(t.rows)
    if t.note:
        ws.write_string(sheet.row, 0, t.note(lang), styles.note)
        sheet.row += 1
    sheet.row += 1


def _write_value(
    ws: Worksheet, row: int, col: int, value: Value, kind: Kind, fmt: Format, lang: str = "en"
) -> None:
    if value is None:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, date):
        moment = value.replace(tzinfo=None) if isinstance(value, datetime) else value
        ws.write_datetime(row, col, moment, fmt)
    elif isinstance(value, int | float):
        ws.write_number(row, col, yuan(value) if kind == "money" else value, fmt)  # type: ignore[arg-type]
    else:
        ws.write_string(row, col, shown(value, kind, lang), fmt)


def _write_charts(book: Workbook, sheet: _Sheet, s: Section, lang: str) -> None:
    """Each chart beside its table, right of the widest table, one under the other."""
    right = max((len(t.columns) for t in s.tables), default=0) + 1
    right = max(right, 4)  # clear of the figures' three columns
    free = 0
    for c in s.charts:
        place = sheet.places.get(c.table)
        if place is None or place.last < place.first:  # no rows: nothing to draw
            continue
        row = max(place.header - 1, free)
        sheet.ws.insert_chart(
            row, right, _chart(book, sheet.name, c, s.table(c.table), place, lang)
        )
        free = row + CHART_ROWS


def _chart(book: Workbook, sheet: str, c: Chart, t: Table, place: _Place, lang: str) -> Any:
    chart = book.add_chart({"type": c.kind})
    category = t.column(c.category)
    kinds = [t.columns[t.column(key)].kind for key in c.series]
    for key, kind in zip(c.series, kinds, strict=True):
        col = t.column(key)
        series: dict[str, Any] = {
            "name": _ref(sheet, place.header, col),
            "categories": _ref(sheet, place.first, category, place.last),
            "values": _ref(sheet, place.first, col, place.last),
            # A second unit (money beside units) on an axis of its own.
            "y2_axis": kind != kinds[0],
        }
        if c.kind == "line":
            series["marker"] = {"type": "circle", "size": 4}
        chart.add_series(series)
    chart.set_title({"name": c.title(lang), "name_font": {"size": 12, "bold": True}})
    chart.set_size(CHART_SIZE)
    chart.set_legend({"position": "bottom"} if len(c.series) > 1 else {"none": True})
    values = {
        "num_format": AXIS_FORMATS.get(kinds[0], "General"),
        "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}},
    }
    # Days along the axis as days (a category axis shows a date's serial number else).
    categories = (
        {"num_format": NUMBER_FORMATS["date"]} if t.columns[category].kind == "date" else {}
    )
    if c.kind == "bar":  # Excel's bar: categories up the side, values along the bottom
        chart.set_x_axis(values)
        chart.set_y_axis({**categories, "reverse": True})  # the table's first row on top
    else:
        chart.set_x_axis(categories)
        chart.set_y_axis(values)
    second = next((k for k in kinds if k != kinds[0]), None)
    if second is not None:
        axis = {"num_format": AXIS_FORMATS.get(second, "General")}
        (chart.set_x2_axis if c.kind == "bar" else chart.set_y2_axis)(axis)
    return chart


def _ref(sheet: str, row: int, col: int, last: int | None = None) -> str:
    """A reference to a cell, or a column's cells down to `last`, with the sheet's name
    quoted whatever it holds (Chinese, spaces, an apostrophe): read alike by Excel and WPS."""
    cells = xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)
    if last is not None:
        cells += ":" + xl_rowcol_to_cell(last, col, row_abs=True, col_abs=True)
    return "='" + sheet.replace("'", "''") + "'!" + cells


def _write_footnotes(sheet: _Sheet, notes: list[str], lang: str, styles: _Styles) -> None:
    if not notes:
        return
    row = sheet.row
    sheet.ws.write_string(row, 0, WORDS["definitions"](lang), styles.heading)
    for n, text in enumerate(notes, 1):
        sheet.ws.write_string(row + n, 0, f"[{n}] {text}", styles.note)
    sheet.row = row + len(notes) + 2


def _sheet_name(wanted: str, taken: set[str]) -> str:
    """A valid, unique sheet name: no []:*?/\\, at most 31 characters, unique without
    regard to case (Excel's rules), not starting or ending with an apostrophe."""
    base = _SHEET_NAME_BAD.sub("_", wanted).strip("'").strip() or "Sheet"
    name, n = base[:SHEET_NAME_MAX], 1
    while name.lower() in taken or name.lower() == "history":
        n += 1
        suffix = f" ({n})"
        name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
    taken.add(name.lower())
    return name


def _display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: a Chinese character is two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
