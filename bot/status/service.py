"""What the Rasa actions call: bounded, audited, rate-limited status lookups.

Every lookup returns a ``LookupResult`` within ``settings.db_timeout_s`` (1.5 s by default):
the database work runs in the one bounded runner (bot.core.runner) and is abandoned when it
does not finish in time, so an unreachable or slow database gives ``kind='unavailable'``
quickly. ``lookup_public(...)`` is the synchronous form; ``lookup_public_async`` (and the
others' ``_async``) the one for event loops.

Kinds: ``ok`` · ``not_found`` (unknown number and wrong code alike: no enumeration) ·
``locked`` (too many failed public tries from this conversation or address; failures aimed
at one aanvraagnummer, or at all of them, only slow lookups down: ``extra['delay_s']``) ·
``unavailable`` (database down or slow). The throttles behind ``locked`` and ``delay_s``:
bot/status/throttle.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.core import db
from bot.core.clock import utcnow
from bot.core.logs import log_event
from bot.core.metrics import count_lookup
from bot.core.runner import run_bounded, run_db
from bot.settings import Settings, get_settings
from bot.status.models import Application, LookupAudit, gemeente_key
from bot.status.throttle import GLOBAL_KEY, locked_until, pseudonym, recent_failures, record_failure, throttle_delay
from bot.status.verification import dummy_verify, parse_aanvraagnummer, verify_code

log = logging.getLogger(__name__)

OK = "ok"
NOT_FOUND = "not_found"
LOCKED = "locked"
UNAVAILABLE = "unavailable"
KINDS = (OK, NOT_FOUND, LOCKED, UNAVAILABLE)
INVALID_NUMBER_MARKER = "<ongeldig>"
LIST_MARKER = "*"
MAX_LISTED = 50


@dataclass(frozen=True)
class RequestedLine:
    thema: str
    jaar: int
    amount_cents: int


@dataclass(frozen=True)
class HistoryLine:
    status: str
    at: dt.datetime  # naive UTC


@dataclass(frozen=True)
class ApplicationView:
    """What may be shown about an application (never the code hash)."""

    aanvraagnummer: str
    gemeente: str
    gebied: str | None
    submitted_at: dt.date | None
    status: str
    requested: tuple[RequestedLine, ...]
    granted_amount_cents: int | None
    missing_items: str | None
    next_step: str | None
    next_step_date: dt.date | None
    #: When the current status was set (naive UTC), if known.
    status_since: dt.datetime | None
    updated_at: dt.datetime | None
    history: tuple[HistoryLine, ...] = ()
    #: Fictional demo data (loaded by ``bot.status.demo``); replies must say so.
    demo: bool = False

    @property
    def requested_total_cents(self) -> int | None:
        if not self.requested:
            return None
        return sum(line.amount_cents for line in self.requested)

    @classmethod
    def from_model(cls, app: Application, with_history: bool = True) -> ApplicationView:
        history = tuple(HistoryLine(c.status, c.at) for c in app.changes) if with_history else ()
        current = [c for c in app.changes if c.status == app.status]
        return cls(
            aanvraagnummer=app.aanvraagnummer,
            gemeente=app.gemeente,
            gebied=app.gebied,
            submitted_at=app.submitted_at,
            status=app.status,
            requested=tuple(RequestedLine(a.thema, a.jaar, a.amount_cents) for a in app.amounts),
            granted_amount_cents=app.granted_amount_cents,
            missing_items=app.missing_items,
            next_step=app.next_step,
            next_step_date=app.next_step_date,
            status_since=max((c.at for c in current), default=None),
            updated_at=app.updated_at,
            history=history,
            demo=any(c.source == "demo" for c in app.changes),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (external field names, amounts in euros as strings)."""

        def euros(cents: int | None) -> str | None:
            return None if cents is None else f"{cents // 100}.{cents % 100:02d}"

        def iso(value: dt.date | None) -> str | None:
            return None if value is None else value.isoformat()

        def iso_utc(value: dt.datetime | None) -> str | None:
            return None if value is None else value.isoformat(timespec="seconds") + "Z"

        return {
            "aanvraagnummer": self.aanvraagnummer,
            "gemeente": self.gemeente,
            "gebied": self.gebied,
            "ingediend_op": iso(self.submitted_at),
            "status": self.status,
            "aangevraagd": [
                {"thema": r.thema, "jaar": r.jaar, "bedrag": euros(r.amount_cents)} for r in self.requested
            ],
            "toegekend_bedrag": euros(self.granted_amount_cents),
            "ontbrekende_stukken": self.missing_items,
            "volgende_stap": self.next_step,
            "volgende_stap_datum": iso(self.next_step_date),
            "status_sinds": iso_utc(self.status_since),
            "bijgewerkt_op": iso_utc(self.updated_at),
            "geschiedenis": [{"status": h.status, "status_datum": iso_utc(h.at)} for h in self.history],
        }


@dataclass(frozen=True)
class LookupResult:
    kind: str
    application: ApplicationView | None = None
    applications: tuple[ApplicationView, ...] = ()
    #: For 'locked': seconds until lookups are possible again (rounded up to a minute).
    retry_after_s: int | None = None
    #: For list results: the gemeente as asked.
    gemeente: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.kind == OK


# ---------------------------------------------------------------------------------------------
# Bounded execution
# ---------------------------------------------------------------------------------------------

Work = Callable[[Session], "LookupResult"]


def _job(settings: Settings, work: Work) -> Callable[[], LookupResult]:
    def job() -> LookupResult:
        engine = db.get_engine(settings.database_url, settings.db_timeout_s)
        with db.session_scope(engine) as session:
            return work(session)

    return job


def _failed(settings: Settings, what: str, exc: BaseException) -> LookupResult:
    if isinstance(exc, TimeoutError):
        log.warning("status %s: database too slow (> %.1f s)", what, settings.db_timeout_s)
    else:
        # Only the exception class: messages of drivers may contain parameters.
        log.warning("status %s: database unavailable (%s)", what, type(exc).__name__)
    return LookupResult(UNAVAILABLE)


#: Attribute a lookup's work function sets when the number exists but the code did not match:
#: only for the metrics. The result itself stays identical to an unknown number's.
BAD_CODE_MARK = "bad_code"


def metric_outcome(result: LookupResult, work: Work | None = None) -> str:
    """The result as one of bot.core.metrics.LOOKUP_OUTCOMES."""
    if result.kind == LOCKED:
        return "locked"
    if result.kind == UNAVAILABLE:
        return "error"
    if result.extra.get("delay_s"):
        return "throttled"
    if result.kind == OK:
        return "found"
    return "bad_code" if getattr(work, BAD_CODE_MARK, False) else "not_found"


class _Lookup[**P]:
    """A lookup from its builder (which returns what, settings, work): called, the sync form for
    the CLI and tests; ``.aio``, its async twin for actions and the API. Both run the work in the
    one bounded database runner (bot.core.runner); any failure is ``unavailable``."""

    def __init__(self, builder: Callable[P, tuple[str, Settings, Work]]) -> None:
        self._builder = builder
        functools.update_wrapper(self, builder)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> LookupResult:
        what, settings, work = self._builder(*args, **kwargs)
        try:
            result = run_bounded(_job(settings, work), settings.db_timeout_s)
        except Exception as exc:  # any DB/driver failure means 'unavailable'
            result = _failed(settings, what, exc)
        log.info("status %s: %s", what, result.kind)
        count_lookup(metric_outcome(result, work))
        if result.extra.get("delay_s"):
            time.sleep(result.extra["delay_s"])  # the throttle's delay, outside the DB runner
        return result

    async def aio(self, *args: P.args, **kwargs: P.kwargs) -> LookupResult:
        what, settings, work = self._builder(*args, **kwargs)
        try:
            result = await run_db(_job(settings, work), settings.db_timeout_s)
        except Exception as exc:
            result = _failed(settings, what, exc)
        log.info("status %s: %s", what, result.kind)
        count_lookup(metric_outcome(result, work))
        if result.extra.get("delay_s"):
            await asyncio.sleep(result.extra["delay_s"])
        return result


# ---------------------------------------------------------------------------------------------
# Audit and loading
# ---------------------------------------------------------------------------------------------


def _audit(
    session: Session, *, channel: str, actor: str, number: str, result: str, gemeente: str | None = None
) -> None:
    session.add(
        LookupAudit(
            at=utcnow(),
            channel=channel,
            actor=actor[:80],
            aanvraagnummer=number[:12],
            gemeente=gemeente and gemeente[:100],
            result=result,
        )
    )


def _load(session: Session, number: str) -> Application | None:
    return (
        session.execute(
            select(Application)
            .options(selectinload(Application.amounts), selectinload(Application.changes))
            .where(Application.aanvraagnummer == number)
        )
        .scalars()
        .first()
    )


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


@_Lookup
def lookup_public(
    number: str | None,
    code: str | None,
    conversation_id: str,
    client_id: str | None = None,
    *,
    settings: Settings | None = None,
) -> tuple[str, Settings, Work]:
    """Look up an application on the public website: number + verificatiecode.

    ``number`` may be free text; it is parsed. Unknown number, malformed number and wrong code
    all give ``not_found`` and count as a failed try for the conversation and (separately) the
    client. After ``status_max_failures`` failures within the window, ``locked``.
    """
    settings = settings or get_settings()
    parsed = parse_aanvraagnummer(number) if isinstance(number, str) else None
    conv_key = pseudonym(settings, "c", conversation_id) or "c:anoniem"
    client_key = pseudonym(settings, "k", client_id)
    keys = [conv_key] + ([client_key] if client_key else [])
    actor = " ".join(keys)
    # Keys of the asker itself (its conversation, its address) lock it out. Keys anyone can
    # aim at someone else (one aanvraagnummer, all lookups) never lock: failures there slow
    # every lookup they cover down and raise an alarm, so a correct code always gets through
    # (the code space and the asker's own limits protect the codes).
    locks = {key: settings.status_max_failures for key in keys}
    slows: dict[str, tuple[str, int]] = {}
    number_key = pseudonym(settings, "n", parsed)
    if number_key is not None:
        slows[number_key] = ("status_number_throttle", settings.status_number_max_failures)
    slows[GLOBAL_KEY] = ("status_global_throttle", settings.status_global_max_failures)
    audit_number = parsed or INVALID_NUMBER_MARKER

    def work(session: Session) -> LookupResult:
        now = utcnow()
        until = None
        for key, limit in locks.items():
            end = locked_until(session, settings, key, now, limit)
            if end is not None and (until is None or end > until):
                until = end
        if until is not None:
            _audit(session, channel="public", actor=actor, number=audit_number, result=LOCKED)
            retry = int((until - now).total_seconds())
            return LookupResult(LOCKED, retry_after_s=max(60, -(-retry // 60) * 60))
        delay = 0.0
        for key, (event, limit) in slows.items():
            failures = recent_failures(session, settings, key, now, limit * 8)
            wait = throttle_delay(failures, limit, settings.status_throttle_max_delay_s)
            if wait:
                log_event(log, event, level=logging.WARNING, limit=limit, delay_s=wait)
            delay = max(delay, wait)
        extra = {"delay_s": delay} if delay else {}
        app = _load(session, parsed) if parsed else None
        if app is None:
            dummy_verify()  # same timing as a wrong code
            matched = False
        else:
            matched = verify_code(code, app.code_hash)
        if app is None or not matched:
            record_failure(session, settings, [*locks, *slows], now)
            _audit(session, channel="public", actor=actor, number=audit_number, result=NOT_FOUND)
            if app is not None:
                setattr(work, BAD_CODE_MARK, True)
            return LookupResult(NOT_FOUND, extra=extra)
        _audit(session, channel="public", actor=actor, number=audit_number, result=OK)
        return LookupResult(OK, application=ApplicationView.from_model(app), extra=extra)

    return "lookup_public", settings, work


@_Lookup
def lookup_portal(
    gemeente: str,
    number: str | None,
    conversation_id: str,
    *,
    settings: Settings | None = None,
) -> tuple[str, Settings, Work]:
    """Look up an application for a verified portal user of ``gemeente`` (no code needed).

    An application of another gemeente is ``not_found``, exactly like an unknown number.
    """
    settings = settings or get_settings()
    parsed = parse_aanvraagnummer(number) if isinstance(number, str) else None
    actor = pseudonym(settings, "c", conversation_id) or "c:anoniem"
    key = gemeente_key(gemeente or "")

    def work(session: Session) -> LookupResult:
        app = _load(session, parsed) if (parsed and key) else None
        if app is None or app.gemeente_key != key:
            _audit(
                session,
                channel="portal",
                actor=actor,
                number=parsed or INVALID_NUMBER_MARKER,
                result=NOT_FOUND,
                gemeente=gemeente,
            )
            return LookupResult(NOT_FOUND)
        _audit(session, channel="portal", actor=actor, number=app.aanvraagnummer, result=OK, gemeente=gemeente)
        return LookupResult(OK, application=ApplicationView.from_model(app))

    return "lookup_portal", settings, work


@_Lookup
def list_for_gemeente(
    gemeente: str,
    conversation_id: str | None = None,
    *,
    settings: Settings | None = None,
    limit: int = MAX_LISTED,
) -> tuple[str, Settings, Work]:
    """Applications of a (verified) gemeente, highest number (newest) first; ``ok`` also when
    there are none. At most ``limit``."""
    settings = settings or get_settings()
    actor = pseudonym(settings, "c", conversation_id) or "c:anoniem"
    key = gemeente_key(gemeente or "")

    def work(session: Session) -> LookupResult:
        apps = []
        if key:
            apps = list(
                session.execute(
                    select(Application)
                    .options(selectinload(Application.amounts), selectinload(Application.changes))
                    .where(Application.gemeente_key == key)
                    .order_by(Application.aanvraagnummer.desc())
                    .limit(limit)
                ).scalars()
            )
        _audit(session, channel="portal", actor=actor, number=LIST_MARKER, result=OK, gemeente=gemeente)
        return LookupResult(
            OK,
            gemeente=gemeente,
            applications=tuple(ApplicationView.from_model(a, with_history=False) for a in apps),
        )

    return "list_for_gemeente", settings, work


# The async twins, for rasa-sdk actions and the API (their event loop must not wait on the DB).
lookup_public_async = lookup_public.aio
lookup_portal_async = lookup_portal.aio
list_for_gemeente_async = list_for_gemeente.aio
