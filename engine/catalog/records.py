"""What the catalog store returns and the callbacks it takes: plain records, never ORM
objects, so nothing a caller keeps is tied to a database session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy.orm import Session

from engine.catalog.model import Product

JsonObject = dict[str, Any]


class ProductKey(NamedTuple):
    brand: str
    spu_code: str

    def __str__(self) -> str:
        return f"{self.brand}/{self.spu_code}"


@dataclass(frozen=True)
class StoredProduct:
    """A product as one of its versions stored it."""

    product: Product
    version: int
    author: str
    created_at: datetime
    source: str

    @property
    def key(self) -> ProductKey:
        return ProductKey(self.product.brand, self.product.spu_code)


@dataclass(frozen=True)
class VersionInfo:
    version: int
    author: str
    created_at: datetime
    source: str
    changes: list[str]


@dataclass(frozen=True)
class ImportResult:
    created: list[ProductKey]
    updated: list[ProductKey]
    unchanged: list[ProductKey]
    # The current version of every product of the import, unchanged ones included.
    versions: dict[ProductKey, int]


@dataclass(frozen=True)
class CompletenessRow:
    """How complete one product is for one platform."""

    tenant: str
    brand: str
    spu_code: str
    platform: str
    # None: the product's category maps to no category of the platform.
    category_id: str | None
    product_version: int
    schema_version: int | None
    score: float
    ok: bool
    # [{field, rule, message, value}]
    issues: list[JsonObject]
    checked_at: datetime


class SchemaVersion(NamedTuple):
    platform: str
    category_id: str
    version: int


@dataclass(frozen=True)
class StoredSchema:
    platform: str
    category_id: str
    version: int
    content_hash: str
    body: JsonObject
    loaded_at: datetime


class PricePolicy(NamedTuple):
    version: int
    body: JsonObject


class PriceCheck(NamedTuple):
    id: int
    created_at: datetime
    trigger: str
    body: JsonObject


class OnChange(Protocol):
    """Called once inside the write's transaction with every created or updated product
    (never with none): one batch, so what it writes can be written in few statements."""

    def __call__(self, session: Session, tenant: str, stored: list[StoredProduct], /) -> None: ...


class OnSchemaChange(Protocol):
    """Called inside sync_schemas' transaction for each schema that got a new version."""

    def __call__(
        self, session: Session, platform: str, category_id: str, version: int, /
    ) -> None: ...
