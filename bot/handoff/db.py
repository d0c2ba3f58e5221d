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

from bot.status import db as status_db
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
    return status_db.alembic_config(url, MIGRATIONS_DIR)


def upgrade(url: str, revision: str = "head", timeout_s: float = 30.0) -> None:
    """Create or upgrade the handoff tables in the database at ``url`` (idempotent)."""
    status_db.run_alembic(url, "upgrade", revision, timeout_s, MIGRATIONS_DIR)


def downgrade(url: str, revision: str = "base", timeout_s: float = 30.0) -> None:
    status_db.run_alembic(url, "downgrade", revision, timeout_s, MIGRATIONS_DIR)


def current_revision(url: str) -> Union[str, None]:
    return status_db.current_revision(url, VERSION_TABLE)
