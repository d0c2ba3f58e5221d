"""Fixtures of the unit tests. The status-store database fixtures live in tests/status_fixtures.py."""
import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.status_fixtures import *  # noqa: E402,F401,F403


import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bot.handoff import db as handoff_db  # noqa: E402
from bot.status import db as status_db  # noqa: E402


@pytest.fixture(scope="session")
def handoff_backend_url(status_backend_url):
    """The status-store test database (SQLite, PostgreSQL) with the handoff tables too."""
    handoff_db.upgrade(status_backend_url)
    return status_backend_url


@pytest.fixture
def url(handoff_backend_url):
    """That database with empty handoff tables."""
    engine = status_db.make_engine(handoff_backend_url, 10.0)
    try:
        with engine.begin() as conn:
            for table in handoff_db.TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()
    return handoff_backend_url
