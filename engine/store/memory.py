"""The in-process state store: the embedded default of `omnistock serve`.

One lock makes every operation atomic. With a `path`, the whole state is written after
every change to a temporary file in the same directory and moved over the old one with
`os.replace`, so a crash leaves either the old file or the new one, never half of one; a
new store on the same path starts from it, so a restart loses nothing. The file belongs
to one store instance: two processes must not share it (use Redis for that).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from pathlib import Path

from engine.core.files import write_atomically
from engine.store.base import (
    Cell,
    Consumed,
    JsonObject,
    PublishResult,
    SharedPart,
    Store,
    StoredText,
    check_quantity,
    check_tenant,
    dumps,
    dumps_plan,
    loads_plan,
    merge_stock,
    plan_quantities,
    plan_shared,
    replayed,
    take_order,
)
from engine.store.errors import IdempotencyConflict, NotFound, StaleVersion
from engine.store.listeners import ModeListeners
from engine.store.switch import ModeCallback, ModeSwitch, Subscription

FORMAT = "omnistock-state/1"


class MemoryStore(Store):
    """State of one tenant in this process, optionally saved to `path` (JSON)."""

    def __init__(self, tenant: str, path: str | Path | None = None) -> None:
        self.tenant = check_tenant(tenant)
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._listeners = ModeListeners()
        self._reset()
        if self.path is not None and self.path.exists():
            self._load()

    def _reset(self) -> None:
        # Documents are kept as JSON text: a reader always gets its own copy.
        self._snapshot: str | None = None
        self._stock_version = 0
        self._rulesets: dict[int, str] = {}
        self._plans: dict[str, str] = {}
        self._scenario_runs: dict[str, str] = {}
        self._published: dict[Cell, int] = {}
        self._shared: dict[str, SharedPart] = {}
        self._idempotency: dict[str, tuple[str, JsonObject]] = {}
        self._order_keys: dict[str, tuple[str, JsonObject]] = {}
        self._audit: deque[str] = deque()  # oldest first
        self._mode = ModeSwitch()

    # --- persistence ------------------------------------------------------------------

    def _state(self) -> JsonObject:
        return {
            "format": FORMAT,
            "tenant": self.tenant,
            "snapshot": self._snapshot,
            "stock_version": self._stock_version,
            "rulesets": {str(v): text for v, text in self._rulesets.items()},
            "plans": self._plans,
            "scenario_runs": self._scenario_runs,
            "published": [[shop, sku, q] for (shop, sku), q in self._published.items()],
            "published_shared": {
                sku: {"units": part.units, "shops": list(part.shops)}
                for sku, part in self._shared.items()
            },
            "idempotency": {
                key: {"body_hash": body_hash, "result": result}
                for key, (body_hash, result) in self._idempotency.items()
            },
            "order_keys": {
                key: {"body_hash": body_hash, "result": result}
                for key, (body_hash, result) in self._order_keys.items()
            },
            "audit": list(self._audit),
            "mode": self._mode.to_json(),
        }

    def _load(self) -> None:
        assert self.path is not None
        state = json.loads(self.path.read_text(encoding="utf-8"))
        if state.get("format") != FORMAT or state.get("tenant") != self.tenant:
            raise ValueError(f"{self.path} is not the state file of tenant {self.tenant!r}")
        self._snapshot = state["snapshot"]
        self._stock_version = state["stock_version"]
        self._rulesets = {int(v): text for v, text in state["rulesets"].items()}
        self._plans = dict(state["plans"])
        self._scenario_runs = dict(state.get("scenario_runs", {}))  # files saved before runs
        self._published = {(shop, sku): q for shop, sku, q in state["published"]}
        self._shared = {  # files saved before shared parts were published have none
            sku: SharedPart(part["units"], tuple(part["shops"]))
            for sku, part in state.get("published_shared", {}).items()
        }
        self._idempotency = {
            key: (entry["body_hash"], entry["result"])
            for key, entry in state["idempotency"].items()
        }
        self._order_keys = {  # files saved before orders took keys have none
            key: (entry["body_hash"], entry["result"])
            for key, entry in state.get("order_keys", {}).items()
        }
        self._audit = deque(state.get("audit", []))
        self._mode = ModeSwitch.from_json(state["mode"])

    def _save(self) -> None:
        """Write the state atomically; called with the lock held, after each change.

        If the write fails, the state in memory goes back to what the file holds, so
        memory and disk never disagree about a change the caller saw fail."""
        if self.path is None:
            return
        try:
            self._write(dumps(self._state()))
        except BaseException:
            self._reset()
            if self.path.exists():
                self._load()
            raise

    def _write(self, text: str) -> None:
        assert self.path is not None
        write_atomically(self.path, text)

    # --- snapshot and stock version -----------------------------------------------------

    def put_snapshot(self, snapshot: JsonObject) -> int:
        text = dumps(snapshot)
        with self._lock:
            self._snapshot = text
            self._stock_version += 1
            self._save()
            return self._stock_version

    def get_snapshot_text(self) -> StoredText:
        with self._lock:
            text, version = self._snapshot, self._stock_version
        if text is None:
            raise NotFound("snapshot", self.tenant)
        return StoredText(version, text)

    def stock_version(self) -> int:
        with self._lock:
            return self._stock_version

    def patch_stock(self, rows: list[JsonObject], version: int) -> int:
        with self._lock:
            if self._snapshot is None:
                raise NotFound("snapshot", self.tenant)
            if version != self._stock_version:
                raise StaleVersion("stock patch", version, self._stock_version)
            self._snapshot = dumps(merge_stock(json.loads(self._snapshot), rows))
            self._stock_version += 1
            self._save()
            return self._stock_version

    # --- rulesets and plans -------------------------------------------------------------

    def put_ruleset(self, ruleset: JsonObject) -> int:
        text = dumps(ruleset)
        with self._lock:
            version = max(self._rulesets, default=0) + 1
            self._rulesets[version] = text
            self._save()
            return version

    def get_ruleset_text(self, version: int | None = None) -> StoredText:
        with self._lock:
            found = max(self._rulesets, default=0) if version is None else version
            text = self._rulesets.get(found)
        if text is None:
            raise NotFound("ruleset version", "latest" if version is None else str(version))
        return StoredText(found, text)

    def put_plan(self, plan_id: str, plan: JsonObject) -> None:
        text = dumps_plan(plan)
        with self._lock:
            self._plans[plan_id] = text
            self._save()

    def get_plan(self, plan_id: str) -> JsonObject:
        with self._lock:
            text = self._plans.get(plan_id)
        if text is None:
            raise NotFound("plan", plan_id)
        return loads_plan(text)

    def put_scenario_run(self, run_id: str, run: JsonObject) -> None:
        text = dumps(run)
        with self._lock:
            self._scenario_runs[run_id] = text
            self._save()

    def get_scenario_run(self, run_id: str) -> JsonObject:
        with self._lock:
            text = self._scenario_runs.get(run_id)
        if text is None:
            raise NotFound("scenario run", run_id)
        result: JsonObject = json.loads(text)
        return result

    # --- publishing and orders ----------------------------------------------------------

    def publish(
        self, plan_id: str, idempotency_key: str, body_hash: str, stock_version: int
    ) -> PublishResult:
        with self._lock:
            stored = self._idempotency.get(idempotency_key)
            if stored is not None:
                stored_hash, result = stored
                if stored_hash != body_hash:
                    raise IdempotencyConflict(idempotency_key, plan_id, body_hash, stored_hash)
                return PublishResult.from_json(result)
            text = self._plans.get(plan_id)
            if text is None:
                raise NotFound("plan", plan_id)
            if stock_version != self._stock_version:
                current = self._stock_version
                raise StaleVersion(f"publish of plan {plan_id!r}", stock_version, current)
            plan = json.loads(text)
            quantities, shared = plan_quantities(plan), plan_shared(plan)
            published = PublishResult.counting(
                plan_id, idempotency_key, stock_version, quantities, shared
            )
            self._published = quantities
            self._shared = shared
            self._idempotency[idempotency_key] = (body_hash, published.to_json())
            self._save()
            return published

    def published(self) -> dict[Cell, int]:
        with self._lock:
            return dict(self._published)

    def published_shared(self) -> dict[str, SharedPart]:
        with self._lock:
            return dict(self._shared)

    def consume(
        self,
        shop: str,
        sku: str,
        quantity: int,
        idempotency_key: str | None = None,
        body_hash: str = "",
    ) -> Consumed:
        check_quantity(quantity)
        with self._lock:
            if idempotency_key is not None:
                stored = self._order_keys.get(idempotency_key)
                answer = replayed(stored, idempotency_key, body_hash, "order")
                if answer is not None:
                    return Consumed.from_json(answer)
            own = self._published.get((shop, sku))
            part = self._shared.get(sku)
            shared = part.units if part is not None and shop in part.shops else None
            from_own, from_shared = take_order(shop, sku, quantity, own, shared)
            if own is not None:
                self._published[(shop, sku)] = own - from_own
            if part is not None and from_shared:
                self._shared[sku] = SharedPart(part.units - from_shared, part.shops)
            taken = Consumed((own or 0) + (shared or 0) - quantity, from_shared)
            if idempotency_key is not None:
                self._order_keys[idempotency_key] = (body_hash, taken.to_json())
            self._save()
            return taken

    # --- audit log --------------------------------------------------------------------

    def append_audit(self, entry: JsonObject) -> None:
        text = dumps(entry)
        with self._lock:
            self._audit.append(text)
            while len(self._audit) > self.audit_keep:
                self._audit.popleft()
            self._save()

    def audit_entries(self, limit: int) -> list[JsonObject]:
        with self._lock:
            newest = list(self._audit)[-limit:] if limit > 0 else []
        return [json.loads(text) for text in reversed(newest)]

    # --- mode -----------------------------------------------------------------------------

    def get_mode(self) -> ModeSwitch:
        with self._lock:
            return self._mode

    def put_mode(self, mode: ModeSwitch) -> ModeSwitch:
        with self._lock:
            self._mode = mode
            self._save()
        self._listeners.tell(mode)
        return mode

    def subscribe(self, callback: ModeCallback) -> Subscription:
        return self._listeners.add(callback)

    def ping(self) -> bool:
        return True
