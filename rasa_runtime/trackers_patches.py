"""Rasa runtime patches for conversation trackers: reading, replaying, caching and storing them.

Installed by ``serve.py`` before Rasa starts; each has a test against the real part in
tests/unit/test_rasa_trackers.py.

- Every turn costs more as the conversation grows: Rasa loads, replays and featurises all events
  of the current session. ``install_session_rollover`` starts a new session after
  ``KW_SESSION_MAX_TURNS`` user turns (between turns, never in a paused conversation); our
  ``action_session_start`` carries the slots and an active form over, and the tracker store
  loads only the current session. The whole conversation stays in the tracker store (history,
  the helpdesk transcript).
- Reading a tracker resolves every event's class by its name through ``all_subclasses(Event)``,
  walked anew for each event (about 8 % of Rasa's time under load, py-spy).
  ``install_event_type_cache`` remembers each name's class after the first look-up.
- The demo's SQLite tracker store commits every turn with two fsyncs (rollback journal,
  ``synchronous=FULL``). ``install_tracker_store_tuning`` puts it in WAL mode with
  ``synchronous=NORMAL``, as the app database already is: a crashed process loses nothing,
  and a turn no longer waits for the disk. PostgreSQL gets the pre-ping above.
- ``DialogueStateTracker.applied_events`` replays the whole session (rewinds, forms) on every
  call, and one turn calls it many times (policies, featurisers, forms, slot look-ups; 16 % of
  Rasa's time under load, py-spy). ``install_applied_events_cache`` keeps the last result per
  tracker with the event list it came from (events are only ever appended; a reset makes a
  new list) and hands out copies. When events were appended since, it goes on from the kept
  result with just those (Rasa's own loop, which depends only on the list so far and on the
  names of the tracker's loops), unless they bring a loop name not seen before.
- Every turn reads the conversation back from the tracker store and rebuilds the tracker by
  replaying its events, then counts the stored events again to know which to write (reading
  20 % and saving 13 % of Rasa's time under load, py-spy). ``install_tracker_cache`` keeps
  the trackers of the conversations active now in memory (``TRACKER_CACHE_SIZE``) with the id
  of the newest stored event. A read asks the store only for that id: when it is the same,
  nobody (no other replica, no deletion) wrote since, and a copy of the kept tracker is the
  answer. A write stores the events after the kept count, as Rasa's own ``save`` does with
  the count it asks for. Anything else (another id, a new session, a tracker not kept) goes
  Rasa's own way.
- A form builds a temporary tracker twice a turn (to validate, and to ask for the next slot)
  by replaying every event of the session from a fresh tracker (``FormAction._temporary_tracker``):
  the turns of a long conversation with a form open cost more and more.
  ``install_form_tracker_copy`` copies the current tracker instead (``copy_tracker``) and
  applies the form's few events to it. Replaying a tracker's events gives that tracker's
  state, so the result is the same; not when the session holds a restart (Rasa's temporary
  tracker starts after it), which keeps Rasa's way. A test compares both on real dialogues.
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


def install_tracker_store_tuning() -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from sqlalchemy import event

    plain_init = SQLTrackerStore.__init__

    def _pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    def __init__(self, *args, **kwargs):
        plain_init(self, *args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _pragmas)
            self.engine.dispose()  # connections opened while creating the tables get them too

    SQLTrackerStore.__init__ = __init__


#: Where a tracker keeps its last ``applied_events`` answer.
APPLIED = "_kw_applied"


def install_applied_events_cache() -> None:
    import itertools

    from rasa.shared.core.events import (ActionExecuted, ActionReverted, ActiveLoop, Restarted,
                                         SessionStarted, UserUttered, UserUtteranceReverted)
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
            elif (isinstance(event, ActionExecuted) and event.action_name in loops
                  and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)):
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
        if cached is not None and cached[0] is events and 0 < cached[1] < length \
                and events[cached[1] - 1] is cached[2]:
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


#: Conversations whose tracker stays in memory between turns (the ones active now; a tracker of
#: a 25-turn session is some 100-300 kB).
TRACKER_CACHE_SIZE = 256


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


def install_tracker_cache(size: int = TRACKER_CACHE_SIZE) -> None:
    import json
    from collections import OrderedDict

    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import SessionStarted
    from rasa.shared.nlu.constants import INTENT_NAME_KEY as INTENT_NAME

    plain_retrieve = SQLTrackerStore._retrieve
    plain_save = SQLTrackerStore.save

    def cache_of(store) -> "OrderedDict":
        found = store.__dict__.get("_kw_cache")
        if found is None:
            found = store.__dict__["_kw_cache"] = OrderedDict()
        return found

    table = SQLTrackerStore.SQLEvent.__tablename__
    newest = sa.text(f"SELECT max(id) FROM {table} WHERE sender_id = :sender_id")
    NEWEST = f"SELECT max(id) FROM {table} WHERE sender_id = ?"
    INSERT = (f"INSERT INTO {table} (sender_id, type_name, timestamp, intent_name, action_name, data) "
              "VALUES (?, ?, ?, ?, ?, ?)")

    def driver_sql(store, sql):
        """``sql`` (``?`` placeholders) in the database driver's own style, or None for a
        driver not known here. Run on the driver directly: SQLAlchemy's compiler and statement
        cache (cache keys, deep copies) cost more than these statements themselves."""
        style = store.engine.dialect.paramstyle
        if style == "qmark":
            return sql
        if style in ("format", "pyformat"):
            return sql.replace("?", "%s")
        return None

    def stamp(store, session, sender_id):
        # The newest stored event's id: it changes with every write by any replica and with
        # every deletion of the conversation.
        sql = driver_sql(store, NEWEST)
        if sql is None:
            return session.execute(newest, {"sender_id": sender_id}).scalar()
        return session.connection().exec_driver_sql(sql, (sender_id,)).scalar()

    def remember(store, sender_id, mark, tracker) -> None:
        cache = cache_of(store)
        cache[sender_id] = (mark, len(tracker.events), copy_tracker(tracker))
        cache.move_to_end(sender_id)
        while len(cache) > size:
            cache.popitem(last=False)

    async def _retrieve(self, sender_id, fetch_events_from_all_sessions):
        if fetch_events_from_all_sessions:
            return await plain_retrieve(self, sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            mark = stamp(self, session, sender_id)
        entry = cache_of(self).get(sender_id)
        if entry is not None and mark is not None and entry[0] == mark:
            cache_of(self).move_to_end(sender_id)
            return copy_tracker(entry[2])
        cache_of(self).pop(sender_id, None)
        tracker = await plain_retrieve(self, sender_id, False)
        if tracker is not None and mark is not None:
            # Read after the mark: a write in between makes the next look-up miss, never hit
            # on a stale tracker.
            remember(self, sender_id, mark, tracker)
        return tracker

    async def save(self, tracker):
        sender_id = tracker.sender_id
        entry = cache_of(self).pop(sender_id, None)
        if entry is None:
            await plain_save(self, tracker)
            return
        await self.stream_events(tracker)
        with self.session_scope() as session:
            if stamp(self, session, sender_id) != entry[0]:
                stored = None  # written or deleted elsewhere since: count as Rasa does
            else:
                stored = entry[1]
            if stored is None:
                new_events = list(self._additional_events(session, tracker))
            else:
                new_events = list(tracker.events)[stored:]
            rows = [(sender_id, event.type_name, data.get("timestamp"),
                     data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME),
                     data.get("name"), json.dumps(data))
                    for event, data in ((event, event.as_dict()) for event in new_events)]
            insert = driver_sql(self, INSERT)
            if not rows:
                mark = entry[0]
            elif insert is not None:
                session.connection().exec_driver_sql(insert, rows)
                # Under the conversation's lock no one else adds to it: the newest id is ours.
                mark = stamp(self, session, sender_id)
            else:
                objects = [self.SQLEvent(sender_id=r[0], type_name=r[1], timestamp=r[2], intent_name=r[3],
                                         action_name=r[4], data=r[5]) for r in rows]
                session.add_all(objects)
                session.flush()
                mark = objects[-1].id
            session.commit()
        # A new session: the store now hands out only its events; let it load them.
        if stored is not None and not any(isinstance(e, SessionStarted) for e in new_events):
            remember(self, sender_id, mark, tracker)

    SQLTrackerStore._retrieve = _retrieve
    SQLTrackerStore.save = save


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
        for event in [SlotSet(REQUESTED_SLOT, self.get_slot_to_fill(current_tracker)),
                      ActionExecuted(self.name()), *additional_events]:
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
