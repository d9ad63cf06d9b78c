"""Listing: jobs and their items, the stock last sent to each shop, and the call
limiter's state where there is no Redis. Written by hand, as 0001."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002_listing"
down_revision: str | None = "0001_catalog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(*columns: str, length: int = 64) -> list[sa.Column[str]]:
    return [sa.Column(column, sa.String(length), nullable=False) for column in columns]


def _when(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "listing_jobs",
        *_key("tenant", "id"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        _when("created_at"),
        sa.Column("created_by", sa.String(200), nullable=False),
        _when("started_at", nullable=True),
        _when("ended_at", nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        _when("beat_at", nullable=True),
        sa.PrimaryKeyConstraint("tenant", "id", name=op.f("pk_listing_jobs")),
    )
    op.create_table(
        "listing_items",
        *_key("tenant", "job_id", "shop", "outer_id"),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=True),
        sa.Column("created", sa.Boolean(), nullable=True),
        sa.Column("error", sa.String(32), nullable=True),
        sa.Column("platform_code", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("field", sa.String(200), nullable=True),
        sa.Column("intent", sa.JSON(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint(
            "tenant", "job_id", "shop", "outer_id", name=op.f("pk_listing_items")
        ),
    )
    op.create_index(
        op.f("ix_listing_items_tenant_job_id_state"), "listing_items", ["tenant", "job_id", "state"]
    )
    op.create_table(
        "listing_stock",
        *_key("tenant", "shop", "sku_code", "job_id"),
        sa.Column("units", sa.Integer(), nullable=False),
        _when("pushed_at"),
        sa.PrimaryKeyConstraint("tenant", "shop", "sku_code", name=op.f("pk_listing_stock")),
    )
    op.create_table(
        "listing_pace",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.Column("day", sa.String(16), nullable=False),
        sa.Column("day_calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_listing_pace")),
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_listing_items_tenant_job_id_state"), table_name="listing_items")
    for table in ("listing_pace", "listing_stock", "listing_items", "listing_jobs"):
        op.drop_table(table)
