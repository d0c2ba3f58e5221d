"""Frames for a conversation's widget sockets, and news for the helpdesk consoles, wherever in a
cluster of gateways those sockets are (docs/console.md, "Several gateways").

The live handoff (bot/handoff/live.py) tells the bus; whoever wants ticket and queue news on this
gateway (the console hub) registers with :meth:`Bus.subscribe`. Without ``KW_PUBSUB_URL`` (the
demo: one gateway) the bus delivers to this process's ChatHub and subscribers and nothing else.
With it, every push and every ticket/queue change is also published as one JSON message on the
Redis channel ``<prefix>gateway``; each gateway runs one subscriber (:meth:`Bus.start`, from the
app's cleanup_ctx) that hands what the others published to its own ChatHub and subscribers.

Exactly once per gateway: the gateway that makes a change delivers it here itself, without
waiting for Redis, and publishes it with its node id; subscribers skip their own node's
messages. When Redis is down the local delivery has happened anyway; the failed publish is
counted (``pubsub_publish_errors``) and the other gateways fall back to what they had before:
consoles poll the database (KW_HELPDESK_POLL_S), widgets rebuild from the tracker when they
reconnect. Pub/sub stores nothing, so what is published while a subscriber reconnects is lost for
that gateway, with the same fall-backs.

The messages hold frames with staff messages and conversation ids: Redis must be private (like
the Rasa lock store). Logs name events and error types only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import Counter
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeout

from bot.core.logs import log_event
from bot.web.chat.hub import ChatHub

log = logging.getLogger("bot.web.bus")

DEFAULT_PREFIX = "kw:"
# A push is made while a medewerker's request waits, so Redis gets little time.
CONNECT_TIMEOUT_S = 0.5
COMMAND_TIMEOUT_S = 1.0
# After a publish timed out (Redis unreachable rather than refusing connections), publishing is
# skipped for a moment, so one staff action's four publishes do not each wait the full timeout.
QUIET_AFTER_TIMEOUT_S = 2.0
# The subscriber's reconnect delay: doubling from the first to the last.
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 5.0
# A half-open TCP connection reads nothing and never fails by itself: the subscriber pings and
# gives up its connection when it has heard nothing (no message, no pong) for SILENT_S.
READ_S = 1.0
PING_S = 5.0
SILENT_S = 3 * PING_S


class Listener(Protocol):
    """Who wants to know when tickets change (the console hub): on any gateway of the cluster."""

    async def ticket_changed(self, ticket_id: int) -> None: ...

    async def queue_changed(self) -> None: ...


class Bus:
    """Deliver a frame to a conversation's sockets and tell consoles of changes, on every gateway.

    ``hub``: this gateway's ChatHub. The subscribers hear of every ticket and queue change, made
    here (at once) or on another gateway (through Redis)."""

    def __init__(
        self, hub: ChatHub, url: str = "", *, prefix: str = DEFAULT_PREFIX, metrics: Counter[str] | None = None
    ) -> None:
        self.hub = hub
        self.url = url
        self.channel = f"{prefix}gateway"
        self.metrics: Counter[str] = metrics if metrics is not None else Counter()
        #: Who hears of ticket and queue changes on this gateway (:meth:`subscribe`).
        self.listeners: list[Listener] = []
        #: Marks this process's messages, so its own subscriber skips them.
        self.node = secrets.token_hex(8)
        #: True while Redis has confirmed the subscription (for /metrics and tests).
        self.subscribed = False
        self._redis: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._quiet_until = 0.0
        self._publish_ok = True
        self._confirmed = 0  # subscriptions Redis confirmed, over this bus's life
        self._down_logged = False

    def subscribe(self, listener: Listener) -> None:
        """``listener`` hears of every ticket and queue change from now on, wherever made."""
        self.listeners.append(listener)

    # -- what the live handoff calls -----------------------------------------------------------

    async def push(self, sid: str, frame: dict[str, Any]) -> int:
        """Send a frame to the conversation's open sockets on every gateway. Returns how many
        sockets of this gateway got it; sockets elsewhere are not counted (Redis does not say),
        and callers treat a push as best effort anyway (the tracker has every message)."""
        sent = await self.hub.push(sid, frame)
        await self._publish({"kind": "frame", "sid": sid, "frame": frame})
        return sent

    async def ticket_changed(self, ticket_id: int) -> None:
        await self._ticket_here(ticket_id)
        await self._publish({"kind": "ticket", "ticket": ticket_id})

    async def queue_changed(self) -> None:
        await self._queue_here()
        await self._publish({"kind": "queue"})

    async def _ticket_here(self, ticket_id: int) -> None:
        for listener in self.listeners:
            await listener.ticket_changed(ticket_id)

    async def _queue_here(self) -> None:
        for listener in self.listeners:
            await listener.queue_changed()

    # -- publishing ----------------------------------------------------------------------------

    def _client(self, retries: int) -> aioredis.Redis:
        # redis-py's own retries stay (almost) off: a failed publish falls back at once, and the
        # subscriber has its own reconnect loop with backoff. A timeout is never retried: Redis
        # is slow or unreachable, and a second wait would only hold up the medewerker's request.
        retry = Retry(NoBackoff(), retries, supported_errors=(RedisConnectionError,))
        return aioredis.Redis.from_url(
            self.url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=COMMAND_TIMEOUT_S, retry=retry
        )

    async def _publish(self, message: dict[str, Any]) -> bool:
        if self._redis is None:  # no KW_PUBSUB_URL (or not started): this gateway only
            return False
        loop = asyncio.get_running_loop()
        if loop.time() < self._quiet_until:
            self.metrics["pubsub_publish_skipped"] += 1
            return False
        data = json.dumps({"from": self.node, **message}, separators=(",", ":"))
        try:
            await self._redis.publish(self.channel, data)
        except Exception as exc:  # Redis down: this gateway's delivery stands
            self.metrics["pubsub_publish_errors"] += 1
            if isinstance(exc, (RedisTimeout, asyncio.TimeoutError)):
                self._quiet_until = loop.time() + QUIET_AFTER_TIMEOUT_S
            if self._publish_ok:  # once per outage, not once per push
                log_event(log, "pubsub_publish_failed", reason=type(exc).__name__)
            self._publish_ok = False
            return False
        if not self._publish_ok:
            log_event(log, "pubsub_publish_recovered")
            self._publish_ok = True
        self.metrics["pubsub_published"] += 1
        return True

    # -- subscribing ---------------------------------------------------------------------------

    async def _listen(self) -> None:
        """One subscription, until its connection fails (raises) or the task is cancelled."""
        client = self._client(retries=0)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            loop = asyncio.get_running_loop()
            heard = loop.time()
            next_ping = heard + PING_S
            while True:
                message = await pubsub.get_message(timeout=READ_S)
                if message is not None:
                    if message["type"] == "subscribe":
                        self.subscribed = True
                        self._confirmed += 1
                        self._down_logged = False
                        log_event(log, "pubsub_subscribed")
                    elif message["type"] == "message":
                        await self._deliver(message["data"])
                    # After the delivery: a slow console update is no silence of Redis.
                    heard = loop.time()
                now = loop.time()
                if now - heard > SILENT_S:
                    raise ConnectionError("Redis stopped answering")
                if now >= next_ping:
                    next_ping = now + PING_S
                    await pubsub.ping()
        finally:
            self.subscribed = False
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _subscribe_forever(self) -> None:
        delay = BACKOFF_FIRST_S
        while True:
            confirmed = self._confirmed
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect, never give up
                self.metrics["pubsub_subscribe_errors"] += 1
                if not self._down_logged:  # once per outage, not once per attempt
                    log_event(log, "pubsub_subscriber_down", reason=type(exc).__name__)
                    self._down_logged = True
            if self._confirmed != confirmed:
                delay = BACKOFF_FIRST_S  # it worked until now: try again soon
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_S)

    async def _deliver(self, data: bytes) -> None:
        """Hand a message from another gateway to this one's sockets."""
        try:
            message = json.loads(data)
            origin, kind = message["from"], message["kind"]
        except (ValueError, TypeError, KeyError):
            self.metrics["pubsub_bad_messages"] += 1
            return
        if origin == self.node:
            return  # delivered here already, when it was published
        sid, frame, ticket = message.get("sid"), message.get("frame"), message.get("ticket")
        try:
            if kind == "frame" and isinstance(sid, str) and isinstance(frame, dict):
                await self.hub.push(sid, frame)
            elif kind == "ticket" and type(ticket) is int:
                await self._ticket_here(ticket)
            elif kind == "queue":
                await self._queue_here()
            else:
                self.metrics["pubsub_bad_messages"] += 1
                return
        except Exception:  # one bad delivery must not end the subscription
            log.exception("pubsub delivery failed")
            return
        self.metrics["pubsub_received"] += 1

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect the publisher and start the subscriber (with a URL; otherwise nothing)."""
        if not self.url or self._task is not None:
            return
        # One retry: a pooled connection may have died with a Redis restart since the last push.
        self._redis = self._client(retries=1)
        self._task = asyncio.create_task(self._subscribe_forever(), name="kw-pubsub")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client, self._redis = self._redis, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()


__all__ = ["DEFAULT_PREFIX", "Bus", "Listener"]
