"""Start ``rasa run`` in the Rasa runtime: the token from the environment, and action responses
validated against a schema compiled once.

Run as ``.venv-rasa/bin/python rasa_runtime/serve.py run --model … --enable-api …``.

- Rasa 3.6 takes its token only as ``--auth-token``; a token on a command line is visible to
  every local user in ``ps``. This shim reads ``KW_RASA_TOKEN``, drops it from the environment
  and hands it to Rasa's own CLI in-process, so the process's command line never holds it.
- Rasa checks every action-server response with ``jsonschema.validate``, which first checks the
  schema itself against the metaschema and builds a new validator: about 40 % of Rasa's time
  under load (py-spy, docs/performance.md). ``install_fast_validation`` builds the validator
  once; the same responses are accepted and refused, with the same error.
- Rasa's SQL tracker store keeps PostgreSQL connections in a pool without checking them: after a
  database restart each pooled connection fails one turn. ``install_pool_pre_ping`` makes the
  pool test a connection before use (SQLAlchemy's ``pool_pre_ping``), so turns recover at once.
  A SQLite tracker store gets a pool at all (SQLAlchemy 1.4 opens a file database anew for
  every session).
- Rasa's Redis lock store gives up on the first failed command: after a Redis restart one turn
  per conversation would fail. ``install_redis_retry`` lets redis-py reconnect and retry a few
  times with backoff (about 2.5 s in all) before a turn fails.
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
- Rasa's ticket lock lets a waiting request's own ticket expire: a replica killed while holding
  a conversation's lock leaves its ticket until it expires (``TICKET_LOCK_LIFETIME``), but the
  ticket of the request waiting behind it, issued a moment later, expires a moment later too.
  Rasa looks once a second; when it misses that moment the lock has no ticket left that it
  could match and the request waits for ever (found by the replica-kill fault test: a few
  conversations hung after every kill). ``install_ticket_keepalive`` renews the ticket of a
  request on each look while it waits, so only a dead process's ticket expires; a request whose
  ticket was removed anyway (stalled longer than the lifetime) takes its place in line again.
- ``DialogueStateTracker.applied_events`` replays the whole session (rewinds, forms) on every
  call, and one turn calls it many times (policies, featurisers, forms, slot look-ups; 16 % of
  Rasa's time under load, py-spy). ``install_applied_events_cache`` keeps the last result per
  tracker with the event list it came from (events are only ever appended; a reset makes a
  new list) and hands out copies. When events were appended since, it goes on from the kept
  result with just those (Rasa's own loop, which depends only on the list so far and on the
  names of the tracker's loops), unless they bring a loop name not seen before.
- DIET gives some intent to anything, gibberish too ("blorp fnerk" came out as ``goodbye``), and
  a model trained on many short and informal phrasings does so with confidence above the
  fallback threshold. ``install_unknown_words_fallback`` makes a message ``nlu_fallback`` (the
  "kun je het anders zeggen?" path with the knowledge-base search) when none of its words occurs
  in the training data: the word-level ``CountVectorsFeaturizer``'s vocabulary (lemmas) decides.
  Not when the message has an entity (a place name from the lookup tables) or could be a
  verification code (8 characters of the code alphabet, ``bot/status/verification.py``), and
  only words of three letters or more count ("blubber de blub" is gibberish; numbers and
  aanvraagnummers are not words).
- Every turn reads the conversation back from the tracker store and rebuilds the tracker by
  replaying its events, then counts the stored events again to know which to write (reading
  20 % and saving 13 % of Rasa's time under load, py-spy). ``install_tracker_cache`` keeps
  the trackers of the conversations active now in memory (``TRACKER_CACHE_SIZE``) with the id
  of the newest stored event. A read asks the store only for that id: when it is the same,
  nobody (no other replica, no deletion) wrote since, and a copy of the kept tracker is the
  answer. A write stores the events after the kept count, as Rasa's own ``save`` does with
  the count it asks for. Anything else (another id, a new session, a tracker not kept) goes
  Rasa's own way.
- Rasa runs its model graph (the NLU pipeline once and the policies twice a turn) through
  dask's scheduler, and first works out again which nodes the targets need, walking the schema
  recursively: 5 % of Rasa's time at 50 users with nothing to schedule in parallel.
  ``install_sequential_graph_runner`` works the order out once per target list and calls the
  nodes in it, with dask's conventions for inputs and errors.
- Loading a trained DIET model, Rasa first *trains it for one step* on an example, only to
  create its variables, and then overwrites them with the trained weights
  (``RasaModel.load``). That step traces TensorFlow's whole training graph (gradients, Adam),
  which stays in memory for the life of the process: about 30 of Rasa's 45 s to start and
  570 MB of its 1.4 GB, for nothing a served model uses. ``install_fast_model_load`` creates the
  variables with one prediction on the same example, restores the trained weights into them
  (refusing to serve if any variable was left out of the checkpoint), and computes what the
  prediction precomputes (the label embeddings) again from the restored weights. The served
  model answers exactly as Rasa's own load does: a test compares every intent ranking and
  entity on the held-out sets. Fine-tuning (``--finetune``) keeps Rasa's own load.
"""
from __future__ import annotations

import os
import sys

#: The default of KW_SESSION_MAX_TURNS (bot/settings.py), for a Rasa started without our
#: launcher (deploy/rasa/entrypoint.py); "0" turns the rollover off.
DEFAULT_SESSION_MAX_TURNS = 25


def install_fast_validation() -> None:
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, at start, instead of on every response
    validator = cls(schema)

    def _validate_action_result(self, result):
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions")
        raise error

    RemoteAction._validate_action_result = _validate_action_result


def install_sequential_graph_runner() -> None:
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    def plan(self, targets):
        """The nodes the targets need, each after its inputs; worked out once per target list
        (Rasa walks the schema again on every run)."""
        plans = self.__dict__.setdefault("_kw_plans", {})
        key = tuple(targets)
        if key not in plans:
            nodes = self._graph_schema.minimal_graph_schema(list(targets)).nodes
            order, done = [], set()

            def visit(name):
                if name in done or name not in nodes:
                    return
                done.add(name)
                for need in nodes[name].needs.values():
                    visit(need)
                order.append((name, tuple(nodes[name].needs.values())))

            for name in nodes:
                visit(name)
            plans[key] = order
        return plans[key]

    def run(self, inputs=None, targets=None):
        run_targets = targets if targets else self._graph_schema.target_names
        order = plan(self, run_targets)
        # As dask does: an input is the pair (name, value), a need that nothing provides is
        # passed as its name (the node then complains), and an input may not shadow a node.
        values = {}
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and any(value == node for node, _ in order):
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure that none of "
                    f"the input names passed to the `run` method are the same as node names "
                    f"in the graph schema.")
            values[name] = (name, value)
        try:
            for name, needs in order:
                if name in values:
                    continue  # an input given for a node replaces it, as in dask
                values[name] = self._instantiated_nodes[name](*(values.get(n, n) for n in needs))
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e
        return dict(values[target] for target in run_targets)

    DaskGraphRunner.run = run


#: Seconds an idle connection to the action server is kept: under Sanic's 5 s keep-alive, so
#: the client always lets go first and never sends on a connection the server is closing.
ACTION_KEEPALIVE_S = 2.0


def install_action_keepalive() -> None:
    import asyncio

    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
    from rasa.utils.endpoints import EndpointConfig

    class Borrowed:
        """``async with`` on a kept session: Rasa's ``request`` closes its session on exit."""

        def __init__(self, session):
            self.session = session

        async def __aenter__(self):
            return self.session

        async def __aexit__(self, *exc):
            return False

    def session(self):
        loop = asyncio.get_running_loop()
        kept = self.__dict__.get("_kw_session")
        if kept is None or kept[0] is not loop or kept[1].closed:
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) \
                if self.basic_auth else None
            kept = (loop, aiohttp.ClientSession(
                headers=self.headers, auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=ACTION_KEEPALIVE_S)))
            self.__dict__["_kw_session"] = kept
        return Borrowed(kept[1])

    EndpointConfig.session = session


def install_pool_pre_ping() -> None:
    from rasa.core import tracker_store
    from sqlalchemy.pool import QueuePool

    plain = tracker_store.create_engine_kwargs

    def create_engine_kwargs(url):
        kwargs = plain(url)
        if tracker_store.is_postgresql_url(url):
            kwargs["pool_pre_ping"] = True
        elif str(url).startswith("sqlite") and ":memory:" not in str(url):
            # SQLAlchemy 1.4 opens and closes a file database's connection for every session
            # (NullPool): three times a turn, each with the WAL pragmas. Keep them instead;
            # the pool hands a connection to one session at a time.
            kwargs["poolclass"] = QueuePool
            kwargs["connect_args"] = {"check_same_thread": False}
        return kwargs

    tracker_store.create_engine_kwargs = create_engine_kwargs


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


def install_redis_retry() -> None:
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry
    from rasa.core.lock_store import RedisLockStore

    plain_init = RedisLockStore.__init__

    def __init__(self, *args, **kwargs):
        plain_init(self, *args, **kwargs)
        pool = self.red.connection_pool
        settings = dict(pool.connection_kwargs, retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 6),
                        retry_on_error=[redis.ConnectionError, redis.TimeoutError])
        self.red = redis.StrictRedis(connection_pool=redis.ConnectionPool(
            connection_class=pool.connection_class, **settings))

    RedisLockStore.__init__ = __init__


def install_ticket_keepalive() -> None:
    import asyncio
    import time
    from collections import deque

    from rasa.core import lock_store
    from rasa.core.lock import Ticket
    from rasa.core.lock_store import LockStore

    async def _acquire_lock(self, conversation_id, ticket, wait_time_in_seconds):
        while True:
            lock = self.get_or_create_lock(conversation_id)
            own = lock._ticket_for_ticket_number(ticket)  # drops expired tickets first
            expires = time.time() + lock_store.LOCK_LIFETIME
            if own is None:
                lock.tickets = deque(sorted([*lock.tickets, Ticket(ticket, expires)],
                                            key=lambda t: t.number))
            else:
                own.expires = expires
            self.save_lock(lock)
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)

    LockStore._acquire_lock = _acquire_lock


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


def install_fast_model_load() -> None:
    from rasa.utils import train_utils
    from rasa.utils.tensorflow.models import RasaModel

    plain = RasaModel.load.__func__

    def load(cls, model_file_name, model_data_example, predict_data_example=None,
             finetune_mode=False, *args, **kwargs):
        if finetune_mode or not predict_data_example:
            return plain(cls, model_file_name, model_data_example, predict_data_example,
                         finetune_mode, *args, **kwargs)
        model = cls(*args, **kwargs)
        generator, _ = train_utils.create_data_generators(
            model_data=predict_data_example, batch_sizes=1, epochs=1, shuffle=False)
        model.predict_step(next(iter(generator))[0])  # eager: creates the variables
        status = model.load_weights(model_file_name)
        # Every variable the prediction uses must come from the checkpoint; the optimizer's
        # state in it is what training left and is not needed.
        status.assert_existing_objects_matched().expect_partial()
        model.prepared_for_prediction = False  # label embeddings again, now from trained weights
        model.run_inference(predict_data_example)  # traces the prediction graph, as Rasa does
        return model

    RasaModel.load = classmethod(load)


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

    newest = sa.text(f"SELECT max(id) FROM {SQLTrackerStore.SQLEvent.__tablename__} "
                     "WHERE sender_id = :sender_id")

    def stamp(store, session, sender_id):
        # The newest stored event's id: it changes with every write by any replica and with
        # every deletion of the conversation. (Plain SQL: the ORM query cost more than the
        # look-up itself.)
        return session.execute(newest, {"sender_id": sender_id}).scalar()

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
            rows = [self.SQLEvent(
                sender_id=sender_id, type_name=event.type_name, timestamp=data.get("timestamp"),
                intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME),
                action_name=data.get("name"), data=json.dumps(data))
                for event, data in ((event, event.as_dict()) for event in new_events)]
            session.add_all(rows)
            session.flush()
            mark = rows[-1].id if rows else entry[0]
            session.commit()
        # A new session: the store now hands out only its events; let it load them.
        if stored is not None and not any(isinstance(e, SessionStarted) for e in new_events):
            remember(self, sender_id, mark, tracker)

    SQLTrackerStore._retrieve = _retrieve
    SQLTrackerStore.save = save


#: bot/status/verification.py's CODE_ALPHABET and length: such a message is an answer to the
#: code question, not gibberish (the Rasa runtime cannot import bot/).
CODE_ALPHABET = frozenset("ACDEFGHJKMNPQRTUVWXY34679")
CODE_LENGTH = 8
KNOWN_WORDS = "kw_known_words"


def install_unknown_words_fallback() -> None:
    import re

    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.shared.nlu.constants import ENTITIES, TEXT

    plain_process = CountVectorsFeaturizer.process
    plain_should_fallback = FallbackClassifier._should_fallback

    def process(self, messages):
        vectorizer = (self.vectorizers or {}).get(TEXT) if self.analyzer == "word" else None
        vocabulary = getattr(vectorizer, "vocabulary_", None)
        if vocabulary:
            for message in messages:
                tokens = self._get_processed_message_tokens_by_attribute(message, TEXT)
                # Two-letter words (de, en, ik) occur everywhere and say nothing.
                words = [token for token in tokens if token.isalpha() and len(token) > 2]
                if words:
                    message.set(KNOWN_WORDS, sum(1 for word in words if word in vocabulary))
        return plain_process(self, messages)

    def could_be_code(text: str) -> bool:
        cleaned = re.sub(r"[\s\-.]", "", text or "").upper()
        return len(cleaned) == CODE_LENGTH and set(cleaned) <= CODE_ALPHABET

    def _should_fallback(self, message) -> bool:
        if message.get(KNOWN_WORDS) == 0 and not message.get(ENTITIES) \
                and not could_be_code(message.get(TEXT)):
            return True
        return plain_should_fallback(self, message)

    CountVectorsFeaturizer.process = process
    FallbackClassifier._should_fallback = _should_fallback


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


def main() -> None:
    token = os.environ.pop("KW_RASA_TOKEN", "")
    if not token:
        sys.exit("KW_RASA_TOKEN ontbreekt: Rasa start niet zonder token.")
    from rasa.__main__ import main as rasa_main

    install_fast_validation()
    install_fast_model_load()
    install_sequential_graph_runner()
    install_action_keepalive()
    install_pool_pre_ping()
    install_redis_retry()
    install_ticket_keepalive()
    install_event_type_cache()
    install_applied_events_cache()
    install_unknown_words_fallback()
    install_tracker_store_tuning()
    install_tracker_cache()
    install_session_rollover(int(os.environ.get("KW_SESSION_MAX_TURNS") or DEFAULT_SESSION_MAX_TURNS))
    # "--auth-token=…" in one word: a token may start with "-", which argparse would take for
    # an option if it came as its own argument.
    sys.argv = ["rasa", *sys.argv[1:], f"--auth-token={token}"]
    rasa_main()


if __name__ == "__main__":
    main()
