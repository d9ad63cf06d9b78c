"""Comparing scenario variants: deltas, JSON, CSV, the table and the charts."""

from __future__ import annotations

import csv
import io
import json
import struct
from pathlib import Path

import pytest
from rich.text import Text

from engine.scenarios import charts
from engine.scenarios.charts import kpi_chart, lost_by_shop_chart, write_charts
from engine.scenarios.compare import (
    CSV_COLUMNS,
    Comparison,
    comparison,
    render_table,
    to_csv,
    to_json,
    verdict,
)
from engine.scenarios.kpis import KPI_NAMES, KPIS
from engine.scenarios.simulate import simulate
from engine.scenarios.spec import (
    IncumbentPolicy,
    SimulationSettings,
    VariantInputs,
    VariantResult,
)
from rules.load import parse_ruleset
from tests.helpers import snapshot
from tests.scenarios.helpers import table_text

PNG = b"\x89PNG\r\n\x1a\n"
SHOPS = ("tm-b1", "jd-b1", "dy-b1")
BASE_KPIS = {
    "units_listed_day0": 1000.0,
    "units_sold": 800.0,
    "revenue": 12000.5,
    "lost_sales": 200.0,
    "avoidable_lost_sales": 50.0,
    "units_oversold": 0.0,
    "oversell_attempts_prevented": 30.0,
    "stranded_units_end": 40.0,
    "unsold_units_end": 60.0,
    "cover_days_start": 12.5,
    "cover_days_end": 3.25,
    "pool_utilisation": 0.8,
    "sell_through": 0.5,
}


def result(name: str, planner: str = "omnistock", shops: int = 3, **kpis: float) -> VariantResult:
    """A variant over 5 days: the base's KPIs but for `kpis`; lost units grow by shop."""
    names = SHOPS if shops == len(SHOPS) else tuple(f"shop-{i:02d}" for i in range(shops))
    lost = {s: [float(i + day % 2) for day in range(5)] for i, s in enumerate(names)}
    return VariantResult(
        name=name,
        planner=planner,  # type: ignore[arg-type]
        mode="peak" if name == "double11" else "normal",
        kpis=BASE_KPIS | kpis,
        spread=dict.fromkeys(KPI_NAMES, 0.0),
        sell_through_by_shop={s: 0.25 * (i + 1) for i, s in enumerate(names)},
        lost_by_shop_day=lost,
        sold_by_shop_day={s: [2.0] * 5 for s in names},
        plans_made=1,
        seconds=0.123456,
    )


def three() -> Comparison:
    return comparison(
        [
            result("base"),
            result("double11", units_sold=900.0, lost_sales=250.0, sell_through=0.75),
            result("versus-incumbent", "incumbent", units_oversold=12.0, lost_sales=150.0),
        ]
    )


# --- deltas ------------------------------------------------------------------------------


def test_every_kpi_of_every_other_variant_has_its_delta_against_the_base() -> None:
    c = three()
    assert c.base.name == "base" and c.variants[0].deltas is None
    double11 = c.variants[1].deltas
    assert double11 is not None and list(double11) == list(KPI_NAMES)
    assert double11["units_sold"].absolute == 100.0
    assert double11["units_sold"].relative == 0.125
    assert double11["lost_sales"].absolute == 50.0
    assert double11["lost_sales"].relative == 0.25
    assert double11["sell_through"].relative == 0.5
    assert double11["revenue"].absolute == 0.0 and double11["revenue"].relative == 0.0
    incumbent = c.variants[2].deltas
    assert incumbent is not None
    assert incumbent["lost_sales"].absolute == -50.0
    assert incumbent["lost_sales"].relative == -0.25


def test_a_zero_base_gives_no_relative_delta() -> None:
    c = three()
    oversold = [v.deltas["units_oversold"] for v in c.variants[1:] if v.deltas]
    assert [(d.absolute, d.relative) for d in oversold] == [(0.0, None), (12.0, None)]
    data = to_json(c)
    assert data["variants"][2]["deltas"]["units_oversold"] == {"delta": 12.0, "delta_pct": None}
    rows = list(csv.DictReader(io.StringIO(to_csv(c))))
    row = next(
        r for r in rows if r["variant"] == "versus-incumbent" and r["kpi"] == "units_oversold"
    )
    assert (row["delta"], row["delta_pct"]) == ("12.0", "")


def test_nothing_to_compare_or_repeated_names_or_missing_kpis_are_refused() -> None:
    with pytest.raises(ValueError, match="no variant results"):
        comparison([])
    with pytest.raises(ValueError, match="repeated: base"):
        comparison([result("base"), result("base")])
    partial = result("partial")
    del partial.kpis["revenue"]
    with pytest.raises(ValueError, match="'partial' lacks KPIs: revenue"):
        comparison([result("base"), partial])


# --- JSON and CSV ----------------------------------------------------------------------


def test_json_is_plain_ordered_and_round_trips() -> None:
    c = three()
    data = to_json(c)
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert list(data) == ["base", "kpis", "higher_is_better", "variants"]
    assert data["kpis"] == list(KPI_NAMES) and data["base"] == "base"
    variants = data["variants"]
    assert [v["name"] for v in variants] == ["base", "double11", "versus-incumbent"]
    assert list(variants[1]) == [
        "name",
        "planner",
        "planner_velocity",
        "mode",
        "kpis",
        "spread",
        "deltas",
        "sell_through_by_shop",
        "plans_made",
        "seconds",
        "warnings",
    ]
    assert list(variants[1]["kpis"]) == list(KPI_NAMES)
    assert variants[0]["deltas"] is None
    assert variants[1]["deltas"]["units_sold"] == {"delta": 100.0, "delta_pct": 12.5}
    assert (variants[1]["planner"], variants[1]["mode"]) == ("omnistock", "peak")
    assert variants[2]["planner"] == "incumbent"
    assert variants[1]["planner_velocity"] is None  # not simulated: none recorded
    assert variants[0]["seconds"] == 0.123  # rounded
    assert variants[0]["sell_through_by_shop"] == {"tm-b1": 0.25, "jd-b1": 0.5, "dy-b1": 0.75}
    assert to_json(three()) == data  # the same input, the same data


def test_json_carries_warnings_and_rounds_noise_away() -> None:
    noisy = result("noisy", sell_through=0.1 + 0.2)  # 0.30000000000000004
    noisy.warnings.append("day 7: no plan (conflict); the previous listings stood")
    data = to_json(comparison([result("base"), noisy]))
    assert data["variants"][1]["warnings"] == noisy.warnings
    assert data["variants"][1]["kpis"]["sell_through"] == 0.3
    assert data["variants"][1]["deltas"]["sell_through"]["delta_pct"] == -40.0


def test_csv_has_a_row_per_variant_and_kpi_and_parses_back() -> None:
    c = three()
    text = to_csv(c)
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]
    assert len(body) == len(c.variants) * len(KPI_NAMES) == 39
    assert [r["kpi"] for r in body[:13]] == list(KPI_NAMES)
    assert all(r["delta"] == r["delta_pct"] == "" for r in body if r["variant"] == "base")
    sold = next(r for r in body if r["variant"] == "double11" and r["kpi"] == "units_sold")
    assert sold == {
        "variant": "double11",
        "planner": "omnistock",
        "mode": "peak",
        "kpi": "units_sold",
        "value": "900.0",
        "spread": "0.0",
        "delta": "100.0",
        "delta_pct": "12.5",
    }
    for r in body:  # every number reads back as a float
        float(r["value"]), float(r["spread"])


# --- the table ---------------------------------------------------------------------------


def test_the_table_text_names_every_variant_and_kpi_with_readable_numbers() -> None:
    text = table_text(three(), width=160)
    for name in ("base", "double11", "versus-incumbent", "incumbent, normal", "omnistock, peak"):
        assert name in text
    for kpi in KPI_NAMES:
        assert kpi in text
    assert "12,000" in text and "1,000" in text  # thousands separators
    assert "900 (+100)" in text and "150 (-50)" in text
    assert "12 (+12)" in text and "0 (±0)" in text  # oversold from a zero base
    assert "12.5" in text and "3.2" in text  # days of cover, 1 decimal
    assert "75.0% (+25.0 pp)" in text and "80.0%" in text  # shares in percent, deltas in points
    assert "\x1b[" not in text  # plain text


def test_a_narrow_table_still_names_everything() -> None:
    text = table_text(three(), width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert all(kpi in text for kpi in KPI_NAMES)  # the KPI column is never cut


def test_colours_follow_whether_higher_is_better_for_the_kpi() -> None:
    assert set(to_json(three())["higher_is_better"]) == set(KPI_NAMES)
    assert verdict("units_sold", 100.0) == "good" and verdict("units_sold", -1.0) == "bad"
    assert verdict("lost_sales", 50.0) == "bad" and verdict("lost_sales", -50.0) == "good"
    assert verdict("units_oversold", 12.0) == "bad"
    assert verdict("cover_days_end", 3.0) is None  # neutral
    assert verdict("units_sold", 0.0) is None and verdict("units_sold", 1e-12) is None

    table = render_table(three())
    cells = [list(column.cells) for column in table.columns]  # [0] is the KPI names

    def cell(variant: int, kpi: str) -> Text:
        found = cells[variant + 1][KPI_NAMES.index(kpi)]
        assert isinstance(found, Text)
        return found

    def delta_style(variant: int, kpi: str) -> str:
        return " ".join(str(span.style) for span in cell(variant, kpi).spans)

    assert delta_style(1, "units_sold") == "green"  # sold more: better
    assert delta_style(1, "lost_sales") == "red"  # lost more: worse
    assert delta_style(2, "lost_sales") == "green"
    assert delta_style(2, "units_oversold") == "red"
    assert delta_style(1, "revenue") == ""  # no move
    assert delta_style(0, "units_sold") == ""  # the base has no delta
    assert cell(1, "units_sold").plain == "900 (+100)"


def test_the_table_notes_warnings() -> None:
    warned = result("warned")
    warned.warnings += ["one", "two"]
    assert "warnings: warned (2)" in table_text(comparison([result("base"), warned]))
    assert "warnings" not in table_text(three())


# --- charts ----------------------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(PNG) and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_charts_are_pngs_and_the_same_input_writes_the_same_bytes(tmp_path: Path) -> None:
    first = write_charts(three(), tmp_path / "a")
    again = write_charts(three(), tmp_path / "b")
    names = ["kpis.png", "lost_sales_by_shop.png", "lost_sales_total.png"]
    assert [p.name for p in first] == [p.name for p in again] == names
    for a, b in zip(first, again, strict=True):
        assert a.stat().st_size > 0 and min(png_size(a)) > 100
        assert a.read_bytes() == b.read_bytes()


def test_error_bars_appear_with_a_spread(tmp_path: Path) -> None:
    plain = kpi_chart(three(), tmp_path / "plain.png")
    spread = three()
    for v in spread.results:
        v.spread["units_sold"] = 25.0
    bars = kpi_chart(spread, tmp_path / "bars.png")
    assert plain.read_bytes() != bars.read_bytes()


def test_the_kpi_chart_draws_any_number_of_charted_kpis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [k.name for k in charts.HEADLINE] == [k.name for k in KPIS if k.chart]
    monkeypatch.setattr(charts, "HEADLINE", charts.HEADLINE[:5])  # a row not filled
    assert png_size(kpi_chart(three(), tmp_path / "five.png"))[1] > 250


@pytest.mark.parametrize(("variants", "shops"), [(1, 3), (6, 3), (2, 14)])
def test_the_lost_sales_chart_lays_out_any_number_of_variants_and_shops(
    tmp_path: Path, variants: int, shops: int
) -> None:
    results = [result("base", shops=shops)] + [
        result(f"v{i}", shops=shops, lost_sales=200.0 + i) for i in range(1, variants)
    ]
    path = lost_by_shop_chart(comparison(results), tmp_path / "lost.png")
    width, height = png_size(path)
    rows = 1 if variants <= 3 else 2
    assert height > 250 * rows and width > 350 * min(variants, 3)


def test_a_simulated_comparison_goes_through_every_output(tmp_path: Path) -> None:
    snap = snapshot(pools={"S": 6, "T": 3}, velocity={("S", "A"): 2.0, ("T", "B"): 1.5})
    rules = parse_ruleset({"rules": []})
    settings = SimulationSettings(horizon_days=5, replications=2)
    results = [
        simulate(VariantInputs("base", snap, rules, "normal"), settings),
        simulate(
            VariantInputs(
                "incumbent", snap, rules, "normal", "incumbent", IncumbentPolicy(safety_stock=1)
            ),
            settings,
        ),
    ]
    c = comparison(results)
    assert json.loads(json.dumps(to_json(c), allow_nan=False)) == to_json(c)
    assert len(to_csv(c).splitlines()) == 1 + 2 * len(KPI_NAMES)
    assert "incumbent" in table_text(c)
    assert all(p.read_bytes().startswith(PNG) for p in write_charts(c, tmp_path))
