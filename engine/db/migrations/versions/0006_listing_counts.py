"""Listing items indexed by (tenant, job, shop, state): a job's counts per shop and
state (GET /v1/listings/{id}, the console's job page and its progress poll) are then
read from the index alone instead of every item of the job. Written by hand, as the
migrations before it."""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_listing_counts"
down_revision: str | None = "0005_report_builds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_listing_items_tenant_job_id_shop_state"


def upgrade() -> None:
    op.create_index(INDEX, "listing_items", ["tenant", "job_id", "shop", "state"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="listing_items")
