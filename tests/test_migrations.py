"""The schema is built only by Alembic; the models and the migrations must describe the same schema."""

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
