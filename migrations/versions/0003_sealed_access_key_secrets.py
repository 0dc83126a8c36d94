"""access keys' secrets sealed at rest

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Every migration must keep the previous release working against the new schema
(add columns nullable or with defaults; drop only what no released code reads).
This one cannot, by design: the previous release signs with the stored secret, and a stored
secret is no longer the plaintext. A previous release against this schema refuses every request
with a signature mismatch; it never grants one.

The secrets are sealed with the key the caller passes as the Alembic config attribute
`secret_box` (registry.db.upgrade(url, secret_box=...); `strata db upgrade` and `strata serve`
pass the configured one). A database without access keys needs none.
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_keys = sa.table(
    "access_keys",
    sa.column("access_key_id", sa.String()),
    sa.column("secret_access_key", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.alter_column(
            "secret_access_key",
            existing_type=sa.String(length=128),
            type_=sa.String(length=256),
            existing_nullable=False,
        )
    from registry.secret_box import is_sealed

    connection = op.get_bind()
    rows = connection.execute(sa.select(_keys.c.access_key_id, _keys.c.secret_access_key)).all()
    plain = [row for row in rows if not is_sealed(row.secret_access_key)]
    if not plain:
        return
    box = _box()
    for row in plain:
        connection.execute(
            _keys.update()
            .where(_keys.c.access_key_id == row.access_key_id)
            .values(secret_access_key=box.seal(row.access_key_id, row.secret_access_key))
        )


def downgrade() -> None:
    from registry.secret_box import is_sealed

    connection = op.get_bind()
    rows = connection.execute(sa.select(_keys.c.access_key_id, _keys.c.secret_access_key)).all()
    sealed = [row for row in rows if is_sealed(row.secret_access_key)]
    if sealed:
        box = _box()
        for row in sealed:
            connection.execute(
                _keys.update()
                .where(_keys.c.access_key_id == row.access_key_id)
                .values(secret_access_key=box.open(row.access_key_id, row.secret_access_key))
            )
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.alter_column(
            "secret_access_key",
            existing_type=sa.String(length=256),
            type_=sa.String(length=128),
            existing_nullable=False,
        )


def _box():
    box = context.config.attributes.get("secret_box")
    if box is None:
        raise RuntimeError(
            "access_keys holds secrets to seal or open, but no secret key was given to the "
            "migration: run `strata db upgrade` with the server's data directory or "
            "STRATA_SECRET_KEY"
        )
    return box
