"""The gateway's Prometheus metrics (prometheus-client), served on /metrics (bot/web/pages.py).

One ``GatewayMetrics`` per app, each with a private ``CollectorRegistry``: tests build several
apps in one process. The gateway is one process (no forked workers), so no multiprocess mode.
What is measured where:

- turns (``kw_turn_duration_seconds``, ``kw_turns_total``): ChatService.message, from a user
  message's receipt to its reply sent;
- the Rasa hop (request time, waits for the in-flight limit, in flight, errors): RasaClient;
- rate-limit refusals: the limiters' ``on_refused`` and the socket caps;
- tickets waiting, the helpdesk's hours, pub/sub, open sockets and the status throttles: read
  at scrape time (``refresh``);
- Rasa's tracker cache per worker (``kw_rasa_tracker_cache_entries``/``_bytes``): from the header
  each Rasa worker puts on its answers (rasa_runtime/channels.py), read by RasaClient;
- the per-process caches (``kw_cache_entries``, ``kw_cache_bytes``, ``kw_cache_evictions_total``
  by ``cache``): read at scrape time from their owners (``add_caches``; bot/core/bounded.py).

Labels are small fixed sets; nothing personal (no ids, numbers, texts, addresses).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

#: Seconds: a turn is usually under a second; Rasa's own bound is 30 s, recovery up to 25 s more.
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)
#: Seconds waited for a free place at Rasa (the in-flight limit).
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

TRANSPORTS = ("ws", "http")
#: answered: the assistant answered; fallback: it did not understand (bot/conversation.py's
#: rephrase texts); handoff: the turn concerns a helpdesk question (a ticket made or its
#: state); error: no answer (Rasa down or too slow, an action failed, an internal error).
OUTCOMES = ("answered", "fallback", "handoff", "error")
RASA_ERROR_KINDS = ("timeout", "connection", "http")
LIMITS = ("message", "connect", "login", "sockets")
SOCKET_KINDS = ("widget", "console")
THROTTLE_SCOPES = ("number", "global")
#: What a scrape reads from the database (kw_metrics_scrape_errors).
SCRAPE_PARTS = ("tickets", "throttles", "outbox")
#: The helpdesk's mails (bot/handoff/outbox.py): kinds, statuses, and why an attempt failed
#: (bot/mail/smtp.py's kinds).
MAIL_KINDS = ("antwoord", "melding")
MAIL_STATUSES = ("wacht", "bezig", "verstuurd", "mislukt")
MAIL_FAILURES = (
    "connection",
    "disconnected",
    "timeout",
    "tls",
    "auth",
    "recipient",
    "sender",
    "refused",
    "busy",
    "protocol",
    "error",
)
#: The gateway's per-process caches: conversation states, their recent replies (part of the
#: states' bytes), the rate limiters' buckets (messages, hellos per client, session frames per
#: socket, console logins) and the helpdesk login throttle.
CACHES = ("sessions", "replies", "rate_message", "rate_connect", "rate_socket", "rate_login", "login_throttle")
EVICTION_REASONS = ("bytes", "idle")
#: One cache's figures: entries, estimated bytes, evictions so far by reason.
CacheFigures = tuple[int, int, dict[str, int]]


class CacheCollector(Collector):
    """The caches' sizes, read from their owners at each scrape."""

    def __init__(self) -> None:
        self.sources: list[Callable[[], dict[str, CacheFigures]]] = []

    def collect(self) -> Iterable[Metric]:
        figures: dict[str, CacheFigures] = {name: (0, 0, {}) for name in CACHES}
        for source in self.sources:
            figures.update({name: value for name, value in source().items() if name in figures})
        entries = GaugeMetricFamily("kw_cache_entries", "Entries held by a per-process cache now.", labels=["cache"])
        size = GaugeMetricFamily(
            "kw_cache_bytes", "Estimated bytes held by a per-process cache now (bot/core/bounded.py).", labels=["cache"]
        )
        evictions = CounterMetricFamily(
            "kw_cache_evictions",
            "Entries a cache evicted, by reason (bytes: over its byte bound; idle: unused too long).",
            labels=["cache", "reason"],
        )
        for name, (count, held, evicted) in figures.items():
            entries.add_metric([name], count)
            size.add_metric([name], held)
            for reason in EVICTION_REASONS:
                evictions.add_metric([name, reason], evicted.get(reason, 0))
        return [entries, size, evictions]


#: The header on Rasa's answers with its tracker cache's figures (rasa_runtime/channels.py).
RASA_CACHE_HEADER = "X-KW-Tracker-Cache"
_CACHE_HEADER_RE = re.compile(r"(\d{1,15}) (\d{1,15})")


def parse_cache_header(header: str | None) -> tuple[int, int] | None:
    """``"<entries> <bytes>"`` as two numbers, or None for a missing or malformed header."""
    match = _CACHE_HEADER_RE.fullmatch(header or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.turn_duration = Histogram(
            "kw_turn_duration_seconds",
            "A user message from its receipt in the gateway to the reply sent, by transport.",
            ["transport"],
            registry=r,
            buckets=TURN_BUCKETS,
        )
        self.turns = Counter("kw_turns", "User messages by outcome.", ["outcome"], registry=r)
        self.rasa_duration = Histogram(
            "kw_rasa_request_duration_seconds",
            "One message's HTTP call to Rasa (the REST channel), without the wait for the in-flight limit.",
            registry=r,
            buckets=TURN_BUCKETS,
        )
        self.rasa_wait = Histogram(
            "kw_rasa_queue_wait_seconds",
            "Time a message waited for the in-flight limit (KW_RASA_MAX_IN_FLIGHT).",
            registry=r,
            buckets=WAIT_BUCKETS,
        )
        self.rasa_in_flight = Gauge("kw_rasa_in_flight", "Messages this gateway has at Rasa now.", registry=r)
        self.rasa_errors = Counter("kw_rasa_errors", "Failed calls to Rasa by kind.", ["kind"], registry=r)
        # Rasa's own cache of trackers (rasa_runtime/stores.py) lives in each Rasa worker; each
        # answer to a message carries the worker's figures (RASA_CACHE_HEADER), kept here.
        self.rasa_tracker_cache_entries = Gauge(
            "kw_rasa_tracker_cache_entries",
            "Trackers a Rasa worker keeps in memory, as its latest answer to this gateway said.",
            ["worker"],
            registry=r,
        )
        self.rasa_tracker_cache_bytes = Gauge(
            "kw_rasa_tracker_cache_bytes",
            "Estimated bytes of the trackers a Rasa worker keeps in memory, as its latest answer to this gateway said.",
            ["worker"],
            registry=r,
        )
        self.refusals = Counter(
            "kw_rate_limit_refusals", "Requests refused by a rate limit or the socket caps.", ["limit"], registry=r
        )
        self.open_sockets = Gauge("kw_open_sockets", "Open WebSockets by kind.", ["kind"], registry=r)
        self.tickets_waiting = Gauge(
            "kw_tickets_waiting", "Helpdesk tickets waiting for a medewerker (wachtrij).", registry=r
        )
        self.ticket_oldest_wait = Gauge(
            "kw_ticket_oldest_wait_seconds",
            "How long the oldest waiting ticket has waited (0 when none waits).",
            registry=r,
        )
        self.helpdesk_open = Gauge("kw_helpdesk_open", "1 inside the helpdesk's opening hours.", registry=r)
        self.pubsub_connected = Gauge(
            "kw_pubsub_connected", "1 when the pub/sub bus is subscribed or not configured, 0 when lost.", registry=r
        )
        self.throttle_active = Gauge(
            "kw_status_throttle_active", "1 while that status-lookup throttle slows lookups.", ["scope"], registry=r
        )
        self.mail_sent = Counter(
            "kw_mail_sent", "Helpdesk mails the SMTP server accepted, by kind.", ["kind"], registry=r
        )
        self.mail_failures = Counter(
            "kw_mail_send_failures",
            "Failed attempts to send a helpdesk mail, by reason; final=yes when it is not retried.",
            ["reason", "final"],
            registry=r,
        )
        self.mail_outbox = Gauge("kw_mail_outbox", "Helpdesk mails in the outbox by status.", ["status"], registry=r)
        self.mail_retrying = Gauge(
            "kw_mail_outbox_retrying", "Waiting helpdesk mails that failed at least once.", registry=r
        )
        self.mail_oldest_wait = Gauge(
            "kw_mail_outbox_oldest_wait_seconds",
            "How long the oldest unsent helpdesk mail has waited (0 when none waits).",
            registry=r,
        )
        self.scrape_errors = Counter(
            "kw_metrics_scrape_errors",
            "Figures /metrics could not read (the database did not answer).",
            ["part"],
            registry=r,
        )
        # Every label's series exists from the start (at 0): rates and alerts need no gap-filling.
        labelled: tuple[tuple[MetricWrapperBase, str, tuple[str, ...]], ...] = (
            (self.turn_duration, "transport", TRANSPORTS),
            (self.turns, "outcome", OUTCOMES),
            (self.rasa_errors, "kind", RASA_ERROR_KINDS),
            (self.refusals, "limit", LIMITS),
            (self.open_sockets, "kind", SOCKET_KINDS),
            (self.throttle_active, "scope", THROTTLE_SCOPES),
            (self.scrape_errors, "part", SCRAPE_PARTS),
            (self.mail_sent, "kind", MAIL_KINDS),
            (self.mail_outbox, "status", MAIL_STATUSES),
        )
        for metric, label, values in labelled:
            for value in values:
                metric.labels(**{label: value})
        self.pubsub_connected.set(1)
        #: How many console sockets are open now: the console sub-app (bot/web/console/routes.py)
        #: sets this to its hub's count when it is made.
        self.console_sockets: Callable[[], int] = lambda: 0
        self.caches = CacheCollector()
        r.register(self.caches)

    def add_caches(self, source: Callable[[], dict[str, CacheFigures]]) -> None:
        """A cache owner's figures by cache name (one of CACHES), read at each scrape."""
        self.caches.sources.append(source)

    # -- hooks for the parts that count --------------------------------------------------

    def refusal(self, limit: str) -> Callable[[], None]:
        """A callback for a RateLimiter's ``on_refused``."""
        child = self.refusals.labels(limit=limit)
        return child.inc

    def turn(self, transport: str, outcome: str, seconds: float) -> None:
        self.turn_duration.labels(transport=transport if transport in TRANSPORTS else "ws").observe(seconds)
        self.turns.labels(outcome=outcome if outcome in OUTCOMES else "error").inc()

    def count_mail_failed(self, reason: str, permanent: bool) -> None:
        """An attempt to send a helpdesk mail failed (bot/handoff/mailer.py)."""
        reason = reason if reason in MAIL_FAILURES else "error"
        self.mail_failures.labels(reason=reason, final="yes" if permanent else "no").inc()

    def count_mail_sent(self, kind: str) -> None:
        self.mail_sent.labels(kind=kind if kind in MAIL_KINDS else "antwoord").inc()

    def refresh_outbox(self, counts: Any) -> None:
        """``counts``: bot.handoff.outbox.OutboxCounts, or None when the database did not answer."""
        if counts is None:
            self.scrape_errors.labels(part="outbox").inc()
            return
        for status in MAIL_STATUSES:
            self.mail_outbox.labels(status=status).set(counts.by_status.get(status, 0))
        self.mail_retrying.set(counts.retrying)
        self.mail_oldest_wait.set(counts.oldest_waiting_s)

    def rasa_tracker_cache(self, worker: int, header: str | None) -> None:
        """A Rasa worker's ``RASA_CACHE_HEADER`` ("<entries> <bytes>"); anything else is ignored."""
        figures = parse_cache_header(header)
        if figures is not None:
            self.rasa_tracker_cache_entries.labels(worker=str(worker)).set(figures[0])
            self.rasa_tracker_cache_bytes.labels(worker=str(worker)).set(figures[1])

    def rasa_error(self, timed_out: bool, status: int | None) -> None:
        kind = "timeout" if timed_out else "http" if status is not None else "connection"
        self.rasa_errors.labels(kind=kind).inc()

    # -- figures read at scrape time -----------------------------------------------------

    def refresh_sockets(self, widget: int, console: int) -> None:
        self.open_sockets.labels(kind="widget").set(widget)
        self.open_sockets.labels(kind="console").set(console)

    def refresh_tickets(self, waiting: tuple[int, float] | None) -> None:
        if waiting is None:
            self.scrape_errors.labels(part="tickets").inc()
            return
        self.tickets_waiting.set(waiting[0])
        self.ticket_oldest_wait.set(waiting[1])

    def refresh_throttles(self, active: dict[str, bool] | None) -> None:
        if active is None:
            self.scrape_errors.labels(part="throttles").inc()
            return
        for scope in THROTTLE_SCOPES:
            self.throttle_active.labels(scope=scope).set(int(bool(active.get(scope))))


def tickets_waiting(settings: Any, now: dt.datetime | None = None) -> tuple[int, float]:
    """(tickets in the wachtrij, seconds the oldest has waited); blocking, for run_db."""
    from sqlalchemy import func, select

    from bot.core import db
    from bot.core.clock import utcnow
    from bot.handoff import states
    from bot.handoff.models import Ticket

    with db.session_scope(db.get_engine(settings.database_url, settings.db_timeout_s)) as session:
        count, oldest = session.execute(
            select(func.count(), func.min(Ticket.created_at)).where(Ticket.state == states.WACHTRIJ)
        ).one()
    if not count or oldest is None:
        return 0, 0.0
    now = now or utcnow()
    if oldest.tzinfo is not None and now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    elif oldest.tzinfo is None and now.tzinfo is not None:
        now = now.replace(tzinfo=None)
    return int(count), max(0.0, (now - oldest).total_seconds())


__all__ = ["OUTCOMES", "TRANSPORTS", "GatewayMetrics", "tickets_waiting"]


def _fallback_leads() -> tuple[str, ...]:
    from bot import texts

    # bot/conversation.py's rephrase replies (NOT_UNDERSTOOD_SHORT starts like _AGAIN).
    return (texts.NOT_UNDERSTOOD_FIRST, texts.NOT_UNDERSTOOD, texts.NOT_UNDERSTOOD_AGAIN)


def turn_outcome(answer: Any, handoff: bool) -> str:
    """answered, fallback or handoff for a turn Rasa answered (``answer``: the REST channel's
    messages); ``handoff`` when the turn concerns a helpdesk question."""
    if handoff:
        return "handoff"
    leads = _fallback_leads()
    for m in answer or ():
        text = m.get("text") if isinstance(m, dict) else None
        if isinstance(text, str) and text:
            return "fallback" if text.startswith(leads) else "answered"
    return "answered"
