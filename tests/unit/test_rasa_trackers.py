"""rasa_runtime/trackers_patches.py and the tracker store of rasa_runtime/stores.py, run in the
real Rasa runtime (Python 3.10, Rasa 3.6) by the scripts of rasa_runtime/tests/: replaying,
caching, storing and copying conversations give what Rasa's own code gives."""

import json

import pytest
from sqlalchemy.engine import make_url

from tests.fixtures.databases import BACKENDS, create_pg_database, drop_pg_database
from tests.fixtures.rasa_runtime import run_in_rasa


def test_the_applied_events_cache_answers_what_rasa_would(tmp_path):
    """After every event (forms, rewinds, a restart) the cached replay equals Rasa's own, a
    caller's change to its copy does not leak, and a copied tracker has its own answer."""
    out = run_in_rasa("applied_events", tmp_path)
    assert out["same"] and all(out["same"]) and out["copy"] and out["original"]
    assert len(out["batches"]) > 40 and all(out["batches"])
    assert out["n"] == 2  # a restart leaves only what came after it


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_tracker_cache_answers_what_the_store_holds(tmp_path, backend):
    """Trackers kept in memory between turns: every read equals a fresh load from the store,
    whichever of two replicas wrote last; a failed turn's changes, a new session, eviction and
    a deleted conversation are all seen. On SQLite and on PostgreSQL (the cache writes and reads
    below SQLAlchemy's compiler, in each driver's own parameter style)."""
    if backend == "sqlite":
        out = run_in_rasa(
            "tracker_cache", tmp_path, json.dumps({"dialect": "sqlite", "db": str(tmp_path / "trackers.db")})
        )
    else:
        url = make_url(create_pg_database())
        try:
            out = run_in_rasa(
                "tracker_cache",
                tmp_path,
                json.dumps(
                    {
                        "dialect": "postgresql",
                        "host": url.host,
                        "port": url.port or 5432,
                        "db": url.database,
                        "username": url.username,
                        "password": url.password,
                    }
                ),
            )
        finally:
            drop_pg_database(url.render_as_string(hide_password=False))
    assert out["same_as_a_fresh_load"] == [True] * 16
    assert out["failed_turn_not_kept"] and out["hits"]
    assert out["new_session"][0] and out["new_session"][1] <= 3
    assert out["bounded"] == ["s3", "s4"] and out["evicted_still_loads"]
    held, small = out["bounded_bytes"]
    assert 1.5 * small <= held <= 2.5 * small  # two small trackers, estimated from their JSON
    assert out["after_evicted"] == ["s4", "s2"]  # s3 was the least recently used
    assert out["idle"] == [True, ["s3"]]
    reported, held_now = out["figures"]
    assert reported == held_now and reported[0] == 1 and reported[1] > 0
    assert out["deleted"] == [True, True]


def test_a_form_s_temporary_tracker_is_the_same_made_by_copying(tmp_path):
    """Forms' temporary trackers, copied from the current tracker instead of replayed from
    every event: the same state, events, slots, loop and applied events in every case (a form
    mid-flight, a new session, a restart), and the current tracker is left as it was."""
    out = run_in_rasa("form_tracker", tmp_path)
    assert set(out) == {"handoff", "status", "new session", "restarted", "paused"}
    for name, case in out.items():
        assert case["same"] and case["current_unchanged"] and case["events"] > 10, (name, case)


def test_event_classes_and_the_sqlite_tracker_store_after_the_tuning(tmp_path):
    out = run_in_rasa("event_types", tmp_path)
    assert out["n"] > 20 and out["same"] and out["unknown"] == "refused" and out["default"] == "UserUttered"
    assert out["mode"] == "wal" and out["sync"] == 1  # NORMAL
    # One connection kept for the sessions of a turn, not one opened per session.
    assert out["pool"] == "QueuePool" and out["reused"]
