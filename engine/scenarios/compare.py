"""Scenario variants side by side: every KPI (kpis.KPIS) with its delta against the
base (the first variant), as a rich table, JSON-safe data and long-format CSV.

The relative delta is a fraction of the base (0.1 = +10%); it is None when the base is 0,
where no ratio means anything. Charts of a comparison are in charts.py.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import Any, Literal

from rich.table import Table
from rich.text import Text

from engine.scenarios.kpis import KPI, KPI_NAMES, KPIS
from engine.scenarios.spec import VariantResult

Verdict = Literal["good", "bad"]

_STYLE: dict[Verdict, str] = {"good": "green", "bad": "red"}
# Means over replications differ from the base by float noise; not a move either way.
_NOISE = 1e-9


@dataclass(frozen=True)
class Delta:
    absolute: float  # variant - base
    relative: float | None  # absolute / base; None when the base is 0


@dataclass(frozen=True)
class Compared:
    """One variant of the comparison."""

    result: VariantResult
    deltas: dict[str, Delta] | None  # KPI_NAMES -> delta against the base; None: the base


@dataclass(frozen=True)
class Comparison:
    variants: tuple[Compared, ...]  # the base first

    @property
    def base(self) -> VariantResult:
        return self.variants[0].result

    @property
    def results(self) -> list[VariantResult]:
        return [v.result for v in self.variants]


def _delta(value: float, base: float) -> Delta:
    absolute = value - base
    return Delta(absolute, absolute / base if base != 0 else None)


def comparison(results: list[VariantResult]) -> Comparison:
    """The results against the first one (the base)."""
    if not results:
        raise ValueError("nothing to compare: no variant results")
    names = [r.name for r in results]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"variant names must be unique; repeated: {', '.join(twice)}")
    for r in results:
        missing = [k for k in KPI_NAMES if k not in r.kpis]
        if missing:
            raise ValueError(f"variant {r.name!r} lacks KPIs: {', '.join(missing)}")
    base = results[0].kpis
    compared = [Compared(results[0], None)] + [
        Compared(r, {k: _delta(r.kpis[k], base[k]) for k in KPI_NAMES}) for r in results[1:]
    ]
    return Comparison(tuple(compared))


def verdict(kpi: str, delta: float) -> Verdict | None:
    """Whether a move of `delta` against the base is good or bad for the KPI; None for a
    neutral KPI or no move."""
    higher = KPI[kpi].higher_is_better
    if higher is None or abs(delta) <= _NOISE:
        return None
    return "good" if (delta > 0) == higher else "bad"


# --- numbers as people read them -------------------------------------------------------


def _count(value: float) -> str:
    # Means over replications can be fractional; whole numbers stay whole.
    return f"{value:,.0f}" if abs(value - round(value)) < 0.05 else f"{value:,.1f}"


def format_value(kpi: str, value: float) -> str:
    unit = KPI[kpi].unit
    if unit == "share":
        return f"{value:.1%}"
    if unit == "days":
        return f"{value:,.1f}"
    return _count(value)


def format_delta(kpi: str, delta: float) -> str:
    if abs(delta) <= _NOISE:
        return "±0"
    unit = KPI[kpi].unit
    if unit == "share":  # a difference of two percentages is in points
        return f"{delta * 100:+.1f} pp"
    if unit == "days":
        return f"{delta:+,.1f}"
    text = _count(abs(delta))
    return ("+" if delta > 0 else "-") + text


def kpi_cell(kpi: str, value: float, delta: Delta | None) -> Text:
    """'value (+delta)', the delta coloured by whether it is good or bad for the KPI."""
    cell = Text(format_value(kpi, value))
    if delta is not None:
        found = verdict(kpi, delta.absolute)
        cell.append(f" ({format_delta(kpi, delta.absolute)})", _STYLE[found] if found else "")
    return cell


# How a column names the velocity omnistock planned on (history.py).
_VELOCITY_LABEL = {"true": "true means", "naive": "naive", "estimated": "estimated"}


def velocity_line(r: VariantResult) -> str:
    """A column's third line for omnistock: the velocity it planned on."""
    if r.planner_velocity is None:
        return ""
    return f"\nvelocity: {_VELOCITY_LABEL[r.planner_velocity]}"


def render_table(c: Comparison) -> Table:
    """KPIs as rows, variants as columns."""
    table = Table(title=f"scenario variants against {c.base.name!r}")
    table.add_column("kpi", no_wrap=True)
    for v in c.variants:
        r = v.result
        table.add_column(f"{r.name}\n{r.planner}, {r.mode}{velocity_line(r)}", justify="right")
    for kpi in KPI_NAMES:
        cells = [
            kpi_cell(kpi, v.result.kpis[kpi], None if v.deltas is None else v.deltas[kpi])
            for v in c.variants
        ]
        table.add_row(kpi, *cells)
    warned = [f"{r.name} ({len(r.warnings)})" for r in c.results if r.warnings]
    if warned:  # the messages themselves are in to_json
        table.caption = "warnings: " + ", ".join(warned)
    return table


# --- data --------------------------------------------------------------------------------


def _plain(value: float, digits: int = 4) -> float | None:
    """A JSON-safe float: rounded, no -0.0, None for NaN or infinity."""
    if not math.isfinite(value):
        return None
    return round(float(value), digits) + 0.0


def _pct(delta: Delta) -> float | None:
    return None if delta.relative is None else _plain(delta.relative * 100, 2)


def _by_kpi(values: dict[str, float]) -> dict[str, float | None]:
    return {k: _plain(values.get(k, 0.0)) for k in KPI_NAMES}  # spread may be left out


def to_json(c: Comparison) -> dict[str, Any]:
    """Plain data, keys in a fixed order; delta_pct is in percent (None: a zero base)."""

    def deltas(v: Compared) -> dict[str, Any] | None:
        if v.deltas is None:
            return None
        return {k: {"delta": _plain(d.absolute), "delta_pct": _pct(d)} for k, d in v.deltas.items()}

    return {
        "base": c.base.name,
        "kpis": list(KPI_NAMES),
        "higher_is_better": {kpi.name: kpi.higher_is_better for kpi in KPIS},
        "variants": [
            {
                "name": v.result.name,
                "planner": v.result.planner,
                "planner_velocity": v.result.planner_velocity,
                "mode": v.result.mode,
                "kpis": _by_kpi(v.result.kpis),
                "spread": _by_kpi(v.result.spread),
                "deltas": deltas(v),
                "sell_through_by_shop": {
                    shop: _plain(x) for shop, x in v.result.sell_through_by_shop.items()
                },
                "plans_made": v.result.plans_made,
                "seconds": _plain(v.result.seconds, 3),
                "warnings": list(v.result.warnings),
            }
            for v in c.variants
        ],
    }


CSV_COLUMNS = ("variant", "planner", "mode", "kpi", "value", "spread", "delta", "delta_pct")


def to_csv(c: Comparison) -> str:
    """One row per variant and KPI (long format, for pivoting); delta and delta_pct
    (percent) are empty on the base's rows, delta_pct also where the base is 0."""

    def cell(value: float | None) -> str:
        return "" if value is None else repr(value)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for v in c.variants:
        r = v.result
        for kpi in KPI_NAMES:
            d = v.deltas[kpi] if v.deltas is not None else None
            writer.writerow(
                [
                    r.name,
                    r.planner,
                    r.mode,
                    kpi,
                    cell(_plain(r.kpis[kpi])),
                    cell(_plain(r.spread.get(kpi, 0.0))),
                    "" if d is None else cell(_plain(d.absolute)),
                    "" if d is None else cell(_pct(d)),
                ]
            )
    return out.getvalue()
