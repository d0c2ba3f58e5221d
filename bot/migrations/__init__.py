"""The one Alembic history of the app database (status store and handoff tables), configured in
code: no alembic.ini. ``python -m bot db-upgrade`` and ``python -m bot run`` call ``upgrade``.

Databases made before the histories were merged carry ``status_alembic_version`` and
``handoff_alembic_version``; ``upgrade`` stamps them onto this history once.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from bot.core.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent
VERSION_TABLE = "kw_alembic_version"
_OLD_TABLES = {"status_alembic_version": "0001_status_store", "handoff_alembic_version": "0002_handoff"}


def alembic_config(url: str = ""):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = url
    return cfg


def _run(url: str, action: str, revision: str, timeout_s: float) -> None:
    from alembic import command

    engine = make_engine(url, timeout_s)
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as connection:
            if sqlite:
                # A batch migration copies a table and drops the old one; with foreign keys on,
                # that drop would first run the children's ON DELETE actions (SET NULL,
                # CASCADE) on live rows. SQLite only changes this outside a transaction.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            with connection.begin():
                _adopt_old_histories(connection)
                cfg = alembic_config(url)
                cfg.attributes["connection"] = connection
                getattr(command, action)(cfg, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    finally:
        engine.dispose()


def _adopt_old_histories(connection) -> None:
    tables = set(inspect(connection).get_table_names())
    if VERSION_TABLE in tables or not tables & set(_OLD_TABLES):
        return
    # The furthest old history that was applied is where this history stands.
    head = None
    for table, revision in _OLD_TABLES.items():
        if table in tables and connection.execute(text(f"SELECT count(*) FROM {table}")).scalar():
            head = revision
    if head is not None:
        connection.execute(text(f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        connection.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:v)"), {"v": head})
    for table in _OLD_TABLES:
        if table in tables:
            connection.execute(text(f"DROP TABLE {table}"))


def upgrade(url: str, revision: str = "head", timeout_s: float = 30.0) -> None:
    """Create or upgrade every table of the app database at ``url`` (idempotent)."""
    _run(url, "upgrade", revision, timeout_s)


def downgrade(url: str, revision: str = "base", timeout_s: float = 30.0) -> None:
    _run(url, "downgrade", revision, timeout_s)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url, 10.0)
    try:
        with engine.connect() as connection:
            ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()
    finally:
        engine.dispose()
