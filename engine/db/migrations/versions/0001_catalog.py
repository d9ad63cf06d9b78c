"""The catalog: products and their versions, SKU codes, platform schemas, completeness,
price policies and price checks.

Written by hand, with portable types only (JSON, timestamps with time zone), and every
constraint and index named as engine/db/base.py's convention names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001_catalog"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRODUCT_KEY = ["tenant", "brand", "spu_code"]
PRODUCT_REF = [f"catalog_products.{column}" for column in PRODUCT_KEY]


def _key(*columns: str, length: int = 64) -> list[sa.Column[str]]:
    return [sa.Column(column, sa.String(length), nullable=False) for column in columns]


def _when(name: str) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _product_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        PRODUCT_KEY, PRODUCT_REF, name=op.f(f"fk_{table}_catalog_products")
    )


def upgrade() -> None:
    op.create_table(
        "catalog_products",
        *_key("tenant", "brand", "spu_code"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        _when("updated_at"),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint(*PRODUCT_KEY, name=op.f("pk_catalog_products")),
    )
    op.create_table(
        "catalog_product_versions",
        *_key("tenant", "brand", "spu_code"),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        _when("created_at"),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint(*PRODUCT_KEY, "version", name=op.f("pk_catalog_product_versions")),
        _product_fk("catalog_product_versions"),
    )
    op.create_table(
        "catalog_skus",
        *_key("tenant", "brand", "sku_code", "spu_code"),
        sa.PrimaryKeyConstraint("tenant", "brand", "sku_code", name=op.f("pk_catalog_skus")),
        _product_fk("catalog_skus"),
    )
    op.create_index(op.f("ix_catalog_skus_tenant_sku_code"), "catalog_skus", ["tenant", "sku_code"])
    op.create_index(op.f("ix_catalog_skus_tenant_brand_spu_code"), "catalog_skus", PRODUCT_KEY)
    op.create_table(
        "catalog_schemas",
        *_key("tenant"),
        *_key("platform", length=32),
        *_key("category_id", length=128),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        _when("loaded_at"),
        sa.PrimaryKeyConstraint(
            "tenant", "platform", "category_id", "version", name=op.f("pk_catalog_schemas")
        ),
    )
    op.create_table(
        "catalog_completeness",
        *_key("tenant", "brand", "spu_code"),
        *_key("platform", length=32),
        sa.Column("category_id", sa.String(128), nullable=True),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("issues", sa.JSON(), nullable=False),
        _when("checked_at"),
        sa.PrimaryKeyConstraint(*PRODUCT_KEY, "platform", name=op.f("pk_catalog_completeness")),
        _product_fk("catalog_completeness"),
    )
    op.create_index(
        op.f("ix_catalog_completeness_tenant_platform"),
        "catalog_completeness",
        ["tenant", "platform"],
    )
    op.create_table(
        "price_policies",
        *_key("tenant"),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("tenant", "version", name=op.f("pk_price_policies")),
    )
    op.create_table(
        "price_checks",
        *_key("tenant"),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        _when("created_at"),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "id", name=op.f("pk_price_checks")),
    )

    op.create_table(
        "catalog_shops",
        *_key("tenant", "shop", "brand"),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        _when("updated_at"),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "shop", name=op.f("pk_catalog_shops")),
    )


def downgrade() -> None:
    for table in (
        "price_checks",
        "price_policies",
        "catalog_shops",
        "catalog_completeness",
        "catalog_schemas",
        "catalog_skus",
        "catalog_product_versions",
        "catalog_products",
    ):
        op.drop_table(table)
