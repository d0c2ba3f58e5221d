"""The one Alembic history of the app database, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot import migrations
from bot.core import db as status_db
from bot.handoff.models import Base as HandoffBase
from bot.insights.models import TABLE_PREFIX as INSIGHTS_PREFIX
from bot.insights.models import Base as InsightsBase
from bot.status.models import Base as StatusBase
from tests.fixtures.databases import BACKENDS, fresh_database


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_migration_history_matches_the_models(backend, tmp_path):
    with fresh_database(backend, tmp_path) as db_url:
        migrations.upgrade(db_url)
        migrations.upgrade(db_url)  # idempotent
        head = migrations.current_revision(db_url)
        assert head == "0006_outbox"
        engine = status_db.make_engine(db_url, 10.0)
        try:
            with engine.connect() as conn:
                prefixes = {StatusBase: "status_", HandoffBase: "handoff_", InsightsBase: INSIGHTS_PREFIX}
                for base, prefix in prefixes.items():
                    ctx = MigrationContext.configure(
                        conn,
                        opts={
                            "compare_type": True,
                            "version_table": migrations.VERSION_TABLE,
                            "include_object": lambda o, n, t, r, c, p=prefix: t != "table" or n.startswith(p),
                        },
                    )
                    assert compare_metadata(ctx, base.metadata) == []
                tables = set(inspect(conn).get_table_names())
            assert {t.name for t in HandoffBase.metadata.sorted_tables} <= tables
            assert {t.name for t in StatusBase.metadata.sorted_tables} <= tables
            assert {t.name for t in InsightsBase.metadata.sorted_tables} <= tables
            migrations.downgrade(db_url)
            with engine.connect() as conn:
                left = set(inspect(conn).get_table_names())
            assert not {t for t in left if t.startswith(("status_", "handoff_", INSIGHTS_PREFIX))}
            migrations.upgrade(db_url)
            assert migrations.current_revision(db_url) == head
        finally:
            engine.dispose()


def test_databases_of_the_two_old_histories_are_adopted(tmp_path):
    """A database made before the histories merged (two version tables) upgrades in place."""
    from sqlalchemy import text

    db_url = f"sqlite:///{tmp_path / 'old.db'}"
    migrations.upgrade(db_url, "0002_handoff")
    engine = status_db.make_engine(db_url, 10.0)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {migrations.VERSION_TABLE}"))
            for table, rev in (
                ("status_alembic_version", "0001_status_store"),
                ("handoff_alembic_version", "0001_handoff"),
            ):
                conn.execute(text(f"CREATE TABLE {table} (version_num VARCHAR(32) NOT NULL)"))
                conn.execute(text(f"INSERT INTO {table} VALUES ('{rev}')"))
        migrations.upgrade(db_url)
        assert migrations.current_revision(db_url) == "0006_outbox"
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
        assert "status_alembic_version" not in names and "handoff_alembic_version" not in names
    finally:
        engine.dispose()
