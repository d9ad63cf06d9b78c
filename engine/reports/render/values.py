"""How a report's values and the renderers' own words read, the same in every format.

The XLSX keeps numbers as numbers (with a number format); the HTML, the PDF, the chat
summary and the charts' axes show them as text written here, so no two formats round
or sign a value differently.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from engine.core.errors import InputError, Issue
from engine.reports.model import LANGS, Kind, Report, Text, Value
from engine.reports.terms import term

MISSING = "—"  # a value the data does not have (not zero)

WORDS = {
    "campaign": Text("Campaign report", "活动报告"),
    "monthly": Text("Monthly report", "月度报告"),
    "brand": Text("Brand", "品牌"),
    "window": Text("Window", "统计期"),
    "as_of": Text("Data as of", "数据截至"),
    "sources": Text("Built from", "数据来源"),
    "definitions": Text("Definitions", "指标定义"),
    "figure": Text("Figure", "指标"),
    "value": Text("Value", "数值"),
    "note": Text("Note", "注"),
    "more_rows": Text("{n} more rows are in the XLSX attachment.", "另有 {n} 行见 XLSX 附件。"),
}


def check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise InputError([Issue("lang", f"must be one of {', '.join(LANGS)}, got {lang!r}")])


def yuan(fen: int) -> float:
    """Whole fen as yuan, the nearest float to fen / 100 (what a spreadsheet stores)."""
    return fen / 100


def money_text(fen: int) -> str:
    """Fen as yuan with separators, exactly (integers, no float): 123456 -> '¥1,234.56'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def shown(value: Value, kind: Kind, lang: str = "en") -> str:
    """A value as the HTML, the PDF and the chat summary show it."""
    if value is None:
        return MISSING
    if kind == "term" and isinstance(value, str):
        return term(value, lang)
    if kind == "money" and isinstance(value, int):
        return money_text(value)
    if kind == "share" and isinstance(value, int | float):
        return f"{value:.1%}"
    if kind == "units" and isinstance(value, int | float):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def title(report: Report) -> Text:
    return report.title or WORDS[report.kind]


def window(report: Report) -> str:
    return f"{report.start.isoformat()} – {report.end.isoformat()}"


def as_of(report: Report) -> str:
    return report.as_of.strftime("%Y-%m-%d %H:%M %Z").strip()


def file_stem(report: Report, lang: str) -> str:
    """`<brand>-<kind>-<start>-<end>-<lang>`, the brand kept to letters, digits, dots,
    dashes and underscores (a brand id is data: a slash in it must not make a folder)."""
    brand = re.sub(r"[^\w.-]", "_", report.brand).lstrip(".") or "_"
    return f"{brand}-{report.kind}-{report.start}-{report.end}-{lang}"
