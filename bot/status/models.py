"""SQLAlchemy models of the status store.

All tables start with ``status_`` so the app database can be shared with other parts of the
assistant (handoff, …). All datetimes are stored naive in UTC; dates (submitted, next step) are
plain calendar dates. Amounts are whole euro cents (BigInteger) so no float or Decimal quirks
differ between SQLite and PostgreSQL.

The schema is created by the Alembic migrations in ``bot/migrations`` — never by
``metadata.create_all`` outside tests of the migrations themselves.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.core.clock import utcnow


class Base(DeclarativeBase):
    """The metadata of the status store tables (each package has its own, and its own migrations)."""


#: Local time of the back office and of the users: naive input is read, and dates are shown, here.
LOCAL_TZ = ZoneInfo("Europe/Amsterdam")


def to_utc_naive(value: dt.datetime, local_tz: dt.tzinfo = LOCAL_TZ) -> dt.datetime:
    """Aware → UTC; naive → read as local (Europe/Amsterdam) time → UTC. Result is naive."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_tz)
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def to_local(value: dt.datetime, local_tz: dt.tzinfo = LOCAL_TZ) -> dt.datetime:
    """A stored (naive UTC) datetime in local time."""
    return value.replace(tzinfo=dt.UTC).astimezone(local_tz)


def gemeente_key(gemeente: str) -> str:
    """Normalised gemeente name for comparisons: single spaces, casefolded, straight quotes."""
    cleaned = gemeente.replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(cleaned.split()).casefold()


class Application(Base):
    __tablename__ = "status_applications"
    __table_args__ = (UniqueConstraint("aanvraagnummer", name="uq_status_applications_aanvraagnummer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Canonical form ``KW-2025-0042``.
    aanvraagnummer: Mapped[str] = mapped_column(String(12), nullable=False)
    gemeente: Mapped[str] = mapped_column(String(100), nullable=False)
    #: ``gemeente`` normalised (casefolded, single spaces) for portal scoping.
    gemeente_key: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    gebied: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: The date the application was submitted.
    submitted_at: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    granted_amount_cents: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(40), nullable=False)
    #: What is missing, when the status is ``aanvulling_nodig``.
    missing_items: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: A specific next step from the back office (the generic one lives in statuses.py).
    next_step: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_step_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    #: Argon2id hash of the verificatiecode; the code itself is never stored.
    code_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    amounts: Mapped[list[RequestedAmount]] = relationship(
        "RequestedAmount",
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="(RequestedAmount.jaar, RequestedAmount.thema)",
    )
    changes: Mapped[list[StatusChange]] = relationship(
        "StatusChange",
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="(StatusChange.at, StatusChange.id)",
    )

    def __repr__(self) -> str:  # never shows the code hash
        return f"<Application {self.aanvraagnummer} {self.gemeente} {self.status}>"


class RequestedAmount(Base):
    """Requested amount for one theme in one year."""

    __tablename__ = "status_requested_amounts"
    __table_args__ = (UniqueConstraint("application_id", "thema", "jaar", name="uq_status_amount"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("status_applications.id", ondelete="CASCADE"), nullable=False
    )
    thema: Mapped[str] = mapped_column(String(100), nullable=False)
    jaar: Mapped[int] = mapped_column(Integer, nullable=False)
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)

    application: Mapped[Application] = relationship("Application", back_populates="amounts")


class StatusChange(Base):
    """One status change as delivered by the back office (API, CSV import or demo data)."""

    __tablename__ = "status_changes"
    __table_args__ = (UniqueConstraint("application_id", "change_id", name="uq_status_change_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("status_applications.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    change_id: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(40), nullable=False)
    #: When the change happened in the back office (UTC).
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    #: 'api', 'csv' or 'demo'.
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    application: Mapped[Application] = relationship("Application", back_populates="changes")


class LookupAudit(Base):
    """Every lookup, without personal data: actors are keyed hashes, never raw ids."""

    __tablename__ = "status_lookup_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    #: 'public' or 'portal'.
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    #: Pseudonymous actor: ``c:<hash of conversation id>`` and optionally ``k:<hash of client>``.
    actor: Mapped[str] = mapped_column(String(80), nullable=False)
    #: The canonical number when well-formed, otherwise ``<ongeldig>``; ``*`` for a listing.
    aanvraagnummer: Mapped[str] = mapped_column(String(12), nullable=False)
    #: For the portal: the (verified) gemeente the lookup was scoped to.
    gemeente: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: 'ok', 'not_found' or 'locked'.
    result: Mapped[str] = mapped_column(String(12), nullable=False)


class LookupFailure(Base):
    """A failed public lookup, per rate-limit key; shared by all processes through the DB."""

    __tablename__ = "status_lookup_failures"
    __table_args__ = (Index("ix_status_lookup_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class CodeRef(Base):
    """A verificatiecode in transit from the gateway to the status action, sealed, for minutes.

    The gateway takes the code out of the user's message so that Rasa's tracker and helpdesk
    transcripts only ever see a placeholder; the action redeems the reference once."""

    __tablename__ = "status_code_refs"

    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)
