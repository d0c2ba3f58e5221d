"""Real databases for the status-store tests: a SQLite file and a fresh PostgreSQL database.

``status_backend_url`` is parametrised over ``sqlite`` and ``postgresql``; the PostgreSQL
variant creates ``kw_test_<random>`` on the server of ``KW_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``) and drops it afterwards. It never skips:
without a reachable PostgreSQL the tests fail. ``status_db_url`` empties the tables before each
test; ``status_settings`` gives Settings that point at it.

Import the fixtures into a test module or conftest: ``from tests.status_fixtures import *``.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Dict, Iterator, Optional

import psycopg2
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.settings import Settings, load
from bot.status import db

PG_BASE_URL = os.environ.get(
    "KW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEST_API_TOKEN = "test-api-token-0123456789abcdef"
STATUS_TABLES = (
    "status_lookup_failures",
    "status_lookup_audit",
    "status_changes",
    "status_requested_amounts",
    "status_applications",
)
BACKENDS = ["sqlite", "postgresql"]

__all__ = [
    "status_backend_url", "status_db_url", "status_settings", "make_status_settings",
    "create_pg_database", "drop_pg_database", "fresh_database", "TEST_API_TOKEN", "BACKENDS",
    "PG_BASE_URL",
]


def _admin_connection():
    conn = psycopg2.connect(
        make_url(PG_BASE_URL).render_as_string(hide_password=False)
        .replace("postgresql+psycopg2://", "postgresql://"),
        connect_timeout=5,
    )
    conn.autocommit = True
    return conn


def create_pg_database() -> str:
    """Create a fresh, empty database; return its SQLAlchemy URL."""
    name = f"kw_test_{uuid.uuid4().hex[:12]}"
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return make_url(PG_BASE_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    db.dispose_engines(url)
    name = make_url(url).database
    assert name and name.startswith("kw_test_"), name
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


class fresh_database:
    """Context manager: an empty database of ``backend`` (no tables), removed afterwards."""

    def __init__(self, backend: str, tmp_dir: Path):
        self.backend = backend
        self.tmp_dir = Path(tmp_dir)
        self.url: Optional[str] = None

    def __enter__(self) -> str:
        if self.backend == "sqlite":
            self.url = f"sqlite:///{self.tmp_dir / f'status-{uuid.uuid4().hex[:8]}.db'}"
        elif self.backend == "postgresql":
            self.url = create_pg_database()
        else:
            raise ValueError(self.backend)
        return self.url

    def __exit__(self, *exc) -> None:
        if self.url is None:
            return
        db.dispose_engines(self.url)
        if self.backend == "postgresql":
            drop_pg_database(self.url)


@pytest.fixture(scope="session", params=BACKENDS)
def status_backend_url(request, tmp_path_factory) -> Iterator[str]:
    """A migrated status database per backend, shared by the tests of a session."""
    with fresh_database(request.param, tmp_path_factory.mktemp("statusdb")) as url:
        db.upgrade(url)
        yield url


@pytest.fixture
def status_db_url(status_backend_url: str) -> str:
    """The migrated database of the current backend, with all status tables emptied."""
    engine = db.make_engine(status_backend_url, 10.0)
    try:
        with engine.begin() as conn:
            for table in STATUS_TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()
    return status_backend_url


def make_status_settings(database_url: str, var_dir: Path, **overrides: str) -> Settings:
    env: Dict[str, str] = {
        "KW_VAR_DIR": str(var_dir),
        "KW_DATABASE_URL": database_url,
        "KW_API_TOKEN": TEST_API_TOKEN,
        "KW_COOKIE_SECRET": "test-cookie-secret",
        "KW_RASA_TOKEN": "test-rasa-token",
        "KW_PORTAL_JWT_SECRET": "test-jwt-secret",
    }
    env.update(overrides)
    return load(env)


@pytest.fixture
def status_settings(status_db_url: str, tmp_path: Path) -> Settings:
    return make_status_settings(status_db_url, tmp_path)
