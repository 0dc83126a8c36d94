"""usage per account and day, and per-function metrics by minute

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Every migration must keep the previous release working against the new schema
(add columns nullable or with defaults; drop only what no released code reads).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "function_metrics",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("function_name", sa.String(length=64), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.BigInteger(), nullable=False),
        sa.Column("invocations", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("throttles", sa.BigInteger(), nullable=False),
        sa.Column("duration_count", sa.BigInteger(), nullable=False),
        sa.Column("duration_sum", sa.Float(), nullable=False),
        sa.Column("duration_min", sa.Float(), nullable=True),
        sa.Column("duration_max", sa.Float(), nullable=True),
        sa.Column("concurrent_max", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id",
            "function_name",
            "resolution",
            "period_start",
            name=op.f("pk_function_metrics"),
        ),
    )
    with op.batch_alter_table("function_metrics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_function_metrics_period_start"), ["period_start"], unique=False
        )

    op.create_table(
        "account_usage_days",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("invocations", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("throttles", sa.BigInteger(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("billed_duration_ms", sa.BigInteger(), nullable=False),
        sa.Column("memory_mb_ms", sa.BigInteger(), nullable=False),
        sa.Column("stored_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("account_id", "day", name=op.f("pk_account_usage_days")),
    )
    with op.batch_alter_table("account_usage_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_usage_days_day"), ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("account_usage_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_usage_days_day"))
    op.drop_table("account_usage_days")
    with op.batch_alter_table("function_metrics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_function_metrics_period_start"))
    op.drop_table("function_metrics")
