"""A report as the body of a mail, made for mail clients rather than the browser.

The browser page (html.py) inlines its charts as SVG and keeps up to 200 rows a table:
about 340 KB for the demo report. Gmail clips a body above ~102 KB behind a "view
entire message" link, and Gmail and desktop Outlook show no inline SVG at all. The mail
body keeps what a reader takes in at a glance - every headline figure with its
definition beside it, each chart as a PNG sent in the mail (`cid:`), the first rows of
each table - and says that the full tables are in the attached workbook and PDF.

Styles are inline on each element and the layout is tables, as desktop Outlook (Word's
renderer) needs: no <style> block, no flex, no max-width it would heed (the conditional
comment gives it a fixed width instead).
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, field

from markupsafe import Markup

from engine.reports.delivery.message import InlineImage
from engine.reports.model import Report, Section, Text
from engine.reports.render.charts import chart_png
from engine.reports.render.fonts import CjkFont
from engine.reports.render.html import MAIL_FONTS, TEMPLATES, TableView, table_view
from engine.reports.render.values import WORDS, as_of, check_lang, shown, title, window

__all__ = ["ROWS_IN_MAIL", "MailBody", "mail_body"]

# The first rows of each table (top products are first): a glance, not the data.
ROWS_IN_MAIL = 10
# The width the body is laid out at, and its charts within it (less the padding).
BODY_PX = 720
CHART_PX = 688
CONTENT_DOMAIN = "omnistock"
# Desktop Outlook does not carry a font from a cell into the tables inside it; a style
# block only it reads (a conditional comment) names Windows' fonts for every element,
# instead of repeating the font stack on each of the body's hundreds of cells.
MSO_FONTS = Markup('"Microsoft YaHei", "Segoe UI", Arial, sans-serif')
_NOT_IN_ID = re.compile(r"[^\w-]+", re.ASCII)

MAIL_WORDS = {
    "full_tables": Text(
        "The charts and the first rows of each table are below; the full tables are in "
        "the attached workbook (XLSX) and PDF.",
        "以下为图表及各表前几行；完整表格见附件中的工作簿（XLSX）和 PDF。",
    ),
}


@dataclass(frozen=True)
class MailBody:
    """The HTML of the mail and the images it names by `cid:`, each named once."""

    html: str
    images: tuple[InlineImage, ...]


@dataclass(frozen=True)
class FigureLine:
    label: str
    value: str
    definition: str


@dataclass(frozen=True)
class ChartImage:
    content_id: str
    title: str
    width: int  # as laid out, in CSS pixels; the PNG has twice as many or more
    height: int


@dataclass
class MailSection:
    title: str
    empty: str | None
    figures: list[FigureLine] = field(default_factory=list)
    charts: list[ChartImage] = field(default_factory=list)
    tables: list[TableView] = field(default_factory=list)


def mail_body(report: Report, lang: str, font: CjkFont | None = None) -> MailBody:
    """The report as a mail body in `lang` (en or zh). `font`: the Chinese font the
    charts draw with (the system's, looked for when a chart has Chinese text)."""
    check_lang(lang)
    images: list[InlineImage] = []
    sections = [_section(s, lang, font, images) for s in report.sections]
    html = TEMPLATES.get_template("mail.html.j2").render(
        lang="zh-CN" if lang == "zh" else "en",
        title=title(report)(lang),
        brand_label=WORDS["brand"](lang),
        brand=report.brand,
        window_label=WORDS["window"](lang),
        window=window(report),
        as_of_label=WORDS["as_of"](lang),
        as_of=as_of(report),
        full_tables=MAIL_WORDS["full_tables"](lang),
        sources_label=WORDS["sources"](lang),
        sources=sorted(report.sources.items()),
        sections=sections,
        font_family=MAIL_FONTS,
        mso_fonts=MSO_FONTS,
        body_px=BODY_PX,
    )
    return MailBody(html, tuple(images))


def _section(s: Section, lang: str, font: CjkFont | None, images: list[InlineImage]) -> MailSection:
    view = MailSection(s.title(lang), s.empty(lang) if s.empty else None)
    view.figures = [
        FigureLine(f.label(lang), shown(f.value, f.kind), f.definition(lang)) for f in s.figures
    ]
    for chart in s.charts:
        table = s.table(chart.table)
        if not table.rows:  # a chart of nothing says nothing: the table says it has no rows
            continue
        png = chart_png(chart, table, lang, font)
        image = InlineImage(_content_id(s.key, chart.key, png), png)
        images.append(image)
        width, height = _png_size(png)
        view.charts.append(
            ChartImage(
                image.content_id, chart.title(lang), CHART_PX, round(CHART_PX * height / width)
            )
        )
    view.tables = [table_view(t, lang, ROWS_IN_MAIL) for t in s.tables]
    return view


def _content_id(section: str, chart: str, png: bytes) -> str:
    """`<section>-<chart>-<digest>@omnistock`: unique in the mail (a section's charts have
    keys of their own) and across mails (a client that caches images by Content-ID must
    not show last week's chart), the same for the same picture."""
    local = _NOT_IN_ID.sub("_", f"{section}-{chart}")
    return f"{local}-{hashlib.sha256(png).hexdigest()[:12]}@{CONTENT_DOMAIN}"


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG's header (its IHDR chunk, bytes 16 to 24)."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)
