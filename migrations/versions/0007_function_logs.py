"""function logs (CloudWatch Logs groups, streams and events)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Every migration must keep the previous release working against the new schema
(add columns nullable or with defaults; drop only what no released code reads).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_groups")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_log_groups_account_id_name")),
    )
    op.create_table(
        "log_streams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("first_event_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_event_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_ingestion_ms", sa.BigInteger(), nullable=True),
        sa.Column("stored_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["log_groups.id"],
            name=op.f("fk_log_streams_group_id_log_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_streams")),
        sa.UniqueConstraint("group_id", "name", name=op.f("uq_log_streams_group_id_name")),
    )
    op.create_table(
        "log_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("ingestion_ms", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["log_groups.id"],
            name=op.f("fk_log_events_group_id_log_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["log_streams.id"],
            name=op.f("fk_log_events_stream_id_log_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_events")),
    )
    op.create_index(
        "ix_log_events_group_time", "log_events", ["group_id", "timestamp_ms", "id"], unique=False
    )
    op.create_index(
        "ix_log_events_stream_time", "log_events", ["stream_id", "timestamp_ms", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_log_events_stream_time", table_name="log_events")
    op.drop_index("ix_log_events_group_time", table_name="log_events")
    op.drop_table("log_events")
    op.drop_table("log_streams")
    op.drop_table("log_groups")
