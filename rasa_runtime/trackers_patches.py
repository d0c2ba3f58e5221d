"""Rasa runtime patches for conversation trackers: reading, replaying and copying them, and
their sessions. (Storing and caching them is our tracker store, stores.py.)

Installed by ``serve.py`` before Rasa starts; each has a test against the real part
(rasa_runtime/tests/, run from tests/unit/test_rasa_trackers.py).

- Every turn costs more as the conversation grows: Rasa loads, replays and featurises all events
  of the current session. ``install_session_rollover`` starts a new session after
  ``KW_SESSION_MAX_TURNS`` user turns (between turns, never in a paused conversation); our
  ``action_session_start`` carries the slots and an active form over, and the tracker store
  loads only the current session. The whole conversation stays in the tracker store (history,
  the helpdesk transcript).
- Reading a tracker resolves every event's class by its name through ``all_subclasses(Event)``,
  walked anew for each event (about 8 % of Rasa's time under load, py-spy).
  ``install_event_type_cache`` remembers each name's class after the first look-up.
- ``DialogueStateTracker.applied_events`` replays the whole session (rewinds, forms) on every
  call, and one turn calls it many times (policies, featurisers, forms, slot look-ups; 16 % of
  Rasa's time under load, py-spy). ``install_applied_events_cache`` keeps the last result per
  tracker with the event list it came from (events are only ever appended; a reset makes a
  new list) and hands out copies. When events were appended since, it goes on from the kept
  result with just those, unless they bring a loop name not seen before. Going on needs Rasa's
  loop (what it does with each event depends only on the list so far and on the names of the
  tracker's loops) started from a given list, which Rasa's method cannot be: ``fold`` is that
  loop, copied from Rasa 3.6.21. Feeding the kept result back through Rasa's own method instead
  (as events it appends unchanged) was measured too: it costs a pass over the whole session at
  every step, nearly what a plain replay costs, so a turn's cost would grow with the session
  again.
- A form builds a temporary tracker twice a turn (to validate, and to ask for the next slot)
  by replaying every event of the session from a fresh tracker (``FormAction._temporary_tracker``):
  the turns of a long conversation with a form open cost more and more.
  ``install_form_tracker_copy`` copies the current tracker instead (``copy_tracker``) and
  applies the form's few events to it. Replaying a tracker's events gives that tracker's
  state, so the result is the same; not when the session holds a restart (Rasa's temporary
  tracker starts after it), which keeps Rasa's way. A test compares both on real dialogues.

Rasa's names replaced or used here (rasa_runtime/versions.py refuses any other Rasa):
``Event.resolve_by_type``; ``DialogueStateTracker.applied_events`` and the private
``_undo_till_previous``, ``_first_loop_execution_or_unhappy_path``,
``_undo_till_previous_loop_execution``, ``_max_event_history``; ``FormAction._temporary_tracker``;
``MessageProcessor._has_session_expired``.
"""

from __future__ import annotations


def install_event_type_cache() -> None:
    from rasa.shared.core import events

    plain = events.Event.resolve_by_type
    found = {}

    def resolve_by_type(type_name, default=None):
        cls = found.get(type_name)
        if cls is None:
            cls = plain(type_name, default)  # unknown names still raise, as before
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    events.Event.resolve_by_type = staticmethod(resolve_by_type)


#: Where a tracker keeps its last ``applied_events`` answer.
APPLIED = "_kw_applied"


def install_applied_events_cache() -> None:
    import itertools

    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    def loop_names(events) -> frozenset:
        return frozenset(e.name for e in events if isinstance(e, ActiveLoop) and e.name)

    def fold(tracker, applied, events, loops):
        """Rasa 3.6.21's ``applied_events`` loop, from a given start: what it does with each
        event depends only on the list so far and on the loop names of the whole tracker."""
        for event in events:
            if isinstance(event, (Restarted, SessionStarted)):
                applied = []
            elif isinstance(event, ActionReverted):
                tracker._undo_till_previous(ActionExecuted, applied)
            elif isinstance(event, UserUtteranceReverted):
                tracker._undo_till_previous(UserUttered, applied)
                tracker._undo_till_previous(ActionExecuted, applied)
            elif (
                isinstance(event, ActionExecuted)
                and event.action_name in loops
                and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
            ):
                tracker._undo_till_previous_loop_execution(event.action_name, applied)
            else:
                applied.append(event)
        return applied

    def applied_events(self):
        events = self.events
        length = len(events)
        last = events[-1] if length else None
        cached = self.__dict__.get(APPLIED)
        if cached is not None and cached[0] is events and cached[1] == length and cached[2] is last:
            return list(cached[3])
        if cached is not None and cached[0] is events and 0 < cached[1] < length and events[cached[1] - 1] is cached[2]:
            # Events were appended since: go on from the last answer, unless a new loop name
            # came with them (that changes how earlier events count).
            added = list(itertools.islice(events, cached[1], length))
            if loop_names(added) <= cached[4]:
                cached = (events, length, last, fold(self, list(cached[3]), added, cached[4]), cached[4])
                self.__dict__[APPLIED] = cached
                return list(cached[3])
        loops = loop_names(events)
        cached = (events, length, last, fold(self, [], events, loops), loops)
        self.__dict__[APPLIED] = cached
        return list(cached[3])

    DialogueStateTracker.applied_events = applied_events


def copy_tracker(tracker):
    """A copy of ``tracker`` that its caller may change: the event list, the slots and the loop
    state are its own; events themselves are never changed once logged, so they are shared.
    Rasa's own ``tracker.copy()`` replays every event instead."""
    import copy
    from collections import deque

    new = object.__new__(type(tracker))
    new.__dict__.update(tracker.__dict__)
    new.events = deque(tracker.events, maxlen=tracker.events.maxlen)
    new.slots = type(tracker.slots)((name, copy.copy(slot)) for name, slot in tracker.slots.items())
    for name in ("active_loop", "latest_action"):
        value = getattr(tracker, name)
        if isinstance(value, dict):
            setattr(new, name, dict(value))
    applied = tracker.__dict__.get(APPLIED)
    if applied is not None and applied[0] is tracker.events:
        new.__dict__[APPLIED] = (new.events, *applied[1:])  # same events: same answer
    else:
        new.__dict__.pop(APPLIED, None)
    return new


def install_form_tracker_copy() -> None:
    from rasa.core.actions.forms import FormAction
    from rasa.shared.core.constants import REQUESTED_SLOT
    from rasa.shared.core.events import ActionExecuted, SlotSet

    plain = FormAction._temporary_tracker

    def _temporary_tracker(self, current_tracker, additional_events, domain):
        if current_tracker.idx_after_latest_restart() != 0:
            return plain(self, current_tracker, additional_events, domain)
        tracker = copy_tracker(current_tracker)
        # What from_events gives a new tracker: no source, no history limit, no model id to
        # stamp on the added events.
        tracker.sender_source = None
        tracker.model_id = None
        tracker.assistant_id = None
        tracker.is_rule_tracker = False
        if tracker._max_event_history is not None:
            tracker._max_event_history = None
            tracker.events = type(tracker.events)(tracker.events)
        for event in [
            SlotSet(REQUESTED_SLOT, self.get_slot_to_fill(current_tracker)),
            ActionExecuted(self.name()),
            *additional_events,
        ]:
            tracker.update(event)
        return tracker

    FormAction._temporary_tracker = _temporary_tracker


def install_session_rollover(max_turns: int) -> None:
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.events import SessionStarted, UserUttered

    if max_turns <= 0:
        return
    plain = MessageProcessor._has_session_expired

    def _has_session_expired(self, tracker) -> bool:
        if plain(self, tracker):
            return True
        if not self.domain.session_config.are_sessions_enabled() or tracker.is_paused():
            return False
        turns = 0
        for event in reversed(tracker.events):
            if isinstance(event, SessionStarted):
                break
            if isinstance(event, UserUttered):
                turns += 1
        return turns >= max_turns

    MessageProcessor._has_session_expired = _has_session_expired
