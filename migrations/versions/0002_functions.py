"""functions, versions, aliases, provisioned concurrency and events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Every migration must keep the previous release working against the new schema
(add columns nullable or with defaults; drop only what no released code reads).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "functions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("code_size", sa.BigInteger(), nullable=False),
        sa.Column("unzipped_size", sa.BigInteger(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("layers", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("revision_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_functions_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_functions")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_functions_account_id_name")),
    )
    with op.batch_alter_table("functions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_functions_code_digest"), ["code_digest"], unique=False)

    op.create_table(
        "function_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("function_version", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("revision_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["functions.id"],
            name=op.f("fk_function_aliases_function_id_functions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_function_aliases")),
        sa.UniqueConstraint(
            "function_id", "name", name=op.f("uq_function_aliases_function_id_name")
        ),
    )
    op.create_table(
        "function_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("qualifier", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("client_context", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.Float(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["function_id"], ["functions.id"], name=op.f("fk_function_events_function_id_functions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_function_events")),
    )
    with op.batch_alter_table("function_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_function_events_function_id"), ["function_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_function_events_status"), ["status"], unique=False)

    op.create_table(
        "function_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("code_size", sa.BigInteger(), nullable=False),
        sa.Column("unzipped_size", sa.BigInteger(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("layers", sa.JSON(), nullable=False),
        sa.Column("revision_id", sa.String(length=36), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["functions.id"],
            name=op.f("fk_function_versions_function_id_functions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_function_versions")),
        sa.UniqueConstraint(
            "function_id", "version", name=op.f("uq_function_versions_function_id_version")
        ),
    )
    with op.batch_alter_table("function_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_function_versions_code_digest"), ["code_digest"], unique=False
        )

    op.create_table(
        "provisioned_concurrency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("qualifier", sa.String(length=128), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=1024), nullable=True),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["functions.id"],
            name=op.f("fk_provisioned_concurrency_function_id_functions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisioned_concurrency")),
        sa.UniqueConstraint(
            "function_id",
            "qualifier",
            name=op.f("uq_provisioned_concurrency_function_id_qualifier"),
        ),
    )


def downgrade() -> None:
    op.drop_table("provisioned_concurrency")
    with op.batch_alter_table("function_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_function_versions_code_digest"))

    op.drop_table("function_versions")
    with op.batch_alter_table("function_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_function_events_status"))
        batch_op.drop_index(batch_op.f("ix_function_events_function_id"))

    op.drop_table("function_events")
    op.drop_table("function_aliases")
    with op.batch_alter_table("functions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_functions_code_digest"))

    op.drop_table("functions")
