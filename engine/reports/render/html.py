"""A report as one HTML page: the body of the mail, the page in the browser and, with a
print stylesheet, the PDF (pdf.py).

The template (templates/report.html.j2) only lays out text prepared here: every value
is formatted by values.py and escaped by Jinja's autoescape, so a SKU called `<script>`
is shown, never run. Styles are inline on each element, since mail clients drop a
<style> block in the head; the classes are there for the PDF's print stylesheet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from engine.reports.model import Kind, Report, Section, Table
from engine.reports.render.charts import chart_svg
from engine.reports.render.fonts import CjkFont
from engine.reports.render.values import (
    WORDS,
    as_of,
    check_lang,
    shown,
    title,
    window,
)

# A mail body stays readable: longer tables are cut here, whole in the XLSX.
ROWS_AT_MOST = 200
# The reader's own Chinese fonts for the mail; the PDF names the font it embeds.
MAIL_FONTS = (
    '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Hiragino Sans GB", '
    '"Helvetica Neue", Arial, sans-serif'
)
_NUMERIC: frozenset[Kind] = frozenset({"units", "money", "share"})

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool


@dataclass(frozen=True)
class TableView:
    title: str
    headers: list[Cell]
    rows: list[list[Cell]]
    note: str | None
    more_rows: str | None


@dataclass(frozen=True)
class FigureView:
    label: str
    value: str
    note: int  # its footnote's number


@dataclass
class SectionView:
    key: str
    title: str
    empty: str | None
    figures: list[FigureView] = field(default_factory=list)
    tables: list[TableView] = field(default_factory=list)
    charts: list[Markup] = field(default_factory=list)
    footnotes: list[tuple[int, str, str]] = field(default_factory=list)


def html_page(report: Report, lang: str, font: CjkFont | None = None) -> str:
    """The report as a whole HTML document in `lang` (en or zh). `font`: the Chinese
    font the charts draw with (the system's, looked for when a chart has Chinese text)."""
    return page(report, lang, font, MAIL_FONTS)


def page(report: Report, lang: str, font: CjkFont | None, font_family: str) -> str:
    """html_page with the page's font family named (the PDF names the font it embeds)."""
    check_lang(lang)
    numbers = count(1)  # footnotes numbered through the whole report
    sections = [_section(s, lang, font, numbers) for s in report.sections]
    return TEMPLATES.get_template("report.html.j2").render(
        lang="zh-CN" if lang == "zh" else "en",
        title=title(report)(lang),
        brand_label=WORDS["brand"](lang),
        brand=report.brand,
        window_label=WORDS["window"](lang),
        window=window(report),
        as_of_label=WORDS["as_of"](lang),
        as_of=as_of(report),
        definitions=WORDS["definitions"](lang),
        sources_label=WORDS["sources"](lang),
        sources=sorted(report.sources.items()),
        sections=sections,
        font_family=font_family,
    )


def _section(s: Section, lang: str, font: CjkFont | None, numbers: Iterator[int]) -> SectionView:
    view = SectionView(s.key, s.title(lang), s.empty(lang) if s.empty else None)
    for f in s.figures:
        number = next(numbers)
        view.figures.append(FigureView(f.label(lang), shown(f.value, f.kind), number))
        view.footnotes.append((number, f.label(lang), f.definition(lang)))
    view.tables = [table_view(t, lang) for t in s.tables]
    for chart in s.charts:
        table = s.table(chart.table)
        if table.rows:  # a chart of nothing says nothing: the table says it has no rows
            view.charts.append(Markup(chart_svg(chart, table, lang, font)))
    return view


def table_view(t: Table, lang: str, rows_at_most: int = ROWS_AT_MOST) -> TableView:
    """A table as the templates show it: its first `rows_at_most` rows, each value as
    text, and a line saying how many more there are."""
    numeric = [c.kind in _NUMERIC for c in t.columns]
    headers = [Cell(c.label(lang), n) for c, n in zip(t.columns, numeric, strict=True)]
    rows = [
        [Cell(shown(v, c.kind, lang), n) for v, c, n in zip(row, t.columns, numeric, strict=True)]
        for row in t.rows[:rows_at_most]
    ]
    more = len(t.rows) - rows_at_most
    return TableView(
        t.title(lang),
        headers,
        rows,
        t.note(lang) if t.note else None,
        WORDS["more_rows"](lang).format(n=f"{more:,}") if more > 0 else None,
    )
