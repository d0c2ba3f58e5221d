"""Migrations of the handoff tables; engines and sessions are the status store's.

The handoff tables live in the same app database as the status store (``settings.database_url``)
and use the same bounded engines (:func:`bot.status.db.make_engine`, ``get_engine``,
``session_scope``). Only the Alembic history is separate: its own migration directory
(``bot/handoff/migrations``) and its own version table (``handoff_alembic_version``), so either
package can be upgraded or downgraded without touching the other.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

from bot.status.db import (  # noqa: F401 - re-exported: one set of engine helpers
    dispose_engines,
    get_engine,
    make_engine,
    make_sessionmaker,
    session_scope,
    table_prefix_filter,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Own version table: the status store keeps ``status_alembic_version`` in the same database.
VERSION_TABLE = "handoff_alembic_version"
HEAD = "0001_handoff"
#: The handoff tables, children first (a safe order for deleting rows).
TABLES = (
    "handoff_messages",
    "handoff_ticket_events",
    "handoff_notes",
    "handoff_tickets",
    "handoff_canned_replies",
    "handoff_staff_users",
)


# Autogenerate filter: only handoff tables (the status store shares the database).
include_object = table_prefix_filter("handoff_", VERSION_TABLE)


def alembic_config(url: str = ""):
    """An Alembic Config for the handoff migrations, built in code (no alembic.ini)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = url
    return cfg


def _run(url: str, timeout_s: float, action: str, revision: str) -> None:
    from alembic import command

    engine = make_engine(url, timeout_s)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            getattr(command, action)(cfg, revision)
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head", timeout_s: float = 30.0) -> None:
    """Create or upgrade the handoff tables in the database at ``url`` (idempotent)."""
    _run(url, timeout_s, "upgrade", revision)


def downgrade(url: str, revision: str = "base", timeout_s: float = 30.0) -> None:
    _run(url, timeout_s, "downgrade", revision)


def current_revision(url: str) -> Union[str, None]:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url, 10.0)
    try:
        with engine.connect() as connection:
            ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()
    finally:
        engine.dispose()
