"""The allocation service behind the planning routes (api/routes/planning.py): one
function per route, each checking the caller's key with `authorize` and working on the
caller's tenant's store. The routes only translate HTTP to these calls.

- operators read and write their tenant's data;
- a brand viewer reads only: plans and published quantities are cut to its brand's
  SKUs and shops, and tenant-wide documents (the ruleset) are refused;
- an admin has no access to planning data.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from engine.access.roles import Principal, authorize
from engine.checks.findings import at_least
from engine.checks.publish import PublishRefused, check_after_publish, precheck_publish
from engine.core.errors import InputError, Issue
from engine.core.index import SnapshotIndex
from engine.core.io import canonical_json, parse_plan, parse_snapshot
from engine.core.plan import Plan
from engine.core.settings import Settings
from engine.core.snapshot import ListedRow, Snapshot
from engine.planning.explain import explain_sku
from engine.planning.planner import Progress, make_plan
from engine.store.base import JsonObject, Mode, SharedPart, Store, merge_stock
from engine.store.errors import NotFound
from engine.store.memory import MemoryStore
from rules.catalog import Ruleset
from rules.load import parse_ruleset
from rules.references import check_references

StoreFactory = Callable[[str], Store]
META = "service"  # the key of what the service keeps beside a stored plan


class StoreRegistry:
    """One store per tenant, made on first use by `factory` and kept for the process."""

    def __init__(
        self,
        factory: StoreFactory | None = None,
        redis_url: str | None = None,
        mode_max_age_s: float | None = None,
    ) -> None:
        self._factory: StoreFactory = factory or MemoryStore
        # Set when the stores live in this Redis: jobs then go to RQ on it as well.
        self.redis_url = redis_url
        # Set in API workers: each store's mode is then heard from the broadcast.
        self._mode_max_age_s = mode_max_age_s
        self._stores: dict[str, Store] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str) -> Store:
        with self._lock:
            store = self._stores.get(tenant)
            if store is None:
                store = self._stores[tenant] = self._factory(tenant)
                if self._mode_max_age_s is not None:
                    store.watch_mode(self._mode_max_age_s)
            return store

    def ping(self) -> bool:
        """Whether a store made by this registry answers (readiness)."""
        try:
            return self.get("_readiness").ping()
        except Exception:  # any failure to reach the store means not ready
            return False

    def close(self) -> None:
        with self._lock:
            stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            store.close()


DEMO_TENANT = "demo"


def seed_demo(stores: StoreRegistry) -> bool:
    """Give the tenant "demo" the demo snapshot and rules unless it has a snapshot
    already (so restarts and other workers sharing Redis do not overwrite its state)."""
    from engine.demo import build_demo

    store = stores.get(DEMO_TENANT)
    if store.stock_version() > 0:
        return False
    snapshot, rules = build_demo()
    store.put_snapshot({**snapshot, "tenant": DEMO_TENANT})
    store.put_ruleset(rules)
    return True


def store_registry(settings: Settings, mode_max_age_s: float | None = None) -> StoreRegistry:
    """RedisStore per tenant when `settings.redis_url` is set, else MemoryStore; with
    `mode_max_age_s`, each store's mode is watched (engine/store/watch.py)."""
    url = settings.redis_url
    if not url:
        return StoreRegistry(mode_max_age_s=mode_max_age_s)
    from engine.store.redis_store import RedisStore

    return StoreRegistry(
        lambda tenant: RedisStore(tenant, url=url), redis_url=url, mode_max_age_s=mode_max_age_s
    )


# --- access -----------------------------------------------------------------------------


def _write(principal: Principal) -> None:
    authorize(principal, "write", principal.tenant, None)


def _read_scope(principal: Principal) -> str | None:
    """The brand the caller may read (None: the whole tenant); Forbidden if none."""
    authorize(principal, "read", principal.tenant, principal.brand)
    return principal.brand


# --- snapshot ---------------------------------------------------------------------------


def _check_tenant(snapshot: Snapshot, principal: Principal, source: str) -> None:
    if snapshot.tenant != principal.tenant:
        message = f"must be the key's tenant {principal.tenant!r}, not {snapshot.tenant!r}"
        raise InputError([Issue("tenant", message)], source)


def put_snapshot(store: Store, principal: Principal, body: JsonObject) -> int:
    _write(principal)
    _check_tenant(parse_snapshot(body, "body"), principal, "body")
    return store.put_snapshot(body)


def stock_version(store: Store, principal: Principal) -> int:
    _read_scope(principal)
    return store.stock_version()


def patch_stock(store: Store, principal: Principal, rows: list[JsonObject], version: int) -> int:
    """Apply stock rows at `version`; the merged snapshot must still be valid."""
    _write(principal)
    current = store.get_snapshot()
    merged = merge_stock(current.body, rows)
    parse_snapshot(merged, "body.stock (merged into the snapshot)")
    return store.patch_stock(rows, version)


def _snapshot(store: Store) -> tuple[int, Snapshot]:
    stored = store.get_snapshot()
    return stored.version, parse_snapshot(stored.body, "stored snapshot")


# --- ruleset ----------------------------------------------------------------------------


def check_ruleset(store: Store, body: JsonObject) -> Ruleset:
    """The parsed ruleset; InputError naming each rule (position and id) and field, also
    for names the current snapshot does not have."""
    ruleset = parse_ruleset(body, "body")
    try:
        _, snapshot = _snapshot(store)
    except NotFound:
        return ruleset
    try:
        check_references(ruleset, SnapshotIndex.build(snapshot))
    except InputError as error:
        raise InputError(error.issues, "body") from None
    return ruleset


def validate_ruleset(store: Store, principal: Principal, body: JsonObject) -> int:
    """The number of rules of a valid ruleset (nothing stored)."""
    _write(principal)
    return len(check_ruleset(store, body).rules)


def put_ruleset(store: Store, principal: Principal, body: JsonObject) -> int:
    _write(principal)
    check_ruleset(store, body)
    return store.put_ruleset(body)


def get_ruleset(store: Store, principal: Principal) -> tuple[int, JsonObject]:
    authorize(principal, "read", principal.tenant, None)  # tenant-wide document
    stored = store.get_ruleset()
    return stored.version, stored.body


# --- plans ------------------------------------------------------------------------------


def _brand_map(snapshot: Snapshot) -> JsonObject:
    return {
        "skus": {s.id: s.brand for s in snapshot.skus},
        "shops": {s.id: s.brand for s in snapshot.shops},
    }


def get_mode(store: Store, principal: Principal) -> JsonObject:
    authorize(principal, "read", principal.tenant, None)
    mode = store.mode_now()
    return {**mode.to_json(), "effective": mode.effective(_now())}


def put_mode(store: Store, principal: Principal, body: JsonObject) -> JsonObject:
    """Switch the tenant to normal or peak (optionally scheduled); the store broadcasts
    it, so every API worker and job sharing the store sees it at once."""
    _write(principal)
    try:
        mode = Mode.from_json(body)
    except ValueError as error:  # a timestamp that is no ISO 8601 moment
        raise InputError([Issue("body", str(error))], "mode") from None
    stored = store.put_mode(mode)
    return {**stored.to_json(), "effective": stored.effective(_now())}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class PlanInputs:
    """What one plan is computed from, read from the store at one moment."""

    stock_version: int
    ruleset_version: int
    snapshot: JsonObject
    ruleset: JsonObject
    mode: str | None  # None: the snapshot's own mode


def plan_inputs(store: Store, mode: str | None) -> PlanInputs:
    """The stored snapshot and latest ruleset; with no mode asked for, the tenant's mode
    in force now (Double-11 switch). No access check: callers have done it."""
    if mode is None:
        mode = "peak" if store.mode_now().effective(_now()) == "peak" else None
    snapshot = store.get_snapshot()
    rules = store.get_ruleset()
    return PlanInputs(snapshot.version, rules.version, snapshot.body, rules.body, mode)


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
        "brands": _brand_map(snapshot),
    }
    return plan.model_dump(mode="json"), meta


def save_plan(store: Store, document: JsonObject, meta: JsonObject) -> JsonObject:
    store.put_plan(document["plan_id"], {**document, META: meta})
    return _plan_view(document["plan_id"], document, meta, None)


def _visible(item: Any, skus: set[str], shops: set[str]) -> bool:
    if not isinstance(item, dict) or not ("sku" in item or "shop" in item):
        return False
    return ("sku" not in item or item["sku"] in skus) and (
        "shop" not in item or item["shop"] in shops
    )


def _brand_names(meta: JsonObject, brand: str) -> tuple[set[str], set[str]]:
    brands = meta["brands"]
    skus = {sku for sku, b in brands["skus"].items() if b == brand}
    shops = {shop for shop, b in brands["shops"].items() if b == brand}
    return skus, shops


def _plan_view(
    plan_id: str, document: JsonObject, meta: JsonObject, brand: str | None
) -> JsonObject:
    if brand is not None:
        skus, shops = _brand_names(meta, brand)
        cut: JsonObject = {"plan_id": document["plan_id"], "mode": document["mode"]}
        for name in ("allocations", "unallocated", "warnings", "skus"):
            cut[name] = [i for i in document.get(name, []) if _visible(i, skus, shops)]
        document = cut
    return {
        "plan_id": plan_id,
        "stock_version": meta["stock_version"],
        "ruleset_version": meta["ruleset_version"],
        "brand": brand,
        "plan": document,
    }


def _stored_plan(store: Store, plan_id: str) -> tuple[JsonObject, JsonObject]:
    document = store.get_plan(plan_id)
    meta = document.pop(META)
    return document, meta


def get_plan(store: Store, principal: Principal, plan_id: str) -> JsonObject:
    brand = _read_scope(principal)
    document, meta = _stored_plan(store, plan_id)
    return _plan_view(plan_id, document, meta, brand)


def explain(store: Store, principal: Principal, plan_id: str, sku: str) -> JsonObject:
    brand = _read_scope(principal)
    document, meta = _stored_plan(store, plan_id)
    owner = meta["brands"]["skus"].get(sku)
    if owner is None or (brand is not None and owner != brand):
        raise NotFound(f"SKU in plan {plan_id}", sku)
    story = explain_sku(parse_plan(document, "stored plan"), sku)
    if brand is not None:
        _, shops = _brand_names(meta, brand)
        story.cells[:] = [c for c in story.cells if c.shop in shops]
    return asdict(story)


# --- publishing and orders --------------------------------------------------------------


def publish(
    store: Store, principal: Principal, plan_id: str, idempotency_key: str, body: JsonObject
) -> JsonObject:
    """Publish a plan computed on the current stock version (StaleVersion otherwise);
    the same key with the same plan and body returns the first result."""
    _write(principal)
    request = {"plan_id": plan_id, "body": body}
    body_hash = hashlib.sha256(canonical_json(request).encode()).hexdigest()
    try:
        document, meta = _stored_plan(store, plan_id)
        version = int(meta["stock_version"])
    except NotFound:
        document, version = {}, -1  # the store answers a repeated key, else NotFound
    guard = _peak_guard(store, document, version)
    result = store.publish(plan_id, idempotency_key, body_hash, version).to_json()
    if guard is not None:
        result["peak_checks"] = guard.after(store)
    return result


class _PeakGuard:
    """Double-11: the plan is checked against the stock again before publishing (a
    high warning refuses the publish), and the published quantities after it."""

    def __init__(self, plan: Plan, snapshot: Snapshot) -> None:
        self.plan = plan
        self.snapshot = snapshot
        self.before = precheck_publish(plan, snapshot)
        blocking = at_least(self.before, "high")
        if blocking:
            raise PublishRefused(plan.plan_id, blocking)

    def after(self, store: Store) -> JsonObject:
        # What each shop now shows: its own units plus the shared part it lists.
        listed = [
            ListedRow(sku=row["sku"], shop=row["shop"], quantity=row["quantity"] + row["shared"])
            for row in _listings(store.published(), store.published_shared())
        ]
        read_back = self.snapshot.model_copy(update={"listed": listed})
        warnings = check_after_publish(self.plan, read_back)
        return {
            "before": [w.model_dump() for w in self.before],
            "after": [w.model_dump() for w in warnings],
        }


def _peak_guard(store: Store, document: JsonObject, version: int) -> _PeakGuard | None:
    """The guard when peak mode is on (the tenant's mode or the plan's) and the plan was
    made on the current stock; otherwise the store decides (replay or StaleVersion)."""
    if not document:
        return None
    plan = parse_plan(document, "stored plan")
    if store.mode_now().effective(_now()) != "peak" and plan.mode != "peak":
        return None
    current, snapshot = _snapshot(store)
    return _PeakGuard(plan, snapshot) if current == version else None


def published(store: Store, principal: Principal) -> list[JsonObject]:
    brand = _read_scope(principal)
    rows = _listings(store.published(), store.published_shared())
    if brand is not None:
        try:
            _, snapshot = _snapshot(store)
        except NotFound:
            return []
        skus = {s.id for s in snapshot.skus if s.brand == brand}
        shops = {s.id for s in snapshot.shops if s.brand == brand}
        rows = [row for row in rows if row["sku"] in skus and row["shop"] in shops]
    return rows


def _listings(cells: dict[tuple[str, str], int], shared: dict[str, SharedPart]) -> list[JsonObject]:
    """Per (shop, SKU) published: the shop's own units left, and the SKU's shared part
    left where the shop lists it (the same units on each such shop)."""
    rows: dict[tuple[str, str], JsonObject] = {
        cell: {"shop": cell[0], "sku": cell[1], "quantity": quantity, "shared": 0}
        for cell, quantity in cells.items()
    }
    for sku, part in shared.items():
        for shop in part.shops:
            row = rows.setdefault((shop, sku), {"shop": shop, "sku": sku, "quantity": 0})
            row["shared"] = part.units
    return [rows[cell] for cell in sorted(rows)]


def order(store: Store, principal: Principal, shop: str, sku: str, quantity: int) -> JsonObject:
    _write(principal)
    taken = store.consume(shop, sku, quantity)
    return {
        "shop": shop,
        "sku": sku,
        "quantity": quantity,
        "remaining": taken.left,
        "from_shared": taken.from_shared,
    }
