"""rasa_runtime/: the start shim, its version guard, the stores, the connections and the model,
run in the real Rasa runtime (Python 3.10, Rasa 3.6) by the scripts of rasa_runtime/tests/. The
tracker patches are in test_rasa_trackers.py."""

import subprocess
import sys
from collections.abc import Iterator

import pytest

from bot import launcher
from bot.settings import ROOT, load
from tests.fixtures.databases import create_pg_database, drop_pg_database
from tests.fixtures.rasa_runtime import rasa_env, run_in_rasa
from tests.fixtures.services import OwnRedis


@pytest.fixture
def redis_port() -> Iterator[int]:
    """The port of a redis-server of the test's own (never the machine's on 6379)."""
    server = OwnRedis().start()
    try:
        yield server.port
    finally:
        server.stop()


def serve(tmp_path, lock_text: str) -> subprocess.CompletedProcess:
    """Rasa started as the launcher starts it, checked against a lock file with ``lock_text``."""
    lock = tmp_path / "rasa.lock"
    lock.write_text(lock_text, encoding="utf-8")
    settings = load(launcher.isolated_env(tmp_path))
    endpoints = launcher.write_endpoints(settings)
    cmd = launcher.rasa_command(settings, tmp_path / "no-model.tar.gz", endpoints, settings.rasa_port)
    return subprocess.run(
        cmd,
        cwd=ROOT,
        env=launcher.child_env(settings, {"KW_RASA_LOCK": str(lock)}),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_rasa_refuses_to_start_when_a_pinned_version_changed(tmp_path):
    """The patches were written for the versions in requirements/rasa.lock; one pin changed (as
    after an upgrade of the lock without porting them) and Rasa does not start, saying why."""
    lock = (ROOT / "requirements" / "rasa.lock").read_text(encoding="utf-8")
    assert "\ntensorflow==2.12.0\n" in lock
    result = serve(tmp_path, lock.replace("\ntensorflow==2.12.0\n", "\ntensorflow==2.13.1\n"))
    assert result.returncode == 1
    assert "Refusing to start Rasa" in result.stderr
    assert "tensorflow 2.12.0 is installed, but the patches were written for tensorflow 2.13.1" in result.stderr


def test_python_m_bot_run_says_why_before_anything_starts_or_trains(tmp_path):
    """The operator's view of the same refusal: `python -m bot run` checks the Rasa runtime first
    (bot/launcher.py, check_rasa_runtime), prints the reason and exits 1, and nothing ran."""
    lock = tmp_path / "rasa.lock"
    text = (ROOT / "requirements" / "rasa.lock").read_text(encoding="utf-8")
    lock.write_text(text.replace("\nrasa==3.6.21\n", "\nrasa==3.6.22\n"), encoding="utf-8")
    env = launcher.isolated_env(tmp_path / "var", {"KW_RASA_LOCK": str(lock)})
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--no-gateway"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "rasa 3.6.21 is installed, but the patches were written for rasa 3.6.22" in result.stderr
    assert not (tmp_path / "var" / "logs").exists()  # no child was started


def test_the_version_guard_passes_the_installed_rasa_runtime(tmp_path):
    """The Rasa runtime installed from requirements/rasa.lock passes the same guard: it reads the
    real installed versions."""
    python = launcher.rasa_python(load({"KW_VAR_DIR": str(tmp_path)}))
    result = subprocess.run(
        [str(python), str(ROOT / "rasa_runtime" / "versions.py")],
        cwd=ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "versions pinned in requirements/rasa.lock" in result.stdout


def test_rasa_builds_our_stores_from_the_endpoints_we_write(tmp_path):
    """Rasa falls back to an in-memory tracker store, with only a warning, when it cannot load a
    named class: the endpoints.yml we write gives Rasa our classes, with Redis and without."""
    out = run_in_rasa("stores_from_endpoints", tmp_path, str(tmp_path))
    assert out == {
        "redis": {"tracker_store": "stores.CachingSQLTrackerStore", "lock_store": "stores.RedisLockStore"},
        "in_memory": {"tracker_store": "stores.CachingSQLTrackerStore", "lock_store": "stores.InMemoryLockStore"},
    }


def test_fast_validation_still_refuses_malformed_action_responses(tmp_path):
    out = run_in_rasa("fast_validation", tmp_path)
    assert out == {"good": True, "refused": [True, True, True, True]}


@pytest.mark.postgres
def test_a_turn_after_postgres_dropped_the_pooled_connections_is_answered(tmp_path):
    """What a PostgreSQL restart does to the tracker store's pool: Rasa's own store fails the
    next turn on a dead connection, ours tests the connection first and answers."""
    url = create_pg_database()
    try:
        out = run_in_rasa("postgres_restart", tmp_path, url)
    finally:
        drop_pg_database(url)
    assert out["store"] == "stores.CachingSQLTrackerStore"
    assert out["before"] == ["answered", "answered"] and out["dropped"] >= 2
    assert out["rasa"] == "failed"  # the situation is real: so this test can fail
    assert out["ours"] == "answered"


@pytest.mark.redis
def test_the_lock_store_works_across_a_redis_restart(tmp_path):
    """A redis-server of the test's own stops and starts again: while it is down Rasa's lock
    store fails a turn at once; ours waits for it, and the lock store works once it is back."""
    out = run_in_rasa("redis_restart", tmp_path, str(launcher.free_port()))
    assert out["store"] == "stores.RedisLockStore" and out["before"]
    assert out["rasa_while_down"] == "failed"
    assert out["ours_across_restart"] == {"granted": True}
    assert out["after"]


@pytest.mark.redis
def test_a_request_waiting_behind_a_killed_replica_gets_the_lock(tmp_path, redis_port):
    """Rasa's own ticket lock leaves the waiting request behind a dead holder for ever (both
    tickets expire together); ours gives it the lock once the dead one expired."""
    out = run_in_rasa("ticket_keepalive", tmp_path, str(redis_port))
    assert out["rasa"] is None  # the bug the store is for, so this test can fail
    assert out["ours"] is not None and out["ours"] >= 0.9  # not before the dead ticket expired


def test_a_message_without_a_known_word_is_not_understood(tmp_path):
    """Gibberish gets the fallback however confident the intent classifier is; real words, a
    place name and an aanvraagnummer keep their intent; something shaped like a verification
    code is left to the form that asked for it."""
    model = launcher.model_path(load())
    assert model.exists(), "make test trains the model first"
    out = run_in_rasa("unknown_words", tmp_path, str(model))
    intents = out["intents"]
    gibberish = ("blorp fnerk", "xqzt vlorp", "blubber de blub", "zzzz")
    assert [intents[t] for t in gibberish] == ["nlu_fallback"] * len(gibberish)
    # A place name alone: the areas answer, by either intent (inform_plaats answers it when
    # there is no earlier place question).
    assert intents["Arnhem?"] in ("faq_gebieden", "inform_plaats") and intents["hoi"] == "greet"
    assert intents["wat is de deadline"] == "faq_deadline"
    assert intents["KW-2025-0047"] == "inform_aanvraagnummer"
    assert out["forced"] == {"blorp fnerk": True, "KPWE-W7TV": False, "kpwe w7tv": False}


def test_the_fast_model_load_serves_exactly_what_rasa_s_own_load_does(tmp_path):
    """The served DIET model, loaded without Rasa's one-step training, fed features joined in
    one step, predicting straight through its traced graph and run without dask, gives every
    held-out message the same intent ranking (to the last bit) and the same entities, a
    conversation gets the same actions, and the process holds less memory."""
    model = launcher.model_path(load())
    assert model.exists(), "make test trains the model first"
    held_out = [str(ROOT / "tests" / "nlu" / name) for name in ("test_nlu.yml", "test_nlu_unseen.yml")]
    rasa_own, fast = (
        run_in_rasa("model_parses", tmp_path, str(model), mode, *held_out, timeout=600) for mode in ("plain", "fast")
    )
    assert len(fast["parses"]) == len(rasa_own["parses"]) > 500
    assert fast["parses"] == rasa_own["parses"]
    assert fast["dialogue"] == rasa_own["dialogue"] and len(fast["dialogue"]) > 20
    assert fast["direct"] and not rasa_own["direct"]
    # Rasa's own load keeps the traced training graph; the fast one does not.
    assert fast["rss_mb"] < rasa_own["rss_mb"] - 200, (fast["rss_mb"], rasa_own["rss_mb"])


def test_the_action_server_connection_is_kept_between_calls(tmp_path):
    """Rasa opened a new connection (and client session) for every action call; now one is
    kept, errors still come through as before, a restarted action server is reached, and the
    body (now encoded by ujson) reads back as what was sent."""
    out = run_in_rasa("action_keepalive", tmp_path)
    hoi = {"events": [], "responses": [{"text": "hoi"}]}
    assert out["answers"] == [hoi] * 3 and out["after_error"] == hoi and out["restarted"] == hoi
    assert out["error"] == 500
    assert out["connections"] == 1 and out["total"] == 2
    assert out["same"] == [True, True]


def test_the_runtime_knows_the_codes_the_status_lookup_hands_out():
    """rasa_runtime/ cannot import bot/: its copy of the code alphabet and length must
    not drift from the one that generates the codes, or a code would be taken for gibberish."""
    import importlib.util

    from bot.core import extract  # the codes' alphabet and length (bot/status/verification.py makes them)

    spec = importlib.util.spec_from_file_location("kw_model_patches", ROOT / "rasa_runtime" / "model_patches.py")
    assert spec is not None and spec.loader is not None
    patches = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(patches)
    assert frozenset(extract.CODE_ALPHABET) == patches.CODE_ALPHABET
    assert patches.CODE_LENGTH == extract.CODE_LENGTH


def test_rasa_started_without_the_launcher_rolls_sessions_over_like_the_settings_say(tmp_path, monkeypatch):
    import importlib.util

    monkeypatch.syspath_prepend(str(ROOT / "rasa_runtime"))  # as when run as a script: its sibling modules
    spec = importlib.util.spec_from_file_location("serve", ROOT / "rasa_runtime" / "serve.py")
    assert spec is not None and spec.loader is not None
    serve_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve_module)
    settings = load({"KW_VAR_DIR": str(tmp_path)})
    assert settings.session_max_turns == serve_module.DEFAULT_SESSION_MAX_TURNS
    assert launcher.child_env(settings)["KW_SESSION_MAX_TURNS"] == str(settings.session_max_turns)


def test_the_rasa_process_continues_the_turn_s_trace_and_hands_it_to_the_action_server(tmp_path):
    import json

    """The REST channel continues the trace the gateway's metadata names; a call to the action
    server made inside an action span sends that span's traceparent (rasa_runtime/tracing_patches.py),
    and the spans, scrubbed, reach the trace file (docs/operations.md, "Tracing")."""
    trace_file = tmp_path / "spans.jsonl"
    out = run_in_rasa("trace_context", tmp_path, str(trace_file))
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    assert out["seen"]["ids"][0] == trace_id and out["seen"]["conversation"] == out["pseudonym"]
    action_span = out["seen"]["action"][1]
    assert out["headers"] == [f"00-{trace_id}-{out['headers'][0].split('-')[2]}-01", None]
    spans = {s["name"]: s for s in map(json.loads, trace_file.read_text().splitlines())}
    assert set(spans) == {"rasa.message", "rasa.action", "rasa.http"}
    assert spans["rasa.message"]["parent_id"] == "b7ad6b7169203331"
    assert spans["rasa.action"]["span_id"] == action_span
    assert spans["rasa.http"]["parent_id"] == action_span
    # The action server's parent is the HTTP call's span.
    assert out["headers"][0].split("-")[2] == spans["rasa.http"]["span_id"]
    assert all(s["trace_id"] == trace_id and s["service"] == "kw-rasa" for s in spans.values())
    assert "s-geheim-0123" not in trace_file.read_text()


def test_the_intent_classifier_serves_what_it_trained_and_trains_the_same_twice(tmp_path):
    """rasa_runtime/linear_intents.py on data/nlu: loaded from the model storage it ranks every
    text exactly as it did after training, two trainings give the same weights, what it stores
    is plain data (JSON and .npy, nothing a load would run), and its own scoring gives every
    held-out text the decision values scikit-learn's transform gives."""
    out = run_in_rasa("linear_intents", tmp_path, str(tmp_path / "storage"))
    assert out["loaded"] == out["trained"]
    assert [p["intent"]["name"] for p in out["trained"][:3]] == ["faq_deadline", "faq_gebieden", "faq_bedrag_gemeente"]
    assert all(len(p["ranking"]) == 10 and p["ranking"][0] == p["intent"] for p in out["trained"])
    assert out["same_weights_twice"] and out["classes"] > 50
    assert out["files"] == ["bias.npy", "idf_chars.npy", "idf_words.npy", "linear_intents.json", "weights.npy"]
    assert out["compared"] > 500 and out["same_best"] and out["max_difference"] < 1e-9, out["max_difference"]
