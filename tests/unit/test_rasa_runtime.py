"""rasa_runtime/: the start shim, its connections and the model, run in the real Rasa runtime
(Python 3.10, Rasa 3.6). The tracker patches are in test_rasa_trackers.py."""
import json
import subprocess

from bot import launcher
from bot.settings import ROOT, load
from tests.fixtures.rasa_runtime import run_in_rasa


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
    serve.install_one_step_feature_join()
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
    """The served DIET model, loaded without Rasa's one-step training, fed features joined in
    one step, predicting straight through its traced graph and run without dask, gives every
    held-out message the same intent ranking (to the last bit) and the same entities, a
    conversation gets the same actions, and the process holds less memory."""
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


