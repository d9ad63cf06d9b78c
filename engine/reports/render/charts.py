"""A report's charts as inline SVG for the HTML and the PDF, and as PNG for the mail body
(render/mail.py: mail clients show no inline SVG), drawn from the table each chart names
on every run (the XLSX draws its own native charts from the same cells).

Drawn on `Figure` objects with the Agg canvas, never through pyplot, as
engine/scenarios/charts.py does: no global state, so reports render in several threads.
Text is drawn as paths (matplotlib's SVG default): the page needs no font to show the
labels, and the Chinese font is given to each text of the figure, never set globally.
"""

from __future__ import annotations

import hashlib
import html
import io
import math
import re
from typing import Any

import numpy as np
from matplotlib import colormaps, font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter
from PIL import Image

from engine.reports.model import Chart, Kind, Table
from engine.reports.render.fonts import CjkFont, cjk_font, needs_cjk
from engine.reports.render.values import shown, yuan

COLOURS = [colormaps["tab10"](i) for i in range(10)]
WIDTH_IN, HEIGHT_IN = 7.5, 3.4
LABELS_AT_MOST = 14  # category labels written along an axis; more are thinned out
LABEL_CHARS = 22  # a longer category (a product name) is cut with an ellipsis
BAR_ROW_IN = 0.28  # a horizontal bar chart grows with its rows
BARS_AT_MOST = 40  # bars past these (the table's order: top products first) are not drawn
# A mail lays a chart out about 700 px wide (WIDTH_IN at 96 dpi): twice that, so it is
# sharp on a phone's or a retina screen; the nine charts of the demo report take ~120 KB.
PNG_DPI = 192
PNG_COLOURS = 64


def chart_svg(chart: Chart, table: Table, lang: str, font: CjkFont | None) -> str:
    """The chart as an <svg> element (no XML prolog), sized by its viewBox."""
    return _svg(_figure(chart, table, lang, font), chart.title(lang))


def chart_png(
    chart: Chart, table: Table, lang: str, font: CjkFont | None, dpi: float = PNG_DPI
) -> bytes:
    """The chart as a PNG image, for mail clients that show no inline SVG (Gmail,
    desktop Outlook): the same drawing as the SVG, rasterised at `dpi`."""
    return _png(_figure(chart, table, lang, font), dpi)


def _figure(chart: Chart, table: Table, lang: str, font: CjkFont | None) -> Figure:
    category = table.column(chart.category)
    series = [table.column(key) for key in chart.series]
    rows = table.rows if chart.kind == "line" else table.rows[:BARS_AT_MOST]
    kind = table.columns[category].kind
    labels = [_cut(shown(row[category], kind, lang)) for row in rows]
    names = [table.columns[i].label(lang) for i in series]
    title = chart.title(lang)
    if font is None and needs_cjk(" ".join([title, *labels, *names])):
        font = cjk_font()  # Chinese labels: drawn in empty boxes without it
    text = _TextStyle(font)

    height = HEIGHT_IN
    if chart.kind == "bar":
        height = max(HEIGHT_IN, 1.2 + BAR_ROW_IN * len(labels) * max(1, len(series) / 2))
    fig = Figure(figsize=(WIDTH_IN, height), layout="constrained")
    ax = fig.subplots()
    first_kind = table.columns[series[0]].kind
    axes = {first_kind: ax}
    handles = []
    drawn: dict[Kind, list[float]] = {}
    for n, column in enumerate(series):
        kind = table.columns[column].kind
        if kind not in axes:  # a second unit (money beside units) on an axis of its own
            axes[kind] = ax.twiny() if chart.kind == "bar" else ax.twinx()
        values = [_number(row[column], kind) for row in rows]
        handles.append(_draw(axes[kind], chart.kind, n, len(series), values))
        drawn.setdefault(kind, []).extend(values)
    for kind, values in drawn.items():
        _format_axis(axes[kind], kind, chart.kind)
        _from_zero(axes[kind], chart.kind, values)
    _categories(ax, chart.kind, labels, text)
    ax.set_title(title, fontproperties=text.size(11))
    if len(series) > 1:
        ax.legend(handles, names, prop=text.size(8), loc="best")
    else:
        value_axis = ax.xaxis if chart.kind == "bar" else ax.yaxis
        value_axis.set_label_text(names[0], fontproperties=text.size(9))
    ax.grid(axis="x" if chart.kind == "bar" else "y", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


class _TextStyle:
    """The font for every text of one figure, at the sizes asked (the CJK font when
    there is one; matplotlib's default otherwise)."""

    def __init__(self, font: CjkFont | None) -> None:
        self.file: Any = None
        if font is not None:
            # The face of a .ttc collection (Noto's SC face is its third): matplotlib 3.11
            # reads a face by index; before, its first face (JP: a few glyphs differ).
            font_path = getattr(font_manager, "FontPath", None)
            self.file = font_path(font.path, font.index) if font_path else str(font.path)

    def size(self, points: float) -> FontProperties:
        return FontProperties(fname=self.file, size=points)


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _number(value: Any, kind: Kind) -> float:
    if value is None or isinstance(value, str):
        return math.nan  # a gap, not a zero
    return yuan(value) if kind == "money" else float(value)


def _draw(ax: Axes, kind: str, n: int, of: int, values: list[float]) -> Any:
    x = np.arange(len(values))
    colour = COLOURS[n % len(COLOURS)]
    if kind == "line":
        marker = "o" if len(values) <= 31 else None
        (line,) = ax.plot(x, values, color=colour, linewidth=1.8, marker=marker, markersize=3)
        return line
    width = 0.8 / of
    offset = (n - (of - 1) / 2) * width
    if kind == "bar":
        return ax.barh(x + offset, values, height=width, color=colour)
    return ax.bar(x + offset, values, width=width, color=colour)


def _format_axis(ax: Axes, kind: Kind, chart_kind: str) -> None:
    axis = ax.xaxis if chart_kind == "bar" else ax.yaxis
    if kind == "share":
        axis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    elif kind == "money":
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"¥{v:,.0f}"))
    else:
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        axis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=8)  # numbers and ¥: the default font draws them


def _from_zero(ax: Axes, chart_kind: str, values: list[float]) -> None:
    """The value axis from zero, as bars must be read; lower where a value is negative
    (a day of refunds)."""
    low = min([0.0, *(v for v in values if not math.isnan(v))])
    if chart_kind == "bar":
        ax.set_xlim(left=low)
    else:
        ax.set_ylim(bottom=low)


def _categories(ax: Axes, chart_kind: str, labels: list[str], text: _TextStyle) -> None:
    step = max(1, math.ceil(len(labels) / LABELS_AT_MOST)) if chart_kind != "bar" else 1
    ticks = list(range(0, len(labels), step))
    shown_labels = [labels[i] for i in ticks]
    if chart_kind == "bar":
        ax.set_yticks(ticks, shown_labels, fontproperties=text.size(8))
        ax.invert_yaxis()  # the table's first row on top
        return
    turn = len(ticks) > 6 or max((len(t) for t in shown_labels), default=0) > 10
    ax.set_xticks(
        ticks,
        shown_labels,
        fontproperties=text.size(8),
        rotation=30 if turn else 0,
        ha="right" if turn else "center",
    )


_PROLOG = re.compile(r"\A.*?(?=<svg)", re.S)
# The comments repeat each text drawn; the stylesheet (line joins) would apply to the
# whole page it is inlined in, and mail clients drop it: its rule moves to the <svg>.
_NOISE = re.compile(r"<!--.*?-->|<metadata>.*?</metadata>\s*|<style[^>]*>.*?</style>\s*", re.S)
_JOINS = 'stroke-linejoin="round" stroke-linecap="butt"'
_SIZE = re.compile(r'<svg([^>]*?) width="[^"]*" height="[^"]*"')


# matplotlib numbers the ids of each figure from 1 (`line2d_1`, `patch_3`, glyphs by
# name): two charts inlined in one page would share ids, which HTML forbids and which
# let one chart's `url(#...)` reach another's clip path. Each chart's ids get a prefix
# of its own - a digest of the SVG, so the same chart keeps the same bytes.
_ID = re.compile(r'(\bid="|xlink:href="#|href="#|url\(#)([^")]+)')


def _scoped(svg: str) -> str:
    prefix = "c" + hashlib.sha1(svg.encode()).hexdigest()[:8] + "-"
    return _ID.sub(lambda m: f"{m[1]}{prefix}{m[2]}", svg)


def _svg(fig: Figure, title: str) -> str:
    FigureCanvasAgg(fig)
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    svg = _scoped(_NOISE.sub("", _PROLOG.sub("", out.getvalue())))
    # Width from the page (a mail client's or a PDF page's), height from the viewBox.
    label = html.escape(title, quote=True)
    return _SIZE.sub(
        lambda m: f'<svg{m[1]} width="100%" {_JOINS} role="img" aria-label="{label}"',
        svg.strip(),
        1,
    )


def _png(fig: Figure, dpi: float) -> bytes:
    """The figure drawn by Agg and kept as a palette PNG: a chart has a few colours and
    their anti-aliased edges, which a palette holds without a visible step, at a third
    of the bytes of the full-colour image (about 13 KB a chart at PNG_DPI)."""
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
    palette = image.convert("RGB").quantize(
        PNG_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()
