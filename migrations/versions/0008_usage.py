"""usage per account and day, and per-function metrics by minute

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Every migration must keep the previous release working against the new schema
(add columns nullable or with defaults; drop only what no released code reads).
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
