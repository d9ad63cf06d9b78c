"""Reports: recipients and schedules of each brand's reports, the firings claimed by their
unique key, and the delivery log. Written by hand, as 0001 to 0003."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_reports"
down_revision: str | None = "0003_settlement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_recipients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_recipients")),
        sa.UniqueConstraint(
            "tenant",
            "brand",
            "kind",
            "channel",
            "target",
            name=op.f("uq_report_recipients_tenant_brand_kind_channel_target"),
        ),
    )
    op.create_index(
        op.f("ix_report_recipients_tenant_brand"), "report_recipients", ["tenant", "brand"]
    )
    op.create_table(
        "report_schedules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(16), nullable=False),
        sa.Column("start", sa.Date(), nullable=True),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("day", sa.Integer(), nullable=True),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_schedules")),
    )
    op.create_index(
        op.f("ix_report_schedules_tenant_brand"), "report_schedules", ["tenant", "brand"]
    )
    op.create_table(
        "report_firings",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_report_firings")),
    )
    op.create_index(op.f("ix_report_firings_tenant_brand"), "report_firings", ["tenant", "brand"])
    op.create_table(
        "report_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("target_hash", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_deliveries")),
    )
    op.create_index(op.f("ix_report_deliveries_tenant_key"), "report_deliveries", ["tenant", "key"])
    op.create_index(
        op.f("ix_report_deliveries_tenant_brand_at"),
        "report_deliveries",
        ["tenant", "brand", "at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_report_deliveries_tenant_brand_at"), table_name="report_deliveries")
    op.drop_index(op.f("ix_report_deliveries_tenant_key"), table_name="report_deliveries")
    op.drop_table("report_deliveries")
    op.drop_index(op.f("ix_report_firings_tenant_brand"), table_name="report_firings")
    op.drop_table("report_firings")
    op.drop_index(op.f("ix_report_schedules_tenant_brand"), table_name="report_schedules")
    op.drop_table("report_schedules")
    op.drop_index(op.f("ix_report_recipients_tenant_brand"), table_name="report_recipients")
    op.drop_table("report_recipients")
