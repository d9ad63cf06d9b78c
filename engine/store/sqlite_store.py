"""The durable embedded state store: one SQLite file, in WAL mode, for every tenant of a
deployment that runs without Redis.

Each change is one transaction that appends to SQLite's write-ahead log and is synced
to disk (`synchronous=FULL`) before the call returns, so an order or a publish that was
answered survives a kill -9 or a power cut; nothing rewrites the whole state. Writes
take SQLite's write lock first (`BEGIN IMMEDIATE`), so every check-then-write (stock
version, idempotency key, units left) is atomic, also between processes sharing the file.

Mode switches reach the subscribers of this process at once; another process sharing the
file sees them when its mode view expires (engine/store/watch.py).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
from engine.store.errors import (
    IdempotencyConflict,
    NotFound,
    StaleVersion,
    StoreError,
)
from engine.store.listeners import ModeListeners
from engine.store.switch import ModeCallback, ModeSwitch, Subscription

# 2 added order_keys and audit; a file of schema 1 gets them on first use (IF NOT EXISTS).
SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    tenant TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rulesets (
    tenant TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (tenant, version));
CREATE TABLE IF NOT EXISTS plans (
    tenant TEXT NOT NULL, plan_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (tenant, plan_id));
CREATE TABLE IF NOT EXISTS scenario_runs (
    tenant TEXT NOT NULL, run_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (tenant, run_id));
CREATE TABLE IF NOT EXISTS published (
    tenant TEXT NOT NULL, shop TEXT NOT NULL, sku TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (tenant, shop, sku));
CREATE TABLE IF NOT EXISTS published_shared (
    tenant TEXT NOT NULL, sku TEXT NOT NULL, units INTEGER NOT NULL CHECK (units >= 0),
    shops TEXT NOT NULL, PRIMARY KEY (tenant, sku));
CREATE TABLE IF NOT EXISTS idempotency (
    tenant TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL, result TEXT NOT NULL,
    PRIMARY KEY (tenant, key));
CREATE TABLE IF NOT EXISTS modes (tenant TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS order_keys (
    tenant TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL, result TEXT NOT NULL,
    PRIMARY KEY (tenant, key));
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_tenant ON audit (tenant, seq);
"""


class StateFileError(StoreError):
    """The state file cannot be used (not a SQLite database, or a newer schema)."""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in the store's settings; the schema is made on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Autocommit mode: every transaction below is opened and closed explicitly.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        # FULL: the log is synced at every commit, so an answered change is on disk.
        connection.execute("PRAGMA synchronous=FULL")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateFileError(f"{path} has state schema {version}, newer than this omnistock")
        if version < SCHEMA_VERSION:
            # One transaction; IF NOT EXISTS makes a race with another process harmless.
            connection.executescript(
                f"BEGIN IMMEDIATE;{SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;"
            )
    except sqlite3.DatabaseError as error:
        connection.close()
        raise StateFileError(f"{path} is not an omnistock state file: {error}") from None
    return connection


class SqliteStore(Store):
    """State of one tenant in the SQLite file at `path` (shared with other tenants)."""

    def __init__(self, tenant: str, path: str | Path) -> None:
        self.tenant = check_tenant(tenant)
        self.path = Path(path)
        self._db = connect(self.path)
        self._lock = threading.Lock()  # one transaction at a time on this connection
        self._listeners = ModeListeners()

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: SQLite's write lock first, committed (and synced) on
        success, rolled back on any error, so a refused change leaves nothing behind."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, db: sqlite3.Connection, sql: str, *args: object) -> Any:
        """The first row of `sql` for this tenant (its first parameter), or None."""
        return db.execute(sql, (self.tenant, *args)).fetchone()

    # --- snapshot and stock version -----------------------------------------------------

    def _version(self, db: sqlite3.Connection) -> int:
        row = self._one(db, "SELECT version FROM snapshots WHERE tenant = ?")
        return int(row[0]) if row else 0

    def put_snapshot(self, snapshot: JsonObject) -> int:
        text = dumps(snapshot)
        with self._write() as db:
            version = self._version(db) + 1
            db.execute(
                "INSERT INTO snapshots VALUES (?, ?, ?) ON CONFLICT (tenant) "
                "DO UPDATE SET version = excluded.version, body = excluded.body",
                (self.tenant, version, text),
            )
            return version

    def get_snapshot_text(self) -> StoredText:
        with self._read() as db:
            row = self._one(db, "SELECT version, body FROM snapshots WHERE tenant = ?")
        if row is None:
            raise NotFound("snapshot", self.tenant)
        return StoredText(int(row[0]), str(row[1]))

    def stock_version(self) -> int:
        with self._read() as db:
            return self._version(db)

    def patch_stock(self, rows: list[JsonObject], version: int) -> int:
        with self._write() as db:
            row = self._one(db, "SELECT version, body FROM snapshots WHERE tenant = ?")
            if row is None:
                raise NotFound("snapshot", self.tenant)
            current = int(row[0])
            if version != current:
                raise StaleVersion("stock patch", version, current)
            merged = dumps(merge_stock(json.loads(str(row[1])), rows))
            db.execute(
                "UPDATE snapshots SET version = ?, body = ? WHERE tenant = ?",
                (current + 1, merged, self.tenant),
            )
            return current + 1

    # --- rulesets and plans -------------------------------------------------------------

    def put_ruleset(self, ruleset: JsonObject) -> int:
        text = dumps(ruleset)
        with self._write() as db:
            row = self._one(db, "SELECT MAX(version) FROM rulesets WHERE tenant = ?")
            version = int(row[0] or 0) + 1 if row else 1
            db.execute("INSERT INTO rulesets VALUES (?, ?, ?)", (self.tenant, version, text))
            return version

    def get_ruleset_text(self, version: int | None = None) -> StoredText:
        with self._read() as db:
            if version is None:
                row = self._one(
                    db,
                    "SELECT version, body FROM rulesets WHERE tenant = ? "
                    "ORDER BY version DESC LIMIT 1",
                )
            else:
                row = self._one(
                    db,
                    "SELECT version, body FROM rulesets WHERE tenant = ? AND version = ?",
                    version,
                )
        if row is None:
            raise NotFound("ruleset version", "latest" if version is None else str(version))
        return StoredText(int(row[0]), str(row[1]))

    def _put_document(self, table: str, key: str, document: JsonObject) -> None:
        self._put_text(table, key, dumps(document))

    def _put_text(self, table: str, key: str, text: str) -> None:
        with self._write() as db:
            db.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)", (self.tenant, key, text))

    def _get_document(
        self,
        table: str,
        column: str,
        key: str,
        what: str,
        loads: Callable[[str], JsonObject] = json.loads,
    ) -> JsonObject:
        with self._read() as db:
            row = self._one(db, f"SELECT body FROM {table} WHERE tenant = ? AND {column} = ?", key)
        if row is None:
            raise NotFound(what, key)
        result: JsonObject = loads(str(row[0]))
        return result

    def put_plan(self, plan_id: str, plan: JsonObject) -> None:
        self._put_text("plans", plan_id, dumps_plan(plan))

    def get_plan(self, plan_id: str) -> JsonObject:
        return self._get_document("plans", "plan_id", plan_id, "plan", loads_plan)

    def put_scenario_run(self, run_id: str, run: JsonObject) -> None:
        self._put_document("scenario_runs", run_id, run)

    def get_scenario_run(self, run_id: str) -> JsonObject:
        return self._get_document("scenario_runs", "run_id", run_id, "scenario run")

    # --- publishing and orders ----------------------------------------------------------

    def publish(
        self, plan_id: str, idempotency_key: str, body_hash: str, stock_version: int
    ) -> PublishResult:
        with self._write() as db:
            stored = self._one(
                db,
                "SELECT body_hash, result FROM idempotency WHERE tenant = ? AND key = ?",
                idempotency_key,
            )
            if stored is not None:
                if stored[0] != body_hash:
                    raise IdempotencyConflict(idempotency_key, plan_id, body_hash, str(stored[0]))
                return PublishResult.from_json(json.loads(str(stored[1])))
            row = self._one(db, "SELECT body FROM plans WHERE tenant = ? AND plan_id = ?", plan_id)
            if row is None:
                raise NotFound("plan", plan_id)
            current = self._version(db)
            if stock_version != current:
                raise StaleVersion(f"publish of plan {plan_id!r}", stock_version, current)
            plan = json.loads(str(row[0]))
            quantities, shared = plan_quantities(plan), plan_shared(plan)
            receipt = PublishResult.counting(
                plan_id, idempotency_key, stock_version, quantities, shared
            )
            db.execute("DELETE FROM published WHERE tenant = ?", (self.tenant,))
            db.execute("DELETE FROM published_shared WHERE tenant = ?", (self.tenant,))
            db.executemany(
                "INSERT INTO published VALUES (?, ?, ?, ?)",
                [(self.tenant, shop, sku, q) for (shop, sku), q in quantities.items()],
            )
            db.executemany(
                "INSERT INTO published_shared VALUES (?, ?, ?, ?)",
                [
                    (self.tenant, sku, part.units, dumps(list(part.shops)))
                    for sku, part in shared.items()
                ],
            )
            db.execute(
                "INSERT INTO idempotency VALUES (?, ?, ?, ?)",
                (self.tenant, idempotency_key, body_hash, dumps(receipt.to_json())),
            )
            return receipt

    def published(self) -> dict[Cell, int]:
        with self._read() as db:
            rows = db.execute(
                "SELECT shop, sku, quantity FROM published WHERE tenant = ?", (self.tenant,)
            ).fetchall()
        return {(shop, sku): int(q) for shop, sku, q in rows}

    def published_shared(self) -> dict[str, SharedPart]:
        with self._read() as db:
            rows = db.execute(
                "SELECT sku, units, shops FROM published_shared WHERE tenant = ? ORDER BY sku",
                (self.tenant,),
            ).fetchall()
        return {sku: SharedPart(int(units), tuple(json.loads(shops))) for sku, units, shops in rows}

    def consume(
        self,
        shop: str,
        sku: str,
        quantity: int,
        idempotency_key: str | None = None,
        body_hash: str = "",
    ) -> Consumed:
        check_quantity(quantity)
        with self._write() as db:
            if idempotency_key is not None:
                row = self._one(
                    db,
                    "SELECT body_hash, result FROM order_keys WHERE tenant = ? AND key = ?",
                    idempotency_key,
                )
                stored = (str(row[0]), json.loads(str(row[1]))) if row else None
                answer = replayed(stored, idempotency_key, body_hash, "order")
                if answer is not None:
                    return Consumed.from_json(answer)
            own_row = self._one(
                db,
                "SELECT quantity FROM published WHERE tenant = ? AND shop = ? AND sku = ?",
                shop,
                sku,
            )
            part_row = self._one(
                db, "SELECT units, shops FROM published_shared WHERE tenant = ? AND sku = ?", sku
            )
            lists_part = part_row is not None and shop in json.loads(str(part_row[1]))
            own = int(own_row[0]) if own_row else None
            shared = int(part_row[0]) if lists_part else None
            from_own, from_shared = take_order(shop, sku, quantity, own, shared)
            if from_own:
                db.execute(
                    "UPDATE published SET quantity = quantity - ? "
                    "WHERE tenant = ? AND shop = ? AND sku = ?",
                    (from_own, self.tenant, shop, sku),
                )
            if from_shared:
                db.execute(
                    "UPDATE published_shared SET units = units - ? WHERE tenant = ? AND sku = ?",
                    (from_shared, self.tenant, sku),
                )
            taken = Consumed((own or 0) + (shared or 0) - quantity, from_shared)
            if idempotency_key is not None:
                db.execute(
                    "INSERT INTO order_keys VALUES (?, ?, ?, ?)",
                    (self.tenant, idempotency_key, body_hash, dumps(taken.to_json())),
                )
            return taken

    # --- audit log --------------------------------------------------------------------

    def append_audit(self, entry: JsonObject) -> None:
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO audit (tenant, body) VALUES (?, ?)", (self.tenant, dumps(entry))
            )
            # seq grows across tenants: drop this tenant's entries older than its newest
            # `audit_keep` (the index on (tenant, seq) finds the cut-off).
            db.execute(
                "DELETE FROM audit WHERE tenant = ? AND seq <= ("
                "SELECT seq FROM audit WHERE tenant = ? AND seq <= ? "
                "ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (self.tenant, self.tenant, cursor.lastrowid, self.audit_keep),
            )

    def audit_entries(self, limit: int) -> list[JsonObject]:
        with self._read() as db:
            rows = db.execute(
                "SELECT body FROM audit WHERE tenant = ? ORDER BY seq DESC LIMIT ?",
                (self.tenant, max(limit, 0)),
            ).fetchall()
        return [json.loads(str(row[0])) for row in rows]

    # --- mode -----------------------------------------------------------------------------

    def get_mode(self) -> ModeSwitch:
        with self._read() as db:
            row = self._one(db, "SELECT body FROM modes WHERE tenant = ?")
        return ModeSwitch.from_json(json.loads(str(row[0]))) if row else ModeSwitch()

    def put_mode(self, mode: ModeSwitch) -> ModeSwitch:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO modes VALUES (?, ?)", (self.tenant, dumps(mode.to_json()))
            )
        self._listeners.tell(mode)
        return mode

    def subscribe(self, callback: ModeCallback) -> Subscription:
        return self._listeners.add(callback)

    def ping(self) -> bool:
        try:
            with self._read() as db:
                db.execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            self._db.close()
