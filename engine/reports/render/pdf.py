"""A report as PDF: the HTML page laid out by WeasyPrint, with the Chinese font embedded.

Why WeasyPrint: the PDF is the HTML page (one layout to keep, not two), and it is a
PyPI package whose only system needs are Pango and fontconfig, both in Debian; it
subsets and embeds every font it lays text in, so the PDF opens the same on a machine
without Chinese fonts. A headless browser would need a browser build; ReportLab would
need the report laid out a second time by hand.

The page names the font it embeds (fonts.py) first, so Chinese text is never left to a
fallback that draws empty boxes.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from engine.core.errors import OmnistockError
from engine.core.files import write_atomically
from engine.reports.model import Report
from engine.reports.render.fonts import CjkFont, cjk_font
from engine.reports.render.html import page

# A4 pages; the page counter and the report's name in the margins; a chart, a row or a
# figure never split across two pages.
PRINT_CSS = """
@page {
  size: A4;
  margin: 14mm 12mm 16mm 12mm;
  @bottom-left { content: %(footer)s; font: 8pt %(family)s; color: #7b8794; }
  @bottom-right {
    content: counter(page) " / " counter(pages); font: 8pt %(family)s; color: #7b8794;
  }
}
html { font-family: %(family)s; }
body { background: #ffffff !important; }
div.report { max-width: none !important; padding: 0 !important; }
div.chart, tr, table.figures, p.empty { break-inside: avoid; }
h2, h3 { break-after: avoid; }
div.chart svg { width: 100%%; height: auto; }
"""
# Docs pictures: the first page at this resolution (A4 -> 827 x 1170 pixels).
PNG_DPI = 100


class RenderError(OmnistockError):
    """A tool the renderer needs is missing or failed; the message says which."""


def write_pdf(report: Report, lang: str, path: Path, font: CjkFont | None = None) -> Path:
    """The report in `lang` as a PDF at `path` (written whole or not at all)."""
    font = font or cjk_font()
    weasyprint = _weasyprint()
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    family = f"{_css_string(font.family)}, sans-serif"
    footer = _css_string(f"{report.brand} · {report.start} – {report.end}")
    css = PRINT_CSS % {"footer": footer, "family": family}
    if not font.installed:  # a file from the settings: loaded by its path
        name, url = _css_string(font.family), _css_string(font.path.as_uri())
        css += f"@font-face {{ font-family: {name}; src: url({url}); }}"
    html = page(report, lang, font, family)
    document = weasyprint.HTML(string=html, base_url=str(path.parent))
    stylesheet = weasyprint.CSS(string=css, font_config=fonts)
    data = document.write_pdf(stylesheets=[stylesheet], font_config=fonts)
    write_atomically(path, data)
    return path


def _css_string(text: str) -> str:
    """Text as a quoted CSS string (a brand id is data: a quote in it ends nothing)."""
    escaped = "".join(c if c not in '"\\\n' else f"\\{ord(c):x} " for c in text)
    return f'"{escaped}"'


def _weasyprint() -> Any:
    try:
        import weasyprint
    except (ImportError, OSError) as err:  # OSError: Pango's libraries are missing
        raise RenderError(
            f"PDF reports need WeasyPrint and Pango ({err}): pip install weasyprint; "
            "apt-get install libpango-1.0-0 libpangoft2-1.0-0"
        ) from None
    return weasyprint


def first_page_png(pdf_path: Path, png_path: Path, dpi: int = PNG_DPI) -> Path:
    """The PDF's first page as a PNG (the picture in the docs), drawn by poppler's
    pdftoppm: the reference renderer on Debian, no Python package to add for a picture
    made by hand, and it draws the embedded fonts, so the picture shows what a reader
    of the PDF sees."""
    binary = shutil.which("pdftoppm")
    if binary is None:
        raise RenderError("pdftoppm is not installed: apt-get install poppler-utils")
    with tempfile.TemporaryDirectory() as folder:
        stem = Path(folder) / "page"
        done = subprocess.run(
            [binary, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile"]
            + [str(pdf_path), str(stem)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RenderError(f"pdftoppm could not draw {pdf_path}: {done.stderr.strip()}")
        write_atomically(png_path, stem.with_suffix(".png").read_bytes())
    return png_path
