"""Plans of the tenant: what a plan is computed from, computing and storing it, and
reading it back (whole, or cut to a brand) with the story of one SKU."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from engine.core.io import parse_plan, parse_snapshot
from engine.core.modes import NORMAL, PEAK, Mode
from engine.planning.explain import explain_sku
from engine.planning.planner import Progress, make_plan
from engine.services.brand_cut import BrandCut, brand_map
from engine.services.mode_switch import mode_in_force
from engine.store.base import JsonObject, Store
from engine.store.errors import NotFound
from rules.load import parse_ruleset

META = "service"  # the key of what the service keeps beside a stored plan


@dataclass
class PlanInputs:
    """What one plan is computed from, read from the store at one moment."""

    stock_version: int
    ruleset_version: int
    snapshot: JsonObject
    ruleset: JsonObject
    mode: Mode


def plan_inputs(store: Store, asked: Mode | None) -> PlanInputs:
    """The stored snapshot and latest ruleset, in the mode asked for; with none asked
    for, the mode in force: peak while the tenant's switch says so (Double-11), else
    the snapshot's own mode."""
    tenant_peak = asked is None and mode_in_force(store) == PEAK
    snapshot = store.get_snapshot()
    rules = store.get_ruleset()
    mode = asked if asked is not None else PEAK if tenant_peak else _own_mode(snapshot.body)
    return PlanInputs(snapshot.version, rules.version, snapshot.body, rules.body, mode)


def _own_mode(snapshot: JsonObject) -> Mode:
    # A stored snapshot was checked on its way in: its mode is peak, normal or unset.
    return PEAK if snapshot.get("mode") == PEAK else NORMAL


def plan_cells(snapshot: JsonObject) -> int:
    """The plan's size in (SKU, shop) cells - SKUs times shops of each brand - read off
    the document without parsing it, to choose between answering now and a job."""
    skus: dict[str, int] = {}
    shops: dict[str, int] = {}
    for items, counts in ((snapshot.get("skus"), skus), (snapshot.get("shops"), shops)):
        for item in items if isinstance(items, list) else []:
            brand = item.get("brand") if isinstance(item, dict) else None
            if isinstance(brand, str):
                counts[brand] = counts.get(brand, 0) + 1
    return sum(n * shops.get(brand, 0) for brand, n in skus.items())


def compute_plan(
    inputs: PlanInputs, time_limit_s: float, progress: Progress | None = None
) -> tuple[JsonObject, JsonObject]:
    """The plan document and what the service keeps beside it (pure: no store)."""
    snapshot = parse_snapshot(inputs.snapshot, "stored snapshot")
    ruleset = parse_ruleset(inputs.ruleset, "stored ruleset")
    plan = make_plan(snapshot, ruleset, inputs.mode, time_limit_s=time_limit_s, progress=progress)
    meta = {
        "stock_version": inputs.stock_version,
        "ruleset_version": inputs.ruleset_version,
        "brands": brand_map(snapshot),
    }
    return plan.model_dump(mode="json"), meta


def save_plan(store: Store, document: JsonObject, meta: JsonObject) -> JsonObject:
    """Store a computed plan; its view (as `get_plan` shows it to the whole tenant)."""
    store.put_plan(document["plan_id"], {**document, META: meta})
    return _view(document["plan_id"], document, meta, None)


def stored_plan(store: Store, plan_id: str) -> tuple[JsonObject, JsonObject]:
    """A stored plan document and what the service keeps beside it; NotFound if none."""
    document = store.get_plan(plan_id)
    meta = document.pop(META)
    return document, meta


def get_plan(store: Store, plan_id: str, brand: str | None) -> JsonObject:
    """A stored plan, cut to `brand`'s SKUs and shops unless `brand` is None."""
    document, meta = stored_plan(store, plan_id)
    return _view(plan_id, document, meta, brand)


def explain(store: Store, plan_id: str, sku: str, brand: str | None) -> JsonObject:
    """Why the plan gives each shop what it gives of `sku` (only `brand`'s shops, and
    another brand's SKU is not found, unless `brand` is None)."""
    document, meta = stored_plan(store, plan_id)
    cut = BrandCut.of(meta["brands"], brand) if brand is not None else None
    known = sku in meta["brands"]["skus"] if cut is None else sku in cut.skus
    if not known:
        raise NotFound(f"SKU in plan {plan_id}", sku)
    story = explain_sku(parse_plan(document, "stored plan"), sku)
    if cut is not None:
        story.cells[:] = [c for c in story.cells if c.shop in cut.shops]
    return asdict(story)


def _view(plan_id: str, document: JsonObject, meta: JsonObject, brand: str | None) -> JsonObject:
    if brand is not None:
        document = BrandCut.of(meta["brands"], brand).plan(document)
    return {
        "plan_id": plan_id,
        "stock_version": meta["stock_version"],
        "ruleset_version": meta["ruleset_version"],
        "brand": brand,
        "plan": document,
    }
