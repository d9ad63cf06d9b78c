"""The catalog store: a tenant's product master, versioned, in the relational database.

Every write is one transaction: all of it or none of it. A product's versions are
numbered from 1 and never rewritten; importing a record equal to the current version
(same content hash) writes nothing, so an import run twice is one import. SKU codes are
unique within a brand across the current versions of its products; an import or a
restore that would break that is refused (InputError naming the code and both products)
before anything is written.

Two writers of the same product at once: on SQLite they queue (engine/db/connect.py);
on PostgreSQL both may read version N, and the primary key of the versions table lets
only one of them write N+1. The other gets `Conflict` and nothing of its write is kept;
the same call again applies it on top of the winner's version.

Reads and writes return the plain records of engine/catalog/records.py (imported here
too, so callers need one import).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.catalog.model import Product, changes
from engine.catalog.records import (
    CompletenessRow,
    ImportResult,
    JsonObject,
    OnChange,
    OnSchemaChange,
    PriceCheck,
    PricePolicy,
    ProductKey,
    SchemaVersion,
    StoredProduct,
    StoredSchema,
    VersionInfo,
)
from engine.catalog.shops import Shop
from engine.catalog.tables import (
    CATEGORY,
    PERSON,
    PLATFORM,
    TENANT,
    CatalogCompleteness,
    CatalogProduct,
    CatalogProductVersion,
    CatalogSchema,
    CatalogShop,
    CatalogSku,
    PriceCheckRecord,
    PricePolicyVersion,
)
from engine.core.errors import InputError, Issue
from engine.db.errors import Conflict, NotFound
from engine.db.sessions import reading, writing

__all__ = [
    "CatalogStore",
    "CompletenessRow",
    "ImportResult",
    "OnChange",
    "OnSchemaChange",
    "PriceCheck",
    "PricePolicy",
    "ProductKey",
    "SchemaVersion",
    "StoredProduct",
    "StoredSchema",
    "VersionInfo",
]

_COMPLETENESS_FIELDS = [field.name for field in fields(CompletenessRow)]
# Rows per IN (...) list: both backends cap the parameters of one statement.
CHUNK = 500
# A page of list_products holds at most this many products.
MAX_PAGE = 1000
# Writes that only append (a policy version, a price check) retry a lost race this often.
APPEND_ATTEMPTS = 3

T = TypeVar("T")


class CatalogStore:
    """The catalog of every tenant in one database; each method names its tenant."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The database engine (other stores on the same database share its pool)."""
        return self._engine

    def dispose(self) -> None:
        """Close the store's connections (a server shutting down); the writer shares
        the engine's pool."""
        self._engine.dispose()

    # --- products ----------------------------------------------------------------------

    def import_products(
        self,
        tenant: str,
        products: Sequence[Product],
        author: str,
        source: str,
        on_change: OnChange | None = None,
    ) -> ImportResult:
        """Store each product as a new version where its content changed; one transaction."""
        _check_names(tenant=tenant, author=author)
        keys = [ProductKey(p.brand, p.spu_code) for p in products]
        first: dict[ProductKey, int] = {}
        issues = []
        for i, key in enumerate(keys):
            if key in first:
                issues.append(
                    Issue(f"products[{i}]", f"product {key} is also products[{first[key]}]")
                )
            first.setdefault(key, i)
        if issues:
            raise InputError(issues, source)
        if not products:
            return ImportResult([], [], [], {})
        with self._write(_named(keys)) as session:
            paths = [f"products[{i}]" for i in range(len(products))]
            result, _ = self._apply(
                session, tenant, products, paths, author, source, source, on_change
            )
        return result

    def get_product(
        self, tenant: str, brand: str, spu_code: str, version: int | None = None
    ) -> StoredProduct:
        """The current version of a product, or the version asked for."""
        key = ProductKey(brand, spu_code)
        with self._read() as session:
            if version is None:
                current = session.get(CatalogProduct, (tenant, brand, spu_code))
                if current is None:
                    raise NotFound("product", str(key))
                version = current.version
            row = session.get(CatalogProductVersion, (tenant, brand, spu_code, version))
            if row is None:
                raise NotFound("product version", f"{key} v{version}")
            return _stored(row)

    def find_sku(self, tenant: str, sku_code: str, brand: str | None = None) -> list[ProductKey]:
        """The products that hold a SKU code now: one per brand that uses the code."""
        query = select(CatalogSku.brand, CatalogSku.spu_code).where(
            CatalogSku.tenant == tenant, CatalogSku.sku_code == sku_code
        )
        if brand is not None:
            query = query.where(CatalogSku.brand == brand)
        with self._read() as session:
            rows = session.execute(query.order_by(CatalogSku.brand)).all()
        return [ProductKey(b, s) for b, s in rows]

    def list_products(
        self,
        tenant: str,
        brand: str | None = None,
        offset: int = 0,
        limit: int = 100,
        code: str | None = None,
    ) -> tuple[int, list[StoredProduct]]:
        """(how many products there are, one page of them) by brand, then SPU code;
        with `code`, those whose SPU code or a current SKU code holds it (any case)."""
        issues = []
        if offset < 0:
            issues.append(Issue("offset", f"must be >= 0, not {offset}"))
        if not 1 <= limit <= MAX_PAGE:
            issues.append(Issue("limit", f"must be between 1 and {MAX_PAGE}, not {limit}"))
        if issues:
            raise InputError(issues)
        where = [CatalogProduct.tenant == tenant]
        if brand is not None:
            where.append(CatalogProduct.brand == brand)
        if code:
            where.append(_holds_code(code))
        page = (
            select(CatalogProductVersion)
            .join(CatalogProduct, _is_current())
            .where(*where)
            .order_by(CatalogProduct.brand, CatalogProduct.spu_code)
            .offset(offset)
            .limit(limit)
        )
        with self._read() as session:
            total = session.scalar(select(func.count()).select_from(CatalogProduct).where(*where))
            stored = [_stored(row) for row in session.scalars(page)]
        return total or 0, stored

    def current(self, tenant: str, brand: str | None = None) -> list[StoredProduct]:
        """Every current product of the tenant (or brand), by brand and SPU code."""
        with self._read() as session:
            return self.current_products(session, tenant, brand)

    def current_products(
        self, session: Session, tenant: str, brand: str | None = None
    ) -> list[StoredProduct]:
        """Every current product of the tenant (or brand), read in the caller's session:
        for a callback that recomputes completeness inside a write."""
        query = select(CatalogProductVersion).join(CatalogProduct, _is_current())
        query = query.where(CatalogProduct.tenant == tenant)
        if brand is not None:
            query = query.where(CatalogProduct.brand == brand)
        query = query.order_by(CatalogProduct.brand, CatalogProduct.spu_code)
        return [_stored(row) for row in session.scalars(query)]

    def history(self, tenant: str, brand: str, spu_code: str) -> list[VersionInfo]:
        """Every version of a product, newest first."""
        query = (
            select(CatalogProductVersion)
            .where(
                CatalogProductVersion.tenant == tenant,
                CatalogProductVersion.brand == brand,
                CatalogProductVersion.spu_code == spu_code,
            )
            .order_by(CatalogProductVersion.version.desc())
        )
        with self._read() as session:
            rows = session.scalars(query).all()
            if not rows:
                raise NotFound("product", str(ProductKey(brand, spu_code)))
            return [
                VersionInfo(r.version, r.author, r.created_at, r.source, list(r.changes))
                for r in rows
            ]

    def restore(
        self,
        tenant: str,
        brand: str,
        spu_code: str,
        version: int,
        author: str,
        on_change: OnChange | None = None,
    ) -> StoredProduct:
        """Make an old version's content current again, as a new version; restoring what
        is current already writes nothing and returns the current version."""
        _check_names(tenant=tenant, author=author)
        key = ProductKey(brand, spu_code)
        with self._write(f"product {key}") as session:
            old = session.get(CatalogProductVersion, (tenant, brand, spu_code, version))
            if old is None:
                raise NotFound("product version", f"{key} v{version}")
            product = Product.model_validate(old.body)
            source = f"restore of v{version}"
            _, stored = self._apply(
                session,
                tenant,
                [product],
                [f"v{version}"],
                author,
                source,
                f"restore of {key} v{version}",
                on_change,
            )
            if stored:
                return stored[0]
            current = session.get(CatalogProduct, (tenant, brand, spu_code))
            assert current is not None  # the version above belongs to it
            row = session.get(CatalogProductVersion, (tenant, brand, spu_code, current.version))
            assert row is not None
            return _stored(row)

    def sku_codes(self, tenant: str, brand: str | None = None) -> set[str]:
        """The SKU codes the current versions hold."""
        query = select(CatalogSku.sku_code).where(CatalogSku.tenant == tenant)
        if brand is not None:
            query = query.where(CatalogSku.brand == brand)
        with self._read() as session:
            return set(session.scalars(query))

    # --- completeness ----------------------------------------------------------------

    def put_completeness(self, session: Session, rows: Iterable[CompletenessRow]) -> None:
        """Replace the completeness rows of these (product, platform) pairs, inside the
        caller's transaction (an on_change or on_schema_change callback)."""
        rows = list(rows)
        issues: list[Issue] = []
        for i, row in enumerate(rows):
            _check_length(issues, f"rows[{i}].platform", row.platform, PLATFORM)
            if row.category_id is not None:
                _check_length(issues, f"rows[{i}].category_id", row.category_id, CATEGORY)
            if not 0.0 <= row.score <= 1.0:
                issues.append(Issue(f"rows[{i}].score", f"must be in 0..1, not {row.score}"))
        if issues:
            raise InputError(issues, "completeness")
        # One DELETE per (tenant, brand, platform): few, whatever the number of products.
        groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for row in rows:
            groups[(row.tenant, row.brand, row.platform)].append(row.spu_code)
        table = CatalogCompleteness
        for (tenant, brand, platform), spu_codes in groups.items():
            for chunk in _chunks(spu_codes):
                session.execute(
                    delete(table).where(
                        table.tenant == tenant,
                        table.brand == brand,
                        table.platform == platform,
                        table.spu_code.in_(chunk),
                    )
                )
        # The record's fields are the table's columns.
        # A shallow dict per row: asdict would deep-copy every issue list for nothing.
        _insert(
            session, table, [{f: getattr(row, f) for f in _COMPLETENESS_FIELDS} for row in rows]
        )

    def clear_completeness(self, session: Session, tenant: str) -> None:
        """Drop every completeness row of the tenant, inside the caller's transaction
        (before all of them are computed again: a platform the brand left goes too)."""
        session.execute(delete(CatalogCompleteness).where(CatalogCompleteness.tenant == tenant))

    def completeness(
        self,
        tenant: str,
        brand: str | None = None,
        platform: str | None = None,
        ok: bool | None = None,
        spu_codes: Sequence[str] | None = None,
    ) -> list[CompletenessRow]:
        """The stored completeness rows, by brand, SPU code and platform; `ok` keeps the
        ready (True) or the blocked (False) ones, `spu_codes` those products only."""
        table = CatalogCompleteness
        query = select(table).where(table.tenant == tenant)
        if brand is not None:
            query = query.where(table.brand == brand)
        if platform is not None:
            query = query.where(table.platform == platform)
        if ok is not None:
            query = query.where(table.ok == ok)
        if spu_codes is not None:
            query = query.where(table.spu_code.in_(list(spu_codes)))
        query = query.order_by(table.brand, table.spu_code, table.platform)
        with self._read() as session:
            return [
                CompletenessRow(**{name: getattr(row, name) for name in _COMPLETENESS_FIELDS})
                for row in session.scalars(query)
            ]

    def completeness_counts(
        self, tenant: str, brand: str | None = None, platform: str | None = None
    ) -> list[tuple[str, int, int, float]]:
        """Per platform: (platform, products checked, ready, mean score), counted by the
        database without reading a row out, by platform."""
        table = CatalogCompleteness
        # A sum of CASE, not of the boolean: PostgreSQL does not sum booleans.
        ready = func.sum(case((table.ok == true(), 1), else_=0))
        query = select(table.platform, func.count(), ready, func.avg(table.score))
        query = query.where(table.tenant == tenant)
        if brand is not None:
            query = query.where(table.brand == brand)
        if platform is not None:
            query = query.where(table.platform == platform)
        query = query.group_by(table.platform).order_by(table.platform)
        with self._read() as session:
            return [
                (str(name), int(n), int(r or 0), float(mean))
                for name, n, r, mean in session.execute(query)
            ]

    # --- platform schemas ------------------------------------------------------------

    def sync_schemas(
        self,
        tenant: str,
        schemas: Sequence[tuple[str, str, str, JsonObject]],
        on_schema_change: OnSchemaChange | None = None,
    ) -> list[SchemaVersion]:
        """Store each (platform, category_id, content_hash, body) whose hash differs from
        its latest version as a new version; returns those, in the order given."""
        _check_names(tenant=tenant)
        issues: list[Issue] = []
        seen: dict[tuple[str, str], int] = {}
        for i, (platform, category_id, _, body) in enumerate(schemas):
            _check_length(issues, f"schemas[{i}].platform", platform, PLATFORM)
            _check_length(issues, f"schemas[{i}].category_id", category_id, CATEGORY)
            _check_json(issues, f"schemas[{i}].body", body)
            if (platform, category_id) in seen:
                issues.append(
                    Issue(
                        f"schemas[{i}]",
                        f"{platform} category {category_id} is also schemas"
                        f"[{seen[(platform, category_id)]}]",
                    )
                )
            seen.setdefault((platform, category_id), i)
        if issues:
            raise InputError(issues, "schemas")
        now = datetime.now(UTC)
        with self._write(f"the schemas of tenant {tenant}") as session:
            latest = _latest_schemas(session, tenant)
            changed: list[SchemaVersion] = []
            rows = []
            for platform, category_id, content_hash, body in schemas:
                version, stored_hash = latest.get((platform, category_id), (0, None))
                if stored_hash == content_hash:
                    continue
                changed.append(SchemaVersion(platform, category_id, version + 1))
                rows.append(
                    {
                        "tenant": tenant,
                        "platform": platform,
                        "category_id": category_id,
                        "version": version + 1,
                        "content_hash": content_hash,
                        "body": body,
                        "loaded_at": now,
                    }
                )
            if rows:
                session.execute(insert(CatalogSchema), rows)
            if on_schema_change is not None:
                for platform, category_id, version in changed:
                    on_schema_change(session, platform, category_id, version)
        return changed

    def current_schema_versions(self, tenant: str) -> dict[tuple[str, str], int]:
        """(platform, category_id) -> its latest version."""
        with self._read() as session:
            latest = _latest_schemas(session, tenant)
        return {key: version for key, (version, _) in latest.items()}

    def get_schema(
        self, tenant: str, platform: str, category_id: str, version: int | None = None
    ) -> StoredSchema:
        """A schema's latest version, or the version asked for."""
        table = CatalogSchema
        query = select(table).where(
            table.tenant == tenant, table.platform == platform, table.category_id == category_id
        )
        if version is not None:
            query = query.where(table.version == version)
        query = query.order_by(table.version.desc()).limit(1)
        with self._read() as session:
            row = session.scalar(query)
            if row is None:
                at = "" if version is None else f" v{version}"
                raise NotFound("schema", f"{platform}/{category_id}{at} of tenant {tenant}")
            return StoredSchema(
                row.platform,
                row.category_id,
                row.version,
                row.content_hash,
                row.body,
                row.loaded_at,
            )

    # --- price policy and price checks -----------------------------------------------

    def put_price_policy(self, tenant: str, body: JsonObject, author: str) -> int:
        """Store the tenant's price policy as its next version; returns the version."""
        _check_names(tenant=tenant, author=author)
        _raise_unless_json(body, "price policy")

        def append(session: Session) -> int:
            table = PricePolicyVersion
            last = session.scalar(select(func.max(table.version)).where(table.tenant == tenant))
            version = (last or 0) + 1
            session.add(
                table(
                    tenant=tenant,
                    version=version,
                    body=body,
                    author=author,
                    created_at=datetime.now(UTC),
                )
            )
            session.flush()
            return version

        return self._append(f"the price policy of tenant {tenant}", append)

    def price_policy(self, tenant: str) -> PricePolicy | None:
        """The tenant's current price policy (version, body); None before the first."""
        table = PricePolicyVersion
        query = select(table).where(table.tenant == tenant).order_by(table.version.desc())
        with self._read() as session:
            row = session.scalar(query.limit(1))
            return None if row is None else PricePolicy(row.version, row.body)

    def add_price_check(self, tenant: str, trigger: str, body: JsonObject) -> int:
        """Keep one run of the price guard; returns its id (1, 2, ... per tenant)."""
        _check_names(tenant=tenant)
        _raise_unless_json(body, "price check")

        def append(session: Session) -> int:
            table = PriceCheckRecord
            last = session.scalar(select(func.max(table.id)).where(table.tenant == tenant))
            check_id = (last or 0) + 1
            session.add(
                table(
                    tenant=tenant,
                    id=check_id,
                    created_at=datetime.now(UTC),
                    trigger=trigger,
                    body=body,
                )
            )
            session.flush()
            return check_id

        return self._append(f"the price checks of tenant {tenant}", append)

    def latest_price_check(self, tenant: str) -> PriceCheck | None:
        """The newest price check (id, created_at, trigger, body); None before the first."""
        table = PriceCheckRecord
        query = select(table).where(table.tenant == tenant).order_by(table.id.desc()).limit(1)
        with self._read() as session:
            row = session.scalar(query)
            return (
                None if row is None else PriceCheck(row.id, row.created_at, row.trigger, row.body)
            )

    # --- shops -------------------------------------------------------------------------

    def put_shops(self, tenant: str, shops: Sequence[Shop], author: str) -> None:
        """Replace the tenant's shops (and their listing settings) in one transaction."""
        _check_names(tenant=tenant, author=author)
        now = datetime.now(UTC)
        with self._write(f"the shops of tenant {tenant}") as session:
            session.execute(delete(CatalogShop).where(CatalogShop.tenant == tenant))
            session.add_all(
                CatalogShop(
                    tenant=tenant,
                    shop=shop.id,
                    brand=shop.brand,
                    platform=shop.platform,
                    settings=dict(shop.settings),
                    updated_at=now,
                    updated_by=author,
                )
                for shop in shops
            )

    def shops(self, tenant: str) -> list[Shop]:
        """The tenant's shops, by id."""
        query = select(CatalogShop).where(CatalogShop.tenant == tenant).order_by(CatalogShop.shop)
        with self._read() as session:
            return [
                Shop(id=row.shop, brand=row.brand, platform=row.platform, settings=row.settings)
                for row in session.scalars(query)
            ]

    # --- transactions ----------------------------------------------------------------

    def tenants(self, session: Session) -> list[str]:
        """Every tenant with a product, read in the caller's session."""
        query = select(CatalogProduct.tenant).distinct().order_by(CatalogProduct.tenant)
        return list(session.scalars(query))

    def in_transaction(self, work: Callable[[Session], None], what: str = "the catalog") -> None:
        """Run `work` in one write transaction: all of its writes or none."""
        with self._write(what) as session:
            work(session)

    def _read(self) -> AbstractContextManager[Session]:
        return reading(self._engine)

    def _write(self, what: str) -> AbstractContextManager[Session]:
        """One transaction; a unique key another writer took first is a Conflict (the
        specific statements below name what they lost; this names the whole write)."""
        return writing(self._engine, what)

    def _append(self, what: str, append: _Append) -> int:
        # Appends carry no version the caller read, so a lost race is retried here.
        for attempt in range(APPEND_ATTEMPTS):
            try:
                with self._write(what) as session:
                    return append(session)
            except Conflict:
                if attempt == APPEND_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _apply(
        self,
        session: Session,
        tenant: str,
        products: Sequence[Product],
        paths: list[str],
        author: str,
        source: str,
        error_source: str,
        on_change: OnChange | None,
    ) -> tuple[ImportResult, list[StoredProduct]]:
        """Write the products whose content changed: the core of import and restore."""
        keys = [ProductKey(p.brand, p.spu_code) for p in products]
        current = _current_rows(session, tenant, keys)
        issues = _sku_code_issues(session, tenant, products, paths)
        if issues:
            raise InputError(issues, error_source)
        now = datetime.now(UTC)
        created: list[ProductKey] = []
        updated: list[ProductKey] = []
        unchanged: list[ProductKey] = []
        versions: dict[ProductKey, int] = {}
        stored: list[StoredProduct] = []
        version_rows: dict[ProductKey, JsonObject] = {}
        for key, product in zip(keys, products, strict=True):
            content_hash = product.content_hash()
            row = current.get(key)
            if row is not None and row.content_hash == content_hash:
                unchanged.append(key)
                versions[key] = row.version
                continue
            version = 1 if row is None else row.version + 1
            before = None if row is None else Product.model_validate(row.body)
            (created if row is None else updated).append(key)
            versions[key] = version
            stored.append(StoredProduct(product, version, author, now, source))
            version_rows[key] = {
                "tenant": tenant,
                "brand": key.brand,
                "spu_code": key.spu_code,
                "version": version,
                "body": product.body(),
                "content_hash": content_hash,
                "author": author,
                "created_at": now,
                "source": source,
                "changes": changes(before, product),
            }
        changed = created + updated

        def current_row(key: ProductKey) -> JsonObject:
            row = version_rows[key]
            return {
                "tenant": tenant,
                "brand": key.brand,
                "spu_code": key.spu_code,
                "version": row["version"],
                "content_hash": row["content_hash"],
                "body": row["body"],
                "updated_at": now,
                "updated_by": author,
            }

        # Updates first claim version N+1 (the primary key is the race's referee) before
        # touching the current row; new products claim their key in catalog_products.
        with _lost_race(f"{_named(updated)} was changed meanwhile, retry"):
            _insert(session, CatalogProductVersion, [version_rows[k] for k in updated])
        with _lost_race(f"{_named(created)} was created meanwhile, retry"):
            _insert(session, CatalogProduct, [current_row(k) for k in created])
            _insert(session, CatalogProductVersion, [version_rows[k] for k in created])
        if updated:
            session.execute(update(CatalogProduct), [current_row(k) for k in updated])
        by_brand: dict[str, list[str]] = defaultdict(list)
        for key in changed:
            by_brand[key.brand].append(key.spu_code)
        for brand, spu_codes in by_brand.items():
            for chunk in _chunks(spu_codes):
                session.execute(
                    delete(CatalogSku).where(
                        CatalogSku.tenant == tenant,
                        CatalogSku.brand == brand,
                        CatalogSku.spu_code.in_(chunk),
                    )
                )
        sku_rows = [
            {
                "tenant": tenant,
                "brand": s.product.brand,
                "sku_code": sku.sku_code,
                "spu_code": s.product.spu_code,
            }
            for s in stored
            for sku in s.product.skus
        ]
        with _lost_race(f"a SKU code of {_named(changed)} was taken meanwhile, retry"):
            _insert(session, CatalogSku, sku_rows)
        if on_change is not None and stored:
            on_change(session, tenant, stored)
        result = ImportResult(created, updated, unchanged, versions)
        return result, stored


class _Append(Protocol):
    def __call__(self, session: Session, /) -> int: ...


@contextmanager
def _lost_race(message: str) -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        raise Conflict(message) from None


def _insert(session: Session, table: type[Any], rows: list[JsonObject]) -> None:
    if rows:
        session.execute(insert(table), rows)


def _is_current() -> ColumnElement[bool]:
    return and_(
        CatalogProduct.tenant == CatalogProductVersion.tenant,
        CatalogProduct.brand == CatalogProductVersion.brand,
        CatalogProduct.spu_code == CatalogProductVersion.spu_code,
        CatalogProduct.version == CatalogProductVersion.version,
    )


class _Current(NamedTuple):
    version: int
    content_hash: str
    body: JsonObject


def _current_rows(
    session: Session, tenant: str, keys: list[ProductKey]
) -> dict[ProductKey, _Current]:
    # Columns, not ORM objects: the bulk UPDATE below does not refresh objects in the
    # session, and a callback reading catalog_products must see the new versions.
    by_brand: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        by_brand[key.brand].append(key.spu_code)
    found: dict[ProductKey, _Current] = {}
    table = CatalogProduct
    for brand, spu_codes in by_brand.items():
        for chunk in _chunks(spu_codes):
            query = select(table.spu_code, table.version, table.content_hash, table.body).where(
                table.tenant == tenant, table.brand == brand, table.spu_code.in_(chunk)
            )
            for spu_code, version, content_hash, body in session.execute(query):
                found[ProductKey(brand, spu_code)] = _Current(version, content_hash, body)
    return found


def _sku_code_issues(
    session: Session, tenant: str, products: Sequence[Product], paths: list[str]
) -> list[Issue]:
    """A SKU code held by two products of a brand once these products are current: two
    of them, or one of them and a product the import leaves as it is. A code a product
    of the import drops is free, so moving a code between two products of one import
    is fine."""
    importing: dict[str, set[str]] = defaultdict(set)
    claims: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for product, path in zip(products, paths, strict=True):
        importing[product.brand].add(product.spu_code)
        for j, sku in enumerate(product.skus):
            claim = (product.spu_code, f"{path}.skus[{j}].sku_code")
            claims[(product.brand, sku.sku_code)].append(claim)
    held: dict[tuple[str, str], str] = {}
    codes_by_brand: dict[str, list[str]] = defaultdict(list)
    for brand, code in claims:
        codes_by_brand[brand].append(code)
    for brand, codes in codes_by_brand.items():
        for chunk in _chunks(codes):
            query = select(CatalogSku.sku_code, CatalogSku.spu_code).where(
                CatalogSku.tenant == tenant,
                CatalogSku.brand == brand,
                CatalogSku.sku_code.in_(chunk),
            )
            for code, spu_code in session.execute(query):
                # A product of the import replaces its own codes.
                if spu_code not in importing[brand]:
                    held[(brand, code)] = spu_code
    issues = []
    for (brand, code), holders in claims.items():
        first_spu = holders[0][0]
        for spu_code, path in holders[1:]:
            issues.append(
                Issue(
                    path,
                    f"SKU code {code!r} of product {spu_code!r} is also in product "
                    f"{first_spu!r} of this import (brand {brand!r}): a SKU code "
                    "belongs to one product of its brand",
                )
            )
        other = held.get((brand, code))
        if other is not None:
            for spu_code, path in holders:
                issues.append(
                    Issue(
                        path,
                        f"SKU code {code!r} of product {spu_code!r} is held by product "
                        f"{other!r} of brand {brand!r}: a SKU code belongs to one product "
                        "of its brand",
                    )
                )
    return issues


def _latest_schemas(session: Session, tenant: str) -> dict[tuple[str, str], tuple[int, str]]:
    table = CatalogSchema
    latest = (
        select(table.platform, table.category_id, func.max(table.version).label("version"))
        .where(table.tenant == tenant)
        .group_by(table.platform, table.category_id)
        .subquery()
    )
    query = select(table.platform, table.category_id, table.version, table.content_hash).join(
        latest,
        and_(
            table.platform == latest.c.platform,
            table.category_id == latest.c.category_id,
            table.version == latest.c.version,
        ),
    )
    rows = session.execute(query.where(table.tenant == tenant))
    return {(p, c): (v, h) for p, c, v, h in rows}


def _stored(row: CatalogProductVersion) -> StoredProduct:
    return StoredProduct(
        Product.model_validate(row.body), row.version, row.author, row.created_at, row.source
    )


def _named(keys: Sequence[ProductKey]) -> str:
    shown = ", ".join(str(k) for k in keys[:5])
    more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
    return f"product{'s' if len(keys) > 1 else ''} {shown}{more}"


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _check_names(tenant: str, author: str | None = None) -> None:
    issues: list[Issue] = []
    _check_length(issues, "tenant", tenant, TENANT)
    if author is not None:
        _check_length(issues, "author", author, PERSON)
    if issues:
        raise InputError(issues)


def _check_length(issues: list[Issue], path: str, value: str, limit: int) -> None:
    if not value or len(value) > limit:
        issues.append(Issue(path, f"must be 1 to {limit} characters, not {len(value)}"))


def _check_json(issues: list[Issue], path: str, body: object) -> None:
    # Checked before the transaction: a Decimal or a date deep in a body would otherwise
    # fail inside the driver, far from the caller's mistake.
    if not isinstance(body, dict):
        issues.append(Issue(path, f"must be a JSON object, not {type(body).__name__}"))
        return
    try:
        json.dumps(body, allow_nan=False)
    except (TypeError, ValueError) as error:
        issues.append(Issue(path, f"is not JSON: {error}"))


def _raise_unless_json(body: object, what: str) -> None:
    issues: list[Issue] = []
    _check_json(issues, "body", body)
    if issues:
        raise InputError(issues, what)


def _holds_code(code: str) -> ColumnElement[bool]:
    """A product whose SPU code or one of its SKU codes contains `code`, any case (the
    LIKE wildcards in `code` taken as themselves)."""
    escaped = code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    sku_holds = (
        select(CatalogSku.sku_code)
        .where(
            CatalogSku.tenant == CatalogProduct.tenant,
            CatalogSku.brand == CatalogProduct.brand,
            CatalogSku.spu_code == CatalogProduct.spu_code,
            CatalogSku.sku_code.ilike(pattern, escape="\\"),
        )
        .exists()
    )
    return or_(CatalogProduct.spu_code.ilike(pattern, escape="\\"), sku_holds)
