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
  call, and one turn calls it many times between two new events (policies, featurisers, forms,
  slot look-ups; 16 % of Rasa's time under load, py-spy). ``install_applied_events_cache`` keeps
  the last result per tracker while its event list is the same list with the same length and
  last event (events are only ever appended; a reset makes a new list), and hands out copies.
- DIET gives some intent to anything, gibberish too ("blorp fnerk" came out as ``goodbye``), and
  a model trained on many short and informal phrasings does so with confidence above the
  fallback threshold. ``install_unknown_words_fallback`` makes a message ``nlu_fallback`` (the
  "kun je het anders zeggen?" path with the knowledge-base search) when none of its words occurs
  in the training data: the word-level ``CountVectorsFeaturizer``'s vocabulary (lemmas) decides.
  Not when the message has an entity (a place name from the lookup tables) or could be a
  verification code (8 characters of the code alphabet, ``bot/status/verification.py``), and
  only words of three letters or more count ("blubber de blub" is gibberish; numbers and
  aanvraagnummers are not words).
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


def install_pool_pre_ping() -> None:
    from rasa.core import tracker_store

    plain = tracker_store.create_engine_kwargs

    def create_engine_kwargs(url):
        kwargs = plain(url)
        if tracker_store.is_postgresql_url(url):
            kwargs["pool_pre_ping"] = True
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


def install_applied_events_cache() -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    plain = DialogueStateTracker.applied_events

    def applied_events(self):
        events = self.events
        last = events[-1] if events else None
        cached = self.__dict__.get("_kw_applied")
        if cached is None or cached[0] is not events or cached[1] != len(events) or cached[2] is not last:
            cached = (events, len(events), last, plain(self))
            self.__dict__["_kw_applied"] = cached
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
    install_pool_pre_ping()
    install_redis_retry()
    install_ticket_keepalive()
    install_event_type_cache()
    install_applied_events_cache()
    install_unknown_words_fallback()
    install_tracker_store_tuning()
    install_session_rollover(int(os.environ.get("KW_SESSION_MAX_TURNS") or DEFAULT_SESSION_MAX_TURNS))
    # "--auth-token=…" in one word: a token may start with "-", which argparse would take for
    # an option if it came as its own argument.
    sys.argv = ["rasa", *sys.argv[1:], f"--auth-token={token}"]
    rasa_main()


if __name__ == "__main__":
    main()
