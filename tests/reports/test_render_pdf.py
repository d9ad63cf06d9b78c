"""The PDF read back (pypdf): pages, the text in the report's language, the Chinese font
embedded (its program in the file, FontFile2 or FontFile3, under a CJK family's name);
a clear error, and no file, where no Chinese font is installed; the docs picture."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib
import pypdf
import pytest

from engine.reports.render import MissingFontError, render
from engine.reports.render.fonts import cjk_font
from engine.reports.render.pdf import first_page_png
from engine.reports.render.values import shown
from tests.reports.sample import REPORT

CJK_NAMES = ("CJK", "WenQuanYi", "Source-Han", "SourceHan", "wqy")


def embedded_fonts(path: Path) -> dict[str, set[str]]:
    """Each font's name in the PDF and the kinds of font program it carries."""
    fonts: dict[str, set[str]] = {}
    for page in pypdf.PdfReader(path).pages:
        resources: Any = page["/Resources"]
        for ref in resources["/Font"].values():
            font = ref.get_object()
            for part in [font, *(d.get_object() for d in font.get("/DescendantFonts", []))]:
                descriptor = part.get("/FontDescriptor")
                if descriptor is not None:
                    files = {k for k in descriptor.get_object() if str(k).startswith("/FontFile")}
                    fonts.setdefault(str(part["/BaseFont"]), set()).update(files)
    return fonts


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pdf")
    return {lang: render(REPORT, lang, out, formats=["pdf"])["pdf"] for lang in ("en", "zh")}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pages_hold_the_report_in_its_language(pdfs: dict[str, Path], lang: str) -> None:
    path = pdfs[lang]
    assert path.name == f"b1-campaign-2026-11-10-2026-11-12-{lang}.pdf"
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) >= 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert REPORT.title is not None and REPORT.title(lang) in text
    for section in REPORT.sections:
        assert section.title(lang) in text
        for f in section.figures:
            assert f.label(lang) in text
            assert shown(f.value, f.kind) in text
    assert "天猫超市" in text  # Chinese data in an English report, drawn too
    settlement = REPORT.section("settlement")
    assert settlement.empty is not None and settlement.empty(lang) in text
    if lang == "zh":
        assert "每日销售" in text and "售罄率" in text
    else:
        assert "Sell-through" in text and "每日销售" not in text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chinese_font_embedded(pdfs: dict[str, Path], lang: str) -> None:
    fonts = embedded_fonts(pdfs[lang])
    cjk = {name: files for name, files in fonts.items() if any(n in name for n in CJK_NAMES)}
    assert cjk, f"no CJK font among {sorted(fonts)}"
    family = cjk_font().family.replace(" ", "-")
    assert any(name.split("+")[-1].startswith(family) for name in cjk)
    # every font the PDF uses carries its program (subset): none left to the reader
    assert all(files & {"/FontFile2", "/FontFile3"} for files in fonts.values()), fonts


def test_a_font_file_from_the_settings_is_embedded(tmp_path: Path) -> None:
    system = cjk_font()
    report = replace(REPORT, sections=(REPORT.section("settlement"),))  # Chinese, no chart
    path = render(report, "zh", tmp_path, formats=["pdf"], font_file=system.path)["pdf"]
    configured = cjk_font(system.path)
    assert not configured.installed  # loaded by its path, not found by fontconfig
    names = embedded_fonts(path)
    assert any(configured.family.replace(" ", "-") in name for name in names), names
    assert "2026-11 结算期尚未对账。" in pypdf.PdfReader(path).pages[0].extract_text()


def test_a_font_without_chinese_is_refused(tmp_path: Path) -> None:
    latin = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    with pytest.raises(MissingFontError, match="has no Chinese.*fonts-noto-cjk"):
        render(REPORT, "en", tmp_path, font_file=latin)
    with pytest.raises(MissingFontError, match="does not exist"):
        render(REPORT, "en", tmp_path, font_file=tmp_path / "none.ttf")
    assert list(tmp_path.iterdir()) == []  # refused before any file is written


def test_no_chinese_font_installed_is_a_clear_error(tmp_path: Path) -> None:
    """fontconfig given a configuration with no font folder: the machine of a newcomer
    who has not installed fonts-noto-cjk. No PDF of empty boxes, no file at all."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(f"<fontconfig><cachedir>{tmp_path}</cachedir></fontconfig>\n")
    out = tmp_path / "out"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from engine.reports.render import MissingFontError, render\n"
        "from tests.reports.sample import REPORT\n"
        "try:\n"
        f"    render(REPORT, 'zh', Path({str(out)!r}))\n"
        "except MissingFontError as err:\n"
        "    print(err)\n"
        "    sys.exit(3)\n"
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert "no Chinese font" in done.stdout
    assert "apt-get install fonts-noto-cjk" in done.stdout
    assert not out.exists()


def test_first_page_as_png(pdfs: dict[str, Path], tmp_path: Path) -> None:
    png = first_page_png(pdfs["zh"], tmp_path / "docs" / "first-page.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (827, 1170)  # A4 at 100 dpi
    assert [p.name for p in png.parent.iterdir()] == ["first-page.png"]


def test_a_brand_with_quotes_is_printed_in_the_footer(tmp_path: Path) -> None:
    """The footer is a CSS string: a quote or backslash in the brand's id ends nothing."""
    brand = 'b"1\\x'
    report = replace(REPORT, brand=brand, sections=(REPORT.section("settlement"),))
    path = render(report, "en", tmp_path, formats=["pdf"])["pdf"]
    text = pypdf.PdfReader(path).pages[0].extract_text()
    assert f"{brand} · 2026-11-10 – 2026-11-12" in text
    assert "1 / 1" in text
