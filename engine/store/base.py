"""The state store interface: everything the allocation service keeps for one tenant.

A store holds the tenant's snapshot and its stock version, versioned rulesets, computed
plans, the quantities published per (shop, SKU) and what orders have consumed of them,
the planning mode, and an audit log of the writes made through the API. Three
implementations follow this interface: `MemoryStore` (in this process, optionally saved
to a local file), `SqliteStore` (one durable file) and `RedisStore` (production, shared
by every API worker). The same contract tests run against all (tests/store/).

Guarantees every implementation keeps:

- a stock patch, a publish and an order are atomic: concurrent writers never lose an
  update, and a write based on another stock version than the current one is refused
  with `StaleVersion` naming the current version;
- publishing is idempotent, and so is an order sent with a key: the same key with the
  same body returns the stored result (nothing is taken twice), the same key with
  another body raises `IdempotencyConflict`; publishes and orders have keys of their own;
- published quantities are never stored negative: an order past zero raises
  `InsufficientStock` with the quantity available.
"""

from __future__ import annotations

import abc
import json
from dataclasses import asdict, dataclass
from typing import Any, cast

import orjson

from engine.core.errors import InputError, Issue
from engine.store.errors import IdempotencyConflict, InsufficientStock, NotFound
from engine.store.switch import ModeCallback, ModeSwitch, Subscription
from engine.store.watch import ModeWatch

JsonObject = dict[str, Any]
Cell = tuple[str, str]  # (shop, sku)
# The audit log keeps this many entries per tenant; older ones are dropped first.
AUDIT_KEEP = 10_000


@dataclass(frozen=True)
class Versioned:
    """A stored document and its version (the stock version of a snapshot, or a
    ruleset's version)."""

    version: int
    body: JsonObject


@dataclass(frozen=True)
class StoredText:
    """A stored document as the store keeps it (its JSON text, `dumps`) and its version:
    what a reader that parses once per version (engine/services/plan_inputs_cache.py)
    hashes instead of parsing."""

    version: int
    text: str


@dataclass(frozen=True)
class PublishResult:
    """What a publish returns, stored under its idempotency key and returned unchanged
    when the same request is repeated."""

    plan_id: str
    idempotency_key: str
    stock_version: int
    cells: int
    units: int  # exclusive units on the cells
    shared_units: int = 0  # units of the shared parts, each counted once

    def to_json(self) -> JsonObject:
        return asdict(self)

    @classmethod
    def from_json(cls, data: JsonObject) -> PublishResult:
        return cls(**data)

    @classmethod
    def counting(
        cls,
        plan_id: str,
        idempotency_key: str,
        stock_version: int,
        quantities: dict[Cell, int],
        shared: dict[str, SharedPart],
    ) -> PublishResult:
        """The receipt for publishing these quantities and shared parts."""
        return cls(
            plan_id=plan_id,
            idempotency_key=idempotency_key,
            stock_version=stock_version,
            cells=len(quantities),
            units=sum(quantities.values()),
            shared_units=sum(part.units for part in shared.values()),
        )


@dataclass(frozen=True)
class Consumed:
    """What an order took: `left` is what the shop can still sell of the SKU (its own
    units left plus the SKU's shared part left, where the shop lists it)."""

    left: int
    from_shared: int  # of the order's units, those taken from the shared part

    def to_json(self) -> JsonObject:
        return asdict(self)

    @classmethod
    def from_json(cls, data: JsonObject) -> Consumed:
        return cls(int(data["left"]), int(data["from_shared"]))


class Store(abc.ABC):
    """The state of one tenant. Every method is safe to call from several threads."""

    tenant: str
    _watch: ModeWatch | None = None
    audit_keep: int = AUDIT_KEEP  # entries of the audit log kept (an instance may say less)

    def watch_mode(self, max_age_s: float) -> None:
        """Answer `mode_now` from the broadcast from now on (engine/store/watch.py)."""
        if self._watch is None:
            self._watch = ModeWatch(self, max_age_s)

    def mode_now(self) -> ModeSwitch:
        """The mode as this process knows it: heard from the broadcast when watched, else
        read from the store."""
        return self._watch.current() if self._watch is not None else self.get_mode()

    # --- snapshot and stock version -------------------------------------------------

    @abc.abstractmethod
    def put_snapshot(self, snapshot: JsonObject) -> int:
        """Replace the snapshot; returns the new stock version (the previous one + 1)."""

    @abc.abstractmethod
    def get_snapshot_text(self) -> StoredText:
        """The stored snapshot's text and its stock version, read at one moment;
        `NotFound` before the first put."""

    def get_snapshot(self) -> Versioned:
        """The snapshot and its stock version; `NotFound` before the first put."""
        stored = self.get_snapshot_text()
        return Versioned(stored.version, json.loads(stored.text))

    @abc.abstractmethod
    def stock_version(self) -> int:
        """The current stock version, 0 before the first snapshot."""

    @abc.abstractmethod
    def patch_stock(self, rows: list[JsonObject], version: int) -> int:
        """Replace or add stock rows (keyed by SKU and warehouse) of the snapshot at stock
        version `version`; returns the new stock version. `StaleVersion` if `version` is
        not the current one, `NotFound` without a snapshot."""

    # --- rulesets and plans ---------------------------------------------------------

    @abc.abstractmethod
    def put_ruleset(self, ruleset: JsonObject) -> int:
        """Store a new ruleset version; returns its version (1, 2, ...)."""

    @abc.abstractmethod
    def get_ruleset_text(self, version: int | None = None) -> StoredText:
        """The stored text of the latest ruleset, or of the given version, with its
        version; `NotFound` if there is none."""

    def get_ruleset(self, version: int | None = None) -> Versioned:
        """The latest ruleset, or the given version; `NotFound` if there is none."""
        stored = self.get_ruleset_text(version)
        return Versioned(stored.version, json.loads(stored.text))

    @abc.abstractmethod
    def put_plan(self, plan_id: str, plan: JsonObject) -> None:
        """Store a computed plan under its id."""

    @abc.abstractmethod
    def get_plan(self, plan_id: str) -> JsonObject:
        """The plan stored under `plan_id`; `NotFound` if there is none."""

    @abc.abstractmethod
    def put_scenario_run(self, run_id: str, run: JsonObject) -> None:
        """Store a what-if scenario run's results (comparison and charts) under its id."""

    @abc.abstractmethod
    def get_scenario_run(self, run_id: str) -> JsonObject:
        """The scenario run stored under `run_id`; `NotFound` if there is none."""

    # --- publishing and orders ------------------------------------------------------

    @abc.abstractmethod
    def publish(
        self, plan_id: str, idempotency_key: str, body_hash: str, stock_version: int
    ) -> PublishResult:
        """Make the plan's quantities the published ones, replacing the previous plan's.

        `stock_version` is the version the plan was computed on; anything but the current
        one raises `StaleVersion`. A repeated key returns the stored result if
        `body_hash` matches, else raises `IdempotencyConflict`."""

    @abc.abstractmethod
    def published(self) -> dict[Cell, int]:
        """The published exclusive quantities left, per (shop, SKU)."""

    @abc.abstractmethod
    def published_shared(self) -> dict[str, SharedPart]:
        """The published shared parts left, per SKU, with the shops that list them."""

    @abc.abstractmethod
    def consume(
        self,
        shop: str,
        sku: str,
        quantity: int,
        idempotency_key: str | None = None,
        body_hash: str = "",
    ) -> Consumed:
        """Take `quantity` units for an order on the shop: its own units first, then the
        SKU's shared part where the shop lists it. `InsufficientStock` (nothing taken)
        if fewer are available, `NotFound` if the SKU is not published on the shop.

        With `idempotency_key` the order is taken once: a repeated key returns the
        stored answer if `body_hash` matches (nothing taken again), else raises
        `IdempotencyConflict`. A refused order keeps no key."""

    # --- audit log ------------------------------------------------------------------

    @abc.abstractmethod
    def append_audit(self, entry: JsonObject) -> None:
        """Add an entry to the tenant's audit log (the oldest beyond `audit_keep` go)."""

    @abc.abstractmethod
    def audit_entries(self, limit: int) -> list[JsonObject]:
        """The newest `limit` entries of the audit log, newest first."""

    # --- mode -----------------------------------------------------------------------

    @abc.abstractmethod
    def get_mode(self) -> ModeSwitch:
        """The current mode; normal until one is put."""

    @abc.abstractmethod
    def put_mode(self, mode: ModeSwitch) -> ModeSwitch:
        """Set the mode and broadcast it to every subscriber of this tenant."""

    @abc.abstractmethod
    def subscribe(self, callback: ModeCallback) -> Subscription:
        """Call `callback` with every mode put from now on (from any worker sharing the
        store); the callback may run on another thread and must not block."""

    @abc.abstractmethod
    def ping(self) -> bool:
        """Whether the store answers (for readiness checks)."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections and subscriptions."""


def check_tenant(tenant: str) -> str:
    """A tenant id that is safe inside keys and file names."""
    if not tenant or any(c in tenant for c in ":*?[]{}/\\ \t\n"):
        raise InputError([Issue("tenant", f"invalid tenant id {tenant!r}")], "store")
    return tenant


def check_quantity(quantity: int) -> int:
    """An order quantity: a whole number of units, at least 1."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InputError([Issue("quantity", f"must be a whole number >= 1, not {quantity!r}")])
    return quantity


def merge_stock(
    snapshot: JsonObject, rows: list[JsonObject], source: str = "stock patch.rows"
) -> JsonObject:
    """The snapshot with `rows` replacing its stock rows of the same (SKU, warehouse) and
    the others appended, in order. The input is left unchanged. A row without its SKU or
    warehouse is an InputError naming it under `source` (where the rows came from)."""
    check_stock_rows(rows, source)
    stock = list(snapshot.get("stock", []))
    where = {(row.get("sku"), row.get("warehouse")): i for i, row in enumerate(stock)}
    for row in rows:
        key = (row["sku"], row["warehouse"])
        if key in where:
            stock[where[key]] = dict(row)
        else:
            where[key] = len(stock)
            stock.append(dict(row))
    return {**snapshot, "stock": stock}


def check_stock_rows(rows: list[JsonObject], source: str) -> None:
    """Every stock row names its SKU and warehouse; InputError naming each one that does
    not, as `{source}[i].sku` (the part before the last dot is the error's source)."""
    where, _, field = source.rpartition(".")
    issues = [
        Issue(f"{field}[{i}].{name}", "required, a non-empty string")
        for i, row in enumerate(rows)
        for name in ("sku", "warehouse")
        if not isinstance(row.get(name), str) or not row[name]
    ]
    if issues:
        raise InputError(issues, where)


def replayed(
    stored: tuple[str, JsonObject] | None, key: str, body_hash: str, what: str
) -> JsonObject | None:
    """The stored answer of an idempotency key if the request repeats it (`body_hash`
    matches); IdempotencyConflict if the key was used with another body; None if new."""
    if stored is None:
        return None
    stored_hash, answer = stored
    if stored_hash != body_hash:
        raise IdempotencyConflict(key, None, body_hash, stored_hash, what)
    return answer


def take_order(
    shop: str, sku: str, quantity: int, own: int | None, shared: int | None
) -> tuple[int, int]:
    """What an order takes: the shop's own units first, then the SKU's shared part, as
    (from_own, from_shared). `own`/`shared` None: not published on the shop. NotFound if
    neither is, InsufficientStock if fewer units are left than asked for."""
    if own is None and shared is None:
        raise NotFound("published SKU", f"{shop}/{sku}")
    own, shared = own or 0, shared or 0
    if quantity > own + shared:
        raise InsufficientStock(shop, sku, quantity, own + shared)
    from_own = min(quantity, own)
    return from_own, quantity - from_own


@dataclass(frozen=True)
class SharedPart:
    """A SKU's shared part: `units` listed on every one of `shops`, sold by whichever
    shop's order comes first."""

    units: int
    shops: tuple[str, ...]


def plan_shared(plan: JsonObject) -> dict[str, SharedPart]:
    """The shared parts a plan publishes, per SKU: every allocation of the SKU carries
    the part's size in `shared` where its shop lists it (0 elsewhere)."""
    units: dict[str, int] = {}
    shops: dict[str, list[str]] = {}
    for allocation in cast(list[JsonObject], plan.get("allocations", [])):
        part = int(allocation.get("shared", 0) or 0)
        if part > 0:
            sku = str(allocation["sku"])
            units[sku] = part
            shops.setdefault(sku, []).append(str(allocation["shop"]))
    return {sku: SharedPart(units[sku], tuple(sorted(shops[sku]))) for sku in sorted(units)}


def plan_quantities(plan: JsonObject) -> dict[Cell, int]:
    """The exclusive quantities a plan publishes per (shop, SKU): each allocation's
    `quantity` (its shared part is published once per SKU, `plan_shared`)."""
    quantities: dict[Cell, int] = {}
    for allocation in cast(list[JsonObject], plan.get("allocations", [])):
        cell = (str(allocation["shop"]), str(allocation["sku"]))
        quantities[cell] = quantities.get(cell, 0) + int(allocation["quantity"])
    return quantities


def dumps(data: Any) -> str:
    """The one JSON encoding of stored documents."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def loads_plan(text: str | bytes) -> JsonObject:
    """A stored plan from its text: orjson, about twice as fast as the standard library
    on the demo's 3 MB plan (the text is `dumps_plan`'s)."""
    plan: JsonObject = orjson.loads(text)
    return plan


def dumps_plan(plan: JsonObject) -> str:
    """A stored plan's text: orjson, some 15 times faster than `dumps` on a plan of
    10,000 allocations (20 ms of a 100 ms request). A plan's keys are strings and its
    numbers bounded, so the text reads back as `dumps`'s does; a non-finite float is
    written null, as every other writer of plans (files, API answers) writes it."""
    return orjson.dumps(plan).decode()
