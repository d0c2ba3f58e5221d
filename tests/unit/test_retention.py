"""Retention: old conversations are deleted whole, recent ones stay."""

import datetime as dt

from sqlalchemy import create_engine, text

from bot import migrations
from bot.retention import purge, purge_trackers
from bot.settings import load


def make_events(url, rows):
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, "
                "type_name TEXT, timestamp FLOAT, data TEXT)"
            )
        )
        for sender, ts in rows:
            conn.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'user', :t, '{}')"),
                {"s": sender, "t": ts},
            )
    return engine


def test_old_conversations_go_recent_stay(tmp_path):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    now = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    old, recent = (now - dt.timedelta(days=40)).timestamp(), (now - dt.timedelta(days=2)).timestamp()
    engine = make_events(url, [("oud", old), ("oud", old + 1), ("lopend", old), ("lopend", recent)])
    assert purge_trackers(url, now - dt.timedelta(days=30)) == 1
    with engine.connect() as conn:
        left = sorted(r[0] for r in conn.execute(text("SELECT DISTINCT sender_id FROM events")))
    assert left == ["lopend"]  # a conversation still in use keeps its older events too


def test_purge_without_tracker_tables(tmp_path):
    env = {
        "KW_VAR_DIR": str(tmp_path),
        "KW_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "KW_TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
    }
    settings = load(env)
    migrations.upgrade(settings.database_url)
    report = purge(settings)
    assert report.conversations == 0 and report.tickets == 0


def test_delete_one_conversation(tmp_path):
    from bot.retention import delete_conversation

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = make_events(url, [("mijn", 1.0), ("mijn", 2.0), ("ander", 1.0)])
    assert delete_conversation(url, "mijn") == 2
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT DISTINCT sender_id FROM events"))] == ["ander"]
    assert delete_conversation(f"sqlite:///{tmp_path / 'leeg.db'}", "mijn") == 0
