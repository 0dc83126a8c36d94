"""The schema is built only by Alembic; the models and the migrations must describe the same
schema."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from registry.db import alembic_config, upgrade
from registry.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'schema.db'}"
    return request.getfixturevalue("postgres_url")


def test_migrations__head_matches_the_models(database_url):
    upgrade(database_url)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_server_default": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_migrations__downgrade_to_base_and_up_again(database_url):
    upgrade(database_url)
    command.downgrade(alembic_config(database_url), "base")
    upgrade(database_url)


def _plaintext_key_at_0002(database_url: str, secret: str) -> None:
    from datetime import datetime, timezone

    from sqlalchemy import text

    upgrade(database_url, "0002")
    engine = create_engine(database_url)
    now = datetime.now(timezone.utc)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO accounts (id, created_at) VALUES ('111122223333', :now)"),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO access_keys "
                "(access_key_id, account_id, secret_access_key, created_at) "
                "VALUES ('AKIAPLAIN', '111122223333', :secret, :now)"
            ),
            {"secret": secret, "now": now},
        )
    engine.dispose()


def _stored_secret(database_url: str) -> str:
    from sqlalchemy import text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        value = connection.execute(text("SELECT secret_access_key FROM access_keys")).scalar_one()
    engine.dispose()
    return value


def test_migration_0003__seals_plaintext_secrets_and_downgrade_opens_them(database_url):
    from registry.secret_box import SecretBox

    box = SecretBox("the-migration-test-key-0123456789abcdef")
    _plaintext_key_at_0002(database_url, "plain-secret")
    upgrade(database_url, secret_box=box)
    sealed = _stored_secret(database_url)
    assert "plain-secret" not in sealed and box.open("AKIAPLAIN", sealed) == "plain-secret"
    upgrade(database_url, secret_box=box)  # nothing left to seal: a no-op
    assert _stored_secret(database_url) == sealed
    command.downgrade(alembic_config(database_url, secret_box=box), "0002")
    assert _stored_secret(database_url) == "plain-secret"


def test_migration_0003__without_the_key_refuses_and_leaves_the_plaintext_rows_as_they_were(
    database_url,
):
    _plaintext_key_at_0002(database_url, "plain-secret")
    with pytest.raises(RuntimeError, match="no secret key was given"):
        upgrade(database_url)
    assert _stored_secret(database_url) == "plain-secret"
