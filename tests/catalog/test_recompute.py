"""Completeness is never older than what it was computed from: a platform schema file
that changes (or goes) rechecks every product on its platform, of every tenant, in the
sync that stores it, and leaves the other platforms' rows alone; new shops recheck every
product of the tenant on its brand's shops' platforms. On both backends."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from engine.catalog.registry import PLATFORMS_DIR, Registry, default_registry
from engine.catalog.store import CatalogStore, CompletenessRow
from engine.db import migrate
from engine.db.connect import connect
from engine.services import catalog as service
from engine.services.catalog import Catalog
from tests.catalog.test_catalog_api import TM_B1, shoe

Key = tuple[str, str, str, str]  # tenant, brand, SPU code, platform
RUNNING = "tmall/running-shoes.json"
INSOLE = ("props.鞋垫材质", "required")


def tee(spu: str) -> dict[str, Any]:
    return shoe(spu, category=["服饰", "T恤"], attributes={"材质": "棉", "适用性别": "男"})


def copy_platforms(tmp_path: Path) -> Path:
    directory = tmp_path / "platforms"
    shutil.copytree(PLATFORMS_DIR, directory)
    return directory


def edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")


def require_insole(doc: dict[str, Any]) -> None:
    """Tmall makes the insole material of running shoes required (a new version)."""
    doc["schema"]["properties"]["props"]["required"].append("鞋垫材质")
    doc["version"] += 1


def rows(store: CatalogStore, tenants: tuple[str, ...] = ("acme", "beta")) -> dict[Key, Any]:
    return {
        (r.tenant, r.brand, r.spu_code, r.platform): r
        for tenant in tenants
        for r in store.completeness(tenant)
    }


def issues(row: CompletenessRow) -> set[tuple[str, str]]:
    return {(i["field"], i["rule"]) for i in row.issues}


def stocked(catalog_db: Engine, registry: Registry) -> Catalog:
    """Two tenants' products checked with `registry`: acme's b1 has Tmall and JD shops,
    its b2 none (so it is checked everywhere); beta has no shops."""
    catalog = Catalog(CatalogStore(catalog_db), registry)
    service.sync_schemas(catalog)
    shops = {
        "shops": [
            {"id": "tm-b1", "brand": "b1", "platform": "tmall", "settings": TM_B1},
            {"id": "jd-b1", "brand": "b1", "platform": "jd", "settings": {}},
        ]
    }
    service.put_shops(catalog, "acme", shops, "tester", "test")
    acme = [shoe("P1"), shoe("P2"), tee("A1"), shoe("Q1", brand="b2")]
    service.import_documents(catalog, "acme", acme, "tester")
    service.import_documents(catalog, "beta", [shoe("Z1", brand="b9")], "tester")
    return catalog


def test_a_changed_schema_rechecks_its_platform_in_the_sync(
    catalog_db: Engine, tmp_path: Path
) -> None:
    platforms = copy_platforms(tmp_path)
    catalog = stocked(catalog_db, Registry.load(platforms))
    before = rows(catalog.store)
    running = {k for k, r in before.items() if r.category_id == "50012044"}
    assert {k[2] for k in running} == {"P1", "P2", "Q1", "Z1"}  # both tenants
    assert all(before[k].schema_version == 1 and INSOLE not in issues(before[k]) for k in running)

    edit(platforms / RUNNING, require_insole)
    changed = service.sync_schemas(Catalog(catalog.store, Registry.load(platforms)))
    assert changed == [("tmall", "50012044", 2)]
    after = rows(catalog.store)
    assert after.keys() == before.keys()
    for key, row in after.items():
        if key in running:
            assert row.schema_version == 2 and INSOLE in issues(row) and not row.ok, key
            assert issues(row) - {INSOLE} == issues(before[key]), key
        elif key[3] == "tmall":  # another category of the platform: the same result
            assert (row.schema_version, row.issues) == (
                before[key].schema_version,
                before[key].issues,
            )
        else:
            assert row == before[key], key  # not even checked again
    assert service.sync_schemas(Catalog(catalog.store, Registry.load(platforms))) == []
    assert rows(catalog.store) == after


def test_a_schema_file_that_goes_moves_its_products_in_the_sync(
    catalog_db: Engine, tmp_path: Path
) -> None:
    platforms = copy_platforms(tmp_path)
    catalog = stocked(catalog_db, Registry.load(platforms))
    before = rows(catalog.store)
    (platforms / RUNNING).unlink()
    shutil.rmtree(platforms / "taobao")  # a whole platform gone, too
    registry = Registry.load(platforms)
    changed = service.sync_schemas(Catalog(catalog.store, registry))
    taobao = [("taobao", s.category_id, 2) for s in default_registry().schemas("taobao")]
    assert sorted(changed) == [*taobao, ("tmall", "50012044", 2)]
    after = rows(catalog.store)
    shoes = registry.match("tmall", ["鞋靴"])
    assert shoes is not None
    moved = {k for k, r in before.items() if r.category_id == "50012044"}
    assert moved and all(after[k].category_id == shoes.category_id for k in moved)
    # b2 and beta have no shops: checked on every platform there is, no longer on taobao.
    assert {k[3] for k in after if k[2] == "Q1"} == {"douyin", "jd", "pdd", "tmall"}
    assert {k[3] for k in after if k[2] == "P1"} == {"jd", "tmall"}
    assert {k for k in before if k[3] != "taobao"} == set(after)
    for key in after.keys() - moved:
        assert after[key].issues == before[key].issues, key
    assert service.sync_schemas(Catalog(catalog.store, registry)) == []

    shutil.copy(PLATFORMS_DIR / RUNNING, platforms / RUNNING)  # and back it comes
    again = service.sync_schemas(Catalog(catalog.store, Registry.load(platforms)))
    assert again == [("tmall", "50012044", 3)]
    back = rows(catalog.store)
    assert all(back[k].category_id == "50012044" for k in moved)


class _Held(CatalogStore):
    """A store whose recheck, inside the sync's transaction, waits for another sync to
    begin: two processes syncing the same new file at once."""

    def __init__(self, engine: Engine, inside: threading.Event, go: threading.Event) -> None:
        super().__init__(engine)
        self.inside, self.go = inside, go

    def tenants(self, session: Session) -> list[str]:
        self.inside.set()
        self.go.wait(timeout=10)
        return super().tenants(session)


def test_two_processes_syncing_one_change_at_once_both_open(
    catalog_db: Engine, tmp_path: Path
) -> None:
    platforms = copy_platforms(tmp_path)
    catalog = stocked(catalog_db, Registry.load(platforms))
    edit(platforms / RUNNING, require_insole)
    registry = Registry.load(platforms)
    inside, go = threading.Event(), threading.Event()
    first = Catalog(_Held(catalog_db, inside, go), registry)
    results: list[Any] = []

    def sync_first() -> None:
        results.append(service.sync_schemas(first))

    thread = threading.Thread(target=sync_first)
    thread.start()
    try:
        assert inside.wait(timeout=10)
        # The first has written version 2 and not committed; this one reads version 1,
        # and on PostgreSQL loses the race for version 2 once the first commits.
        threading.Timer(0.3, go.set).start()
        second = service.sync_schemas(Catalog(catalog.store, registry))
    finally:
        go.set()
        thread.join()
    assert results == [[("tmall", "50012044", 2)]] and second == []
    assert catalog.store.current_schema_versions(service.BUILTIN)[("tmall", "50012044")] == 2
    assert all(INSOLE in issues(r) for r in catalog.store.completeness("beta", platform="tmall"))


# --- shops ------------------------------------------------------------------------------


def platforms_of(store: CatalogStore, tenant: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in store.completeness(tenant):
        found.setdefault(row.brand, set()).add(row.platform)
    return found


def test_new_shops_recheck_each_brand_on_its_shops_platforms(catalog_db: Engine) -> None:
    catalog = Catalog(CatalogStore(catalog_db), default_registry())
    service.sync_schemas(catalog)
    service.import_documents(catalog, "acme", [shoe("P1"), shoe("Q1", brand="b2")], "tester")
    everywhere = set(default_registry().platforms())
    assert platforms_of(catalog.store, "acme") == {"b1": everywhere, "b2": everywhere}

    def shops(*pairs: tuple[str, str]) -> dict[str, Any]:
        return {
            "shops": [
                {"id": f"{platform}-{brand}", "brand": brand, "platform": platform}
                for brand, platform in pairs
            ]
        }

    service.put_shops(catalog, "acme", shops(("b1", "jd")), "tester", "test")
    assert platforms_of(catalog.store, "acme") == {"b1": {"jd"}, "b2": everywhere}
    service.put_shops(
        catalog, "acme", shops(("b1", "jd"), ("b1", "pdd"), ("b2", "tmall")), "t", "t"
    )
    assert platforms_of(catalog.store, "acme") == {"b1": {"jd", "pdd"}, "b2": {"tmall"}}
    [tmall] = catalog.store.completeness("acme", "b2", "tmall")
    assert ("location.city", "shop_setting") in issues(tmall)  # the shop has no settings

    settled = shops(("b2", "tmall"))
    settled["shops"][0]["settings"] = TM_B1
    service.put_shops(catalog, "acme", settled, "tester", "test")
    assert platforms_of(catalog.store, "acme") == {"b1": everywhere, "b2": {"tmall"}}
    [tmall] = catalog.store.completeness("acme", "b2", "tmall")
    assert tmall.ok and tmall.issues == []


BRANDS = ("b1", "b2", "b3")


def test_any_shops_leave_each_brand_checked_where_it_sells(tmp_path: Path) -> None:
    """Whatever shops are set, in any order: a brand with shops is checked on exactly
    their platforms, one without on every platform (SQLite: the rule is the service's)."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    migrate.upgrade(url)
    engine = connect(url)
    catalog = Catalog(CatalogStore(engine), default_registry())
    service.sync_schemas(catalog)
    products = [shoe(f"{brand.upper()}-1", brand=brand) for brand in BRANDS]
    service.import_documents(catalog, "acme", products, "tester")
    everywhere = default_registry().platforms()
    pairs = st.lists(st.tuples(st.sampled_from(BRANDS), st.sampled_from(everywhere)), max_size=6)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(pairs)
    def check(chosen: list[tuple[str, str]]) -> None:
        doc = {
            "shops": [
                {"id": f"s{i}", "brand": brand, "platform": platform}
                for i, (brand, platform) in enumerate(chosen)
            ]
        }
        service.put_shops(catalog, "acme", doc, "tester", "test")
        expected = {
            brand: {p for b, p in chosen if b == brand} or set(everywhere) for brand in BRANDS
        }
        assert platforms_of(catalog.store, "acme") == expected

    try:
        check()
    finally:
        engine.dispose()
