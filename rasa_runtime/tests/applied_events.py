"""The applied-events cache (trackers_patches.install_applied_events_cache) against Rasa's own
replay: after every event of a dialogue with forms, rewinds and a restart, for events appended
in batches of every size, and for copies. Writes JSON to the path given first."""

import json
import sys

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

import trackers_patches

STEPS = [
    ActionExecuted("action_session_start"),
    SessionStarted(),
    ActionExecuted("action_listen"),
    UserUttered("hoi", {"name": "greet"}),
    ActionExecuted("utter_greet"),
    BotUttered("hallo"),
    ActionExecuted("action_listen"),
    UserUttered("status", {"name": "status_aanvraag"}),
    ActionExecuted("status_form"),
    ActiveLoop("status_form"),
    SlotSet("requested_slot", "aanvraagnummer"),
    ActionExecuted("action_listen"),
    UserUttered("KW-2025-0001", {"name": "inform_aanvraagnummer"}),
    ActionExecuted("status_form"),
    ActionReverted(),
    UserUtteranceReverted(),
    ActionExecuted("action_listen"),
    UserUttered("stop", {"name": "stop"}),
    ActionExecuted("status_form"),
    ActiveLoop(None),
    Restarted(),
    ActionExecuted("action_listen"),
    UserUttered("hoi", {"name": "greet"}),
]
# A loop's action run before the loop's name first appears (an unhappy path), and a rejected loop.
MORE = [
    ActionExecuted("action_listen"),
    UserUttered("mens", {"name": "handoff"}),
    ActionExecuted("handoff_form"),
    ActionExecutionRejected("handoff_form"),
    ActionExecuted("utter_x"),
    ActionExecuted("action_listen"),
    UserUttered("ja", {"name": "affirm"}),
    ActionExecuted("handoff_form"),
    ActiveLoop("handoff_form"),
    SlotSet("requested_slot", "handoff_vraag"),
    ActionExecuted("action_listen"),
    UserUttered("vraag", {"name": "inform"}),
    ActionExecuted("handoff_form"),
    ActiveLoop(None),
    ActionExecuted("action_listen"),
    UserUttered("nog een", {"name": "greet"}),
    ActionExecuted("utter_greet"),
]


def main(out_path: str) -> None:
    plain = DialogueStateTracker.applied_events
    trackers_patches.install_applied_events_cache()
    domain = Domain.from_path("domain.yml")
    tracker = DialogueStateTracker.from_events("kwtest", [], domain.slots)
    same = []
    for event in STEPS:
        tracker.update(event)
        first = tracker.applied_events()
        first.append("garbage")  # a caller changing its list must not change the next answer
        same.append(tracker.applied_events() == plain(tracker))
    copy = tracker.copy()
    copy.update(ActionExecuted("utter_greet"))
    # Events appended several at a time between two questions, in every split.
    batches = []
    for size in (1, 2, 3, 5):
        batched = DialogueStateTracker.from_events("batched", STEPS[:4], domain.slots)
        batched.applied_events()
        for start in range(0, len(MORE), size):
            for event in MORE[start : start + size]:
                batched.update(event)
            batches.append(batched.applied_events() == plain(batched))
            kept = trackers_patches.copy_tracker(batched)  # the tracker cache's copy goes on from the same answer
            kept.update(ActionExecuted("action_listen"))
            batches.append(kept.applied_events() == plain(kept) and batched.applied_events() == plain(batched))
    out = {
        "same": same,
        "copy": copy.applied_events() == plain(copy),
        "batches": batches,
        "original": tracker.applied_events() == plain(tracker),
        "n": len(plain(tracker)),
    }
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
