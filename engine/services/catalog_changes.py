"""Catalog changes that a person starts (an uploaded file, a restore), each followed by
the price guard: a changed price, cost or floor may take a SKU below its floor, so the
check runs again at once. The API's routes and the console's pages both call these, so
the two cannot drift apart."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.catalog.store import StoredProduct
from engine.core.errors import InputError, Issue
from engine.services import catalog as service
from engine.services import prices
from engine.services.catalog import Catalog, ImportReport
from engine.store.base import JsonObject

# The longest file name file systems take, in bytes (ext4, APFS, NTFS: 255).
MAX_NAME_BYTES = 255


@dataclass(frozen=True)
class Imported:
    """An import's report and the price check it set off (None: none was due)."""

    report: ImportReport
    price_check: JsonObject | None

    @property
    def keys(self) -> dict[str, list[str]]:
        """brand/SPU keys of the products created, updated and unchanged."""
        return service.keys_of(self.report.result)


def upload_name(name: str) -> str:
    """The upload's name, which it is saved under for the importer (whose messages name
    the file by it). The API's query pattern keeps path separators out; these are the
    other names no file can have, which would otherwise fail as the file is written."""
    problem = None
    if "/" in name or "\\" in name:
        problem = "a file name has no path separator"
    elif name in (".", ".."):
        problem = f"{name!r} names a folder, not a file"
    elif "\x00" in name:
        problem = "a file name has no NUL character"
    elif len(name.encode("utf-8", "replace")) > MAX_NAME_BYTES:
        problem = f"a file name is at most {MAX_NAME_BYTES} bytes (UTF-8)"
    if problem is not None:
        raise InputError([Issue("name", problem)], "query")
    return name


def import_upload(
    catalog: Catalog, tenant: str, name: str, raw: bytes, author: str, sheet: str | None
) -> Imported:
    """An uploaded CSV/XLSX saved under its own name, imported whole or not at all (every
    bad row named), then the price guard again if products changed."""
    with tempfile.TemporaryDirectory(prefix="omnistock-import-") as folder:
        path = Path(folder) / upload_name(name)
        path.write_bytes(raw)
        report = service.import_file(catalog, tenant, path, author, None, sheet)
    return Imported(report, prices.after_import(catalog, tenant, report))


def restore_and_guard(
    catalog: Catalog, tenant: str, brand: str, spu_code: str, version: int, author: str
) -> StoredProduct:
    """A new version of the product with the body of `version`, then the price guard."""
    stored = service.restore(catalog, tenant, brand, spu_code, version, author)
    prices.after_change(catalog, tenant, f"restore of {brand}/{spu_code} v{version}")
    return stored
