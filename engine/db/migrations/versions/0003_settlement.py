"""Settlement: runs with their outputs, the files each was given, and the trail of
records resolved by hand. Written by hand, as 0001 and 0002."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_settlement"
down_revision: str | None = "0002_listing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "settlement_runs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("inputs_hash", sa.String(64), nullable=False),
        sa.Column("carry_from", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_kind", sa.String(16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("bill", sa.Text(), nullable=True),
        sa.Column("bill_xlsx", sa.LargeBinary(), nullable=True),
        sa.Column("outcomes", sa.LargeBinary(), nullable=True),
        sa.Column("carry", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_runs")),
    )
    op.create_index(
        op.f("ix_settlement_runs_tenant_inputs_hash"),
        "settlement_runs",
        ["tenant", "inputs_hash"],
    )
    op.create_index(
        op.f("ix_settlement_runs_tenant_brand_period"),
        "settlement_runs",
        ["tenant", "brand", "period"],
    )
    op.create_table(
        "settlement_inputs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["settlement_runs.id"], name=op.f("fk_settlement_inputs_settlement_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "role", "position", name=op.f("pk_settlement_inputs")),
    )
    op.create_table(
        "settlement_resolutions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("record", sa.String(600), nullable=False),
        sa.Column("outcome", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("resolved_by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["settlement_runs.id"],
            name=op.f("fk_settlement_resolutions_settlement_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_resolutions")),
    )
    op.create_index(
        op.f("ix_settlement_resolutions_run_id_record"),
        "settlement_resolutions",
        ["run_id", "record"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_settlement_resolutions_run_id_record"), table_name="settlement_resolutions"
    )
    op.drop_table("settlement_resolutions")
    op.drop_table("settlement_inputs")
    op.drop_index(op.f("ix_settlement_runs_tenant_brand_period"), table_name="settlement_runs")
    op.drop_index(op.f("ix_settlement_runs_tenant_inputs_hash"), table_name="settlement_runs")
    op.drop_table("settlement_runs")
