"""A demo brand's report inputs over a Double-11 window, drawn in-process with no server:
`omnistock report build --demo --brand b1 --from 2026-11-10 --to 2026-11-12` reads them.

- sales: the demo snapshot taken after the campaign (engine/demo.py `after_campaign`),
  whose history peaks on 2026-11-11;
- the published plan: the plan of the demo snapshot of Double-11's eve (engine/demo.py
  AS_OF) under the demo ruleset, as `omnistock plan` makes it;
- settlement: the settlement demo's month 2026-11 of the brand, settled in-process
  (engine/settlement/demo.py and `settle`);
- price breaches: the catalog demo's products and Double-11 price policy, guarded at
  the policy's instant (the catalog functions the price service calls);
- listing completeness: the same products checked against the requirements of each
  platform the brand has a shop on, with that shop's settings.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from engine.catalog.completeness import check_products
from engine.catalog.demo import write_catalog
from engine.catalog.importer import parse_catalog
from engine.catalog.prices.guard import check, sku_arrays
from engine.catalog.prices.policy import load_policy
from engine.catalog.registry import default_registry
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot
from engine.core.snapshot import Shop, Snapshot
from engine.demo import BRANDS, DEFAULT_SEED, DEFAULT_SKUS, build_demo
from engine.planning.planner import input_hash, plan_document
from engine.reports.errors import UnknownBrand, check_window
from engine.reports.inputs import (
    CompletenessInput,
    PriceCheckInput,
    ReportInputs,
    ReportKind,
    SettlementInput,
    brand_breaches,
    completeness_by_platform,
    inputs_of,
    months,
)
from engine.settlement.contract import load_contract
from engine.settlement.demo import PERIOD, write_settlement_demo
from engine.settlement.output import bill_document, summary_document
from engine.settlement.settle import settle
from rules.catalog import Ruleset
from rules.load import parse_ruleset

__all__ = ["HISTORY_DAYS", "demo_inputs"]

# Four weeks of sales before the snapshot: the window and the everyday weeks before it.
HISTORY_DAYS = 28


def _plan(snapshot: Snapshot, ruleset: Ruleset) -> tuple[str, dict[str, object]]:
    index = SnapshotIndex.build(snapshot)
    digest = input_hash(snapshot, ruleset, snapshot.mode)
    document = plan_document(index, ruleset, snapshot.mode, digest)
    return str(document["plan_id"]), document


def _settlement(brand: str, seed: int) -> SettlementInput | None:
    with tempfile.TemporaryDirectory(prefix="omnistock-report-demo-") as tmp:
        write_settlement_demo(Path(tmp), seed)
        folder = Path(tmp) / "settlement" / brand
        if not folder.is_dir():
            return None
        files = sorted(folder.iterdir())
        named = {"orders.csv", "warehouse.csv", "contract.yaml"}
        contract = load_contract(folder / "contract.yaml")
        run = settle(
            [folder / "orders.csv"],
            [f for f in files if f.name not in named],
            [folder / "warehouse.csv"],
            contract,
            PERIOD,
        )
    summary = summary_document(run.bill, run.outcomes, run.control)
    return SettlementInput(
        f"demo-{brand}-{PERIOD}", PERIOD, bill_document(run.bill), summary["outcomes"]
    )


def _catalog(
    snapshot_doc: dict[str, Any], snapshot: Snapshot, brand: str, seed: int
) -> tuple[PriceCheckInput, tuple[CompletenessInput, ...]]:
    """The catalog demo's products guarded under its price policy, and checked against
    the requirements of each platform the brand has a shop on (that shop's settings)."""
    with tempfile.TemporaryDirectory(prefix="omnistock-report-demo-") as tmp:
        catalog_file, shops_file, policy_file = write_catalog(Path(tmp), snapshot_doc, seed)
        settings = yaml.safe_load(shops_file.read_text(encoding="utf-8"))["shops"]
        shops = [Shop(id=s.id, brand=s.brand, platform=s.platform) for s in snapshot.shops]
        policy = load_policy(policy_file, [s.id for s in shops])
        products = parse_catalog(catalog_file)
    at = policy.as_of or snapshot.as_of
    result = check(sku_arrays(products, policy), shops, policy, at)
    body = {"breaches": [row.as_dict() for row in result.breaches()]}
    mine = [p for p in products if p.brand == brand]
    # Stock comes from a published plan when a product is listed: 0 here is no gap.
    stock = {sku.sku_code: 0 for p in mine for sku in p.skus}
    contexts: dict[str, Mapping[str, Any]] = {}
    for shop in sorted(settings, key=lambda s: s["id"]):
        if shop["brand"] == brand:
            contexts.setdefault(shop["platform"], {**shop["settings"], "stock": stock})
    checks = check_products(mine, sorted(contexts), default_registry(), contexts)
    completeness = completeness_by_platform((c.platform, c.ok, c.score) for c in checks)
    return brand_breaches("demo", at.isoformat(), body, brand), completeness


def demo_inputs(
    brand: str,
    start: date,
    end: date,
    *,
    today: date | None = None,
    kind: ReportKind = "campaign",
    seed: int = DEFAULT_SEED,
    skus: int = DEFAULT_SKUS,
    history_days: int = HISTORY_DAYS,
) -> ReportInputs:
    """The inputs of the demo brand's report over `start`..`end` (the demo's sales run to
    2026-11-12; the settlement demo is of 2026-11)."""
    check_window(start, end, today or date.today())
    if brand not in {b.id for b in BRANDS}:  # before any data is drawn
        raise UnknownBrand(brand, [b.id for b in BRANDS])
    after_doc, rules_doc = build_demo(seed, skus, history_days, after_campaign=True)
    snapshot = parse_snapshot(after_doc, "demo snapshot")
    ruleset = parse_ruleset(rules_doc, "demo rules")
    eve_doc, _ = build_demo(seed, skus)
    eve = parse_snapshot(eve_doc, "demo snapshot")
    plan_id, plan = _plan(eve, ruleset)
    settlement = _settlement(brand, seed) if PERIOD in months(start, end) else None
    prices, completeness = _catalog(eve_doc, eve, brand, seed)
    return inputs_of(
        snapshot,
        ruleset,
        brand,
        start,
        end,
        today=today or date.today(),
        kind=kind,
        plans={plan_id: plan},
        settlements=[settlement] if settlement else [],
        prices=prices,
        completeness=completeness,
        sources={"demo_seed": str(seed), "demo_skus": str(skus)},
    )
