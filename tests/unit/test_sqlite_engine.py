"""The SQLite engine of the app database (bot/core/db.py)."""

import sqlite3

import pytest
from sqlalchemy import text

from bot.core import db


def test_a_new_file_opens_in_wal_mode(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'app.db'}", 1.0)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_opening_waits_while_another_process_reads_the_new_file(tmp_path, monkeypatch):
    path = tmp_path / "app.db"
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("CREATE TABLE t (x)")
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM t").fetchall()  # holds a shared lock: no switch to WAL now
    waits = []

    def reader_finishes(seconds):
        waits.append(seconds)
        reader.execute("COMMIT")

    monkeypatch.setattr("bot.core.db.time.sleep", reader_finishes)
    engine = db.make_engine(f"sqlite:///{path}", 1.0)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert len(waits) == 1
    engine.dispose()
    reader.close()


def test_opening_gives_up_after_its_timeout_when_the_file_stays_busy(tmp_path):
    path = tmp_path / "app.db"
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("CREATE TABLE t (x)")
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM t").fetchall()
    engine = db.make_engine(f"sqlite:///{path}", 0.05)
    with pytest.raises(Exception, match="locked"):
        engine.connect()
    engine.dispose()
    reader.close()
