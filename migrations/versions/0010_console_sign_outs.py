"""when each access key last signed out of the console

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

Every migration must keep the previous release working against the new schema
(add columns nullable or with defaults; drop only what no released code reads).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sign_outs",
        sa.Column("access_key_id", sa.String(length=128), nullable=False),
        sa.Column("signed_out_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("access_key_id", name=op.f("pk_console_sign_outs")),
    )
    op.create_index(
        op.f("ix_console_sign_outs_signed_out_ms"),
        "console_sign_outs",
        ["signed_out_ms"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_console_sign_outs_signed_out_ms"), table_name="console_sign_outs")
    op.drop_table("console_sign_outs")
