"""SQLAlchemy 1.4 models of the helpdesk handoff.

All tables start with ``handoff_`` and live in the app database next to the status store's
``status_`` tables, with their own metadata (``Base``) and Alembic history
(``bot/handoff/migrations``). Conventions are the status store's: datetimes are naive UTC
(:func:`bot.status.models.utcnow`), the schema is made by the migrations only.

Personal data:

* ``Ticket.question`` and user messages are stored with e-mail/phone/BSN/IBAN masked.
* ``Ticket.contact_masked`` is what the console shows (``j•••@example.nl``, ``06•••••678``);
  the reachable value is only in ``contact_encrypted`` (Fernet, key from the settings) and
  is never logged or shown in a repr.
* Staff passwords are Argon2id hashes; ``__repr__`` never shows them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.core.clock import utcnow
from bot.handoff import states


class Base(DeclarativeBase):
    """The metadata of the handoff tables (each package has its own, and its own migrations)."""


ROLE_MEDEWERKER = "medewerker"
ROLE_BEHEERDER = "beheerder"
#: Editors of the knowledge base: only the console's editors' page (bot/web/console/editors.py).
ROLE_REDACTEUR = "redacteur"
ROLES = (ROLE_MEDEWERKER, ROLE_BEHEERDER, ROLE_REDACTEUR)
#: Who works the helpdesk (queue, tickets, canned replies, console socket).
HELPDESK_ROLES = (ROLE_MEDEWERKER, ROLE_BEHEERDER)
#: Who reads the editors' page.
EDITOR_ROLES = (ROLE_REDACTEUR, ROLE_BEHEERDER)

SENDER_GEBRUIKER = "gebruiker"
SENDER_MEDEWERKER = "medewerker"
SENDER_ASSISTENT = "assistent"
SENDER_SYSTEEM = "systeem"
SENDERS = (SENDER_GEBRUIKER, SENDER_MEDEWERKER, SENDER_ASSISTENT, SENDER_SYSTEEM)
#: Who can cause a transition: a staff member (``staff_id`` set) or one of the others.
ACTORS = (SENDER_MEDEWERKER, SENDER_GEBRUIKER, SENDER_ASSISTENT, SENDER_SYSTEEM)

USERNAME_MAX = 50
DISPLAY_NAME_MAX = 80
QUESTION_MAX = 500
MESSAGE_MAX = 4000
CLIENT_MSG_ID_MAX = 64
CONVERSATION_ID_MAX = 255

_ACTIVE_SQL = "state IN (" + ", ".join(f"'{s}'" for s in states.ACTIVE_STATES) + ")"


def _in(column: str, values: Iterable[str]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class StaffUser(Base):
    __tablename__ = "handoff_staff_users"
    __table_args__ = (
        UniqueConstraint("username", name="uq_handoff_staff_users_username"),
        CheckConstraint(_in("role", ROLES), name="ck_handoff_staff_users_role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Lower case, ``[a-z0-9._-]``; what staff type to log in.
    username: Mapped[str] = mapped_column(String(USERNAME_MAX), nullable=False)
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_MAX), nullable=False)
    #: Argon2id (argon2-cffi), with its parameters in the hash string.
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default=ROLE_MEDEWERKER)
    #: Failed logins since the last success or lockout.
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: The demo account of a demo run; ``check_production`` refuses to start when one exists.
    is_demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    #: Sessions issued before this moment should be refused by the console.
    password_changed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    #: Raised by logout and deactivation: every session cookie issued before ends at once.
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    def __repr__(self) -> str:  # never the hash
        return f"<StaffUser {self.id} {self.username} {self.role}{' demo' if self.is_demo else ''}>"


class Ticket(Base):
    __tablename__ = "handoff_tickets"
    __table_args__ = (
        UniqueConstraint("public_id", name="uq_handoff_tickets_public_id"),
        CheckConstraint(_in("state", states.STATES), name="ck_handoff_tickets_state"),
        # At most one open ticket per conversation, also when two processes create one at once.
        Index(
            "uq_handoff_tickets_active_conversation",
            "conversation_id",
            unique=True,
            postgresql_where=text(_ACTIVE_SQL),
            sqlite_where=text(_ACTIVE_SQL),
        ),
        Index("ix_handoff_tickets_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Random, unguessable id used in URLs and by the widget (``secrets.token_urlsafe(16)``).
    public_id: Mapped[str] = mapped_column(String(32), nullable=False)
    #: Rasa sender id of the conversation.
    conversation_id: Mapped[str] = mapped_column(String(CONVERSATION_ID_MAX), nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default=states.WACHTRIJ)
    #: The question in one sentence, as the user gave it (personal data masked).
    question: Mapped[str] = mapped_column(Text, nullable=False)
    #: 'email' or 'telefoon' when the user left a way to reach them.
    contact_kind: Mapped[str | None] = mapped_column(String(10), nullable=True)
    #: For display: ``j•••@example.nl`` / ``06•••••678``.
    contact_masked: Mapped[str | None] = mapped_column(String(120), nullable=True)
    #: The reachable value, Fernet-encrypted; read only through HandoffService.contact_for.
    contact_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Verified gemeente (portal token), if any.
    gemeente: Mapped[str | None] = mapped_column(String(100), nullable=True)
    consent_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    assigned_to: Mapped[int | None] = mapped_column(
        Integer,
        ForeignKey("handoff_staff_users.id", ondelete="SET NULL"),
        nullable=True,
        index=True,
    )
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    live_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    returned_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: Highest message seq of this ticket; bumped under the row lock for every message.
    last_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    assignee: Mapped[StaffUser | None] = relationship("StaffUser", lazy="joined")
    events: Mapped[list[TicketEvent]] = relationship(
        "TicketEvent",
        back_populates="ticket",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TicketEvent.id",
    )
    messages: Mapped[list[TicketMessage]] = relationship(
        "TicketMessage",
        back_populates="ticket",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TicketMessage.seq",
    )
    notes: Mapped[list[Note]] = relationship(
        "Note",
        back_populates="ticket",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Note.id",
    )

    def __repr__(self) -> str:  # no question, no contact
        return f"<Ticket {self.id} {self.state}>"


class TicketEvent(Base):
    """One transition of a ticket (creation has ``from_state`` None)."""

    __tablename__ = "handoff_ticket_events"
    __table_args__ = (CheckConstraint(_in("actor", ACTORS), name="ck_handoff_ticket_events_actor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("handoff_tickets.id", ondelete="CASCADE"), nullable=False, index=True
    )
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    #: 'medewerker' (then ``staff_id`` is set), 'gebruiker', 'assistent' or 'systeem'.
    actor: Mapped[str] = mapped_column(String(20), nullable=False)
    staff_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("handoff_staff_users.id", ondelete="SET NULL"), nullable=True
    )
    #: Display name at the time (history stays readable when an account is removed).
    actor_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    ticket: Mapped[Ticket] = relationship("Ticket", back_populates="events")


class TicketMessage(Base):
    """One message of the conversation, transcript and live chat alike."""

    __tablename__ = "handoff_messages"
    __table_args__ = (
        UniqueConstraint("ticket_id", "seq", name="uq_handoff_messages_seq"),
        UniqueConstraint("ticket_id", "client_msg_id", name="uq_handoff_messages_client_msg_id"),
        CheckConstraint(_in("sender", SENDERS), name="ck_handoff_messages_sender"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("handoff_tickets.id", ondelete="CASCADE"), nullable=False
    )
    #: 1, 2, 3, … per ticket, without gaps: "everything after seq N" on reconnect.
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    sender: Mapped[str] = mapped_column(String(12), nullable=False)
    #: Display name of the author (staff name, 'Assistent', 'U' …).
    author: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX), nullable=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    #: Id chosen by the sending client; a resent message with the same id is stored once.
    client_msg_id: Mapped[str | None] = mapped_column(String(CLIENT_MSG_ID_MAX), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    ticket: Mapped[Ticket] = relationship("Ticket", back_populates="messages")


class Note(Base):
    """Internal note of staff on a ticket; never shown to the user."""

    __tablename__ = "handoff_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("handoff_tickets.id", ondelete="CASCADE"), nullable=False, index=True
    )
    staff_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("handoff_staff_users.id", ondelete="SET NULL"), nullable=True
    )
    author: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX), nullable=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    ticket: Mapped[Ticket] = relationship("Ticket", back_populates="notes")


class CannedReply(Base):
    """A standard answer staff can insert (managed by a beheerder)."""

    __tablename__ = "handoff_canned_replies"
    __table_args__ = (UniqueConstraint("title", name="uq_handoff_canned_replies_title"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


MAIL_ANTWOORD = "antwoord"  # a medewerker's answer to the applicant
MAIL_MELDING = "melding"  # a notification to the helpdesk's team mailbox
MAIL_KINDS = (MAIL_ANTWOORD, MAIL_MELDING)
MAIL_WACHT = "wacht"  # stored, waiting for (another) attempt
MAIL_BEZIG = "bezig"  # a worker is sending it (until ``lease_until``)
MAIL_VERSTUURD = "verstuurd"  # the mail server accepted it
MAIL_MISLUKT = "mislukt"  # given up: refused for good, or too many attempts
MAIL_STATUSES = (MAIL_WACHT, MAIL_BEZIG, MAIL_VERSTUURD, MAIL_MISLUKT)


class OutboxMail(Base):
    """One mail of the helpdesk's outbox (bot/handoff/outbox.py): stored before it is sent, sent
    by a worker (bot/handoff/mailer.py) at most once per attempt, under its one Message-ID.

    The recipient is only in ``recipient_encrypted`` (Fernet, as a ticket's contact); the body
    is what the medewerker saw in the preview: the masked question and the answer as typed."""

    __tablename__ = "handoff_outbox"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_handoff_outbox_message_id"),
        UniqueConstraint("dedupe_key", name="uq_handoff_outbox_dedupe_key"),
        CheckConstraint(_in("status", MAIL_STATUSES), name="ck_handoff_outbox_status"),
        CheckConstraint(_in("kind", MAIL_KINDS), name="ck_handoff_outbox_kind"),
        Index("ix_handoff_outbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("handoff_tickets.id", ondelete="CASCADE"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    #: One mail per purpose: a resent form (the same key) or a second notification stores nothing.
    dedupe_key: Mapped[str] = mapped_column(String(120), nullable=False)
    #: ``<kw.…@domain>``, made once: every attempt sends the same message.
    message_id: Mapped[str] = mapped_column(String(255), nullable=False)
    recipient_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    #: For display and logs: ``j•••@g•••.nl``.
    recipient_masked: Mapped[str] = mapped_column(String(120), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default=MAIL_WACHT)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    #: While ``bezig``: which worker sends it, and until when (after that another may retry).
    claimed_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: The last failure, in Dutch, without personal data (bot/mail/smtp.py).
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("handoff_staff_users.id", ondelete="SET NULL"), nullable=True
    )
    author: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    def __repr__(self) -> str:  # no recipient, no body
        return f"<OutboxMail {self.id} {self.kind} {self.status}>"
