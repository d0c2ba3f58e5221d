"""The back-office feed: the only way status data gets into the store.

``apply_change`` creates or updates an application and appends a status change, idempotent by
(aanvraagnummer, change_id); ``apply_fields`` first validates external input (a JSON body of
the API or a CSV row) with :func:`bot.status.fields.validate_fields`, where the field names are
listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.clock import utcnow
from bot.status import statuses
from bot.status.fields import FIELD_NAMES, validate_fields
from bot.status.models import Application, RequestedAmount, StatusChange, gemeente_key
from bot.status.verification import canonical_aanvraagnummer, hash_code

SOURCE_API, SOURCE_CSV, SOURCE_DEMO = "api", "csv", "demo"
SOURCES = (SOURCE_API, SOURCE_CSV, SOURCE_DEMO)


class FeedError(ValueError):
    """Input the feed refuses; ``errors`` are Dutch sentences, ``http_status`` for the API."""

    def __init__(self, errors: Sequence[str], http_status: int = 422):
        self.errors = list(errors)
        self.http_status = http_status
        super().__init__("; ".join(self.errors))


class FeedConflict(FeedError):
    def __init__(self, errors: Sequence[str]):
        super().__init__(errors, http_status=409)


class FeedNotFound(FeedError):
    def __init__(self, errors: Sequence[str]):
        super().__init__(errors, http_status=404)


@dataclass(frozen=True)
class ChangeOutcome:
    aanvraagnummer: str
    created: bool
    #: A new status change was recorded.
    applied: bool
    #: The change_id was already known: nothing was changed (idempotent replay).
    duplicate: bool
    #: The application's current status after the call.
    status: str


# ---------------------------------------------------------------------------------------------
# Applying
# ---------------------------------------------------------------------------------------------


def get_application(session: Session, aanvraagnummer: str, *, for_update: bool = False) -> Application | None:
    query = select(Application).where(Application.aanvraagnummer == aanvraagnummer)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalars().first()


def apply_change(
    session: Session,
    aanvraagnummer: str,
    *,
    source: str,
    create: bool = True,
    change_id: str | None = None,
    status: str | None = None,
    at: dt.datetime | None = None,
    note: str | None = None,
    code: str | None = None,
    code_hash: str | None = None,
    **fields: Any,
) -> ChangeOutcome:
    """Create/update the application ``aanvraagnummer`` and record a status change.

    ``fields`` are the other internal names of ``validate_fields`` (gemeente, gebied,
    submitted_at, requested, granted_amount_cents, missing_items, next_step, next_step_date);
    absent means unchanged, None clears. A known (aanvraagnummer, change_id) is a no-op
    (``duplicate=True``), or a FeedConflict when its status differs. A change older than the
    latest one is kept in the history but does not replace the current status.
    Does not commit: the caller owns the transaction.
    """
    number = canonical_aanvraagnummer(aanvraagnummer)
    if number is None:
        raise FeedError(["aanvraagnummer heeft niet de vorm KW-JJJJ-NNNN"], http_status=400)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    unknown = set(fields) - (set(FIELD_NAMES) - {"change_id", "status", "at", "note", "code"})
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    errors: list[str] = []
    if status is not None and change_id is None:
        errors.append("change_id is verplicht bij een statuswijziging")
    if change_id is not None and status is None:
        errors.append("status is verplicht bij een change_id")
    if errors:
        raise FeedError(errors)

    app = get_application(session, number, for_update=True)

    if app is not None and change_id is not None:
        existing = (
            session.execute(
                select(StatusChange).where(StatusChange.application_id == app.id, StatusChange.change_id == change_id)
            )
            .scalars()
            .first()
        )
        if existing is not None:
            if existing.status != status:
                raise FeedConflict(
                    [f"change_id '{change_id}' is al gebruikt voor status '{existing.status}', niet '{status}'"]
                )
            return ChangeOutcome(number, created=False, applied=False, duplicate=True, status=app.status)

    created = app is None
    if created:
        if not create:
            raise FeedNotFound([f"aanvraag {number} bestaat niet; maak die eerst aan"])
        if not fields.get("gemeente"):
            errors.append("gemeente is verplicht voor een nieuwe aanvraag")
        if status is None:
            errors.append("status en change_id zijn verplicht voor een nieuwe aanvraag")
        if not code and not code_hash:
            errors.append("verificatiecode is verplicht voor een nieuwe aanvraag")
        if errors:
            raise FeedError(errors)

    # Decide everything before changing anything, so a refused change leaves no trace.
    when = at or utcnow()
    becomes_current = False
    if change_id is not None:
        latest = None
        if app is not None:
            latest = session.execute(
                select(StatusChange.at)
                .where(StatusChange.application_id == app.id)
                .order_by(StatusChange.at.desc())
                .limit(1)
            ).scalar()
        becomes_current = latest is None or when >= latest
    if becomes_current or app is None:
        # A change_id comes with a status, and a new application needs both (checked above).
        assert status is not None
        new_status = status
    else:
        new_status = app.status
    if "missing_items" in fields:
        new_missing = fields["missing_items"]
    elif becomes_current and status != statuses.AANVULLING_NODIG:
        new_missing = None
    else:
        new_missing = None if app is None else app.missing_items
    if new_status == statuses.AANVULLING_NODIG and not new_missing:
        raise FeedError(["ontbrekende_stukken is verplicht bij status aanvulling_nodig"])
    new_hash = code_hash or (hash_code(code) if code else None)

    now = utcnow()
    if app is None:
        app = Application(
            aanvraagnummer=number,
            gemeente=fields["gemeente"],
            gemeente_key=gemeente_key(fields["gemeente"]),
            status=new_status,
            code_hash=new_hash,
            created_at=now,
            updated_at=now,
        )
        session.add(app)
    elif new_hash:
        app.code_hash = new_hash

    for name, value in fields.items():
        if name == "requested":
            _replace_amounts(session, app, value or [])
        elif name == "gemeente":
            if not value:
                raise FeedError(["gemeente mag niet leeg zijn"])
            app.gemeente = value
            app.gemeente_key = gemeente_key(value)
        else:
            setattr(app, name, value)
    app.status = new_status
    app.missing_items = new_missing

    if change_id is not None:
        session.add(
            StatusChange(
                application=app,
                change_id=change_id,
                status=status,
                at=when,
                source=source,
                note=note,
                recorded_at=now,
            )
        )
    app.updated_at = now
    session.flush()
    return ChangeOutcome(number, created=created, applied=change_id is not None, duplicate=False, status=app.status)


def _replace_amounts(session: Session, app: Application, items: list[tuple[str, int, int]]) -> None:
    app.amounts.clear()
    session.flush()  # delete old rows before inserting new ones with the same (thema, jaar)
    for thema, jaar, cents in items:
        app.amounts.append(RequestedAmount(thema=thema, jaar=jaar, amount_cents=cents))


def apply_fields(
    session: Session,
    aanvraagnummer: str,
    raw: Mapping[str, Any],
    *,
    source: str,
    create: bool = True,
    empty_is_unset: bool = False,
) -> ChangeOutcome:
    """Validate external fields and apply them; raises FeedError with all problems at once."""
    values, errors = validate_fields(raw, empty_is_unset=empty_is_unset)
    if errors:
        raise FeedError(errors)
    return apply_change(session, aanvraagnummer, source=source, create=create, **values)
