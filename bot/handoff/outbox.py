"""The helpdesk's outbox: every mail is stored here first, then sent by the worker
(bot/handoff/mailer.py), so a mail server that is down loses nothing.

Exactly once per mail: a mail gets its Message-ID when it is stored, and a worker takes it with
one conditional ``UPDATE … SET status='bezig', lease_until=…`` (of several workers on several
gateways exactly one wins). The worker records the result only while it still holds the mail.
A worker that stops mid-send (a restart, kill -9) leaves the mail ``bezig``; once the lease
ran out another attempt sends the same message, with the same Message-ID. The lease is longer
than a whole SMTP transaction (``KW_SMTP_TIMEOUT_S``), and a server takes a mail only with its
250 after DATA: a connection that died before that delivered nothing, so the retry is the one
copy (tests/integration/test_mail_outbox.py proves it with a real server and a killed worker).

The recipient is Fernet-encrypted like a ticket's contact (``KW_CONTACT_KEY``) and shown only
masked; log lines carry ids and states. Retention: a ticket's mails go with the ticket
(``ON DELETE CASCADE``), "gesprek wissen" deletes them at once, and mails without a ticket are
purged after the retention period (:meth:`Outbox.purge_outbox`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core import db
from bot.core.logs import log_event
from bot.handoff import mails, states
from bot.handoff.errors import NotAssigned, PermissionDenied, TicketClosed, TicketNotFound
from bot.handoff.models import (
    MAIL_ANTWOORD,
    MAIL_BEZIG,
    MAIL_MELDING,
    MAIL_MISLUKT,
    MAIL_STATUSES,
    MAIL_VERSTUURD,
    MAIL_WACHT,
    MESSAGE_MAX,
    ROLE_BEHEERDER,
    OutboxMail,
    Ticket,
)
from bot.handoff.privacy import EMAIL, mask_email
from bot.handoff.staff import StaffView
from bot.handoff.store import Store, TicketRef
from bot.handoff.values import clean_text as _clean_text
from bot.handoff.values import utc as _utc

log = logging.getLogger("bot.handoff.outbox")

#: The longest answer a mail carries (as a chat reply).
ANSWER_MAX = MESSAGE_MAX
#: A form's key that makes a resent form store nothing new.
KEY_MAX = 64


class NoEmailContact(TicketClosed):
    """The applicant left no e-mail address on this ticket (or it cannot be decrypted)."""


@dataclass(frozen=True)
class OutboxView:
    """A stored mail as the console's history shows it (no recipient, no body)."""

    id: int
    ticket_id: int | None
    kind: str
    recipient_masked: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    author: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    message_id: str

    @classmethod
    def from_model(cls, m: OutboxMail) -> OutboxView:
        return cls(
            id=m.id,
            ticket_id=m.ticket_id,
            kind=m.kind,
            recipient_masked=m.recipient_masked,
            subject=m.subject,
            status=m.status,
            attempts=m.attempts,
            next_attempt_at=m.next_attempt_at,
            last_error=m.last_error,
            author=m.author,
            created_at=m.created_at,
            sent_at=m.sent_at,
            message_id=m.message_id,
        )


@dataclass(frozen=True)
class ClaimedMail:
    """A mail a worker holds now: everything to compose it. ``repr`` hides recipient and body."""

    id: int
    ticket_id: int | None
    kind: str
    message_id: str
    recipient: str = field(repr=False)
    subject: str = field(repr=False)
    text: str = field(repr=False)
    html: str = field(repr=False)
    attempts: int
    created_at: dt.datetime


@dataclass(frozen=True)
class OutboxCounts:
    """For /metrics and the console: mails per status, and the oldest waiting one's age."""

    by_status: dict[str, int]
    oldest_waiting_s: float
    #: Waiting mails that failed at least once (the server is away, or refuses them).
    retrying: int


class Outbox(Store):
    # -- storing -----------------------------------------------------------------------------

    def _email_of(self, ticket: Ticket) -> str:
        if ticket.contact_kind != EMAIL or not ticket.contact_encrypted or self._cipher is None:
            raise NoEmailContact("Deze gebruiker heeft geen e-mailadres achtergelaten.")
        value = self._cipher.decrypt(ticket.contact_encrypted)
        if not value:
            raise NoEmailContact("Het e-mailadres bij deze vraag kan niet worden gelezen.")
        return value

    @staticmethod
    def _check_answer(ticket: Ticket, user: StaffView, answer_text: str) -> str:
        body = _clean_text(answer_text).strip()
        if not body:
            raise ValueError("een antwoord mag niet leeg zijn")
        if len(body) > ANSWER_MAX:
            raise ValueError(f"een antwoord heeft hoogstens {ANSWER_MAX} tekens")
        if ticket.state not in states.ACTIVE_STATES:
            raise TicketClosed(f"Bij een vraag met status '{states.label(ticket.state)}' kan geen e-mail meer.")
        if ticket.state in states.ASSIGNED_STATES and ticket.assigned_to != user.id and not user.is_beheerder:
            raise NotAssigned("Deze vraag wordt door een collega behandeld.")
        return body

    def preview_answer(
        self, ref: TicketRef, staff: StaffView, answer_text: str, *, helpdesk: str
    ) -> tuple[mails.MailContent, str]:
        """The answer mail as it would be sent, and the masked recipient; nothing is stored."""
        with self._session() as session:
            ticket = self._load(session, self._ticket_id(session, ref))
            self._staff(session, staff)
            body = self._check_answer(ticket, staff, answer_text)
            self._email_of(ticket)
            content = mails.answer(
                helpdesk, ticket.question, body, staff.display_name, mails.ticket_reference(ticket.public_id)
            )
            return content, ticket.contact_masked or ""

    def queue_answer(
        self,
        ref: TicketRef,
        staff: StaffView,
        answer_text: str,
        key: str,
        *,
        helpdesk: str,
        message_id: str,
        now: dt.datetime | None = None,
    ) -> tuple[OutboxView, bool]:
        """Store the answer mail to the applicant's e-mail address (encrypted). ``key`` comes
        from the form: the same key again (a double click, a resent form) stores nothing and
        returns the first mail. Returns the mail and whether it is new."""
        key = (key or "").strip()
        if not key or len(key) > KEY_MAX or not all(33 <= ord(ch) < 127 for ch in key):
            raise ValueError("een formuliersleutel van 1-64 zichtbare tekens is nodig")
        now = _utc(now)
        try:
            with self._session() as session:
                ticket_id = self._ticket_id(session, ref)
                dedupe = f"antwoord:{ticket_id}:{key}"
                existing = self._by_key(session, dedupe)
                if existing is not None:
                    return existing, False
                ticket = self._load(session, ticket_id)
                user = self._staff(session, staff)
                body = self._check_answer(ticket, staff, answer_text)
                recipient = self._email_of(ticket)
                content = mails.answer(
                    helpdesk, ticket.question, body, user.display_name, mails.ticket_reference(ticket.public_id)
                )
                row = self._add(session, ticket_id, MAIL_ANTWOORD, dedupe, message_id, recipient, content, now, user.id)
                row.author = user.display_name
                session.flush()
                view = OutboxView.from_model(row)
        except IntegrityError:  # the same key at the same moment from another process
            with self._session() as session:
                found = self._by_key(session, f"antwoord:{self._ticket_id(session, ref)}:{key}")
            if found is None:
                raise
            return found, False
        log_event(log, "outbox_mail_queued", mail=view.id, ticket=view.ticket_id, kind="answer")
        return view, True

    def queue_notification(
        self,
        ticket_id: int,
        dedupe: str,
        recipient: str,
        content: mails.MailContent,
        *,
        message_id: str,
        now: dt.datetime | None = None,
    ) -> OutboxView | None:
        """Store a notification to the team mailbox once per ``dedupe`` key (None when one was
        stored before)."""
        now = _utc(now)
        try:
            with self._session() as session:
                if self._by_key(session, dedupe) is not None:
                    return None
                row = self._add(session, ticket_id, MAIL_MELDING, dedupe, message_id, recipient, content, now, None)
                session.flush()
                view = OutboxView.from_model(row)
        except IntegrityError:
            return None
        log_event(log, "outbox_mail_queued", mail=view.id, ticket=ticket_id, kind="notification")
        return view

    def _add(
        self,
        session: Session,
        ticket_id: int | None,
        kind: str,
        dedupe: str,
        message_id: str,
        recipient: str,
        content: mails.MailContent,
        now: dt.datetime,
        staff_id: int | None,
    ) -> OutboxMail:
        if self._cipher is None:
            raise RuntimeError("geen sleutel om het e-mailadres te versleutelen")
        row = OutboxMail(
            ticket_id=ticket_id,
            kind=kind,
            dedupe_key=dedupe,
            message_id=message_id,
            recipient_encrypted=self._cipher.encrypt(recipient),
            recipient_masked=mask_email(recipient),
            subject=content.subject[:200],
            body_text=content.text,
            body_html=content.html,
            status=MAIL_WACHT,
            attempts=0,
            next_attempt_at=now,
            staff_id=staff_id,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        return row

    @staticmethod
    def _by_key(session: Session, dedupe: str) -> OutboxView | None:
        row = session.execute(select(OutboxMail).where(OutboxMail.dedupe_key == dedupe)).scalars().first()
        return OutboxView.from_model(row) if row is not None else None

    # -- the worker ----------------------------------------------------------------------------

    def claim_mail(self, worker: str, lease_s: float, now: dt.datetime | None = None) -> ClaimedMail | None:
        """Take the next mail that is due (waiting and its time has come, or ``bezig`` with a
        lease that ran out) for ``worker``; None when none is due. Of workers that try at the
        same moment exactly one gets a given mail."""
        now = _utc(now)
        due = or_(
            and_(OutboxMail.status == MAIL_WACHT, OutboxMail.next_attempt_at <= now),
            and_(OutboxMail.status == MAIL_BEZIG, OutboxMail.lease_until < now),
        )
        with self._session() as session:
            candidates = [
                i
                for (i,) in session.execute(
                    select(OutboxMail.id).where(due).order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(5)
                )
            ]
        for mail_id in candidates:
            with self._session() as session:
                taken = session.execute(
                    update(OutboxMail)
                    .where(OutboxMail.id == mail_id, due)
                    .values(
                        status=MAIL_BEZIG,
                        claimed_by=worker,
                        lease_until=now + dt.timedelta(seconds=lease_s),
                        attempts=OutboxMail.attempts + 1,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                if db.affected_rows(taken) != 1:
                    continue
                row = session.get(OutboxMail, mail_id, populate_existing=True)
                if row is None or self._cipher is None:
                    continue
                recipient = self._cipher.decrypt(row.recipient_encrypted)
                if recipient is None:  # another key: nothing any attempt can do
                    row.status, row.last_error, row.claimed_by, row.lease_until = (
                        MAIL_MISLUKT,
                        "Het e-mailadres kan niet worden gelezen (een andere sleutel).",
                        None,
                        None,
                    )
                    continue
                return ClaimedMail(
                    id=row.id,
                    ticket_id=row.ticket_id,
                    kind=row.kind,
                    message_id=row.message_id,
                    recipient=recipient,
                    subject=row.subject,
                    text=row.body_text,
                    html=row.body_html,
                    attempts=row.attempts,
                    created_at=row.created_at,
                )
        return None

    def _finish(self, mail_id: int, worker: str, values: dict[str, object]) -> bool:
        with self._session() as session:
            result = session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == mail_id, OutboxMail.status == MAIL_BEZIG, OutboxMail.claimed_by == worker)
                .values(claimed_by=None, lease_until=None, **values)
                .execution_options(synchronize_session=False)
            )
            return db.affected_rows(result) == 1

    def mail_sent(self, mail_id: int, worker: str, now: dt.datetime | None = None) -> bool:
        """The server accepted the mail. False when ``worker`` no longer held it."""
        now = _utc(now)
        return self._finish(mail_id, worker, {"status": MAIL_VERSTUURD, "sent_at": now, "updated_at": now})

    def mail_failed(
        self, mail_id: int, worker: str, reason: str, retry_at: dt.datetime | None, now: dt.datetime | None = None
    ) -> bool:
        """An attempt failed: wait until ``retry_at``, or give up (``retry_at`` None)."""
        now = _utc(now)
        values: dict[str, object] = {"last_error": reason[:300], "updated_at": now}
        if retry_at is None:
            values["status"] = MAIL_MISLUKT
        else:
            values.update(status=MAIL_WACHT, next_attempt_at=_utc(retry_at))
        return self._finish(mail_id, worker, values)

    def retry_mail(self, mail_id: int, staff: StaffView, now: dt.datetime | None = None) -> bool:
        """A medewerker tries a failed mail again (it waits for the worker once more)."""
        now = _utc(now)
        with self._session() as session:
            user = self._staff(session, staff)
            row = session.get(OutboxMail, mail_id)
            if row is None or row.ticket_id is None:
                raise TicketNotFound("Onbekende e-mail.")
            ticket = self._load(session, row.ticket_id)
            if ticket.assigned_to not in (None, user.id) and user.role != ROLE_BEHEERDER:
                raise PermissionDenied("Deze vraag wordt door een collega behandeld.")
            result = session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == mail_id, OutboxMail.status == MAIL_MISLUKT)
                .values(status=MAIL_WACHT, next_attempt_at=now, attempts=0, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            return db.affected_rows(result) == 1

    # -- reading -------------------------------------------------------------------------------

    def mails_for_ticket(self, ref: TicketRef) -> list[OutboxView]:
        with self._session() as session:
            ticket_id = self._ticket_id(session, ref)
            rows = session.execute(
                select(OutboxMail).where(OutboxMail.ticket_id == ticket_id).order_by(OutboxMail.id)
            ).scalars()
            return [OutboxView.from_model(r) for r in rows]

    def mail(self, mail_id: int) -> OutboxView | None:
        with self._session() as session:
            row = session.get(OutboxMail, mail_id)
            return OutboxView.from_model(row) if row is not None else None

    def outbox_counts(self, now: dt.datetime | None = None) -> OutboxCounts:
        now = _utc(now)
        with self._session() as session:
            by_status = dict.fromkeys(MAIL_STATUSES, 0)
            for status, count in session.execute(
                select(OutboxMail.status, func.count()).group_by(OutboxMail.status)
            ).all():
                by_status[status] = int(count)
            oldest = session.execute(
                select(func.min(OutboxMail.created_at)).where(OutboxMail.status.in_((MAIL_WACHT, MAIL_BEZIG)))
            ).scalar()
            retrying = session.execute(
                select(func.count()).where(OutboxMail.status == MAIL_WACHT, OutboxMail.attempts > 0)
            ).scalar()
        waited = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        return OutboxCounts(by_status, waited, int(retrying or 0))

    def failing_mails(self, limit: int = 20) -> list[tuple[OutboxView, str | None]]:
        """Answers that failed for good or wait after a failure, each with its ticket's public
        id (the console's queue page lists them)."""
        with self._session() as session:
            rows = session.execute(
                select(OutboxMail, Ticket.public_id)
                .outerjoin(Ticket, Ticket.id == OutboxMail.ticket_id)
                .where(
                    OutboxMail.kind == MAIL_ANTWOORD,
                    or_(
                        OutboxMail.status == MAIL_MISLUKT,
                        and_(OutboxMail.status == MAIL_WACHT, OutboxMail.attempts > 0),
                    ),
                )
                .order_by(OutboxMail.id.desc())
                .limit(limit)
            ).all()
            return [(OutboxView.from_model(row), public_id) for row, public_id in rows]

    # -- retention -----------------------------------------------------------------------------

    def purge_outbox(self, before: dt.datetime) -> int:
        """Delete sent or failed mails last changed before ``before`` (a ticket's mails also go
        with the ticket). Returns how many."""
        cutoff = _utc(before)
        with self._session() as session:
            result = session.execute(
                delete(OutboxMail)
                .where(OutboxMail.status.in_((MAIL_VERSTUURD, MAIL_MISLUKT)), OutboxMail.updated_at < cutoff)
                .execution_options(synchronize_session=False)
            )
            return db.affected_rows(result)


__all__ = ["ANSWER_MAX", "ClaimedMail", "NoEmailContact", "Outbox", "OutboxCounts", "OutboxView"]
