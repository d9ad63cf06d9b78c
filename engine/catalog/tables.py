"""The catalog's tables (engine/db/migrations/versions/0001_catalog.py creates them).

Many tenants share one database, so the tenant leads every primary key and index. A
product's current version is in catalog_products (what listings and checks read); every
version, with who made it, from what and what changed, is in catalog_product_versions.
catalog_skus says which product holds each SKU code now: its primary key keeps a code
unique within a brand even when two imports race.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base, UtcDateTime

# Codes are the model's (at most 64 characters); a hash is sha256 in hex.
TENANT, CODE, HASH, PERSON, PLATFORM, CATEGORY = 64, 64, 64, 200, 32, 128

_PRODUCT_KEY = ("tenant", "brand", "spu_code")
_PRODUCT_REF = tuple(f"catalog_products.{column}" for column in _PRODUCT_KEY)


class CatalogProduct(Base):
    """A product's current version."""

    __tablename__ = "catalog_products"

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    brand: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    spu_code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(HASH))
    # Product.body() of the current version (also kept in its version row).
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(PERSON))


class CatalogProductVersion(Base):
    """Every version of a product; the primary key lets only one writer make version N."""

    __tablename__ = "catalog_product_versions"
    __table_args__ = (ForeignKeyConstraint(_PRODUCT_KEY, _PRODUCT_REF),)

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    brand: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    spu_code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(HASH))
    author: Mapped[str] = mapped_column(String(PERSON))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # What made it: "import catalog.csv", "api", "restore of v2".
    source: Mapped[str] = mapped_column(Text)
    # engine.catalog.model.changes() against the version before.
    changes: Mapped[list[str]] = mapped_column(JSON)


class CatalogSku(Base):
    """Which product holds a SKU code now (kept in step with the current versions)."""

    __tablename__ = "catalog_skus"
    __table_args__ = (
        ForeignKeyConstraint(_PRODUCT_KEY, _PRODUCT_REF),
        # A code looked up without its brand (a platform order names only the code).
        Index("ix_catalog_skus_tenant_sku_code", "tenant", "sku_code"),
        # A product's codes, replaced when it gets a new version.
        Index("ix_catalog_skus_tenant_brand_spu_code", "tenant", "brand", "spu_code"),
    )

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    brand: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    sku_code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    spu_code: Mapped[str] = mapped_column(String(CODE))


class CatalogSchema(Base):
    """A platform category's listing schema, one row per version; tenant "*" is the
    registry shipped in the repository."""

    __tablename__ = "catalog_schemas"

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    platform: Mapped[str] = mapped_column(String(PLATFORM), primary_key=True)
    category_id: Mapped[str] = mapped_column(String(CATEGORY), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content_hash: Mapped[str] = mapped_column(String(HASH))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CatalogCompleteness(Base):
    """How complete a product is for one platform: checked against the schema version of
    its mapped category (none when the category maps to nothing there)."""

    __tablename__ = "catalog_completeness"
    __table_args__ = (
        ForeignKeyConstraint(_PRODUCT_KEY, _PRODUCT_REF),
        # One platform's gaps across brands.
        Index("ix_catalog_completeness_tenant_platform", "tenant", "platform"),
    )

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    brand: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    spu_code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    platform: Mapped[str] = mapped_column(String(PLATFORM), primary_key=True)
    category_id: Mapped[str | None] = mapped_column(String(CATEGORY))
    product_version: Mapped[int] = mapped_column(Integer)
    schema_version: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    ok: Mapped[bool] = mapped_column(Boolean)
    # [{field, rule, message, value}]
    issues: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CatalogShop(Base):
    """A shop the catalog lists on: its platform and the settings its listings need
    (ship-from location, freight template...), which no product carries."""

    __tablename__ = "catalog_shops"

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    shop: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    brand: Mapped[str] = mapped_column(String(CODE))
    platform: Mapped[str] = mapped_column(String(PLATFORM))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(PERSON))


class PricePolicyVersion(Base):
    """A tenant's price policy (minimum margins, promotions), one row per version."""

    __tablename__ = "price_policies"

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(PERSON))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PriceCheckRecord(Base):
    """One run of the price guard: what started it and what it found."""

    __tablename__ = "price_checks"

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    # Numbered per tenant from 1 (SQLite numbers only a lone integer key by itself).
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    trigger: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
