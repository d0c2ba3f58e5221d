"""The throttles of public status lookups, counted in the shared table ``LookupFailure``.

A failed lookup is recorded under several keys: the asker's own (its conversation, its client
address), which lock it out for a while, and keys anyone could aim at someone else (one
aanvraagnummer, all lookups), which never lock but slow every lookup they cover down. Keys are
pseudonyms: keyed hashes, never the ids themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.core import db
from bot.core.clock import utcnow
from bot.settings import Settings, get_settings
from bot.status.models import LookupFailure


def pseudonym(settings: Settings, kind: str, raw_id: str | None) -> str | None:
    """``kind:<16 hex>``: keyed hash of an id (conversation, client), never the id itself.

    Keyed with a key derived from the cookie secret, so client ids such as IP addresses cannot
    be recovered by hashing all candidates.
    """
    if not raw_id:
        return None
    key = hmac.new(settings.cookie_secret.encode(), b"kw-status-pseudonym-v1", hashlib.sha256).digest()
    digest = hmac.new(key, str(raw_id).encode("utf-8", "replace"), hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:24]}"


#: The key under which every failed public lookup is also counted (the global throttle).
GLOBAL_KEY = "g:alle"


def locked_until(
    session: Session,
    settings: Settings,
    key: str,
    now: dt.datetime,
    limit: int | None = None,
    lockout_s: int | None = None,
) -> dt.datetime | None:
    """End of the lockout for ``key``, or None when not locked.

    Locked from the moment ``limit`` (``status_max_failures``) failures fall within one window
    of ``status_failure_window_s``, until ``lockout_s`` (``status_lockout_s``) after the last.
    """
    window = dt.timedelta(seconds=settings.status_failure_window_s)
    lockout = dt.timedelta(seconds=settings.status_lockout_s if lockout_s is None else lockout_s)
    limit = max(1, settings.status_max_failures if limit is None else limit)
    since = now - window - lockout
    times: list[dt.datetime] = list(
        session.execute(
            select(LookupFailure.at)
            .where(LookupFailure.key == key, LookupFailure.at > since)
            .order_by(LookupFailure.at.desc())
            .limit(1000)
        ).scalars()
    )
    if len(times) < limit:
        return None
    times.sort()
    until = None
    for i in range(limit - 1, len(times)):
        if times[i] - times[i - limit + 1] <= window:
            end = times[i] + lockout
            if end > now and (until is None or end > until):
                until = end
    return until


def recent_failures(session: Session, settings: Settings, key: str, now: dt.datetime, cap: int) -> int:
    """Failures recorded for ``key`` in the current window (counted up to ``cap``)."""
    window = dt.timedelta(seconds=settings.status_failure_window_s)
    return len(
        list(
            session.execute(
                select(LookupFailure.id)
                .where(LookupFailure.key == key, LookupFailure.at > now - window)
                .limit(max(1, cap))
            ).scalars()
        )
    )


#: The first delay of a throttle that slows (seconds); it doubles with every further quarter
#: of the limit, up to ``settings.status_throttle_max_delay_s``.
THROTTLE_BASE_DELAY_S = 0.5


def throttle_delay(failures: int, limit: int, max_delay_s: float) -> float:
    """Seconds a lookup waits while ``failures`` (in the window) reach ``limit``: 0 below it,
    then a delay that grows with the excess. Throttles that anyone can aim at someone else (one
    aanvraagnummer, all lookups) slow everyone down instead of locking the owner out."""
    limit = max(1, limit)
    if failures < limit:
        return 0.0
    steps = (failures - limit) // max(1, limit // 4)
    return float(min(max_delay_s, THROTTLE_BASE_DELAY_S * 2 ** min(steps, 16)))


def global_failures(settings: Settings) -> int:
    """Failed public lookups in the current window, over all numbers (for /metrics)."""

    def job() -> int:
        window = dt.timedelta(seconds=settings.status_failure_window_s)
        with db.session_scope(db.get_engine(settings.database_url, settings.db_timeout_s)) as session:
            return int(
                session.execute(
                    select(func.count())
                    .select_from(LookupFailure)
                    .where(LookupFailure.key == GLOBAL_KEY, LookupFailure.at > utcnow() - window)
                ).scalar()
                or 0
            )

    return job()


def record_failure(session: Session, settings: Settings, keys: list[str], now: dt.datetime) -> None:
    """Count one failure under each of ``keys``; what is older than the window and the
    lockout together no longer counts and goes."""
    horizon = now - dt.timedelta(seconds=settings.status_failure_window_s + settings.status_lockout_s)
    for key in keys:
        session.add(LookupFailure(key=key, at=now))
        session.execute(delete(LookupFailure).where(LookupFailure.key == key, LookupFailure.at < horizon))


def active_throttles(settings: Settings) -> dict[str, bool]:
    """Whether the global throttle and any aanvraagnummer's throttle slow lookups now (for
    /metrics): their failures in the current window reach their limits."""

    def job() -> dict[str, bool]:
        now = utcnow()
        window = now - dt.timedelta(seconds=settings.status_failure_window_s)
        with db.session_scope(db.get_engine(settings.database_url, settings.db_timeout_s)) as session:
            global_count = int(
                session.execute(
                    select(func.count())
                    .select_from(LookupFailure)
                    .where(LookupFailure.key == GLOBAL_KEY, LookupFailure.at > window)
                ).scalar()
                or 0
            )
            busiest = session.execute(
                select(func.count())
                .select_from(LookupFailure)
                .where(LookupFailure.key.like("n:%"), LookupFailure.at > window)
                .group_by(LookupFailure.key)
                .order_by(func.count().desc())
                .limit(1)
            ).scalar()
        return {
            "global": global_count >= max(1, settings.status_global_max_failures),
            "number": int(busiest or 0) >= max(1, settings.status_number_max_failures),
        }

    return job()


def count_failures(key: str, *, settings: Settings | None = None) -> int:
    """Number of recorded failures for a rate-limit key (for operators and tests)."""
    settings = settings or get_settings()
    with db.session_scope(db.get_engine(settings.database_url, settings.db_timeout_s)) as session:
        return int(
            session.execute(select(func.count()).select_from(LookupFailure).where(LookupFailure.key == key)).scalar()
            or 0
        )
