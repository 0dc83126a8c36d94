"""function logs (CloudWatch Logs groups, streams and events)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Every migration must keep the previous release working against the new schema
(add columns nullable or with defaults; drop only what no released code reads).
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
