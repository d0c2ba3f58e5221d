"""The gateway's one client for Rasa: messages (REST channel), trackers and appended tracker
events (HTTP API), readiness.

Rasa listens on 127.0.0.1 only; its HTTP API token goes in the query string, so URLs built here
are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp
from opentelemetry.trace import SpanKind
from yarl import URL

from bot.core.logs import log_event
from bot.web.metrics import RASA_CACHE_HEADER, GatewayMetrics
from bot.web.protocol import json_object
from rasa_runtime import otel

log = logging.getLogger("bot.web.rasa")

# Seconds to wait for Rasa to answer one message (the action server may call slow back ends).
RASA_TIMEOUT_S = 30.0
# Seconds for tracker look-ups and appended events.
RASA_LOOKUP_TIMEOUT_S = 10.0
# Seconds for the readiness checks.
READY_TIMEOUT_S = 3.0
# A refused connection to Rasa (a restart) is tried once more after this pause.
RETRY_PAUSE_S = 0.5
# Connections to Rasa kept open at once (all workers together, and to one).
MAX_CONNECTIONS = 100


# How long the gateway keeps trying to get one message answered after a replica failed
# (under the widget's patience; a dead replica's conversation lock lives 15 s in the cluster).
RECOVER_S = 25.0
# Tracker look-ups that may fail in a row before the gateway gives up: then no Rasa is up at
# all (a single stack restarting), and the user hears so at once rather than after RECOVER_S.
MAX_LOOKUP_FAILURES = 3
# The balancer's answers that say a replica failed (502) or none was up (503): the message may
# be sent again once the tracker shows it was not processed.
RESEND_STATUSES = (502, 503)


class RasaUnavailable(Exception):
    """Rasa did not answer (down, timeout, or an error status)."""

    def __init__(
        self,
        reason: str,
        refused: bool = False,
        resendable: bool = False,
        timed_out: bool = False,
        status: int | None = None,
    ):
        super().__init__(reason)
        #: Rasa's HTTP status when it answered with an error status.
        self.status = status
        #: No connection was made (Rasa restarting): nothing can have been stored.
        self.refused = refused
        #: The request failed without a timeout: whether it was processed can be read from the
        #: tracker, so it may be sent again.
        self.resendable = resendable or refused
        #: No answer in time. Rasa's server (Sanic) cancels a turn whose connection closes, and
        #: stores a turn's events only at its very end, so after the gateway gave up the turn
        #: is either stored whole or not at all: the tracker tells, as after a lost connection.
        self.timed_out = timed_out


def answer_in_tracker(events: Any, msg_id: str) -> list[dict[str, Any]] | None:
    """The bot's answer to the user message ``msg_id`` as the REST channel would have sent it,
    or None when the tracker does not hold that message. Rasa stores a turn's events together
    at its end, so a stored message comes with its whole answer."""
    if not isinstance(events, list):
        return None
    answer: list[dict[str, Any]] | None = None
    for ev in events:
        if not isinstance(ev, dict):
            continue
        if ev.get("event") == "user":
            if answer is not None:
                break
            meta = ev.get("metadata")
            if isinstance(meta, dict) and meta.get("msg_id") == msg_id:
                answer = []
        elif ev.get("event") == "bot" and answer is not None:
            data, meta = json_object(ev.get("data")), json_object(ev.get("metadata"))
            if meta.get("handoff_id"):
                continue  # a helpdesk message, not part of the answer
            answer.append(
                {
                    "text": ev.get("text"),
                    "buttons": data.get("buttons"),
                    "image": data.get("image"),
                    "custom": data.get("custom"),
                }
            )
    return answer


def worker_for(sender: str, workers: int) -> int:
    """The Rasa worker that serves this conversation, the same in every gateway and after every
    restart: one conversation's turns must all reach one worker, whose lock store orders them."""
    return zlib.crc32(sender.encode("utf-8", "surrogatepass")) % workers


class RasaClient:
    """Made with the app, started and closed by its cleanup_ctx (bot/web/app.py): ``start()``
    opens the one HTTP session to Rasa, ``close()`` closes it."""

    def __init__(
        self,
        base_urls: str | Sequence[str],
        token: str,
        *,
        metrics: GatewayMetrics,
        actions_health_url: str | None = None,
        max_in_flight: int = 6,
    ) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._metrics = metrics
        #: One URL per Rasa worker (rasa_runtime/workers.py), or one balancer's URL.
        self._bases = [URL(u) for u in ([base_urls] if isinstance(base_urls, str) else base_urls)]
        if not self._bases:
            raise ValueError("no Rasa URL")
        # Messages this gateway has at one Rasa worker at once; the rest wait their turn in
        # order. A worker works on all it has at once, interleaved on one event loop, so without
        # a bound every turn under load takes as long as the slowest (measured in
        # docs/performance.md, "What each change bought").
        self._admission = [asyncio.Semaphore(max_in_flight) for _ in self._bases]
        self._token = token
        self._actions_health = actions_health_url

    async def start(self) -> None:
        """Open the HTTP session (on the running event loop)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, limit_per_host=MAX_CONNECTIONS)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    @property
    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("RasaClient used before start() or after close()")
        return self._session

    def _worker(self, sender: str) -> int:
        return worker_for(sender, len(self._bases))

    def _tracker_url(self, sender: str, *parts: str) -> URL:
        base = self._bases[self._worker(sender)]
        return (base / "conversations" / sender / "tracker").joinpath(*parts).with_query(token=self._token)

    async def _json(
        self,
        method: str,
        url: URL,
        what: str,
        timeout_s: float,
        body: Any = None,
        answer: bool = True,
        on_headers: Callable[[Mapping[str, str]], None] | None = None,
    ) -> Any:
        """One request; its JSON answer (when ``answer``), or RasaUnavailable (with no URL in
        the message). Every request carries Rasa's token as a header: the REST channel requires
        it too (rasa_runtime/channels.py)."""
        try:
            return await self._request(method, url, what, timeout_s, body, answer, on_headers)
        except RasaUnavailable as exc:
            # Readiness probes ("status") are not turns' calls: a down Rasa is counted there.
            if what != "status":
                self._metrics.rasa_error(exc.timed_out, exc.status)
            raise

    async def _request(
        self,
        method: str,
        url: URL,
        what: str,
        timeout_s: float,
        body: Any,
        answer: bool,
        on_headers: Callable[[Mapping[str, str]], None] | None = None,
    ) -> Any:
        try:
            async with self._http.request(
                method,
                url,
                json=body,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                headers={"Authorization": f"Bearer {self._token}"},
            ) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(
                        f"{what} status {resp.status}", resendable=resp.status in RESEND_STATUSES, status=resp.status
                    )
                if on_headers is not None:
                    on_headers(resp.headers)
                return await resp.json(content_type=None) if answer else await resp.read()
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            refused = isinstance(exc, aiohttp.ClientConnectorError)
            timed_out = isinstance(exc, asyncio.TimeoutError)
            lost = isinstance(exc, aiohttp.ClientConnectionError) and not timed_out
            raise RasaUnavailable(type(exc).__name__, refused, resendable=lost, timed_out=timed_out) from None

    async def _post_message(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        worker = self._worker(sender)
        url = self._bases[worker] / "webhooks" / "rest" / "webhook"
        metrics = self._metrics
        queued = time.monotonic()
        async with self._admission[worker]:
            started = time.monotonic()
            metrics.rasa_wait.observe(started - queued)
            metrics.rasa_in_flight.inc()
            # The call to Rasa is a span of the turn; its W3C trace context travels in the
            # message metadata, where Rasa's channel continues the trace (rasa_runtime/otel.py).
            with otel.span("gateway.rasa", {"kw.worker": worker}, kind=SpanKind.CLIENT):
                traced = dict(metadata)
                parent = otel.traceparent()
                if parent:
                    traced[otel.TRACEPARENT] = parent
                body = {"sender": sender, "message": text, "metadata": traced}
                try:
                    data = await self._json(
                        "POST",
                        url,
                        "webhook",
                        RASA_TIMEOUT_S,
                        body,
                        on_headers=lambda headers: metrics.rasa_tracker_cache(worker, headers.get(RASA_CACHE_HEADER)),
                    )
                finally:
                    metrics.rasa_in_flight.dec()
                    metrics.rasa_duration.observe(time.monotonic() - started)
        if not isinstance(data, list):
            raise RasaUnavailable("webhook answer is not a list")
        return [m for m in data if isinstance(m, dict)]

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """One user message through the REST channel; the bot's answers, exactly once.

        When the request fails (a replica died, none was up, no answer in time), the tracker
        tells whether the message was processed: if so its answer is read from there, if not
        the message is sent again (to a replica that is up), until ``RECOVER_S`` has passed.
        A timeout is handled the same way (see ``RasaUnavailable.timed_out``). A message without
        ``msg_id`` cannot be found again and is never sent twice."""
        try:
            return await self._post_message(sender, text, metadata)
        except RasaUnavailable as exc:
            msg_id = metadata.get("msg_id")
            if not isinstance(msg_id, str) or not (exc.resendable or exc.timed_out):
                raise
            failure = exc
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECOVER_S
        pause = RETRY_PAUSE_S / 2
        lookups_failed = 0
        while loop.time() + pause < deadline and lookups_failed < MAX_LOOKUP_FAILURES:
            await asyncio.sleep(pause)  # back off while the balancer takes the replica out
            pause = min(pause * 2, 2.0)
            try:
                events = (await self.tracker(sender)).get("events")
            except RasaUnavailable as exc:
                failure = exc
                lookups_failed += 1
                continue
            lookups_failed = 0
            found = answer_in_tracker(events, msg_id)
            if found is not None:
                log_event(log, "rasa_recovered", how="tracker", reason=str(failure))
                return found
            try:
                answer = await self._post_message(sender, text, metadata)
            except RasaUnavailable as exc:
                failure = exc
                if not (exc.resendable or exc.timed_out):
                    raise
                continue
            log_event(log, "rasa_recovered", how="resent", reason=str(failure))
            return answer
        raise failure

    async def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker; RasaUnavailable when it cannot be read now."""
        data = await self._json("GET", self._tracker_url(sender), "tracker", RASA_LOOKUP_TIMEOUT_S)
        if not isinstance(data, dict):
            raise RasaUnavailable("tracker is not an object")
        return data

    async def tracker_events(self, sender: str) -> list[dict[str, Any]] | None:
        """The tracker's events, or None when Rasa cannot tell now."""
        try:
            events = (await self.tracker(sender)).get("events")
        except RasaUnavailable:
            return None
        return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else None

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> bool:
        """Append events to the conversation's tracker. A refused connection is tried once
        more; a timeout is not (the events may have been stored)."""
        url = self._tracker_url(sender, "events")
        for attempt in (1, 2):
            try:
                await self._json("POST", url, "events", RASA_LOOKUP_TIMEOUT_S, events, answer=False)
                return True
            except RasaUnavailable as exc:
                if exc.refused and attempt == 1:
                    await asyncio.sleep(RETRY_PAUSE_S)
                    continue
                log_event(log, "rasa_events_failed", reason=str(exc))
                return False
        return False

    async def ready(self) -> dict[str, bool]:
        """Readiness of Rasa (every worker has its model loaded) and, when known, the action
        server."""

        async def loaded(base: URL) -> bool:
            try:
                data = await self._json(
                    "GET", (base / "status").with_query(token=self._token), "status", READY_TIMEOUT_S
                )
            except RasaUnavailable:
                return False
            return bool(isinstance(data, dict) and (data.get("model_id") or data.get("model_file")))

        checks = {"rasa": all(await asyncio.gather(*map(loaded, self._bases)))}
        if self._actions_health:
            checks["actions"] = False
            try:
                async with self._http.get(
                    self._actions_health, timeout=aiohttp.ClientTimeout(total=READY_TIMEOUT_S)
                ) as resp:
                    checks["actions"] = resp.status == 200
            except (TimeoutError, aiohttp.ClientError):
                pass
        return checks
