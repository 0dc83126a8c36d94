"""function states, alias routing, function resource policies and asynchronous invocation
configuration

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Every migration must keep the previous release working against the new schema
(add columns nullable or with defaults; drop only what no released code reads).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Rows written before this migration describe functions that were usable at once.
_STATE_COLUMNS = (
    ("state", 16, "Active"),
    ("state_reason", 1024, None),
    ("state_reason_code", 64, None),
    ("last_update_status", 16, "Successful"),
    ("last_update_status_reason", 1024, None),
    ("last_update_status_reason_code", 64, None),
)


def upgrade() -> None:
    for table in ("functions", "function_versions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, length, default in _STATE_COLUMNS:
                batch_op.add_column(
                    sa.Column(
                        name,
                        sa.String(length=length),
                        nullable=default is None,
                        server_default=default,
                    )
                )
            batch_op.create_index(
                batch_op.f(f"ix_{table}_last_update_status"), ["last_update_status"], unique=False
            )

    with op.batch_alter_table("function_aliases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routing_config", sa.JSON(), nullable=True))

    op.create_table(
        "function_permissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("qualifier", sa.String(length=128), nullable=False),
        sa.Column("statement_id", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=256), nullable=False),
        sa.Column("principal", sa.String(length=256), nullable=False),
        sa.Column("source_arn", sa.String(length=1024), nullable=True),
        sa.Column("source_account", sa.String(length=12), nullable=True),
        sa.Column("principal_org_id", sa.String(length=34), nullable=True),
        sa.Column("event_source_token", sa.String(length=256), nullable=True),
        sa.Column("function_url_auth_type", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["functions.id"],
            name=op.f("fk_function_permissions_function_id_functions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_function_permissions")),
        sa.UniqueConstraint(
            "function_id",
            "qualifier",
            "statement_id",
            name=op.f("uq_function_permissions_function_id_qualifier_statement_id"),
        ),
    )
    op.create_table(
        "function_event_invoke_configs",
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("qualifier", sa.String(length=128), nullable=False),
        sa.Column("maximum_retry_attempts", sa.Integer(), nullable=True),
        sa.Column("maximum_event_age_seconds", sa.Integer(), nullable=True),
        sa.Column("destination_config", sa.JSON(), nullable=True),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["functions.id"],
            name=op.f("fk_function_event_invoke_configs_function_id_functions"),
        ),
        sa.PrimaryKeyConstraint(
            "function_id", "qualifier", name=op.f("pk_function_event_invoke_configs")
        ),
    )


def downgrade() -> None:
    op.drop_table("function_event_invoke_configs")
    op.drop_table("function_permissions")
    with op.batch_alter_table("function_aliases", schema=None) as batch_op:
        batch_op.drop_column("routing_config")
    for table in ("function_versions", "functions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_last_update_status"))
            for name, _length, _default in reversed(_STATE_COLUMNS):
                batch_op.drop_column(name)
