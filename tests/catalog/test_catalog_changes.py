"""Catalog changes a person starts: an upload saved under its own name (never outside the
folder it is saved in) and imported, then the price guard; a restore, then the guard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.core.errors import InputError
from engine.services import catalog as service
from engine.services.catalog import Catalog, open_catalog
from engine.services.catalog_changes import import_upload, restore_and_guard, upload_name

DEMO_CSV = Path(__file__).resolve().parents[2] / "scenarios" / "demo" / "catalog.csv"


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    opened = open_catalog(f"sqlite:///{tmp_path / 'catalog.db'}", migrate_now=True)
    try:
        yield opened
    finally:
        opened.store.engine.dispose()


@pytest.mark.parametrize(
    "name", ["../escape.csv", "a/b.csv", "a\\b.csv", ".", "..", "a\x00b", "目" * 100]
)
def test_a_name_no_file_can_have_is_refused_by_name(
    catalog: Catalog, tmp_path: Path, name: str
) -> None:
    raw = b"".join(DEMO_CSV.read_bytes().splitlines(keepends=True)[:3])
    with pytest.raises(InputError) as refused:
        import_upload(catalog, "t", name, raw, "test", None)
    assert [issue.path for issue in refused.value.issues] == ["name"]
    assert catalog.store.list_products("t", None, 0, 10)[0] == 0
    assert not (tmp_path.parent / "escape.csv").exists()


def test_an_upload_is_imported_under_its_name_and_a_restore_makes_a_version(
    catalog: Catalog,
) -> None:
    header, first = DEMO_CSV.read_bytes().splitlines(keepends=True)[:2]
    assert upload_name("春季 新品.csv") == "春季 新品.csv"
    imported = import_upload(catalog, "t", "春季 新品.csv", header + first, "test", None)
    assert imported.report.source == "import 春季 新品.csv"
    assert imported.price_check is None  # no price policy: no check due
    [key] = imported.keys["created"]
    brand, spu = key.split("/", 1)
    retitled = first.replace(b"00001,", b"00001 v2,", 1)
    assert retitled != first
    changed = import_upload(catalog, "t", "retitled.csv", header + retitled, "test", None)
    assert changed.keys["updated"] == [key]
    restored = restore_and_guard(catalog, "t", brand, spu, 1, "planner")
    assert restored.version == 3 and restored.author == "planner"
    first_body = service.product(catalog, "t", brand, spu, 1).product.body()
    assert restored.product.body() == first_body
