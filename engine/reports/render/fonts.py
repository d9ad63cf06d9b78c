"""The Chinese font the PDF embeds and the charts draw with, found once per process.

No font file is kept in the repository: it comes from the system (Debian's
fonts-noto-cjk or fonts-wqy-microhei, found through fontconfig, which WeasyPrint's
Pango uses to lay out text anyway) or from a file named in the settings. Without one
the PDF would show empty boxes for every Chinese character, so its absence is an error
naming the package to install, never a silent fallback.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.core.errors import OmnistockError

# Simplified Chinese first; a Traditional or Japanese face of the same family still
# holds every character, with a few glyphs drawn differently.
PREFERRED = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
)
INSTALL_HINT = (
    "install a Chinese font: `apt-get install fonts-noto-cjk` (or fonts-wqy-microhei) "
    "on Debian and Ubuntu, or set OMNISTOCK_REPORT_FONT to a .ttf, .otf or .ttc file"
)
# Characters a font must draw to be taken for Chinese text.
_PROBE = "中文报告销售额"


class MissingFontError(OmnistockError):
    """No font that draws Chinese: the report cannot be drawn legibly."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"no Chinese font for the report ({detail}): {INSTALL_HINT}")


@dataclass(frozen=True)
class CjkFont:
    """A font file and the family name it is known by (`index`: its face in a .ttc)."""

    path: Path
    family: str
    index: int = 0
    # True when fontconfig knows it (WeasyPrint finds it by family name); False for a
    # file from the settings, which the PDF's stylesheet loads by its path.
    installed: bool = True


def cjk_font(configured: Path | None = None) -> CjkFont:
    """The configured font file when one is set, else the best Chinese font fontconfig
    knows (matplotlib's font list where fontconfig's tools are missing)."""
    return _cjk_font(configured.resolve() if configured is not None else None)


@lru_cache(maxsize=8)
def _cjk_font(configured: Path | None) -> CjkFont:
    if configured is not None:
        return _font_file(configured)
    if shutil.which("fc-list"):
        found = _fontconfig_fonts()
        where = "fontconfig lists none for lang=zh"
    else:
        found = _matplotlib_fonts()
        where = "fc-list is not installed and matplotlib found none"
    if not found:
        raise MissingFontError(where)
    return min(found, key=_preference)


def _preference(font: CjkFont) -> tuple[int, bool, str]:
    rank = PREFERRED.index(font.family) if font.family in PREFERRED else len(PREFERRED)
    return rank, "bold" in font.path.name.lower(), str(font.path)


def _fontconfig_fonts() -> list[CjkFont]:
    listed = subprocess.run(
        ["fc-list", "--format", "%{file}\t%{index}\t%{family}\t%{style}\n", ":lang=zh"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout
    fonts = []
    for line in listed.splitlines():
        path, index, families, style = (line.split("\t") + ["", "", ""])[:4]
        if not path or "bold" in style.lower():
            continue
        names = families.split(",")
        family = next((n for n in names if n in PREFERRED), names[0])
        fonts.append(CjkFont(Path(path), family, int(index or 0)))
    return fonts


def _matplotlib_fonts() -> list[CjkFont]:
    from matplotlib import font_manager

    return [
        CjkFont(Path(f.fname), f.name)
        for f in font_manager.fontManager.ttflist
        if f.name in PREFERRED and f.weight in ("normal", "regular", 400)
    ]


def _font_file(path: Path) -> CjkFont:
    """A font file from the settings, checked to exist and to draw Chinese."""
    from fontTools.ttLib import TTFont, TTLibError

    if not path.is_file():
        raise MissingFontError(f"the configured font {path} does not exist")
    try:
        font = TTFont(path, fontNumber=0, lazy=True)
        cmap = font.getBestCmap() or {}
        family = str(font["name"].getBestFamilyName())
    except (TTLibError, OSError, KeyError) as err:
        raise MissingFontError(f"the configured font {path} cannot be read: {err}") from None
    if not all(ord(c) in cmap for c in _PROBE):
        raise MissingFontError(f"the configured font {path} ({family}) has no Chinese")
    return CjkFont(path, family, 0, installed=False)


def needs_cjk(text: str) -> bool:
    """Whether a text holds characters a Latin font does not draw (CJK and beyond)."""
    return any(ord(c) >= 0x2E80 for c in text)
