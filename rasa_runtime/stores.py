"""Rasa's tracker store and lock stores, extended through Rasa's own extension point.

Rasa 3.6 builds a store whose ``type`` in endpoints.yml is a module path from that class
(``tracker_store: {type: stores.CachingSQLTrackerStore, …}``); ``endpoints.py`` writes these
names, and Rasa imports this module as ``stores`` (``serve.py``'s directory is first on its
path). Each class is Rasa's own with what the measurements asked for (py-spy under load,
docs/performance.md); the tests are rasa_runtime/tests/ (run from
tests/unit/test_rasa_runtime.py and test_rasa_trackers.py).

``CachingSQLTrackerStore`` (Rasa's ``SQLTrackerStore``):
- Every turn reads the conversation back from the database and rebuilds the tracker by
  replaying its events, then counts the stored events again to know which to write (reading
  and saving were a third of Rasa's time under load). The trackers of the conversations active
  now stay in memory with the id of the newest stored event, bounded by their estimated bytes
  (``cache_max_bytes``: the JSON of their events times ``MEMORY_PER_JSON_BYTE``) and idle
  time (``cache_idle_s``), least recently used first; an evicted one is read as Rasa reads it. A read asks the
  database only for that id: when it is the same, nobody (no other replica, no deletion) wrote
  since, and a copy of the kept tracker is the answer. A write stores the events after the kept
  count, as Rasa's own ``save`` does with the count it asks for. Anything else (another id, a
  new session, a tracker not kept) goes Rasa's own way.
- Its engine: PostgreSQL connections are tested before use (``pool_pre_ping``), so after a
  database restart no turn fails on a dead pooled connection; a SQLite file is kept open in a
  pool (SQLAlchemy 1.4 opens it anew for every session, three times a turn) in WAL mode with
  ``synchronous=NORMAL`` (no fsync per commit; a crashed process loses nothing).

``RedisLockStore`` and ``InMemoryLockStore`` (Rasa's, same names):
- Both keep a waiting request's ticket alive (``TicketKeepalive``): a replica killed while
  holding a conversation's lock leaves its ticket until it expires, but Rasa lets the ticket of
  the request waiting behind it expire a moment later too; when Rasa's once-a-second look
  misses that moment, the lock has no ticket it could match and the request waits for ever
  (found by the replica-kill fault test). Here a waiting request renews its own ticket on each
  look, so only a dead process's ticket expires, and a request whose ticket was removed anyway
  (stalled longer than the lifetime) takes its place in line again.
- ``RedisLockStore`` retries a refused connection and a failed command a few times with backoff
  (about 3.5 s in all): Rasa's gives up at once, so every turn that comes while Redis restarts
  would fail.

Private names of Rasa's used here (rasa_runtime/versions.py refuses any other Rasa):
``SQLTrackerStore._retrieve``, ``._additional_events``, ``.SQLEvent``, ``.sessionmaker``;
``LockStore._acquire_lock``, ``TicketLock._ticket_for_ticket_number``, ``.tickets``;
``RedisLockStore.red``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict, deque
from typing import Any

import redis
import sqlalchemy as sa
from rasa.core import lock_store as rasa_lock_store
from rasa.core import tracker_store as rasa_tracker_store
from rasa.core.lock import Ticket, TicketLock
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.utils.endpoints import EndpointConfig
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from trackers_patches import copy_tracker

#: Estimated bytes of the trackers kept in memory between turns (the conversations active now; a
#: tracker of a 25-turn session is some 100-300 kB), and the seconds an unused one stays. The
#: launcher passes KW_TRACKER_CACHE_MAX_BYTES and KW_SESSION_IDLE_S (rasa_runtime/endpoints.py).
TRACKER_CACHE_MAX_BYTES = 128 * 2**20
TRACKER_CACHE_IDLE_S = 1800.0
#: A kept tracker's bytes in memory per byte of its events' JSON: a deep getsizeof walk of a
#: copied 25-turn session measured 3.0, plus some 15 kB for the tracker itself; 4 covers both
#: and the allocator's slack (docs/performance.md, "Memory over time").
MEMORY_PER_JSON_BYTE = 4
#: Redis commands retried after a connection error: 6 with backoff from 50 ms up to 1 s.
REDIS_RETRIES = 6

EVENTS = rasa_tracker_store.SQLTrackerStore.SQLEvent.__tablename__
NEWEST = f"SELECT max(id) FROM {EVENTS} WHERE sender_id = ?"
INSERT = (
    f"INSERT INTO {EVENTS} (sender_id, type_name, timestamp, intent_name, action_name, data) VALUES (?, ?, ?, ?, ?, ?)"
)
NEWEST_SA = sa.text(f"SELECT max(id) FROM {EVENTS} WHERE sender_id = :sender_id")


def engine_kwargs(url: Any) -> dict[str, Any]:
    """``create_engine`` arguments: Rasa's own (its PostgreSQL pool settings) and ours."""
    kwargs = rasa_tracker_store.create_engine_kwargs(url)
    if rasa_tracker_store.is_postgresql_url(url):
        kwargs["pool_pre_ping"] = True
    elif str(url).startswith("sqlite") and ":memory:" not in str(url):
        # The pool hands a connection to one session at a time.
        kwargs["poolclass"] = QueuePool
        kwargs["connect_args"] = {"check_same_thread": False}
    return kwargs


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: The tracker store this process built last (a Rasa worker builds one, when it loads its model).
_built: list[CachingSQLTrackerStore] = []


def cache_figures() -> tuple[int, int] | None:
    """The trackers this process keeps in memory and their estimated bytes; None before its
    tracker store is built. Sent with every answer of the REST channel (channels.py)."""
    return (len(_built[-1].kept), _built[-1].kept_bytes) if _built else None


class CachingSQLTrackerStore(rasa_tracker_store.SQLTrackerStore):
    """Rasa's SQL tracker store with the trackers of active conversations kept in memory and a
    tuned engine (module docstring)."""

    def __init__(
        self,
        domain: Any = None,
        cache_max_bytes: int = TRACKER_CACHE_MAX_BYTES,
        cache_idle_s: float = TRACKER_CACHE_IDLE_S,
        clock: Any = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, **kwargs)  # creates the tables, with Rasa's engine
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, **engine_kwargs(url))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(bind=self.engine)
        self.cache_max_bytes = int(cache_max_bytes)
        self.cache_idle_s = float(cache_idle_s)
        self.clock = clock
        #: sender id -> (id of the newest stored event, number of stored events, tracker,
        #: estimated bytes, last used); least recently used first.
        self.kept: OrderedDict[str, tuple[Any, int, DialogueStateTracker, int, float]] = OrderedDict()
        self.kept_bytes = 0
        _built.append(self)
        del _built[:-1]

    def _driver_sql(self, sql: str) -> str | None:
        """``sql`` (``?`` placeholders) in the database driver's own style, or None for a
        driver not known here. Run on the driver directly: SQLAlchemy's compiler and statement
        cache (cache keys, deep copies) cost more than these statements themselves."""
        style = self.engine.dialect.paramstyle
        if style == "qmark":
            return sql
        if style in ("format", "pyformat"):
            return sql.replace("?", "%s")
        return None

    def _newest(self, session: Any, sender_id: str) -> Any:
        """The newest stored event's id: it changes with every write by any replica and with
        every deletion of the conversation."""
        sql = self._driver_sql(NEWEST)
        if sql is None:
            return session.execute(NEWEST_SA, {"sender_id": sender_id}).scalar()
        return session.connection().exec_driver_sql(sql, (sender_id,)).scalar()

    def _drop(self, sender_id: str) -> tuple[Any, int, DialogueStateTracker, int, float] | None:
        entry = self.kept.pop(sender_id, None)
        if entry is not None:
            self.kept_bytes -= entry[3]
        return entry

    def _sweep(self, now: float) -> None:
        """Forget the trackers unused for ``cache_idle_s`` (the oldest used come first)."""
        while self.kept:
            sender_id, entry = next(iter(self.kept.items()))
            if entry[4] > now - self.cache_idle_s:
                break
            self._drop(sender_id)

    def _keep(self, sender_id: str, mark: Any, tracker: DialogueStateTracker, json_bytes: int | None = None) -> None:
        """Keep a copy of ``tracker``; ``json_bytes``: its events' JSON, when known."""
        if json_bytes is None:
            json_bytes = sum(len(json.dumps(e.as_dict())) for e in tracker.events)
        size = json_bytes * MEMORY_PER_JSON_BYTE
        now = self.clock()
        self._drop(sender_id)
        self.kept[sender_id] = (mark, len(tracker.events), copy_tracker(tracker), size, now)
        self.kept_bytes += size
        self._sweep(now)
        while self.kept_bytes > self.cache_max_bytes and self.kept:
            self._drop(next(iter(self.kept)))

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            mark = self._newest(session, sender_id)
        now = self.clock()
        self._sweep(now)
        entry = self.kept.get(sender_id)
        if entry is not None and mark is not None and entry[0] == mark:
            self.kept[sender_id] = (*entry[:4], now)
            self.kept.move_to_end(sender_id)
            return copy_tracker(entry[2])
        self._drop(sender_id)
        tracker = await super()._retrieve(sender_id, False)
        if tracker is not None and mark is not None:
            # Read after the mark: a write in between makes the next look-up miss, never hit
            # on a stale tracker.
            self._keep(sender_id, mark, tracker)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        entry = self._drop(sender_id)
        if entry is None:
            await super().save(tracker)
            return
        await self.stream_events(tracker)
        with self.session_scope() as session:
            # Written or deleted elsewhere since: count the stored events as Rasa does.
            stored = entry[1] if self._newest(session, sender_id) == entry[0] else None
            if stored is None:
                new_events = list(self._additional_events(session, tracker))
            else:
                new_events = list(tracker.events)[stored:]
            rows = [
                (
                    sender_id,
                    e.type_name,
                    data.get("timestamp"),
                    data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    data.get("name"),
                    json.dumps(data),
                )
                for e, data in ((e, e.as_dict()) for e in new_events)
            ]
            insert = self._driver_sql(INSERT)
            if not rows:
                mark = entry[0]
            elif insert is not None:
                session.connection().exec_driver_sql(insert, rows)
                # Under the conversation's lock no one else adds to it: the newest id is ours.
                mark = self._newest(session, sender_id)
            else:
                objects = [
                    self.SQLEvent(
                        sender_id=r[0], type_name=r[1], timestamp=r[2], intent_name=r[3], action_name=r[4], data=r[5]
                    )
                    for r in rows
                ]
                session.add_all(objects)
                session.flush()
                mark = objects[-1].id
            session.commit()
        # A new session: the store now hands out only its events; let it load them.
        if stored is not None and not any(isinstance(e, SessionStarted) for e in new_events):
            self._keep(sender_id, mark, tracker, entry[3] // MEMORY_PER_JSON_BYTE + sum(len(r[5]) for r in rows))


class TicketKeepalive(rasa_lock_store.LockStore):
    """A waiting request renews its own ticket on every look (module docstring)."""

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        while True:
            lock = self.get_or_create_lock(conversation_id)
            own = lock._ticket_for_ticket_number(ticket)  # drops expired tickets first
            # Read at each look: the module's setting (tests shorten it).
            expires = time.time() + rasa_lock_store.LOCK_LIFETIME
            if own is None:
                lock.tickets = deque(sorted([*lock.tickets, Ticket(ticket, expires)], key=lambda t: t.number))
            else:
                own.expires = expires
            self.save_lock(lock)
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)


class InMemoryLockStore(TicketKeepalive, rasa_lock_store.InMemoryLockStore):
    """Rasa's in-memory lock store (one Rasa process, or workers that each own their
    conversations) with the ticket keep-alive."""

    def __init__(self, endpoint_config: EndpointConfig | None = None) -> None:
        super().__init__()


class RedisLockStore(TicketKeepalive, rasa_lock_store.RedisLockStore):
    """Rasa's Redis lock store with the ticket keep-alive, reconnecting after a Redis restart."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        # Rasa hands a custom lock store its endpoint configuration; tests pass the arguments.
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs}
        super().__init__(**kwargs)
        pool = self.red.connection_pool
        settings = dict(
            pool.connection_kwargs,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), REDIS_RETRIES),
            # Refused: Redis is restarting. redis-py retries a connect only on
            # the errors named here, and a refused connect is a plain OSError.
            retry_on_error=[redis.ConnectionError, redis.TimeoutError, ConnectionRefusedError],
        )
        self.red = redis.StrictRedis(
            connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **settings)
        )
