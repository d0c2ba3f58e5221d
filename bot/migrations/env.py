"""Alembic environment of the app database, configured in code (see bot.migrations.upgrade)."""

from typing import Any

from alembic import context
from sqlalchemy import MetaData

from bot.core.db import make_engine
from bot.handoff.models import Base as HandoffBase
from bot.insights.models import TABLE_PREFIX as INSIGHTS_PREFIX
from bot.insights.models import Base as InsightsBase
from bot.migrations import VERSION_TABLE
from bot.status.models import Base as StatusBase


def _metadata() -> MetaData:
    combined = MetaData()
    for base in (StatusBase, HandoffBase, InsightsBase):
        for table in base.metadata.tables.values():
            table.to_metadata(combined)
    return combined


def _include(obj, name, type_, reflected, compare_to) -> bool:
    # Rasa's tracker tables may share the database; autogenerate only looks at ours.
    if type_ == "table":
        return bool(name) and name.startswith(("status_", "handoff_", INSIGHTS_PREFIX))
    return True


def run() -> None:
    config = context.config
    options: dict[str, Any] = {
        "target_metadata": _metadata(),
        "version_table": VERSION_TABLE,
        "include_object": _include,
    }
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection) -> None:
        context.configure(
            connection=connection, compare_type=True, render_as_batch=connection.dialect.name == "sqlite", **options
        )
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if connection is not None:
        migrate(connection)
        return
    if not url:
        raise RuntimeError("migrations: no database URL (attributes['database_url'] or sqlalchemy.url)")
    engine = make_engine(url, 30.0)
    try:
        with engine.connect() as conn:
            migrate(conn)
    finally:
        engine.dispose()


run()
