"""rasa_runtime/: the start shim, run in the real Rasa runtime (Python 3.10, Rasa 3.6)."""
import json
import subprocess

import pytest
from sqlalchemy.engine import make_url

from bot import launcher
from bot.settings import ROOT, load
from tests.fixtures.databases import BACKENDS, create_pg_database, drop_pg_database

def run_in_rasa(script: str, tmp_path) -> dict:
    """Run a script in the real Rasa runtime; the JSON it printed last."""
    python = launcher.rasa_python(load({"KW_VAR_DIR": str(tmp_path)}))
    result = subprocess.run([str(python), "-c", script], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


CHECK = r"""
import json, sys
sys.path.insert(0, "rasa_runtime")
import serve
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

serve.install_fast_validation()
action = RemoteAction("action_x", None)
good = {"events": [{"event": "slot", "name": "a", "value": 1}], "responses": [{"text": "hoi"}]}
bad = [{"events": "geen lijst"}, {"events": [{"geen": "event"}]}, {"responses": [1]}, []]
out = {"good": action._validate_action_result(good), "refused": []}
for response in bad:
    try:
        action._validate_action_result(response)
        out["refused"].append(False)
    except ValidationError as exc:
        out["refused"].append("Failed to validate Action server response" in exc.message)
print(json.dumps(out))
"""


def test_fast_validation_still_refuses_malformed_action_responses(tmp_path):
    out = run_in_rasa(CHECK, tmp_path)
    assert out == {"good": True, "refused": [True, True, True, True]}


PRE_PING = r"""
import json, sys
sys.path.insert(0, "rasa_runtime")
import serve
from rasa.core import tracker_store

serve.install_pool_pre_ping()
pg = tracker_store.create_engine_kwargs("postgresql://postgres@127.0.0.1:5432/x")
lite = tracker_store.create_engine_kwargs("sqlite:///x.db")
print(json.dumps({"pg": pg.get("pool_pre_ping"), "pool": "pool_size" in pg,
                  "sqlite": [lite["poolclass"].__name__, lite["connect_args"]]}))
"""


def test_the_tracker_store_checks_pooled_postgres_connections(tmp_path):
    """After a PostgreSQL restart no turn fails on a dead pooled connection."""
    out = run_in_rasa(PRE_PING, tmp_path)
    assert out == {"pg": True, "pool": True, "sqlite": ["QueuePool", {"check_same_thread": False}]}


REDIS_RETRY = r"""
import json, sys
sys.path.insert(0, "rasa_runtime")
import serve
from rasa.core.lock_store import RedisLockStore

serve.install_redis_retry()
store = RedisLockStore(host="127.0.0.1", port=6379, db=0, key_prefix="kwtest")
conn = store.red.connection_pool.make_connection()
store.red.set("kwtest:retry", "1", ex=5)
print(json.dumps({"retries": conn.retry._retries, "errors": sorted(e.__name__ for e in conn.retry._supported_errors),
                  "works": store.red.get("kwtest:retry").decode(), "prefix": store.key_prefix}))
"""


def test_the_lock_store_retries_after_a_redis_restart(tmp_path):
    """The lock store reconnects instead of failing a turn (a real restart: tests/integration/test_cluster_faults.py)."""
    out = run_in_rasa(REDIS_RETRY, tmp_path)
    assert out["retries"] == 6 and "ConnectionError" in out["errors"] and out["works"] == "1"
    assert out["prefix"].startswith("kwtest:")


TICKETS = r"""
import asyncio, json, sys, time, uuid
sys.path.insert(0, "rasa_runtime")
import serve
from rasa.core import lock_store
from rasa.core.lock_store import RedisLockStore

LIFETIME = 1.0
lock_store.LOCK_LIFETIME = LIFETIME
store = RedisLockStore(host="127.0.0.1", port=6379, db=0, key_prefix="kwtest")


async def behind_a_dead_holder():
    cid = uuid.uuid4().hex
    store.issue_ticket(cid, LIFETIME)  # a replica took the lock and was killed: never cleaned up
    start = time.monotonic()
    try:
        async with store.lock(cid, lock_lifetime=LIFETIME, wait_time_in_seconds=0.4):
            return round(time.monotonic() - start, 2)
    finally:
        store.delete_lock(cid)


async def attempt():
    try:
        return await asyncio.wait_for(behind_a_dead_holder(), 4 * LIFETIME)
    except asyncio.TimeoutError:
        return None

out = {"plain": asyncio.run(attempt())}
serve.install_ticket_keepalive()
out["keepalive"] = asyncio.run(attempt())
print(json.dumps(out))
"""


def test_a_request_waiting_behind_a_killed_replica_gets_the_lock(tmp_path):
    """Rasa's own ticket lock leaves the waiting request behind a dead holder for ever (both
    tickets expire together); with the keep-alive it gets the lock once the dead one expires."""
    out = run_in_rasa(TICKETS, tmp_path)
    assert out["plain"] is None  # the bug the patch is for, so this test can fail
    assert out["keepalive"] is not None and out["keepalive"] >= 0.9  # not before the dead ticket expired


APPLIED = r"""
import json, sys
sys.path.insert(0, "rasa_runtime")
import serve
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, ActionExecutionRejected, ActionReverted, ActiveLoop,
    BotUttered, Restarted, SessionStarted, SlotSet, UserUttered, UserUtteranceReverted)
from rasa.shared.core.trackers import DialogueStateTracker

plain = DialogueStateTracker.applied_events
serve.install_applied_events_cache()
domain = Domain.from_path("domain.yml")
steps = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
         UserUttered("hoi", {"name": "greet"}), ActionExecuted("utter_greet"), BotUttered("hallo"),
         ActionExecuted("action_listen"), UserUttered("status", {"name": "status_aanvraag"}),
         ActionExecuted("status_form"), ActiveLoop("status_form"), SlotSet("requested_slot", "aanvraagnummer"),
         ActionExecuted("action_listen"), UserUttered("KW-2025-0001", {"name": "inform_aanvraagnummer"}),
         ActionExecuted("status_form"), ActionReverted(), UserUtteranceReverted(),
         ActionExecuted("action_listen"), UserUttered("stop", {"name": "stop"}), ActionExecuted("status_form"),
         ActiveLoop(None), Restarted(), ActionExecuted("action_listen"), UserUttered("hoi", {"name": "greet"})]
tracker = DialogueStateTracker.from_events("kwtest", [], domain.slots)
same = []
for event in steps:
    tracker.update(event)
    first = tracker.applied_events()
    first.append("garbage")  # a caller changing its list must not change the next answer
    same.append(tracker.applied_events() == plain(tracker))
copy = tracker.copy()
copy.update(ActionExecuted("utter_greet"))
# Events appended several at a time between two questions, in every split; a loop's action
# run before the loop's name first appears (an unhappy path), and a rejected loop.
more = [ActionExecuted("action_listen"), UserUttered("mens", {"name": "handoff"}), ActionExecuted("handoff_form"),
        ActionExecutionRejected("handoff_form"), ActionExecuted("utter_x"), ActionExecuted("action_listen"),
        UserUttered("ja", {"name": "affirm"}), ActionExecuted("handoff_form"), ActiveLoop("handoff_form"),
        SlotSet("requested_slot", "handoff_vraag"), ActionExecuted("action_listen"),
        UserUttered("vraag", {"name": "inform"}), ActionExecuted("handoff_form"), ActiveLoop(None),
        ActionExecuted("action_listen"), UserUttered("nog een", {"name": "greet"}), ActionExecuted("utter_greet")]
batches = []
for size in (1, 2, 3, 5):
    batched = DialogueStateTracker.from_events("batched", steps[:4], domain.slots)
    batched.applied_events()
    for start in range(0, len(more), size):
        for event in more[start:start + size]:
            batched.update(event)
        batches.append(batched.applied_events() == plain(batched))
        kept = serve.copy_tracker(batched)  # the tracker cache's copy goes on from the same answer
        kept.update(ActionExecuted("action_listen"))
        batches.append(kept.applied_events() == plain(kept) and batched.applied_events() == plain(batched))
print(json.dumps({"same": same, "copy": copy.applied_events() == plain(copy), "batches": batches,
                  "original": tracker.applied_events() == plain(tracker), "n": len(plain(tracker))}))
"""


def test_the_applied_events_cache_answers_what_rasa_would(tmp_path):
    """After every event (forms, rewinds, a restart) the cached replay equals Rasa's own, a
    caller's change to its copy does not leak, and a copied tracker has its own answer."""
    out = run_in_rasa(APPLIED, tmp_path)
    assert out["same"] and all(out["same"]) and out["copy"] and out["original"]
    assert len(out["batches"]) > 40 and all(out["batches"])
    assert out["n"] == 2  # a restart leaves only what came after it


UNKNOWN_WORDS = r"""
import asyncio, json, sys
sys.path.insert(0, "rasa_runtime")
import serve
from rasa.core.agent import Agent
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.training_data.message import Message

serve.install_unknown_words_fallback()
agent = Agent.load(sys.argv[1])
texts = ["blorp fnerk", "xqzt vlorp", "blubber de blub", "zzzz", "Arnhem?", "hoi", "wat is de deadline", "KW-2025-0047"]

async def intents():
    return {t: (await agent.parse_message(t))["intent"]["name"] for t in texts}

# The guard alone, on a message whose words are all unknown and whose intent is confident.
classifier = FallbackClassifier({"threshold": 0.45, "ambiguity_threshold": 0.05})
def forced(text):
    message = Message({"text": text, "intent": {"name": "greet", "confidence": 0.99},
                       "intent_ranking": [{"name": "greet", "confidence": 0.99}], serve.KNOWN_WORDS: 0})
    return classifier._should_fallback(message)

print(json.dumps({"intents": asyncio.run(intents()),
                  "forced": {t: forced(t) for t in ["blorp fnerk", "KPWE-W7TV", "kpwe w7tv"]}}))
"""


def test_a_message_without_a_known_word_is_not_understood(tmp_path):
    """Gibberish gets the fallback however confident DIET is; real words, a place name and an
    aanvraagnummer keep their intent; something shaped like a verification code is left to
    the form that asked for it."""
    model = launcher.model_path(load())
    assert model.exists(), "make test trains the model first"
    out = run_in_rasa(UNKNOWN_WORDS.replace("sys.argv[1]", repr(str(model))), tmp_path)
    intents = out["intents"]
    gibberish = ("blorp fnerk", "xqzt vlorp", "blubber de blub", "zzzz")
    assert [intents[t] for t in gibberish] == ["nlu_fallback"] * len(gibberish)
    # A place name alone: the areas answer, by either intent (inform_plaats answers it when
    # there is no earlier place question).
    assert intents["Arnhem?"] in ("faq_gebieden", "inform_plaats") and intents["hoi"] == "greet"
    assert intents["wat is de deadline"] == "faq_deadline"
    assert intents["KW-2025-0047"] == "inform_aanvraagnummer"
    assert out["forced"] == {"blorp fnerk": True, "KPWE-W7TV": False, "kpwe w7tv": False}


FAST_LOAD = r"""
import asyncio, json, sys, time
sys.path.insert(0, "rasa_runtime")
import serve
from rasa.core.agent import Agent
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.loading import load_data

model, fast, out_path, held_out = sys.argv[1], sys.argv[2] == "fast", sys.argv[3], sys.argv[4:]
if fast:
    serve.install_fast_model_load()
    serve.install_direct_predict()
    serve.install_sequential_graph_runner()
texts = [m.get("text") for path in held_out for m in load_data(path).intent_examples]
texts += ["blorp fnerk", "<b>vet?</b>", "x" * 3000, "KW-2025-0047 en code KPWE-W7TV", "Arnhem?"]
agent = Agent.load(model)

async def parses():
    out = []
    for text in texts:
        parse = await agent.parse_message(text)
        out.append([text, parse["intent"], parse.get("intent_ranking"),
                    [[e["entity"], e["value"], e["start"], e["end"]] for e in parse["entities"]]])
    return out

async def dialogue():
    # The policies' graph too: the actions predicted along a conversation, with the policy
    # and confidence of each (actions are not run: there is no action server here).
    tracker = DialogueStateTracker.from_events("d", [ActionExecuted("action_session_start"), SessionStarted(),
                                                     ActionExecuted("action_listen")], agent.domain.slots)
    out = []
    for text in ["hoi", "wanneer is de deadline", "welke gebieden doen mee", "Arnhem", "ik wil een mens spreken",
                 "wat is de status van mijn aanvraag", "KW-2025-0047", "stop", "blorp fnerk", "dank je"]:
        parse = await agent.parse_message(text)
        tracker.update(UserUttered(text, parse["intent"], parse["entities"], parse), agent.domain)
        for _ in range(4):
            prediction = agent.processor._predict_next_with_tracker(tracker)
            name = agent.domain.action_names_or_texts[prediction.max_confidence_index]
            out.append([name, prediction.policy_name, prediction.max_confidence])
            tracker.update(ActionExecuted(name, prediction.policy_name, prediction.max_confidence), agent.domain)
            if name == "action_listen":
                break
    return out

result = {"parses": asyncio.run(parses()), "dialogue": asyncio.run(dialogue())}
result["rss_mb"] = int([l for l in open("/proc/self/status") if l.startswith("VmRSS")][0].split()[1]) // 1024
import gc
from rasa.utils.tensorflow.models import RasaModel
# Whether DIET's predictions went straight to the traced graph (install_direct_predict).
result["direct"] = any("_kw_direct" in o.__dict__ for o in gc.get_objects() if isinstance(o, RasaModel))
# A file, not stdout: TensorFlow and Rasa write to the same pipe and can land inside a long line.
with open(out_path, "w") as out:
    json.dump(result, out)
"""


def test_the_fast_model_load_serves_exactly_what_rasa_s_own_load_does(tmp_path):
    """The served DIET model, loaded without Rasa's one-step training, predicting straight
    through its traced graph and run without dask, gives every held-out message the same
    intent ranking (to the last bit) and the same entities, a conversation gets the same
    actions, and the process holds less memory."""
    model = launcher.model_path(load())
    assert model.exists(), "make test trains the model first"
    held_out = [str(ROOT / "tests" / "nlu" / name) for name in ("test_nlu.yml", "test_nlu_unseen.yml")]

    def run(mode):
        python = launcher.rasa_python(load({"KW_VAR_DIR": str(tmp_path)}))
        out = tmp_path / f"{mode}.json"
        result = subprocess.run([str(python), "-c", FAST_LOAD, str(model), mode, str(out), *held_out], cwd=ROOT,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(out.read_text())

    rasa_own, fast = run("plain"), run("fast")
    assert len(fast["parses"]) == len(rasa_own["parses"]) > 500
    assert fast["parses"] == rasa_own["parses"]
    assert fast["dialogue"] == rasa_own["dialogue"] and len(fast["dialogue"]) > 20
    assert fast["direct"] and not rasa_own["direct"]
    # Rasa's own load keeps the traced training graph; the fast one does not.
    assert fast["rss_mb"] < rasa_own["rss_mb"] - 200, (fast["rss_mb"], rasa_own["rss_mb"])


TRACKER_CACHE = r"""
import asyncio, json, sys
sys.path.insert(0, "rasa_runtime")
import serve
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet,
                                     UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

plain_retrieve = SQLTrackerStore._retrieve
serve.install_applied_events_cache()
serve.install_tracker_cache(size=2)
domain = Domain.load("domain.yml")
store = dict(json.loads(sys.argv[2]), db=sys.argv[1])  # SQLite or PostgreSQL
a, b = (SQLTrackerStore(domain, **store) for _ in range(2))  # two replicas

def turn(text, slot=None):
    events = [UserUttered(text, {"name": "faq_deadline", "confidence": 0.9}), ActionExecuted("utter_x"),
              BotUttered(text.upper()), ActionExecuted("action_listen")]
    if slot:
        events.insert(1, SlotSet(*slot))
    return events

async def plain(sender):
    return await plain_retrieve(a, sender, False)

def state(tracker):
    return None if tracker is None else tracker.current_state(EventVerbosity.ALL)

async def main():
    out = {}
    tracker = DialogueStateTracker.from_events("s1", [ActionExecuted("action_session_start"), SessionStarted(),
                                                      ActionExecuted("action_listen")], domain.slots)
    await a.save(tracker)
    checks = []
    for i, replica in enumerate([a, a, b, a, a, b, b, a]):
        tracker = await replica.retrieve("s1")
        assert tracker is not None
        for event in turn(f"vraag {i}", ("onderwerp", f"onderwerp {i}") if i % 2 else None):
            tracker.update(event, domain)
        if i == 3:
            tracker.update(ActiveLoop("status_form"), domain)
        await replica.save(tracker)
        for reader in (a, b):
            checks.append(state(await reader.retrieve("s1")) == state(await plain("s1")))
    out["same_as_a_fresh_load"] = checks
    # A turn that failed after changing its copy leaves the stored conversation as it was.
    broken = await a.retrieve("s1")
    broken.update(SlotSet("onderwerp", "kapot"), domain)
    out["failed_turn_not_kept"] = (broken.get_slot("onderwerp") == "kapot"
                                    and (await a.retrieve("s1")).get_slot("onderwerp") == "onderwerp 7")
    out["hits"] = a.__dict__["_kw_cache"].get("s1") is not None
    # A new session: the store hands out only its events, with or without the cache.
    tracker = await a.retrieve("s1")
    for event in [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]:
        tracker.update(event, domain)
    await a.save(tracker)
    out["new_session"] = [state(await a.retrieve("s1")) == state(await plain("s1")),
                          len((await a.retrieve("s1")).events)]
    # More conversations than the cache holds: the oldest is forgotten, still answered right.
    for sender in ("s2", "s3", "s4"):
        await a.save(DialogueStateTracker.from_events(sender, turn("hoi"), domain.slots))
        await a.retrieve(sender)
    out["bounded"] = sorted(a.__dict__["_kw_cache"])
    out["evicted_still_loads"] = state(await a.retrieve("s1")) == state(await plain("s1"))
    # A conversation deleted from the store (the retention job) is gone for the cache too.
    with a.session_scope() as session:
        session.query(a.SQLEvent).filter(a.SQLEvent.sender_id == "s1").delete()
        session.commit()
    out["deleted"] = [await a.retrieve("s1") is None, await b.retrieve("s1") is None]
    print(json.dumps(out))

asyncio.run(main())
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_tracker_cache_answers_what_the_store_holds(tmp_path, backend):
    """Trackers kept in memory between turns: every read equals a fresh load from the store,
    whichever of two replicas wrote last; a failed turn's changes, a new session, eviction and
    a deleted conversation are all seen. On SQLite and on PostgreSQL (the cache writes and reads
    below SQLAlchemy's compiler, in each driver's own parameter style)."""
    if backend == "sqlite":
        out = run_in_rasa(_with_store(str(tmp_path / "trackers.db"), {"dialect": "sqlite"}), tmp_path)
    else:
        url = make_url(create_pg_database())
        try:
            out = run_in_rasa(_with_store(url.database, {
                "dialect": "postgresql", "host": url.host, "port": url.port or 5432,
                "username": url.username, "password": url.password}), tmp_path)
        finally:
            drop_pg_database(url.render_as_string(hide_password=False))
    assert out["same_as_a_fresh_load"] == [True] * 16
    assert out["failed_turn_not_kept"] and out["hits"]
    assert out["new_session"][0] and out["new_session"][1] <= 3
    assert out["bounded"] == ["s3", "s4"] and out["evicted_still_loads"]
    assert out["deleted"] == [True, True]


def _with_store(db: str, store: dict) -> str:
    return TRACKER_CACHE.replace("sys.argv[1]", repr(db)).replace("sys.argv[2]", repr(json.dumps(store)))


FORM_TRACKER = r"""
import json, sys, time
sys.path.insert(0, "rasa_runtime")
import serve
from rasa.core.actions.forms import FormAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, ActiveLoop, BotUttered, Restarted, SessionStarted,
                                     SlotSet, UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

domain = Domain.load("domain.yml")
plain = FormAction._temporary_tracker
serve.install_applied_events_cache()
serve.install_form_tracker_copy()
fast = FormAction._temporary_tracker

def user(text, intent, entities=()):
    return UserUttered(text, {"name": intent, "confidence": 0.9}, list(entities))

def untimed(value, made):
    # The events a form adds are new on each call: their times differ, nothing else may.
    if isinstance(value, dict):
        return {k: None if k in ("timestamp", "latest_event_time") and isinstance(v, float) and v >= made
                else untimed(v, made) for k, v in value.items()}
    if isinstance(value, list):
        return [untimed(v, made) for v in value]
    return value

start = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
faq = [user("wanneer sluit het", "faq_deadline"), ActionExecuted("action_answer_faq"), BotUttered("1 juni"),
       ActionExecuted("action_listen")]
handoff = [user("mens graag", "human_handoff"), ActionExecuted("handoff_form"), ActiveLoop("handoff_form"),
           SlotSet("requested_slot", "handoff_toestemming"), BotUttered("Mag dat?"), ActionExecuted("action_listen"),
           user("ja", "affirm")]
status = [user("status KW-2025-0047", "status_vraag", [{"entity": "aanvraagnummer", "value": "KW-2025-0047"}]),
          SlotSet("aanvraagnummer", "KW-2025-0047"), ActionExecuted("status_form"), ActiveLoop("status_form"),
          SlotSet("requested_slot", "verificatiecode"), ActionExecuted("action_listen"), user("KPWE-W7TV", "inform")]
cases = {
    "handoff": start + faq + faq + handoff,
    "status": start + faq + status,
    "new session": start + faq + start + [SlotSet("onderwerp", "x")] + handoff,
    "restarted": start + faq + [Restarted()] + start + handoff,
    "paused": start + faq + handoff[:-1] + [user("nog een vraag", "faq_deadline")],
}
out = {}
for name, events in cases.items():
    form = "status_form" if name == "status" else "handoff_form"
    action = FormAction(form, None)
    current = DialogueStateTracker.from_events("s", events, domain.slots)
    current.model_id = "kw-model"
    made = time.time()
    slot = "handoff_toestemming" if form == "handoff_form" else "verificatiecode"
    results = []
    for make in (plain, fast):
        tracker = make(action, current, [SlotSet(slot, "ja")], domain)
        results.append(untimed([tracker.current_state(EventVerbosity.ALL), tracker.current_slot_values(),
                                tracker.active_loop_name, [e.as_dict() for e in tracker.applied_events()],
                                tracker.model_id, tracker.is_paused(), tracker.followup_action], made))
    before = current.current_state(EventVerbosity.ALL)
    out[name] = {"same": json.dumps(results[0], sort_keys=True, default=str)
                         == json.dumps(results[1], sort_keys=True, default=str),
                 "events": len(results[1][0]["events"]),
                 "current_unchanged": len(before["events"]) == len(events)}
print(json.dumps(out))
"""


def test_a_form_s_temporary_tracker_is_the_same_made_by_copying(tmp_path):
    """Forms' temporary trackers, copied from the current tracker instead of replayed from
    every event: the same state, events, slots, loop and applied events in every case (a form
    mid-flight, a new session, a restart), and the current tracker is left as it was."""
    out = run_in_rasa(FORM_TRACKER, tmp_path)
    assert set(out) == {"handoff", "status", "new session", "restarted", "paused"}
    for name, case in out.items():
        assert case["same"] and case["current_unchanged"] and case["events"] > 10, (name, case)


KEEPALIVE = r"""
import asyncio, json, sys
sys.path.insert(0, "rasa_runtime")
import serve
from aiohttp import web
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

serve.install_action_keepalive()
peers = []
received = []

async def webhook(request):
    peers.append(request.transport.get_extra_info("peername")[1])
    received.append(await request.text())
    if (await request.json()).get("fail"):
        return web.json_response({"error": "kapot"}, status=500)
    return web.json_response({"events": [], "responses": [{"text": "hoi"}]})

async def server(port=0):
    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]

async def main():
    runner, port = await server()
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    answers = [await endpoint.request(json={"next_action": "x"}, method="post") for _ in range(3)]
    try:
        await endpoint.request(json={"fail": True}, method="post")
        error = None
    except ClientResponseError as exc:
        error = exc.status
    after_error = await endpoint.request(json={}, method="post")
    # The body is JSON that reads back as what was sent, whatever it holds (ujson encodes it;
    # an integer beyond 64 bits goes to json.dumps).
    odd = [{"text": "één €/m² <b>\u2028 \"x\"", "confidence": 0.1 + 0.2, "n": None, "t": True},
           {"big": 2 ** 70, "nested": [[1.5e-300], {"": "/"}]}]
    for body in odd:
        await endpoint.request(json=body, method="post")
    same = [json.loads(text) == body for text, body in zip(received[-2:], odd)]
    # The action server restarts (the supervisor): the kept connection is gone, the next call
    # opens a new one.
    await runner.cleanup()
    runner, _ = await server(port)
    restarted = await endpoint.request(json={}, method="post")
    await runner.cleanup()
    print(json.dumps({"answers": answers, "error": error, "after_error": after_error,
                      "restarted": restarted, "connections": len(set(peers[:5])), "total": len(set(peers)),
                      "same": same}))

asyncio.run(main())
"""


def test_the_action_server_connection_is_kept_between_calls(tmp_path):
    """Rasa opened a new connection (and client session) for every action call; now one is
    kept, errors still come through as before, a restarted action server is reached, and the
    body (now encoded by ujson) reads back as what was sent."""
    out = run_in_rasa(KEEPALIVE, tmp_path)
    hoi = {"events": [], "responses": [{"text": "hoi"}]}
    assert out["answers"] == [hoi] * 3 and out["after_error"] == hoi and out["restarted"] == hoi
    assert out["error"] == 500
    assert out["connections"] == 1 and out["total"] == 2
    assert out["same"] == [True, True]


def test_the_runtime_knows_the_codes_the_status_lookup_hands_out():
    """rasa_runtime/ cannot import bot/: its copy of the code alphabet and length must
    not drift from the one that generates the codes, or a code would be taken for gibberish."""
    import importlib.util

    from bot.status import verification

    spec = importlib.util.spec_from_file_location("kw_model_patches", ROOT / "rasa_runtime" / "model_patches.py")
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)
    assert serve.CODE_ALPHABET == frozenset(verification.CODE_ALPHABET)
    assert serve.CODE_LENGTH == verification.CODE_LENGTH


def test_rasa_started_without_the_launcher_rolls_sessions_over_like_the_settings_say(tmp_path, monkeypatch):
    import importlib.util

    monkeypatch.syspath_prepend(str(ROOT / "rasa_runtime"))  # as when run as a script: its patch modules
    spec = importlib.util.spec_from_file_location("serve", ROOT / "rasa_runtime" / "serve.py")
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)
    settings = load({"KW_VAR_DIR": str(tmp_path)})
    assert serve.DEFAULT_SESSION_MAX_TURNS == settings.session_max_turns
    assert launcher.child_env(settings)["KW_SESSION_MAX_TURNS"] == str(settings.session_max_turns)


EVENTS = r"""
import json, sys, tempfile, os
sys.path.insert(0, "rasa_runtime")
import serve
from rasa.shared.core import events
from rasa.shared.utils.common import all_subclasses

names = sorted({c.type_name for c in all_subclasses(events.Event) if isinstance(getattr(c, "type_name", None), str)})
before = {n: events.Event.resolve_by_type(n).__name__ for n in names}
serve.install_event_type_cache()
after = {n: events.Event.resolve_by_type(n).__name__ for n in names}
again = {n: events.Event.resolve_by_type(n).__name__ for n in names}
try:
    events.Event.resolve_by_type("geen-event")
    unknown = "accepted"
except ValueError:
    unknown = "refused"
default = events.Event.resolve_by_type("geen-event", events.UserUttered).__name__

serve.install_tracker_store_tuning()
serve.install_pool_pre_ping()
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
path = os.path.join(tempfile.mkdtemp(), "tracker.db")
store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=path)
with store.engine.connect() as conn:
    mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
dbapi = []
for _ in range(3):
    with store.session_scope() as session:
        dbapi.append(id(session.connection().connection.connection))
print(json.dumps({"n": len(names), "same": before == after == again, "unknown": unknown,
                  "default": default, "mode": mode, "sync": sync, "pool": type(store.engine.pool).__name__,
                  "reused": len(set(dbapi)) == 1}))
"""


def test_event_classes_and_the_sqlite_tracker_store_after_the_tuning(tmp_path):
    out = run_in_rasa(EVENTS, tmp_path)
    assert out["n"] > 20 and out["same"] and out["unknown"] == "refused" and out["default"] == "UserUttered"
    assert out["mode"] == "wal" and out["sync"] == 1  # NORMAL
    # One connection kept for the sessions of a turn, not one opened per session.
    assert out["pool"] == "QueuePool" and out["reused"]
