"""PNG charts of a scenario comparison (compare.py).

Drawn on `Figure` objects with the Agg canvas, never through pyplot: no global backend or
current-figure state, so the API can draw in several threads and importing this module
changes nothing for anyone else. Saved without the Software stamp so the same comparison
gives the same bytes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from engine.scenarios.compare import Comparison
from engine.scenarios.kpis import KPIS, Kpi
from engine.scenarios.spec import VariantResult

HEADLINE = tuple(kpi for kpi in KPIS if kpi.chart)  # a panel each in kpis.png

DPI = 110
BASE_COLOUR = "#333333"
OTHER_SHOPS = "#c8c8c8"
_TAB10 = [colormaps["tab10"](i) for i in range(10)]
_VARIANT_COLOURS = [colour for i, colour in enumerate(_TAB10) if i != 7]  # grey: the base's
NAMED_SHOPS = len(_TAB10)  # a colour each; shops that lose less are drawn light grey, unnamed
GRID_COLUMNS = 3
MARKED_DAYS = 14  # on a short horizon each day gets a dot


def variant_colours(c: Comparison) -> list[Any]:
    """The base dark, every other variant its own colour, the same in every chart."""
    others = range(len(c.variants) - 1)
    return [BASE_COLOUR] + [_VARIANT_COLOURS[i % len(_VARIANT_COLOURS)] for i in others]


def _label(c: Comparison, i: int) -> str:
    name = c.variants[i].result.name
    return f"{name} (base)" if i == 0 and name != "base" else name


def _units(x: float, _pos: int | None = None) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.3g}"


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    return path


def _kpi_panel(ax: Axes, kpi: Kpi, c: Comparison, colours: list[Any]) -> None:
    names = [r.name for r in c.results]
    values = [r.kpis[kpi.name] for r in c.results]
    spread = [r.spread.get(kpi.name, 0.0) for r in c.results]
    x = np.arange(len(names))
    errors = spread if any(s > 0 for s in spread) else None  # replications > 1
    ax.bar(x, values, color=colours, yerr=errors, capsize=3, ecolor="#555555", width=0.7)
    ax.axhline(values[0], color=BASE_COLOUR, linestyle="--", linewidth=0.8)  # the base level
    note = "" if kpi.better is None else f"\n{kpi.better} is better"
    ax.set_title(kpi.name + note, fontsize=10)
    ax.set_xticks(x)
    if len(names) == 1:  # a lone bar would fill the panel
        ax.set_xlim(-1.0, 1.0)
    turn = len(names) > 2 or max(len(n) for n in names) > 10
    ax.set_xticklabels(names, rotation=30 if turn else 0, ha="right" if turn else "center")
    ax.get_xticklabels()[0].set_fontweight("bold")
    share = kpi.unit == "share"
    ax.yaxis.set_major_formatter(PercentFormatter(1.0) if share else FuncFormatter(_units))
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def kpi_chart(c: Comparison, path: Path) -> Path:
    """One bar panel per headline KPI, a bar per variant, the base dark and dashed across."""
    rows = 2  # every headline KPI in two rows, however many there are
    columns = math.ceil(len(HEADLINE) / rows)
    panel = max(2.8, 1.2 + 0.45 * len(c.variants))
    fig = Figure(figsize=(columns * panel, rows * 3.6), layout="constrained")
    colours = variant_colours(c)
    panels = list(fig.subplots(rows, columns).flat)
    for ax, kpi in zip(panels, HEADLINE, strict=False):
        _kpi_panel(ax, kpi, c, colours)
    for ax in panels[len(HEADLINE) :]:  # the last row's places left over
        ax.set_visible(False)
    spread = any(r.spread.get(k.name, 0.0) > 0 for r in c.results for k in HEADLINE)
    note = "; error bars: ±1 standard deviation over the replications" if spread else ""
    fig.suptitle(f"KPIs per variant over the horizon (base: {c.base.name}, dashed){note}")
    return _save(fig, path)


def _shop_order(results: list[VariantResult]) -> list[str]:
    """Every shop, those that lost most over all variants first."""
    lost: dict[str, float] = {}
    for r in results:
        for shop, days in r.lost_by_shop_day.items():
            lost[shop] = lost.get(shop, 0.0) + float(sum(days))
    return sorted(lost, key=lambda shop: -lost[shop])  # stable: ties keep the data's order


def lost_by_shop_chart(c: Comparison, path: Path) -> Path:
    """Lost units per day and shop: a panel per variant (a grid when there are many), a
    line per shop; the shops that lose most are named, the rest drawn grey."""
    n = len(c.variants)
    columns = min(n, GRID_COLUMNS)
    rows = math.ceil(n / columns)
    fig = Figure(figsize=(1.2 + 4.2 * columns, 0.8 + 2.9 * rows), layout="constrained")
    grid = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).flat
    shops = _shop_order(c.results)
    named = dict(zip(shops[:NAMED_SHOPS], _TAB10, strict=False))
    for i, ax in enumerate(grid):
        if i >= n:
            ax.set_visible(False)
            continue
        r = c.results[i]
        # grey first, so the named shops' lines lie on top
        for shop in sorted(r.lost_by_shop_day, key=lambda s: s in named):
            days = r.lost_by_shop_day[shop]
            colour = named.get(shop, OTHER_SHOPS)
            width = 1.4 if shop in named else 0.8
            marker = "." if len(days) <= MARKED_DAYS else None
            ax.plot(range(len(days)), days, color=colour, linewidth=width, marker=marker)
        if not r.lost_by_shop_day:
            ax.text(0.5, 0.5, "no shops", transform=ax.transAxes, ha="center", color="grey")
        ax.set_title(_label(c, i), fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(_units))
        ax.grid(alpha=0.3)
    # Only now, with every line drawn: a limit set earlier stops the shared axis growing.
    fig.axes[0].set_ylim(bottom=0)
    handles = [Line2D([], [], color=colour, linewidth=1.4) for colour in named.values()]
    labels = list(named)
    if len(shops) > NAMED_SHOPS:
        handles.append(Line2D([], [], color=OTHER_SHOPS, linewidth=0.8))
        labels.append(f"{len(shops) - NAMED_SHOPS} other shops")
    if handles:
        fig.legend(handles, labels, loc="outside right upper", title="shop", fontsize=8)
    fig.suptitle("Lost sales per shop over the horizon")
    fig.supxlabel("day of the horizon (0 = the snapshot's as_of)")
    fig.supylabel("lost units per day")
    return _save(fig, path)


def _lost_per_day(r: VariantResult) -> list[float]:
    days = list(r.lost_by_shop_day.values())
    return [float(x) for x in np.sum(np.array(days, dtype=float), axis=0)] if days else []


def lost_total_chart(c: Comparison, path: Path) -> Path:
    """All shops' lost units per day, a line per variant."""
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (r, colour) in enumerate(zip(c.results, variant_colours(c), strict=True)):
        lost = _lost_per_day(r)
        width = 2.2 if i == 0 else 1.4
        ax.plot(range(len(lost)), lost, color=colour, linewidth=width, label=_label(c, i))
    ax.set_title("Lost sales per day, all shops")
    ax.set_xlabel("day of the horizon (0 = the snapshot's as_of)")
    ax.set_ylabel("lost units per day")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(_units))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(title="variant", fontsize=8, loc="best")
    return _save(fig, path)


def write_charts(c: Comparison, out_dir: Path) -> list[Path]:
    """kpis.png, lost_sales_by_shop.png and lost_sales_total.png in out_dir (made if
    missing); the paths written, in that order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        kpi_chart(c, out_dir / "kpis.png"),
        lost_by_shop_chart(c, out_dir / "lost_sales_by_shop.png"),
        lost_total_chart(c, out_dir / "lost_sales_total.png"),
    ]
