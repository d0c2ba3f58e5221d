"""Rasa runtime patches for its connections: the action server (responses validated with a
schema compiled once, one kept connection), the PostgreSQL and SQLite pools, the Redis lock store.

Installed by ``serve.py`` before Rasa starts; each has a test against the real part in
tests/unit/test_rasa_runtime.py.

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
- Rasa's ticket lock lets a waiting request's own ticket expire: a replica killed while holding
  a conversation's lock leaves its ticket until it expires (``TICKET_LOCK_LIFETIME``), but the
  ticket of the request waiting behind it, issued a moment later, expires a moment later too.
  Rasa looks once a second; when it misses that moment the lock has no ticket left that it
  could match and the request waits for ever (found by the replica-kill fault test: a few
  conversations hung after every kill). ``install_ticket_keepalive`` renews the ticket of a
  request on each look while it waits, so only a dead process's ticket expires; a request whose
  ticket was removed anyway (stalled longer than the lifetime) takes its place in line again.
"""
from __future__ import annotations


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
        if validator.is_valid(result):
            return True
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions")
        raise error

    RemoteAction._validate_action_result = _validate_action_result


#: Seconds an idle connection to the action server is kept: under Sanic's 5 s keep-alive, so
#: the client always lets go first and never sends on a connection the server is closing.
ACTION_KEEPALIVE_S = 2.0


def install_action_keepalive() -> None:
    import asyncio
    import json

    import aiohttp
    import ujson
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

    def dumps(value) -> str:
        """ujson (a dependency of Rasa's) encodes the conversation that goes with every action
        call several times faster than ``json.dumps`` (5 % of a turn); what it cannot encode
        (an integer beyond 64 bits) goes to ``json.dumps``."""
        try:
            return ujson.dumps(value)
        except (OverflowError, TypeError, ValueError):
            return json.dumps(value)

    def session(self):
        loop = asyncio.get_running_loop()
        kept = self.__dict__.get("_kw_session")
        if kept is None or kept[0] is not loop or kept[1].closed:
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) \
                if self.basic_auth else None
            kept = (loop, aiohttp.ClientSession(
                headers=self.headers, auth=auth, json_serialize=dumps,
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
