"""The catalog store on both backends: versions, idempotent imports, history and
restore, SKU codes unique per brand, tenants apart, paging, the callbacks inside the
write's transaction, schemas, price policies and checks, and two writers of one product
at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, event, func, select
from sqlalchemy.orm import Session

from engine.catalog.model import Product, SkuRecord
from engine.catalog.store import (
    CHUNK,
    CatalogStore,
    CompletenessRow,
    ProductKey,
    SchemaVersion,
    StoredProduct,
)
from engine.catalog.tables import CatalogProduct, CatalogSchema
from engine.core.errors import InputError
from engine.db.errors import Conflict, DatabaseUnavailable, NotFound
from tests.db.databases import server_url

T = "agency-1"


def sku(code: str, price: str = "199.00", **fields: Any) -> SkuRecord:
    return SkuRecord.model_validate({"sku_code": code, "list_price": price, **fields})


def product(spu: str, *codes: str, brand: str = "b1", title: str = "", **fields: Any) -> Product:
    return Product(
        brand=brand,
        spu_code=spu,
        title=title or f"轻量跑鞋 {spu}",
        category=["鞋靴", "跑步鞋"],
        skus=[sku(code) for code in codes or (f"{spu}-1",)],
        **fields,
    )


def issue_text(error: InputError) -> str:
    return "\n".join(str(issue) for issue in error.issues)


# --- versions ------------------------------------------------------------------------


def test_import_creates_products_that_read_back(catalog_store: CatalogStore) -> None:
    p1 = product("P1", "X1", "X2", season="秋季", attributes={"材质": "网布"})
    p2 = product("P2", "X3", brand="b2")
    result = catalog_store.import_products(T, [p1, p2], "ana", "import catalog.csv")
    assert result.created == [("b1", "P1"), ("b2", "P2")]
    assert result.updated == result.unchanged == []
    assert result.versions == {("b1", "P1"): 1, ("b2", "P2"): 1}

    stored = catalog_store.get_product(T, "b1", "P1")
    assert stored.product == p1
    assert (stored.version, stored.author, stored.source) == (1, "ana", "import catalog.csv")
    assert stored.created_at.tzinfo == UTC
    assert abs((datetime.now(UTC) - stored.created_at).total_seconds()) < 60
    assert catalog_store.sku_codes(T) == {"X1", "X2", "X3"}
    assert catalog_store.sku_codes(T, brand="b1") == {"X1", "X2"}
    assert catalog_store.find_sku(T, "X3") == [("b2", "P2")]
    assert catalog_store.find_sku(T, "X3", brand="b1") == []
    [created] = catalog_store.history(T, "b1", "P1")
    assert (created.version, created.changes) == (1, ["created"])


def test_the_same_import_twice_is_one_version(catalog_store: CatalogStore) -> None:
    products = [product("P1", "X1"), product("P2", "X2")]
    catalog_store.import_products(T, products, "ana", "import a.csv")
    again = catalog_store.import_products(T, products, "bob", "import a.csv")
    assert again.unchanged == [("b1", "P1"), ("b1", "P2")]
    assert again.created == again.updated == []
    assert again.versions == {("b1", "P1"): 1, ("b1", "P2"): 1}
    assert len(catalog_store.history(T, "b1", "P1")) == 1
    assert catalog_store.get_product(T, "b1", "P1").author == "ana"


def test_a_change_is_a_new_version_with_what_changed(catalog_store: CatalogStore) -> None:
    v1 = product("P1", "X1", title="旧标题")
    catalog_store.import_products(T, [v1], "ana", "import a.csv")
    v2 = v1.model_copy(
        update={
            "title": "新标题",
            "skus": [v1.skus[0].model_copy(update={"cost": Decimal("80.00")}), sku("X2")],
        }
    )
    result = catalog_store.import_products(T, [v2], "bob", "api")
    assert result.updated == [("b1", "P1")]
    assert result.versions == {("b1", "P1"): 2}

    history = catalog_store.history(T, "b1", "P1")
    assert [h.version for h in history] == [2, 1]
    assert history[0].changes == ["title", "skus[X1].cost", "+skus[X2]"]
    assert (history[0].author, history[0].source) == ("bob", "api")
    assert catalog_store.get_product(T, "b1", "P1").product == v2
    assert catalog_store.get_product(T, "b1", "P1", version=1).product == v1
    assert catalog_store.sku_codes(T) == {"X1", "X2"}
    with pytest.raises(NotFound, match="b1/P1 v3"):
        catalog_store.get_product(T, "b1", "P1", version=3)
    with pytest.raises(NotFound, match="product b1/P9"):
        catalog_store.get_product(T, "b1", "P9")
    with pytest.raises(NotFound, match="product b1/P9"):
        catalog_store.history(T, "b1", "P9")


def test_restore_writes_the_old_content_as_a_new_version(catalog_store: CatalogStore) -> None:
    v1 = product("P1", "X1", title="第一版")
    v2 = product("P1", "X1", "X2", title="第二版")
    catalog_store.import_products(T, [v1], "ana", "import a.csv")
    catalog_store.import_products(T, [v2], "ana", "import b.csv")

    restored = catalog_store.restore(T, "b1", "P1", 1, "carl")
    assert (restored.version, restored.author, restored.source) == (3, "carl", "restore of v1")
    assert restored.product == v1
    assert catalog_store.get_product(T, "b1", "P1").product == v1
    assert catalog_store.history(T, "b1", "P1")[0].changes == ["title", "-skus[X2]"]
    assert catalog_store.sku_codes(T) == {"X1"}  # the dropped code is free again

    # What is current already: no new version.
    again = catalog_store.restore(T, "b1", "P1", 1, "carl")
    assert again.version == 3
    assert [h.version for h in catalog_store.history(T, "b1", "P1")] == [3, 2, 1]
    with pytest.raises(NotFound, match="b1/P1 v7"):
        catalog_store.restore(T, "b1", "P1", 7, "carl")


def test_restore_checks_sku_codes_like_an_import(catalog_store: CatalogStore) -> None:
    catalog_store.import_products(T, [product("P1", "X1", "X2")], "ana", "a")
    catalog_store.import_products(T, [product("P1", "X1")], "ana", "b")  # frees X2
    catalog_store.import_products(T, [product("P2", "X2")], "ana", "c")  # takes it
    with pytest.raises(InputError) as caught:
        catalog_store.restore(T, "b1", "P1", 1, "carl")
    assert "'X2' of product 'P1' is held by product 'P2'" in issue_text(caught.value)
    assert caught.value.source == "restore of b1/P1 v1"
    assert catalog_store.get_product(T, "b1", "P1").version == 2


# --- SKU codes -----------------------------------------------------------------------


def test_a_sku_code_of_another_product_is_refused_and_nothing_written(
    catalog_store: CatalogStore,
) -> None:
    catalog_store.import_products(T, [product("P1", "X1")], "ana", "import a.csv")
    batch = [product("P3", "X9"), product("P2", "X5", "X1")]
    with pytest.raises(InputError) as caught:
        catalog_store.import_products(T, batch, "ana", "import b.csv")
    assert caught.value.source == "import b.csv"
    [issue] = caught.value.issues
    assert issue.path == "products[1].skus[1].sku_code"
    assert "SKU code 'X1' of product 'P2' is held by product 'P1'" in issue.message
    with pytest.raises(NotFound):
        catalog_store.get_product(T, "b1", "P3")
    assert catalog_store.sku_codes(T) == {"X1"}
    assert catalog_store.list_products(T)[0] == 1


def test_two_products_of_one_import_with_one_code(catalog_store: CatalogStore) -> None:
    batch = [product("P1", "X1"), product("P2", "X2", "X1"), product("P1", "X3")]
    with pytest.raises(InputError) as caught:
        catalog_store.import_products(T, batch, "ana", "import a.csv")
    text = issue_text(caught.value)
    assert "products[2]: product b1/P1 is also products[0]" in text
    # Checked before any read: the duplicate product alone is reported.
    assert len(caught.value.issues) == 1

    with pytest.raises(InputError) as caught:
        catalog_store.import_products(T, batch[:2], "ana", "import a.csv")
    [issue] = caught.value.issues
    assert issue.path == "products[1].skus[1].sku_code"
    assert "'X1' of product 'P2' is also in product 'P1'" in issue.message
    assert catalog_store.list_products(T) == (0, [])


def test_codes_move_between_products_of_one_import(catalog_store: CatalogStore) -> None:
    catalog_store.import_products(T, [product("P1", "X1", "X2"), product("P2", "X3")], "a", "1")
    moved = catalog_store.import_products(
        T, [product("P1", "X1"), product("P2", "X3", "X2")], "a", "2"
    )
    assert moved.updated == [("b1", "P1"), ("b1", "P2")]
    assert catalog_store.find_sku(T, "X2") == [("b1", "P2")]

    # Taking a code without the product that holds it in the import: refused.
    with pytest.raises(InputError, match="'X1' of product 'P2' is held by product 'P1'"):
        catalog_store.import_products(T, [product("P2", "X3", "X2", "X1")], "a", "3")
    # Dropped first, taken after: fine.
    catalog_store.import_products(T, [product("P1", "X4")], "a", "4")
    catalog_store.import_products(T, [product("P2", "X3", "X2", "X1")], "a", "5")
    assert catalog_store.find_sku(T, "X1") == [("b1", "P2")]
    assert catalog_store.sku_codes(T) == {"X1", "X2", "X3", "X4"}


def test_a_code_may_be_in_two_brands(catalog_store: CatalogStore) -> None:
    catalog_store.import_products(
        T, [product("P1", "X1"), product("Q1", "X1", brand="b2")], "ana", "a"
    )
    assert catalog_store.find_sku(T, "X1") == [("b1", "P1"), ("b2", "Q1")]
    assert catalog_store.find_sku(T, "X1", brand="b2") == [("b2", "Q1")]


def test_tenants_are_apart(catalog_store: CatalogStore) -> None:
    catalog_store.import_products("t1", [product("P1", "X1", title="一")], "ana", "a")
    catalog_store.import_products("t2", [product("P1", "X1", title="二")], "bob", "b")
    catalog_store.import_products("t2", [product("P2", "X2")], "bob", "b")
    assert catalog_store.get_product("t1", "b1", "P1").product.title == "一"
    assert catalog_store.get_product("t2", "b1", "P1").product.title == "二"
    assert catalog_store.list_products("t1")[0] == 1
    assert catalog_store.list_products("t2")[0] == 2
    assert catalog_store.sku_codes("t1") == {"X1"}
    assert catalog_store.find_sku("t1", "X2") == []
    with pytest.raises(NotFound):
        catalog_store.get_product("t3", "b1", "P1")
    catalog_store.put_price_policy("t1", {"min_margin": {"default": "0.10"}}, "ana")
    assert catalog_store.price_policy("t2") is None


def test_pages_in_brand_then_code_order(catalog_store: CatalogStore) -> None:
    batch = [product(f"P{i:02d}", brand=("b2", "b1")[i % 2]) for i in range(25)]
    catalog_store.import_products(T, batch, "ana", "a")
    expected = sorted((p.brand, p.spu_code) for p in batch)
    seen = []
    for offset in (0, 10, 20):
        total, page = catalog_store.list_products(T, offset=offset, limit=10)
        assert total == 25
        seen += [s.key for s in page]
    assert seen == expected
    total, page = catalog_store.list_products(T, brand="b1", limit=5)
    assert total == 12
    assert [s.key for s in page] == [k for k in expected if k[0] == "b1"][:5]
    assert catalog_store.list_products(T, offset=30)[1] == []
    with pytest.raises(InputError) as caught:
        catalog_store.list_products(T, offset=-1, limit=0)
    assert [i.path for i in caught.value.issues] == ["offset", "limit"]


def test_a_large_import_spans_several_statements(catalog_store: CatalogStore) -> None:
    count = CHUNK + 50
    batch = [product(f"P{i:04d}", f"X{i:04d}", f"Y{i:04d}") for i in range(count)]
    assert len(catalog_store.import_products(T, batch, "ana", "a").created) == count
    assert len(catalog_store.sku_codes(T)) == 2 * count
    changed = batch[:-1] + [product(f"P{count - 1:04d}", "X0000")]
    with pytest.raises(InputError, match=f"'X0000' of product 'P{count - 1:04d}' is also in"):
        catalog_store.import_products(T, changed, "ana", "b")
    result = catalog_store.import_products(T, batch, "ana", "c")
    assert len(result.unchanged) == count


# --- callbacks inside the transaction ---------------------------------------------------


def completeness_of(stored: StoredProduct, platform: str, tenant: str = T) -> CompletenessRow:
    missing = (
        []
        if stored.product.images
        else [{"field": "images", "rule": "required", "message": "主图 is required", "value": None}]
    )
    return CompletenessRow(
        tenant=tenant,
        brand=stored.product.brand,
        spu_code=stored.product.spu_code,
        platform=platform,
        category_id="50012345" if platform == "tmall" else None,
        product_version=stored.version,
        schema_version=1 if platform == "tmall" else None,
        score=0.5 if missing else 1.0,
        ok=not missing,
        issues=missing,
        checked_at=datetime.now(UTC),
    )


def test_on_change_writes_in_the_same_transaction(catalog_store: CatalogStore) -> None:
    calls: list[tuple[str, ProductKey, int]] = []

    def on_change(session: Session, tenant: str, batch: list[StoredProduct]) -> None:
        for stored in batch:
            calls.append((tenant, stored.key, stored.version))
            # The session sees the write it is part of: this product at its new version.
            current = catalog_store.current_products(session, tenant, stored.key.brand)
            assert [s.version for s in current if s.key == stored.key] == [stored.version]
            assert session.get(CatalogProduct, (tenant, *stored.key)).version == stored.version
            rows = [completeness_of(stored, p, tenant) for p in ("tmall", "jd")]
            catalog_store.put_completeness(session, rows)

    p1, p2 = product("P1", "X1"), product("P2", "X2", images=["https://img/1.jpg"])
    catalog_store.import_products(T, [p1, p2], "ana", "a", on_change=on_change)
    catalog_store.import_products(T, [p1, p2], "ana", "a", on_change=on_change)  # unchanged
    assert calls == [(T, ("b1", "P1"), 1), (T, ("b1", "P2"), 1)]
    rows = catalog_store.completeness(T)
    assert [(r.spu_code, r.platform, r.ok) for r in rows] == [
        ("P1", "jd", False),
        ("P1", "tmall", False),
        ("P2", "jd", True),
        ("P2", "tmall", True),
    ]
    assert rows[0].issues[0]["message"] == "主图 is required"
    assert rows[0].checked_at.tzinfo == UTC

    # A new version replaces its rows.
    fixed = p1.model_copy(update={"images": ["https://img/2.jpg"]})
    catalog_store.import_products(T, [fixed], "ana", "b", on_change=on_change)
    tmall = catalog_store.completeness(T, platform="tmall")
    assert [(r.spu_code, r.product_version, r.ok) for r in tmall] == [
        ("P1", 2, True),
        ("P2", 1, True),
    ]
    assert [r.platform for r in catalog_store.completeness(T, brand="b1")].count("jd") == 2

    # A callback that fails undoes the whole write.
    def failing(session: Session, tenant: str, batch: list[StoredProduct]) -> None:
        on_change(session, tenant, batch)
        raise InputError([], "completeness")

    with pytest.raises(InputError):
        catalog_store.import_products(T, [product("P3", "X3")], "ana", "c", on_change=failing)
    with pytest.raises(NotFound):
        catalog_store.get_product(T, "b1", "P3")
    assert {r.spu_code for r in catalog_store.completeness(T)} == {"P1", "P2"}


# --- two writers at once ---------------------------------------------------------------


def test_two_writers_of_one_product_never_make_the_same_version(catalog_db: Engine) -> None:
    """Writer A reads version 1; B writes and commits while A is about to write. On
    PostgreSQL, B takes version 2 and A's version 2 is refused as a Conflict, with
    nothing of A kept; on SQLite, B waits for A's write lock, then writes version 3 on
    top of A's version 2. Either way no version is written twice or lost."""
    store, other = CatalogStore(catalog_db), CatalogStore(catalog_db)
    store.import_products(T, [product("P1", "X1", title="原始")], "ana", "first")
    postgres = catalog_db.dialect.name == "postgresql"
    fired = threading.Event()
    outcome: dict[str, Any] = {}
    threads: list[threading.Thread] = []

    def writer_b() -> None:
        try:
            outcome["b"] = other.import_products(T, [product("P1", "X1", title="B")], "bob", "B")
        except Exception as error:  # noqa: BLE001 - asserted below
            outcome["b"] = error

    def before_first_write(connection: Connection, cursor: Any, statement: str, *_: Any) -> None:
        if fired.is_set() or not statement.lstrip().upper().startswith("INSERT"):
            return
        fired.set()
        thread = threading.Thread(target=writer_b)
        threads.append(thread)
        thread.start()
        # PostgreSQL: B does not wait for A and is done at once. SQLite: B waits for the
        # write lock A holds; give it time to be waiting.
        thread.join(timeout=30 if postgres else 0.3)

    event.listen(catalog_db, "before_cursor_execute", before_first_write)
    try:
        if postgres:
            with pytest.raises(Conflict, match=r"product b1/P1 was changed meanwhile, retry"):
                store.import_products(T, [product("P1", "X1", title="A")], "ana", "A")
        else:
            assert store.import_products(
                T, [product("P1", "X1", title="A")], "ana", "A"
            ).versions == {("b1", "P1"): 2}
    finally:
        event.remove(catalog_db, "before_cursor_execute", before_first_write)
    for thread in threads:
        thread.join(timeout=30)
    assert fired.is_set()
    history = other.history(T, "b1", "P1")
    if postgres:
        assert outcome["b"].versions == {("b1", "P1"): 2}
        assert [(h.version, h.author) for h in history] == [(2, "bob"), (1, "ana")]
        # The same call again applies A on top of B.
        again = store.import_products(T, [product("P1", "X1", title="A")], "ana", "A")
        assert again.versions == {("b1", "P1"): 3}
    else:
        assert outcome["b"].versions == {("b1", "P1"): 3}
        assert [(h.version, h.author) for h in history] == [(3, "bob"), (2, "ana"), (1, "ana")]
    versions = [h.version for h in other.history(T, "b1", "P1")]
    assert versions == list(range(len(versions), 0, -1))
    assert store.get_product(T, "b1", "P1").version == versions[0]


def test_a_database_that_went_away_is_unavailable(catalog_db: Engine) -> None:
    store = CatalogStore(catalog_db)
    store.import_products(T, [product("P1", "X1")], "ana", "a")
    catalog_db.dispose()
    database = catalog_db.url.database
    assert database
    if catalog_db.dialect.name == "postgresql":
        with psycopg.connect(server_url("test"), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    else:
        for path in Path(database).parent.iterdir():
            path.unlink()
        Path(database).mkdir()  # where the file was: SQLite cannot open it
    with pytest.raises(DatabaseUnavailable) as caught:
        store.get_product(T, "b1", "P1")
    assert database in str(caught.value)
    with pytest.raises(DatabaseUnavailable):
        store.import_products(T, [product("P2", "X2")], "ana", "b")


# --- invariants over random imports ------------------------------------------------------

CODES = [f"X{i}" for i in range(6)]
EXAMPLES = iter(range(1_000_000))
imports = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2", "P3"]),
            st.sampled_from(["b1", "b2"]),
            st.lists(st.sampled_from(CODES), min_size=1, max_size=3, unique=True),
        ),
        min_size=1,
        max_size=3,
        unique_by=lambda item: (item[0], item[1]),
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=imports)
def test_sku_codes_follow_the_current_versions(
    catalog_store: CatalogStore, steps: list[list[tuple[str, str, list[str]]]]
) -> None:
    """Whatever is imported, an import is applied whole or refused whole, each code is
    held by one product of its brand, and catalog_skus is what the current versions
    hold. Each example has a tenant of its own in the test's database."""
    tenant = f"h-{next(EXAMPLES)}"
    model: dict[tuple[str, str], list[str]] = {}
    for step in steps:
        after = dict(model)
        after.update({(brand, spu): codes for spu, brand, codes in step})
        holders = [(brand, code) for (brand, _), codes in after.items() for code in codes]
        batch = [product(spu, *codes, brand=brand) for spu, brand, codes in step]
        if len(holders) == len(set(holders)):
            catalog_store.import_products(tenant, batch, "h", "step")
            model = after
        else:
            with pytest.raises(InputError):
                catalog_store.import_products(tenant, batch, "h", "step")
        for brand in ("b1", "b2"):
            held = {c for (b, _), codes in model.items() if b == brand for c in codes}
            assert catalog_store.sku_codes(tenant, brand) == held
        for (brand, spu), codes in model.items():
            assert [
                s.sku_code for s in catalog_store.get_product(tenant, brand, spu).product.skus
            ] == codes
            for code in codes:
                assert catalog_store.find_sku(tenant, code, brand) == [(brand, spu)]


# --- schemas -----------------------------------------------------------------------------


def test_schemas_get_a_version_when_their_content_changes(catalog_store: CatalogStore) -> None:
    seen: list[tuple[str, str, int, bool]] = []

    def on_schema_change(session: Session, platform: str, category_id: str, version: int) -> None:
        # Inside the transaction: the session sees the new version already.
        stored = session.scalar(
            select(func.max(CatalogSchema.version)).where(
                CatalogSchema.tenant == "*",
                CatalogSchema.platform == platform,
                CatalogSchema.category_id == category_id,
            )
        )
        seen.append((platform, category_id, version, stored == version))

    tmall = {"required": ["title", "images"], "properties": {"title": {"maxLength": 60}}}
    jd = {"required": ["title"]}
    first = catalog_store.sync_schemas(
        "*", [("tmall", "50012345", "h1", tmall), ("jd", "9735", "h2", jd)], on_schema_change
    )
    assert first == [SchemaVersion("tmall", "50012345", 1), SchemaVersion("jd", "9735", 1)]
    assert seen == [("tmall", "50012345", 1, True), ("jd", "9735", 1, True)]
    assert catalog_store.sync_schemas("*", [("tmall", "50012345", "h1", tmall)]) == []

    tmall2 = {**tmall, "required": ["title", "images", "brand"]}
    changed = catalog_store.sync_schemas(
        "*", [("tmall", "50012345", "h3", tmall2), ("jd", "9735", "h2", jd)]
    )
    assert changed == [("tmall", "50012345", 2)]
    assert catalog_store.current_schema_versions("*") == {
        ("tmall", "50012345"): 2,
        ("jd", "9735"): 1,
    }
    assert catalog_store.current_schema_versions(T) == {}
    assert catalog_store.get_schema("*", "tmall", "50012345").body == tmall2
    old = catalog_store.get_schema("*", "tmall", "50012345", version=1)
    assert (old.version, old.content_hash, old.body) == (1, "h1", tmall)
    with pytest.raises(NotFound, match="schema tmall/1 of tenant"):
        catalog_store.get_schema("*", "tmall", "1")
    with pytest.raises(InputError, match=r"schemas\[1\]: jd category 9735 is also schemas\[0\]"):
        catalog_store.sync_schemas("*", [("jd", "9735", "a", jd), ("jd", "9735", "b", jd)])


# --- price policy and checks ---------------------------------------------------------


def test_price_policies_and_checks(catalog_store: CatalogStore) -> None:
    assert catalog_store.price_policy(T) is None
    assert catalog_store.latest_price_check(T) is None
    policy = {
        "min_margin": {"default": "0.10", "brands": {"b2": "0.15"}},
        "promotions": [
            {"id": "双11直降", "shop": "tm-b1", "kind": "direct_cut", "amount": "20.00"}
        ],
    }
    assert catalog_store.put_price_policy(T, policy, "ana") == 1
    assert catalog_store.put_price_policy(T, {**policy, "promotions": []}, "ana") == 2
    assert catalog_store.price_policy(T) == (2, {**policy, "promotions": []})

    assert catalog_store.add_price_check(T, "import catalog.csv", {"below_floor": []}) == 1
    second = {"below_floor": [{"sku": "X1", "shop": "tm-b1", "price": "89.00"}]}
    assert catalog_store.add_price_check(T, "policy v2", second) == 2
    check = catalog_store.latest_price_check(T)
    assert check is not None
    assert (check.id, check.trigger, check.body) == (2, "policy v2", second)
    assert check.created_at.tzinfo == UTC

    with pytest.raises(InputError, match="body: is not JSON"):
        catalog_store.put_price_policy(T, {"min_margin": Decimal("0.1")}, "ana")
    with pytest.raises(InputError, match="author"):
        catalog_store.put_price_policy(T, policy, "")
    assert catalog_store.price_policy(T) == (2, {**policy, "promotions": []})
