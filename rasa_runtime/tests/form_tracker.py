"""Forms' temporary trackers made by Rasa (replaying every event) and by copying the current
tracker (trackers_patches.install_form_tracker_copy), compared in five dialogues. Writes JSON to
the path given first."""

import json
import sys
import time

from rasa.core.actions.forms import FormAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

import trackers_patches


def user(text, intent, entities=()):
    return UserUttered(text, {"name": intent, "confidence": 0.9}, list(entities))


def untimed(value, made):
    """The events a form adds are new on each call: their times differ, nothing else may."""
    if isinstance(value, dict):
        return {
            k: None
            if k in ("timestamp", "latest_event_time") and isinstance(v, float) and v >= made
            else untimed(v, made)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [untimed(v, made) for v in value]
    return value


START = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
FAQ = [
    user("wanneer sluit het", "faq_deadline"),
    ActionExecuted("action_answer_faq"),
    BotUttered("1 juni"),
    ActionExecuted("action_listen"),
]
HANDOFF = [
    user("mens graag", "human_handoff"),
    ActionExecuted("handoff_form"),
    ActiveLoop("handoff_form"),
    SlotSet("requested_slot", "handoff_toestemming"),
    BotUttered("Mag dat?"),
    ActionExecuted("action_listen"),
    user("ja", "affirm"),
]
STATUS = [
    user("status KW-2025-0047", "status_vraag", [{"entity": "aanvraagnummer", "value": "KW-2025-0047"}]),
    SlotSet("aanvraagnummer", "KW-2025-0047"),
    ActionExecuted("status_form"),
    ActiveLoop("status_form"),
    SlotSet("requested_slot", "verificatiecode"),
    ActionExecuted("action_listen"),
    user("KPWE-W7TV", "inform"),
]
CASES = {
    "handoff": START + FAQ + FAQ + HANDOFF,
    "status": START + FAQ + STATUS,
    "new session": START + FAQ + START + [SlotSet("onderwerp", "x")] + HANDOFF,
    "restarted": START + FAQ + [Restarted()] + START + HANDOFF,
    "paused": START + FAQ + HANDOFF[:-1] + [user("nog een vraag", "faq_deadline")],
}


def main(out_path: str) -> None:
    domain = Domain.load("domain.yml")
    plain = FormAction._temporary_tracker
    trackers_patches.install_applied_events_cache()
    trackers_patches.install_form_tracker_copy()
    fast = FormAction._temporary_tracker
    out = {}
    for name, events in CASES.items():
        form = "status_form" if name == "status" else "handoff_form"
        action = FormAction(form, None)
        current = DialogueStateTracker.from_events("s", events, domain.slots)
        current.model_id = "kw-model"
        made = time.time()
        slot = "handoff_toestemming" if form == "handoff_form" else "verificatiecode"
        results = []
        for make in (plain, fast):
            tracker = make(action, current, [SlotSet(slot, "ja")], domain)
            results.append(
                untimed(
                    [
                        tracker.current_state(EventVerbosity.ALL),
                        tracker.current_slot_values(),
                        tracker.active_loop_name,
                        [e.as_dict() for e in tracker.applied_events()],
                        tracker.model_id,
                        tracker.is_paused(),
                        tracker.followup_action,
                    ],
                    made,
                )
            )
        before = current.current_state(EventVerbosity.ALL)
        out[name] = {
            "same": json.dumps(results[0], sort_keys=True, default=str)
            == json.dumps(results[1], sort_keys=True, default=str),
            "events": len(results[1][0]["events"]),
            "current_unchanged": len(before["events"]) == len(events),
        }
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
