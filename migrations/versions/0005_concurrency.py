"""reserved concurrency per function, and the concurrency each app process holds

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Every migration must keep the previous release working against the new schema
(add columns nullable or with defaults; drop only what no released code reads).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("functions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reserved_concurrency", sa.Integer(), nullable=True))

    op.create_table(
        "concurrency_holds",
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("renewed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("holder", "function_id", name=op.f("pk_concurrency_holds")),
    )
    with op.batch_alter_table("concurrency_holds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_concurrency_holds_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_concurrency_holds_function_id"), ["function_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("concurrency_holds")
    with op.batch_alter_table("functions", schema=None) as batch_op:
        batch_op.drop_column("reserved_concurrency")
