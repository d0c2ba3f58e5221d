"""Engines, sessions and migrations for the status store.

``make_engine`` bounds every database call: SQLite gets a busy timeout (and foreign keys on,
WAL for files so the gateway and the action server can share the file); PostgreSQL gets a
connect timeout and a server-side ``statement_timeout``/``lock_timeout``. The service layer adds
a wall-clock bound on top (libpq's connect timeout cannot go below 2 s).
"""
from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Tuple, Union

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Own version table, so other packages may keep their own Alembic history in the same DB.
VERSION_TABLE = "status_alembic_version"


def make_engine(url: str, timeout_s: float = 1.5) -> Engine:
    """An engine whose connects and statements are bounded by ``timeout_s`` seconds."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    timeout_ms = max(1, int(timeout_s * 1000))
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": timeout_s, "check_same_thread": False},
            future=True,
        )
        memory = database in ("", ":memory:")

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    if backend == "postgresql":
        connect_args = {
            # libpq takes whole seconds (and treats 1 as 2); the service adds a hard bound.
            "connect_timeout": max(1, math.ceil(timeout_s)),
            "options": f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms}",
            "application_name": "kw-status",
        }
        return create_engine(
            url,
            connect_args=connect_args,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            pool_timeout=timeout_s,
            pool_recycle=1800,
            future=True,
        )
    return create_engine(url, future=True)


_engines: Dict[Tuple[str, float], Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str, timeout_s: float = 1.5) -> Engine:
    """A process-wide engine per (url, timeout): connection pools are shared."""
    key = (url, float(timeout_s))
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = make_engine(url, timeout_s)
            _engines[key] = engine
        return engine


def dispose_engines(url: Union[str, None] = None) -> None:
    """Close pooled connections of the cached engines (all, or those for ``url``)."""
    with _engines_lock:
        for key in list(_engines):
            if url is None or key[0] == url:
                _engines.pop(key).dispose()


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


@contextmanager
def session_scope(engine_or_url: Union[Engine, str], timeout_s: float = 1.5) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    engine = get_engine(engine_or_url, timeout_s) if isinstance(engine_or_url, str) else engine_or_url
    session = Session(bind=engine, future=True, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str = "", migrations_dir: Path = MIGRATIONS_DIR):
    """An Alembic Config built in code: no alembic.ini needed."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.attributes["database_url"] = url
    return cfg


def run_alembic(url: str, action: str, revision: str, timeout_s: float = 30.0,
                migrations_dir: Path = MIGRATIONS_DIR) -> None:
    """Run Alembic's ``upgrade``/``downgrade`` for one package's migrations, in one transaction."""
    from alembic import command

    engine = make_engine(url, timeout_s)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(url, migrations_dir)
            cfg.attributes["connection"] = connection
            getattr(command, action)(cfg, revision)
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head", timeout_s: float = 30.0) -> None:
    """Create or upgrade the status schema in the database at ``url``."""
    run_alembic(url, "upgrade", revision, timeout_s)


def downgrade(url: str, revision: str = "base", timeout_s: float = 30.0) -> None:
    run_alembic(url, "downgrade", revision, timeout_s)


def current_revision(url: str, version_table: str = VERSION_TABLE) -> Union[str, None]:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url, 10.0)
    try:
        with engine.connect() as connection:
            ctx = MigrationContext.configure(connection, opts={"version_table": version_table})
            return ctx.get_current_revision()
    finally:
        engine.dispose()


def table_prefix_filter(prefix: str, version_table: str):
    """Alembic autogenerate filter: only this package's tables (packages share one database)."""
    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table":
            return bool(name) and name.startswith(prefix) and name != version_table
        table = getattr(obj, "table", None)
        return table is None or table.name.startswith(prefix)

    return include_object


def run_migrations(metadata, version_table: str, prefix: str) -> None:
    """The body of an Alembic env.py, shared by the status store and the handoff tables.

    ``upgrade(url)`` hands a connection in through ``config.attributes['connection']``; without
    one (the ``alembic`` command with a Config from ``alembic_config(url)``) an engine is made
    from the URL.
    """
    from alembic import context

    config = context.config
    options = dict(target_metadata=metadata, version_table=version_table,
                   include_object=table_prefix_filter(prefix, version_table))
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection) -> None:
        context.configure(connection=connection, compare_type=True,
                          render_as_batch=connection.dialect.name == "sqlite", **options)
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if connection is not None:
        migrate(connection)
        return
    engine = make_engine(url, 30.0)
    try:
        with engine.connect() as conn:
            migrate(conn)
    finally:
        engine.dispose()
