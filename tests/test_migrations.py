"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from portal.database import upgrade_database
from portal.models import Base


def _differences(database_url: str) -> list:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    return differences


def test_migrations_match_the_models(database_url):
    upgrade_database(database_url)
    assert _differences(database_url) == []


def test_upgrading_twice_keeps_the_schema_and_the_rows(database_url):
    upgrade_database(database_url)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO source (name, kind, location, created_at) VALUES ('s', 'ocds', 'x', :t)"),
            {"t": "2026-01-01 00:00:00"},
        )
    tables = set(inspect(engine).get_table_names())
    upgrade_database(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM source")).scalars().all() == ["s"]
    assert set(inspect(engine).get_table_names()) == tables
    engine.dispose()
    assert _differences(database_url) == []
