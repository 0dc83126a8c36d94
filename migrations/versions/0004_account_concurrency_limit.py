"""accounts' concurrency limit

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Every migration must keep the previous release working against the new schema
(add columns nullable or with defaults; drop only what no released code reads).
The column has a server default, so accounts the previous release creates get Lambda's default.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("concurrency_limit", sa.Integer(), server_default="1000", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("concurrency_limit")
