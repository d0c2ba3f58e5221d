"""rasa_runtime/trackers_patches.py, run in the real Rasa runtime (Python 3.10, Rasa 3.6):
replaying, caching, storing and copying conversations give what Rasa's own code gives."""
import json

import pytest
from sqlalchemy.engine import make_url

from tests.fixtures.databases import BACKENDS, create_pg_database, drop_pg_database
from tests.fixtures.rasa_runtime import run_in_rasa


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
