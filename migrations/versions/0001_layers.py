"""accounts, access keys, layers and layer versions

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Every migration must keep the previous release working against the new schema
(add columns nullable or with defaults; drop only what no released code reads).
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("organization_id", sa.String(length=34), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("secret_access_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_access_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("access_key_id", name=op.f("pk_access_keys")),
    )
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_keys_account_id"), ["account_id"], unique=False)

    op.create_table(
        "layers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=140), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_layers_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layers")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_layers_account_id_name")),
    )
    op.create_table(
        "layer_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("license_info", sa.String(length=512), nullable=True),
        sa.Column("compatible_runtimes", sa.JSON(), nullable=False),
        sa.Column("compatible_architectures", sa.JSON(), nullable=False),
        sa.Column("blob_digest", sa.String(length=64), nullable=False),
        sa.Column("code_size", sa.BigInteger(), nullable=False),
        sa.Column("unzipped_size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("policy_revision", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["layer_id"], ["layers.id"], name=op.f("fk_layer_versions_layer_id_layers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layer_versions")),
        sa.UniqueConstraint("layer_id", "version", name=op.f("uq_layer_versions_layer_id_version")),
    )
    with op.batch_alter_table("layer_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_layer_versions_blob_digest"), ["blob_digest"], unique=False
        )

    op.create_table(
        "layer_version_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_version_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=22), nullable=False),
        sa.Column("principal", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=34), nullable=True),
        sa.ForeignKeyConstraint(
            ["layer_version_id"],
            ["layer_versions.id"],
            name=op.f("fk_layer_version_grants_layer_version_id_layer_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layer_version_grants")),
        sa.UniqueConstraint(
            "layer_version_id",
            "statement_id",
            name=op.f("uq_layer_version_grants_layer_version_id_statement_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("layer_version_grants")
    with op.batch_alter_table("layer_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_layer_versions_blob_digest"))

    op.drop_table("layer_versions")
    op.drop_table("layers")
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_keys_account_id"))

    op.drop_table("access_keys")
    op.drop_table("accounts")
