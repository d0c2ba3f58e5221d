"""Our tracker store (stores.CachingSQLTrackerStore) against a fresh load by Rasa's own code:
two replicas writing in turn, a failed turn, a new session, eviction and a deleted
conversation. Arguments: the JSON output path and the store's settings as JSON (SQLite or
PostgreSQL: the constructor's arguments)."""

import asyncio
import json
import sys

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

import stores
import trackers_patches
from stores import MEMORY_PER_JSON_BYTE, CachingSQLTrackerStore


def turn(text: str, slot=None) -> list:
    events = [
        UserUttered(text, {"name": "faq_deadline", "confidence": 0.9}),
        ActionExecuted("utter_x"),
        BotUttered(text.upper()),
        ActionExecuted("action_listen"),
    ]
    if slot:
        events.insert(1, SlotSet(*slot))
    return events


def state(tracker):
    return None if tracker is None else tracker.current_state(EventVerbosity.ALL)


async def run(settings: dict) -> dict:
    domain = Domain.load("domain.yml")
    a, b = (CachingSQLTrackerStore(domain, **settings) for _ in range(2))  # two replicas

    async def plain(sender):
        return await SQLTrackerStore._retrieve(a, sender, False)

    out = {}
    tracker = DialogueStateTracker.from_events(
        "s1", [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")], domain.slots
    )
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
    out["failed_turn_not_kept"] = (
        broken.get_slot("onderwerp") == "kapot" and (await a.retrieve("s1")).get_slot("onderwerp") == "onderwerp 7"
    )
    out["hits"] = "s1" in a.kept
    # A new session: the store hands out only its events, with or without the cache.
    tracker = await a.retrieve("s1")
    for event in [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]:
        tracker.update(event, domain)
    await a.save(tracker)
    out["new_session"] = [
        state(await a.retrieve("s1")) == state(await plain("s1")),
        len((await a.retrieve("s1")).events),
    ]
    # More conversations than the cache's bytes hold (room for two and a half small trackers):
    # the least recently used is forgotten, and still answered right.
    small = sum(len(json.dumps(e.as_dict())) for e in turn("hoi")) * MEMORY_PER_JSON_BYTE
    now = [1000.0]
    c = CachingSQLTrackerStore(
        domain, cache_max_bytes=int(small * 2.5), cache_idle_s=60, clock=lambda: now[0], **settings
    )
    for sender in ("s2", "s3", "s4"):
        await c.save(DialogueStateTracker.from_events(sender, turn("hoi"), domain.slots))
        await c.retrieve(sender)
        now[0] += 1
    out["bounded"] = sorted(c.kept)
    out["bounded_bytes"] = [c.kept_bytes, small]
    out["evicted_still_loads"] = state(await c.retrieve("s2")) == state(await plain("s2"))
    out["after_evicted"] = list(c.kept)
    # Unused for cache_idle_s, a tracker goes at the next read of any conversation; still right.
    now[0] += 61
    out["idle"] = [state(await c.retrieve("s3")) == state(await plain("s3")), list(c.kept)]
    # What the REST channel reports (channels.py): the store built last, c.
    out["figures"] = [stores.cache_figures(), [len(c.kept), c.kept_bytes]]
    # A conversation deleted from the store (the retention job) is gone for the cache too.
    with a.session_scope() as session:
        session.query(a.SQLEvent).filter(a.SQLEvent.sender_id == "s1").delete()
        session.commit()
    out["deleted"] = [await a.retrieve("s1") is None, await b.retrieve("s1") is None]
    return out


def main(out_path: str, settings: str) -> None:
    trackers_patches.install_applied_events_cache()
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(asyncio.run(run(json.loads(settings))), handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
