"""A built report (engine/reports/model.py) drawn as XLSX, HTML and PDF, and as a few
lines for a chat robot. The renderers only draw: every figure comes from the model, so
the formats cannot disagree.

    paths = render(report, "zh", Path("out"))  # {"xlsx": ..., "html": ..., "pdf": ...}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from engine.core.errors import InputError, Issue
from engine.core.files import write_atomically
from engine.reports.model import Report
from engine.reports.render.fonts import CjkFont, MissingFontError, cjk_font
from engine.reports.render.html import html_page
from engine.reports.render.pdf import RenderError, first_page_png, write_pdf
from engine.reports.render.values import WORDS, check_lang, file_stem, shown, title, window
from engine.reports.render.xlsx import write_xlsx

__all__ = [
    "FORMATS",
    "MissingFontError",
    "RenderError",
    "file_name",
    "first_page_png",
    "html_page",
    "render",
    "summary_text",
]

FORMATS = ("xlsx", "html", "pdf")
SUMMARY_FIGURES = 6  # a chat message stays a glance


def file_name(report: Report, lang: str, fmt: str) -> str:
    """`<brand>-<kind>-<start>-<end>-<lang>.<fmt>`."""
    return f"{file_stem(report, lang)}.{fmt}"


def render(
    report: Report,
    lang: str,
    out_dir: Path,
    formats: Iterable[str] = FORMATS,
    font_file: Path | None = None,
) -> dict[str, Path]:
    """Each format of the report in `lang` written into `out_dir` (made if missing),
    each file whole or not at all; the paths by format. `font_file`: a Chinese font
    from the settings instead of the system's. The font is looked for before anything
    is written, so a missing one leaves no half set of files."""
    check_lang(lang)
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        message = f"unknown format(s) {', '.join(unknown)}: use {', '.join(FORMATS)}"
        raise InputError([Issue("formats", message)])
    font = _font(wanted, font_file)
    writers: dict[str, Callable[[Path], Path]] = {
        "xlsx": lambda path: write_xlsx(report, lang, path),
        "html": lambda path: _write_html(report, lang, path, font),
        "pdf": lambda path: write_pdf(report, lang, path, font),
    }
    return {f: writers[f](out_dir / file_name(report, lang, f)) for f in wanted}


def _font(formats: list[str], font_file: Path | None) -> CjkFont | None:
    """The Chinese font: always for a PDF (whatever its language, a product or shop name
    may be Chinese); the HTML's charts look for it themselves when they need it."""
    return cjk_font(font_file) if "pdf" in formats or font_file is not None else None


def _write_html(report: Report, lang: str, path: Path, font: CjkFont | None) -> Path:
    write_atomically(path, html_page(report, lang, font))
    return path


def summary_text(report: Report, lang: str) -> str:
    """A few lines for a chat robot: brand, report, window, the headline figures of the
    first section that has any (or why a section has none)."""
    check_lang(lang)
    lines = [
        f"{report.brand} · {title(report)(lang)}",
        f"{WORDS['window'](lang)}: {window(report)}",
    ]
    for s in report.sections:
        if s.figures:
            lines += [
                f"{f.label(lang)}: {shown(f.value, f.kind)}" for f in s.figures[:SUMMARY_FIGURES]
            ]
            break
        if s.empty:
            lines.append(f"{s.title(lang)}: {s.empty(lang)}")
            break
    return "\n".join(lines)
