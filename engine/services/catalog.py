"""The product catalog of a tenant: imports, versions, shops and completeness.

Completeness is written in the same transaction as what changes it, so a score is never
older than the product, the shops or the platform schema it was computed from:
- an import or a restore recomputes the products it changed (CatalogStore's on_change);
- new shop settings recompute every product of the tenant;
- a platform schema whose file changed or is gone (a new version, synced when the
  catalog opens) recomputes every product of every tenant on that platform, at once.

A product is checked on the platforms its brand has shops on (with that shop's
settings); a brand with no shops registered is checked on every platform of the
registry, so the gaps are visible before the shops exist.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from engine.catalog.columns import ColumnMap
from engine.catalog.completeness import Blocker, PlatformCheck, blockers, check
from engine.catalog.importer import parse_catalog
from engine.catalog.model import Product
from engine.catalog.payload import FieldIssue
from engine.catalog.registry import Registry, default_registry
from engine.catalog.shops import Shop, parse_shops
from engine.catalog.store import (
    CatalogStore,
    CompletenessRow,
    ImportResult,
    OnSchemaChange,
    ProductKey,
    StoredProduct,
    VersionInfo,
)
from engine.core.errors import InputError, Issue
from engine.core.io import dotted_path
from engine.core.snapshot import Snapshot
from engine.db import migrate
from engine.db.connect import connect
from engine.db.errors import Conflict, DatabaseUnavailable, NotFound

# The tenant of the platform schemas shipped in engine/catalog/platforms/.
BUILTIN = "*"
# The content hash of a schema whose file is gone (a real hash is 64 hex digits).
REMOVED = "removed"
# Servers' workers sync the same files as they start; the losers of a race look again.
SYNC_ATTEMPTS = 3


@dataclass(frozen=True)
class Catalog:
    """The catalog store and the platform schemas it checks products against."""

    store: CatalogStore
    registry: Registry

    @property
    def job_url(self) -> str:
        """The database's URL for a job to open it by (password included: a job may
        run in another process or on another machine)."""
        return self.store.engine.url.render_as_string(hide_password=False)


def open_catalog(url: str, *, migrate_now: bool, registry: Registry | None = None) -> Catalog:
    """The catalog on the database at `url`: migrated first when `migrate_now`, else
    refused while migrations are pending; the built-in schemas synced (a changed file
    recomputes completeness everywhere it applies)."""
    if migrate_now:
        migrate.upgrade(url)
    else:
        waiting = migrate.pending(url)
        if waiting:
            reason = f"{len(waiting)} migration(s) pending: run `omnistock db upgrade`"
            raise DatabaseUnavailable(url, reason)
    catalog = Catalog(CatalogStore(connect(url)), registry or default_registry())
    sync_schemas(catalog)
    return catalog


class CatalogHandle:
    """The catalog of a server, opened on first use (or at start, `open()`), once per
    process: a server whose catalog routes are never called never touches the
    database. A failed open is not kept; the next request tries again."""

    def __init__(self, url: str, migrate_now: bool, catalog: Catalog | None = None) -> None:
        self._url = url
        self._migrate = migrate_now
        self._catalog = catalog
        self._lock = threading.Lock()

    def open(self) -> Catalog:
        if self._catalog is None:
            with self._lock:
                if self._catalog is None:
                    self._catalog = open_catalog(self._url, migrate_now=self._migrate)
        return self._catalog

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.store.dispose()


# --- completeness ---------------------------------------------------------------------


def issue_doc(issue: FieldIssue) -> dict[str, Any]:
    value = issue.value if isinstance(issue.value, str | int | float | bool) else None
    if value is None and issue.value is not None:
        value = str(issue.value)
    return {"field": issue.field, "rule": issue.rule, "message": issue.message, "value": value}


class _UnplannedStock(Mapping[str, int]):
    """Every SKU's stock as 0: where a payload takes the shop's stock, the quantity comes
    from a published plan when the product is listed, so it is no gap of the product."""

    def __getitem__(self, sku_code: str) -> int:
        return 0

    def __contains__(self, sku_code: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


STOCK_PLACEHOLDER: Mapping[str, Any] = {"stock": _UnplannedStock()}


def _targets(catalog: Catalog, shops: Sequence[Shop], brand: str) -> dict[str, Mapping[str, Any]]:
    """Platform -> the shop settings a brand's products are checked with there: its
    first shop on each platform; every platform, without settings, if it has no shops."""
    mine = [s for s in shops if s.brand == brand]
    if not mine:
        return {platform: STOCK_PLACEHOLDER for platform in catalog.registry.platforms()}
    targets: dict[str, Mapping[str, Any]] = {}
    for shop in sorted(mine, key=lambda s: s.id):
        targets.setdefault(shop.platform, {**STOCK_PLACEHOLDER, **shop.settings})
    return targets


def _rows(
    catalog: Catalog,
    tenant: str,
    stored: StoredProduct,
    shops: Sequence[Shop],
    only: str | None = None,
) -> list[CompletenessRow]:
    """The product's completeness rows on its brand's platforms (or on `only`)."""
    now = datetime.now(UTC)
    rows = []
    for platform, settings in _targets(catalog, shops, stored.product.brand).items():
        if only is not None and platform != only:
            continue
        result = check(stored.product, platform, catalog.registry, settings)
        rows.append(
            CompletenessRow(
                tenant=tenant,
                brand=result.brand,
                spu_code=result.spu_code,
                platform=platform,
                category_id=result.category_id,
                product_version=stored.version,
                schema_version=result.schema_version,
                score=result.score,
                ok=result.ok,
                issues=[issue_doc(issue) for issue in result.issues],
                checked_at=now,
            )
        )
    return rows


def _recompute(
    catalog: Catalog, session: Session, tenant: str, platform: str | None = None
) -> None:
    shops = catalog.store.shops(tenant)
    rows = [
        row
        for stored in catalog.store.current_products(session, tenant)
        for row in _rows(catalog, tenant, stored, shops, platform)
    ]
    if platform is None:
        catalog.store.clear_completeness(session, tenant)
    catalog.store.put_completeness(session, rows)


def sync_schemas(catalog: Catalog) -> list[tuple[str, str, int]]:
    """Store the registry's schemas; each that changed (or whose file is gone) gets a new
    version and every product on its platform, of every tenant, is checked again in the
    same transaction."""
    present = {(s.platform, s.category_id) for s in catalog.registry.schemas()}
    schemas = [
        (s.platform, s.category_id, s.content_hash, s.schema) for s in catalog.registry.schemas()
    ]
    for attempt in range(SYNC_ATTEMPTS):
        # A file that is gone is stored once as a version with no content: the products
        # of its category move to another category (or to none) in the same recheck.
        stored = catalog.store.current_schema_versions(BUILTIN)
        gone: list[tuple[str, str, str, dict[str, Any]]] = [
            (*key, REMOVED, {}) for key in sorted(stored) if key not in present
        ]
        try:
            changed = catalog.store.sync_schemas(BUILTIN, schemas + gone, _rechecker(catalog))
        except Conflict:
            # Another process (a worker of the same server, starting too) stored these
            # versions first and rechecked the products with them: look again.
            if attempt == SYNC_ATTEMPTS - 1:
                raise
            continue
        return [(c.platform, c.category_id, c.version) for c in changed]
    raise AssertionError("unreachable")


def _rechecker(catalog: Catalog) -> OnSchemaChange:
    """The callback of a sync: each platform with a changed schema checked once, however
    many of its categories changed. A platform with no schema left is dropped from every
    product's rows by checking everything again (a platform's own recheck writes only the
    rows of the platforms products are checked on, so it would leave the old ones)."""
    done: set[str] = set()

    def recheck(session: Session, platform: str, category_id: str, version: int) -> None:
        if platform in done:
            return
        whole = platform not in catalog.registry.platforms()
        for tenant in catalog.store.tenants(session):
            _recompute(catalog, session, tenant, None if whole else platform)
        done.update([platform, *catalog.registry.platforms()] if whole else [platform])

    return recheck


# --- imports, versions, restores -------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    source: str
    products: int
    skus: int
    result: ImportResult


def _store_products(
    catalog: Catalog, tenant: str, products: list[Product], author: str, source: str
) -> ImportReport:
    shops = catalog.store.shops(tenant)

    def completeness(session: Session, tenant: str, batch: list[StoredProduct]) -> None:
        rows = [row for stored in batch for row in _rows(catalog, tenant, stored, shops)]
        catalog.store.put_completeness(session, rows)

    result = catalog.store.import_products(tenant, products, author, source, completeness)
    skus = sum(len(p.skus) for p in products)
    return ImportReport(source, len(products), skus, result)


def import_file(
    catalog: Catalog,
    tenant: str,
    path: Path,
    author: str,
    column_map: ColumnMap | None = None,
    sheet: str | None = None,
) -> ImportReport:
    """Import a CSV or XLSX file: all of it or nothing, every bad row named at once."""
    products = parse_catalog(path, column_map, sheet)
    return _store_products(catalog, tenant, products, author, f"import {path.name}")


def import_documents(
    catalog: Catalog, tenant: str, docs: Sequence[Any], author: str, source: str = "api"
) -> ImportReport:
    """Import products given as JSON documents (the API's body), every bad one named."""
    products: list[Product] = []
    issues: list[Issue] = []
    for i, doc in enumerate(docs):
        try:
            products.append(Product.model_validate(doc))
        except ValidationError as error:
            issues += [
                Issue(dotted_path(e["loc"], f"products[{i}]"), e["msg"]) for e in error.errors()
            ]
    if issues:
        raise InputError(issues, "body")
    try:
        return _store_products(catalog, tenant, products, author, source)
    except InputError as error:
        if error.source != source:
            raise
        # The store names the import by its source ("api"); its paths (products[1],
        # products[0].skus[2].sku_code) are in the body, as the checks above say.
        raise InputError(error.issues, "body") from None


def restore(
    catalog: Catalog, tenant: str, brand: str, spu_code: str, version: int, author: str
) -> StoredProduct:
    """A new version of the product with the body of `version`."""
    shops = catalog.store.shops(tenant)

    def completeness(session: Session, tenant: str, batch: list[StoredProduct]) -> None:
        rows = [row for stored in batch for row in _rows(catalog, tenant, stored, shops)]
        catalog.store.put_completeness(session, rows)

    return catalog.store.restore(tenant, brand, spu_code, version, author, completeness)


def product(
    catalog: Catalog, tenant: str, brand: str, spu_code: str, version: int | None = None
) -> StoredProduct:
    return catalog.store.get_product(tenant, brand, spu_code, version)


def products_of_sku(
    catalog: Catalog, tenant: str, sku_code: str, brand: str | None = None
) -> list[StoredProduct]:
    """The current product(s) holding a SKU code (a code can exist in two brands);
    NotFound if none does."""
    keys = catalog.store.find_sku(tenant, sku_code, brand)
    if not keys:
        raise NotFound("SKU", sku_code if brand is None else f"{sku_code} of brand {brand}")
    return [catalog.store.get_product(tenant, k.brand, k.spu_code) for k in keys]


def history(catalog: Catalog, tenant: str, brand: str, spu_code: str) -> list[VersionInfo]:
    catalog.store.get_product(tenant, brand, spu_code)  # NotFound names the product
    return catalog.store.history(tenant, brand, spu_code)


# --- shops, checks, payloads -------------------------------------------------------------


def put_shops(catalog: Catalog, tenant: str, doc: Any, author: str, source: str) -> list[Shop]:
    """Replace the tenant's shops; every product is checked again with their settings."""
    shops = parse_shops(doc, set(catalog.registry.platforms()), source)
    catalog.store.put_shops(tenant, shops, author)
    recheck_all(catalog, tenant)
    return shops


def recheck_all(catalog: Catalog, tenant: str) -> None:
    """Check every product of the tenant again (after its shops changed)."""
    catalog.store.in_transaction(lambda session: _recompute(catalog, session, tenant))


def _known_platform(catalog: Catalog, platform: str | None) -> None:
    known = catalog.registry.platforms()
    if platform is not None and platform not in known:
        message = f"unknown platform {platform!r} (known: {', '.join(known)})"
        raise InputError([Issue("platform", message)], "query")


def completeness(
    catalog: Catalog,
    tenant: str,
    brand: str | None = None,
    platform: str | None = None,
    ok: bool | None = None,
) -> list[CompletenessRow]:
    """The stored completeness rows (`ok`: only the ready or only the blocked ones); an
    unknown platform is an InputError naming it."""
    _known_platform(catalog, platform)
    return catalog.store.completeness(tenant, brand, platform, ok)


def completeness_overview(
    catalog: Catalog, tenant: str, brand: str | None = None, platform: str | None = None
) -> tuple[list[dict[str, Any]], list[Blocker]]:
    """Per platform: products checked, ready and the mean score, counted by the
    database; and what blocks products, the most common first, read from the blocked
    rows alone (a ready row has no issue). On the demo's 14,000 rows: 30 ms, not 500."""
    _known_platform(catalog, platform)
    summary = [
        {"platform": name, "products": n, "ready": ready, "mean_score": round(mean, 4)}
        for name, n, ready, mean in catalog.store.completeness_counts(tenant, brand, platform)
    ]
    blocked = catalog.store.completeness(tenant, brand, platform, ok=False)
    return summary, blocker_view(blocked)


def product_completeness(
    catalog: Catalog, tenant: str, brand: str, spu_code: str
) -> list[CompletenessRow]:
    """One product's completeness rows, per platform (a product's page)."""
    return catalog.store.completeness(tenant, brand, spu_codes=[spu_code])


def completeness_summary(rows: Iterable[CompletenessRow]) -> list[dict[str, Any]]:
    """Per platform: products checked, ready to list, and the mean score."""
    per: dict[str, list[CompletenessRow]] = {}
    for row in rows:
        per.setdefault(row.platform, []).append(row)
    return [
        {
            "platform": platform,
            "products": len(mine),
            "ready": sum(r.ok for r in mine),
            "mean_score": round(sum(r.score for r in mine) / len(mine), 4),
        }
        for platform, mine in sorted(per.items())
    ]


def _as_check(row: CompletenessRow) -> PlatformCheck:
    issues = [FieldIssue(i["field"], i["rule"], i["message"], i.get("value")) for i in row.issues]
    # A product is its brand and SPU code: blockers() tells products apart by the code
    # it is given, and two brands of a tenant may use one SPU code.
    return PlatformCheck(
        row.platform,
        row.brand,
        str(ProductKey(row.brand, row.spu_code)),
        row.category_id,
        row.schema_version,
        {},
        issues,
        row.score,
    )


def blocker_view(rows: Iterable[CompletenessRow]) -> list[Blocker]:
    """What stops the products of these rows, per platform, field and rule, most common
    first; the examples name products as brand/SPU."""
    return blockers((_as_check(row) for row in rows), examples=5)


def shop_payload(
    catalog: Catalog,
    tenant: str,
    sku_code: str,
    shop_id: str,
    brand: str | None = None,
    stock: Mapping[str, int] | None = None,
) -> PlatformCheck:
    """What the shop's platform would receive for the product holding `sku_code`, with
    the shop's settings, and what it would refuse. `stock` (SKU code -> units) is what
    a published plan lists; without it every SKU's stock is 0."""
    shops = {s.id: s for s in catalog.store.shops(tenant)}
    shop = shops.get(shop_id)
    if shop is None or (brand is not None and shop.brand != brand):
        raise NotFound("shop", f"{shop_id} (set shops with `omnistock catalog shops FILE`)")
    held = products_of_sku(catalog, tenant, sku_code, shop.brand)
    context = {**STOCK_PLACEHOLDER, **shop.settings}
    if stock is not None:
        context["stock"] = stock
    return check(held[0].product, shop.platform, catalog.registry, context)


def snapshot_issues(catalog: Catalog, tenant: str, snapshot: Snapshot) -> list[Issue]:
    """The snapshot's SKUs that the catalog does not hold (for their brand): a snapshot
    plans only what the product master knows."""
    issues = []
    known: dict[str, set[str]] = {}
    for i, sku in enumerate(snapshot.skus):
        codes = known.get(sku.brand)
        if codes is None:
            codes = known[sku.brand] = catalog.store.sku_codes(tenant, sku.brand)
        if sku.id not in codes:
            message = f"SKU {sku.id!r} of brand {sku.brand!r} is not in the catalog"
            issues.append(Issue(f"skus[{i}].id", message))
    return issues


def keys_of(result: ImportResult) -> dict[str, list[str]]:
    """The import's products by outcome, as 'brand/spu' strings."""

    def named(keys: list[ProductKey]) -> list[str]:
        return [str(k) for k in keys]

    return {
        "created": named(result.created),
        "updated": named(result.updated),
        "unchanged": named(result.unchanged),
    }
