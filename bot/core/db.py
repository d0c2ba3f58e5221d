"""Database engines and sessions of the app database (status store and handoff tables).

``make_engine`` bounds every database call: SQLite gets a busy timeout (and foreign keys on,
WAL for files so the gateway and the action server can share the file); PostgreSQL gets a
connect timeout and a server-side ``statement_timeout``/``lock_timeout``. The service layer adds
a wall-clock bound on top (libpq's connect timeout cannot go below 2 s). Every engine reports
its statements as spans while tracing is on (bot/core/tracing.py: the statement's kind only).
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import CursorResult, Engine, Result, make_url
from sqlalchemy.orm import Session

from bot.core.tracing import instrument_engine


def private_sqlite_file(path: Path) -> None:
    """The database file (and its directory, when made here) readable by its owner only:
    created 0600 before SQLite opens it, an older one set to 0600. SQLite gives the WAL and
    shared-memory files the database file's mode; older ones are set here too."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            os.chmod(name, 0o600)
        except FileNotFoundError:
            pass


def _use_wal(cursor: Any, timeout_s: float) -> None:
    """Switch the file to WAL unless it already is. Switching needs the file to itself, and
    SQLite answers "database is locked" while another connection reads the file, often at once
    (where its busy handler could deadlock): a second process opening a new file while the
    first one reads it waits and tries again, ``timeout_s`` in all."""
    deadline = time.monotonic() + timeout_s
    pause = 0.005
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def make_engine(url: str, timeout_s: float = 1.5) -> Engine:
    """An engine whose connects and statements are bounded by ``timeout_s`` seconds, its
    statements traced (bot/core/tracing.py)."""
    engine = _bounded_engine(url, timeout_s)
    instrument_engine(engine)
    return engine


def _bounded_engine(url: str, timeout_s: float) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    timeout_ms = max(1, int(timeout_s * 1000))
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            private_sqlite_file(Path(database).expanduser())
        engine = create_engine(
            url,
            connect_args={"timeout": timeout_s, "check_same_thread": False},
            future=True,
        )
        memory = database in ("", ":memory:")

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not memory:
                cursor.execute("PRAGMA busy_timeout=0")  # _use_wal does its own waiting
                _use_wal(cursor, timeout_s)
            cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
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


_engines: dict[tuple[str, float], Engine] = {}
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


def dispose_engines(url: str | None = None) -> None:
    """Close pooled connections of the cached engines (all, or those for ``url``)."""
    with _engines_lock:
        for key in list(_engines):
            if url is None or key[0] == url:
                _engines.pop(key).dispose()


@contextmanager
def session_scope(engine_or_url: Engine | str, timeout_s: float = 1.5) -> Iterator[Session]:
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


def affected_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through ``Session.execute`` matched. The session
    types its result as a plain ``Result``; for such statements it is a ``CursorResult``."""
    if not isinstance(result, CursorResult):
        raise TypeError("affected_rows: not the result of an UPDATE or DELETE")
    return result.rowcount
