"""What the gateway, the console and the Rasa actions call: tickets, transitions, messages.

Every method runs in its own short transaction on the app database and returns plain frozen
dataclasses (never ORM objects), so callers can hand them across threads and to templates.
Methods are synchronous; the aiohttp gateway runs them in an executor.

Concurrency (several gateways and action servers share the database):

* ``claim`` is one conditional ``UPDATE … SET state='opgepakt' WHERE id=… AND
  state='wachtrij'``; exactly one of any number of simultaneous claims changes a row, the
  others get :class:`AlreadyClaimed`. The same staff member claiming twice (double click) gets
  the ticket back without a second event.
* Every other transition is validated by :mod:`bot.handoff.states` and applied with ``… AND
  state=<the state it was validated against>``; a ticket changed meanwhile gives
  :class:`TicketConflict` instead of a wrong transition.
* ``add_message`` first bumps ``handoff_tickets.last_seq`` (a row lock on PostgreSQL, the write
  lock on SQLite), so seqs are gapless and strictly increasing per ticket and the check for a
  resent ``client_msg_id`` cannot race.
* At most one active ticket per conversation (partial unique index); ``create_ticket`` for a
  conversation that already has one returns that one.

Personal data: the question and every user message are masked
(:func:`bot.handoff.privacy.mask_text`) before they are stored; the contact is stored masked for
display and Fernet-encrypted for reaching the user (:meth:`HandoffService.contact_for`). Log
lines carry ticket ids and states only.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core import db
from bot.handoff import states
from bot.handoff.models import (
    CLIENT_MSG_ID_MAX,
    CONVERSATION_ID_MAX,
    MESSAGE_MAX,
    QUESTION_MAX,
    ROLE_BEHEERDER,
    SENDER_ASSISTENT,
    SENDER_GEBRUIKER,
    SENDER_MEDEWERKER,
    SENDER_SYSTEEM,
    SENDERS,
    CannedReply,
    Note,
    StaffUser,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from bot.handoff.privacy import ContactCipher, mask_text, normalize_contact
from bot.handoff.staff import PermissionDenied, StaffView
from bot.handoff.states import InvalidTransition  # noqa: F401 - part of this module's API
from bot.core.clock import utcnow

log = logging.getLogger(__name__)

#: A ticket: its public id (str), its internal id (int) or a view.
TicketRef = Union[str, int, "TicketView"]
#: Who acts: a staff member (view or id) or 'gebruiker' / 'assistent' / 'systeem'.
Actor = Union[StaffView, int, str]

_SENDER_ALIASES = {
    "gebruiker": SENDER_GEBRUIKER, "user": SENDER_GEBRUIKER,
    "assistent": SENDER_ASSISTENT, "bot": SENDER_ASSISTENT,
    "medewerker": SENDER_MEDEWERKER, "agent": SENDER_MEDEWERKER,
    "systeem": SENDER_SYSTEEM, "system": SENDER_SYSTEEM,
}
#: In which states a sender may add messages.
_MESSAGE_STATES = {
    SENDER_GEBRUIKER: states.ACTIVE_STATES,
    SENDER_ASSISTENT: states.ACTIVE_STATES,
    SENDER_MEDEWERKER: states.ASSIGNED_STATES,
    SENDER_SYSTEEM: states.STATES,
}
#: The timestamp column set by a transition into each state.
_STAMP = {
    states.OPGEPAKT: "claimed_at",
    states.LIVE: "live_at",
    states.TERUGGEGEVEN: "returned_at",
    states.AFGEROND: "closed_at",
}
MAX_TRANSCRIPT = 500
MAX_PAGE = 1000


# ------------------------------------------------------------------------------ errors

class HandoffError(Exception):
    """Base class; messages are Dutch and contain no personal data."""


#: What an erased ticket shows instead of the user's question.
ERASED_QUESTION = "(De gebruiker heeft het gesprek gewist.)"


class TicketNotFound(HandoffError, LookupError):
    pass


class TicketConflict(HandoffError):
    """The ticket changed meanwhile (another staff member or process was first)."""

    def __init__(self, message: str, ticket: Optional["TicketView"] = None):
        super().__init__(message)
        self.ticket = ticket


class AlreadyClaimed(TicketConflict):
    """Someone else picked up the ticket first; ``ticket`` shows who (``assigned_name``)."""


class NotAssigned(HandoffError, PermissionError):
    """The staff member is not the one handling this ticket (and is no beheerder)."""


class TicketClosed(HandoffError):
    """The ticket's state does not accept this message any more."""


class UnknownStaff(HandoffError, LookupError):
    pass


# ------------------------------------------------------------------------------ views

def _iso(value: Optional[dt.datetime]) -> Optional[str]:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


@dataclass(frozen=True)
class TicketView:
    id: int
    public_id: str
    conversation_id: str
    state: str
    question: str
    contact_kind: Optional[str]
    contact_masked: Optional[str]
    gemeente: Optional[str]
    consent_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    assigned_to: Optional[int]
    assigned_name: Optional[str]
    claimed_at: Optional[dt.datetime]
    live_at: Optional[dt.datetime]
    returned_at: Optional[dt.datetime]
    closed_at: Optional[dt.datetime]
    last_seq: int

    @property
    def state_label(self) -> str:
        return states.label(self.state)

    @property
    def topic(self) -> str:
        return self.question

    @property
    def is_active(self) -> bool:
        return states.is_active(self.state)

    @property
    def is_final(self) -> bool:
        return states.is_final(self.state)

    @property
    def has_contact(self) -> bool:
        return self.contact_kind is not None

    def waiting_s(self, now: Optional[dt.datetime] = None) -> int:
        """Seconds since creation (until claimed, when it was)."""
        end = self.claimed_at or _utc(now)
        return max(0, int((end - self.created_at).total_seconds()))

    @classmethod
    def from_model(cls, t: Ticket) -> "TicketView":
        return cls(
            id=t.id, public_id=t.public_id, conversation_id=t.conversation_id, state=t.state,
            question=t.question, contact_kind=t.contact_kind, contact_masked=t.contact_masked,
            gemeente=t.gemeente, consent_at=t.consent_at, created_at=t.created_at,
            updated_at=t.updated_at, assigned_to=t.assigned_to,
            assigned_name=t.assignee.display_name if t.assignee is not None else None,
            claimed_at=t.claimed_at, live_at=t.live_at, returned_at=t.returned_at,
            closed_at=t.closed_at, last_seq=t.last_seq or 0,
        )

    def to_dict(self, internal: bool = False) -> Dict[str, Any]:
        """JSON-ready; without the internal id and the conversation id unless ``internal``."""
        out = {
            "id": self.public_id, "status": self.state, "status_label": self.state_label,
            "vraag": self.question, "contact": self.contact_masked,
            "contact_soort": self.contact_kind, "gemeente": self.gemeente,
            "aangemaakt": _iso(self.created_at), "toestemming": _iso(self.consent_at),
            "medewerker": self.assigned_name, "opgepakt": _iso(self.claimed_at),
            "live": _iso(self.live_at), "teruggegeven": _iso(self.returned_at),
            "afgerond": _iso(self.closed_at), "laatste_seq": self.last_seq,
        }
        if internal:
            out.update(ticket_id=self.id, conversation_id=self.conversation_id,
                       assigned_to=self.assigned_to)
        return out

    def __repr__(self) -> str:
        return f"TicketView(id={self.id}, public_id={self.public_id!r}, state={self.state!r})"


@dataclass(frozen=True)
class MessageView:
    ticket_id: int
    seq: int
    sender: str
    author: Optional[str]
    text: str
    client_msg_id: Optional[str]
    at: dt.datetime

    @classmethod
    def from_model(cls, m: TicketMessage) -> "MessageView":
        return cls(ticket_id=m.ticket_id, seq=m.seq, sender=m.sender, author=m.author,
                   text=m.text, client_msg_id=m.client_msg_id, at=m.at)

    def to_dict(self) -> Dict[str, Any]:
        return {"seq": self.seq, "afzender": self.sender, "auteur": self.author,
                "tekst": self.text, "client_msg_id": self.client_msg_id, "tijd": _iso(self.at)}


@dataclass(frozen=True)
class EventView:
    from_state: Optional[str]
    to_state: str
    at: dt.datetime
    actor: str
    staff_id: Optional[int]
    actor_name: Optional[str]
    reason: Optional[str]

    @classmethod
    def from_model(cls, e: TicketEvent) -> "EventView":
        return cls(from_state=e.from_state, to_state=e.to_state, at=e.at, actor=e.actor,
                   staff_id=e.staff_id, actor_name=e.actor_name, reason=e.reason)


@dataclass(frozen=True)
class NoteView:
    id: int
    staff_id: Optional[int]
    author: Optional[str]
    text: str
    at: dt.datetime

    @classmethod
    def from_model(cls, n: Note) -> "NoteView":
        return cls(id=n.id, staff_id=n.staff_id, author=n.author, text=n.text, at=n.at)


@dataclass(frozen=True)
class QueueItem:
    """A waiting ticket as the queue shows it."""

    public_id: str
    topic: str
    gemeente: Optional[str]
    created_at: dt.datetime
    waiting_s: int
    has_contact: bool
    ticket_id: int

    def to_dict(self) -> Dict[str, Any]:
        return {"id": self.public_id, "onderwerp": self.topic, "gemeente": self.gemeente,
                "aangemaakt": _iso(self.created_at), "wachttijd_s": self.waiting_s,
                "contact": self.has_contact}


@dataclass(frozen=True)
class CannedReplyView:
    id: int
    title: str
    text: str


@dataclass(frozen=True)
class TicketDetail:
    ticket: TicketView
    messages: Tuple[MessageView, ...]
    events: Tuple[EventView, ...]
    notes: Tuple[NoteView, ...] = field(default=())


# ------------------------------------------------------------------------------ helpers

def _utc(value: Union[dt.datetime, float, int, None]) -> dt.datetime:
    """Naive UTC (the storage convention). Naive input is taken to be UTC already;
    numbers are Unix timestamps (as in Rasa tracker events)."""
    if value is None:
        return utcnow()
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc).replace(tzinfo=None)
    if value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _sender(value: str) -> str:
    sender = _SENDER_ALIASES.get(str(value).strip().lower()) if value is not None else None
    if sender is None:
        raise ValueError(f"onbekende afzender {value!r}; kies uit {', '.join(SENDERS)}")
    return sender


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _clean_text(text: Optional[str]) -> str:
    """Strip, drop NULs and other control characters except newlines and tabs."""
    if text is None:
        return ""
    cleaned = "".join(ch for ch in str(text) if ch in "\n\t" or (ord(ch) >= 32 and ch != "\x7f"))
    return cleaned.strip()


def _transcript_rows(transcript: Iterable[Any]) -> List[Tuple[str, str, Any]]:
    rows: List[Tuple[str, str, Any]] = []
    for item in transcript or ():
        if isinstance(item, dict):
            sender, text, at = item.get("sender"), item.get("text"), item.get("at")
        else:
            item = tuple(item)
            if len(item) not in (2, 3):
                raise ValueError("transcriptregel: verwacht (afzender, tekst[, tijd])")
            sender, text, at = (item + (None,))[:3]
        text = _clean_text(text)
        if text:
            rows.append((_sender(sender), text, at))
    return rows[-MAX_TRANSCRIPT:]


# ------------------------------------------------------------------------------ service

class HandoffService:
    """Tickets in the app database (tables made by :func:`bot.migrations.upgrade`).

    ``contact_key`` is one Fernet key or a list, newest first (``KW_CONTACT_KEY``); without one,
    ``create_ticket`` refuses a contact.
    """

    def __init__(self, database: Union[str, Engine], timeout_s: float = 1.5, *,
                 contact_key=None):
        self.engine = db.get_engine(database, timeout_s) if isinstance(database, str) else database
        self._cipher = ContactCipher(contact_key) if contact_key else None

    @classmethod
    def from_settings(cls, settings) -> "HandoffService":
        return cls(settings.database_url, settings.db_timeout_s, contact_key=list(settings.contact_keys))

    def _session(self):
        return db.session_scope(self.engine)

    # ------------------------------------------------------------------ lookups

    @staticmethod
    def _ticket_id(session: Session, ref: TicketRef) -> int:
        if isinstance(ref, TicketView):
            return ref.id
        if isinstance(ref, bool):
            raise TicketNotFound("Onbekend ticket.")
        if isinstance(ref, int):
            return ref
        if isinstance(ref, str) and 0 < len(ref) <= 64:
            found = session.execute(
                select(Ticket.id).where(Ticket.public_id == ref)).scalar()
            if found is not None:
                return found
        raise TicketNotFound("Onbekend ticket.")

    @staticmethod
    def _load(session: Session, ticket_id: int, fresh: bool = False) -> Ticket:
        ticket = session.get(Ticket, ticket_id, populate_existing=fresh)
        if ticket is None:
            raise TicketNotFound("Onbekend ticket.")
        return ticket

    @staticmethod
    def _staff(session: Session, ref: Union[StaffView, int]) -> StaffUser:
        staff_id = ref.id if isinstance(ref, StaffView) else ref
        user = session.get(StaffUser, staff_id) if isinstance(staff_id, int) else None
        if user is None or not user.is_active:
            raise UnknownStaff("Onbekende of uitgeschakelde medewerker.")
        return user

    def _actor(self, session: Session, actor: Actor) -> Tuple[str, Optional[StaffUser]]:
        if isinstance(actor, (StaffView, int)) and not isinstance(actor, bool):
            return SENDER_MEDEWERKER, self._staff(session, actor)
        if actor in (SENDER_GEBRUIKER, SENDER_ASSISTENT, SENDER_SYSTEEM):
            return actor, None
        raise ValueError(f"onbekende actor {actor!r}")

    @staticmethod
    def _event(session: Session, ticket_id: int, from_state: Optional[str], to_state: str,
               actor: str, staff: Optional[StaffUser], at: dt.datetime,
               reason: Optional[str] = None) -> None:
        session.add(TicketEvent(
            ticket_id=ticket_id, from_state=from_state, to_state=to_state, at=at, actor=actor,
            staff_id=staff.id if staff is not None else None,
            actor_name=staff.display_name if staff is not None else None,
            reason=_clip(_clean_text(reason), 1000) if reason else None,
        ))

    def get_ticket(self, ref: TicketRef) -> TicketView:
        with self._session() as session:
            return TicketView.from_model(self._load(session, self._ticket_id(session, ref)))

    def find_ticket(self, ref: TicketRef) -> Optional[TicketView]:
        try:
            return self.get_ticket(ref)
        except TicketNotFound:
            return None

    def ticket_detail(self, ref: TicketRef) -> TicketDetail:
        """The ticket with its full transcript, events and internal notes (for the console)."""
        with self._session() as session:
            ticket = self._load(session, self._ticket_id(session, ref))
            return TicketDetail(
                ticket=TicketView.from_model(ticket),
                messages=tuple(MessageView.from_model(m) for m in ticket.messages),
                events=tuple(EventView.from_model(e) for e in ticket.events),
                notes=tuple(NoteView.from_model(n) for n in ticket.notes),
            )

    def active_ticket_for_conversation(self, conversation_id: str) -> Optional[TicketView]:
        """The ticket of this conversation that is still waiting, assigned or live, if any."""
        if not conversation_id:
            return None
        with self._session() as session:
            ticket = session.execute(
                select(Ticket).where(Ticket.conversation_id == conversation_id,
                                     Ticket.state.in_(states.ACTIVE_STATES))
                .order_by(Ticket.id.desc())
            ).scalars().first()
            return TicketView.from_model(ticket) if ticket else None

    def tickets_for_conversation(self, conversation_id: str) -> List[TicketView]:
        with self._session() as session:
            rows = session.execute(
                select(Ticket).where(Ticket.conversation_id == conversation_id)
                .order_by(Ticket.id)).scalars()
            return [TicketView.from_model(t) for t in rows]

    def queue(self, now: Optional[dt.datetime] = None, limit: int = 200) -> List[QueueItem]:
        """Waiting tickets, oldest first, with their waiting time and topic."""
        now = _utc(now)
        with self._session() as session:
            rows = session.execute(
                select(Ticket.id, Ticket.public_id, Ticket.question, Ticket.gemeente,
                       Ticket.created_at, Ticket.contact_kind)
                .where(Ticket.state == states.WACHTRIJ)
                .order_by(Ticket.created_at, Ticket.id).limit(limit)
            ).all()
        return [
            QueueItem(public_id=r.public_id, topic=r.question, gemeente=r.gemeente,
                      created_at=r.created_at,
                      waiting_s=max(0, int((now - r.created_at).total_seconds())),
                      has_contact=r.contact_kind is not None, ticket_id=r.id)
            for r in rows
        ]

    def active_tickets(self, staff: Optional[Union[StaffView, int]] = None) -> List[TicketView]:
        """Tickets that are picked up or live (of one staff member when given), oldest first."""
        with self._session() as session:
            stmt = select(Ticket).where(Ticket.state.in_(states.ASSIGNED_STATES))
            if staff is not None:
                stmt = stmt.where(Ticket.assigned_to == (
                    staff.id if isinstance(staff, StaffView) else staff))
            rows = session.execute(stmt.order_by(Ticket.created_at, Ticket.id)).scalars()
            return [TicketView.from_model(t) for t in rows]

    def contact_for(self, ref: TicketRef, staff: Union[StaffView, int]) -> Optional[str]:
        """The contact value to reach the user (decrypted), only for the medewerker the ticket
        is assigned to or a beheerder (PermissionDenied otherwise). Never log it."""
        with self._session() as session:
            ticket = session.get(Ticket, self._ticket_id(session, ref))
            user = session.get(StaffUser, staff.id if isinstance(staff, StaffView) else staff)
            if ticket is None:
                raise TicketNotFound("Onbekend ticket.")
            if user is None or not user.is_active or (
                    user.role != ROLE_BEHEERDER and ticket.assigned_to != user.id):
                raise PermissionDenied("Alleen de medewerker die deze vraag heeft opgepakt, of een "
                                       "beheerder, mag de contactgegevens zien.")
            token = ticket.contact_encrypted
        if not token or self._cipher is None:
            return None
        return self._cipher.decrypt(token)

    # ------------------------------------------------------------------ creation

    def set_contact(self, ref: TicketRef, contact: Optional[str]) -> bool:
        """Store how to reach the user on an open ticket (masked for display, encrypted).

        The gateway calls this with the text the user typed when asked for a contact: the
        action server only ever sees that text masked. Returns False when the text is no
        usable e-mail address or phone number (the ticket is left as it is).
        """
        try:
            parsed = normalize_contact(contact)
        except ValueError:
            return False
        if parsed is None or self._cipher is None:
            return False
        with self._session() as session:
            ticket = self._load(session, self._ticket_id(session, ref))
            if ticket.state in states.FINAL_STATES:
                return False
            ticket.contact_kind = parsed.kind
            ticket.contact_masked = parsed.masked
            ticket.contact_encrypted = self._cipher.encrypt(parsed.value)
        return True

    def create_ticket(self, conversation_id: str, question: str, contact: Optional[str] = None,
                      gemeente: Optional[str] = None, transcript: Sequence[Any] = (), *,
                      consent_at: Optional[dt.datetime] = None,
                      now: Optional[dt.datetime] = None) -> TicketView:
        """A new ticket in the wachtrij, with the transcript stored as its first messages.

        ``transcript``: ``(sender, text, at)`` tuples (or dicts with those keys), oldest first;
        sender ``gebruiker``/``user``, ``assistent``/``bot``, ``medewerker``, ``systeem``; ``at``
        a datetime (naive = UTC) or a Unix timestamp. When the conversation already has an
        active ticket, that ticket is returned unchanged. Raises ValueError for an empty
        question and :class:`bot.handoff.privacy.InvalidContact` for an unusable contact.
        """
        conversation_id = (conversation_id or "").strip()
        if not conversation_id or len(conversation_id) > CONVERSATION_ID_MAX:
            raise ValueError("een gesprek-id (1-255 tekens) is nodig")
        text = _clip(mask_text(_clean_text(question)), QUESTION_MAX)
        if not text:
            raise ValueError("de vraag is leeg")
        parsed = normalize_contact(contact)
        if parsed is not None and self._cipher is None:
            raise RuntimeError("geen sleutel om contactgegevens te versleutelen")
        rows = _transcript_rows(transcript)
        now = _utc(now)
        existing = self.active_ticket_for_conversation(conversation_id)
        if existing is not None:
            return existing
        try:
            with self._session() as session:
                ticket = Ticket(
                    public_id=secrets.token_urlsafe(16), conversation_id=conversation_id,
                    state=states.WACHTRIJ, question=text,
                    contact_kind=parsed.kind if parsed else None,
                    contact_masked=parsed.masked if parsed else None,
                    contact_encrypted=self._cipher.encrypt(parsed.value) if parsed else None,
                    gemeente=_clip(_clean_text(gemeente), 100) or None,
                    consent_at=_utc(consent_at) if consent_at is not None else now,
                    created_at=now, updated_at=now, last_seq=len(rows),
                )
                session.add(ticket)
                session.flush()
                for seq, (sender, body, at) in enumerate(rows, start=1):
                    if sender == SENDER_GEBRUIKER:
                        body = mask_text(body)
                    session.add(TicketMessage(
                        ticket_id=ticket.id, seq=seq, sender=sender, text=_clip(body, MESSAGE_MAX),
                        at=_utc(at) if at is not None else now,
                    ))
                self._event(session, ticket.id, None, states.WACHTRIJ, SENDER_GEBRUIKER, None, now)
                session.flush()
                view = TicketView.from_model(ticket)
        except IntegrityError:
            # Another process created the conversation's ticket at the same moment.
            existing = self.active_ticket_for_conversation(conversation_id)
            if existing is None:
                raise
            return existing
        log.info("handoff ticket %s created (%d transcript messages)", view.id, len(rows))
        return view

    # ------------------------------------------------------------------ transitions

    def claim(self, ticket: TicketRef, staff: Union[StaffView, int], *,
              now: Optional[dt.datetime] = None) -> TicketView:
        """Pick up a waiting ticket. Race-safe: of simultaneous claims exactly one wins; the
        others get :class:`AlreadyClaimed` (with the winner in ``ticket.assigned_name``)."""
        now = _utc(now)
        with self._session() as session:
            ticket_id = self._ticket_id(session, ticket)
            user = self._staff(session, staff)
            result = session.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id, Ticket.state == states.WACHTRIJ)
                .values(state=states.OPGEPAKT, assigned_to=user.id, claimed_at=now,
                        updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                self._event(session, ticket_id, states.WACHTRIJ, states.OPGEPAKT,
                            SENDER_MEDEWERKER, user, now)
                session.flush()
                view = TicketView.from_model(self._load(session, ticket_id, fresh=True))
                log.info("handoff ticket %s claimed by staff %s", ticket_id, user.id)
                return view
            current = TicketView.from_model(self._load(session, ticket_id, fresh=True))
        if current.state in states.ASSIGNED_STATES and current.assigned_to == user.id:
            return current  # a double click by the same person
        if current.state in states.ASSIGNED_STATES:
            raise AlreadyClaimed(
                f"Deze vraag is al opgepakt door {current.assigned_name or 'een collega'}.",
                current,
            )
        raise InvalidTransition(current.state, states.OPGEPAKT)

    def _transition(self, ref: TicketRef, to_state: str, actor: Actor, *,
                    reason: Optional[str] = None, now: Optional[dt.datetime] = None
                    ) -> TicketView:
        now = _utc(now)
        with self._session() as session:
            ticket_id = self._ticket_id(session, ref)
            kind, user = self._actor(session, actor)
            ticket = self._load(session, ticket_id)
            from_state = ticket.state
            states.validate_transition(from_state, to_state)
            if (user is not None and from_state in states.ASSIGNED_STATES
                    and ticket.assigned_to != user.id and user.role != ROLE_BEHEERDER):
                raise NotAssigned("Deze vraag wordt door een collega behandeld.")
            if kind == SENDER_GEBRUIKER and to_state == states.LIVE:
                raise PermissionDenied("Alleen een medewerker kan het gesprek overnemen.")
            values: Dict[str, Any] = {"state": to_state, "updated_at": now,
                                      _STAMP[to_state]: now}
            if to_state == states.LIVE and ticket.assigned_to is None and user is not None:
                values["assigned_to"] = user.id
            result = session.execute(
                update(Ticket).where(Ticket.id == ticket_id, Ticket.state == from_state)
                .values(**values).execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                current = TicketView.from_model(self._load(session, ticket_id, fresh=True))
                raise TicketConflict(
                    f"De vraag is intussen gewijzigd (nu: {current.state_label}).", current)
            self._event(session, ticket_id, from_state, to_state, kind, user, now, reason)
            session.flush()
            view = TicketView.from_model(self._load(session, ticket_id, fresh=True))
        log.info("handoff ticket %s: %s -> %s (%s)", ticket_id, from_state, to_state, kind)
        return view

    def go_live(self, ticket: TicketRef, staff: Union[StaffView, int], *,
                now: Optional[dt.datetime] = None) -> TicketView:
        """opgepakt → live: the staff member takes over the conversation (pause Rasa)."""
        if isinstance(staff, str):
            raise ValueError("go_live needs a staff member")
        return self._transition(ticket, states.LIVE, staff, now=now)

    def hand_back(self, ticket: TicketRef, actor: Actor, *, reason: Optional[str] = None,
                  now: Optional[dt.datetime] = None) -> TicketView:
        """opgepakt/live → teruggegeven: back to the assistant (resume Rasa)."""
        return self._transition(ticket, states.TERUGGEGEVEN, actor, reason=reason, now=now)

    def close(self, ticket: TicketRef, actor: Actor, *, reason: Optional[str] = None,
              now: Optional[dt.datetime] = None) -> TicketView:
        """wachtrij/opgepakt/live → afgerond (from wachtrij: closed without contact)."""
        return self._transition(ticket, states.AFGEROND, actor, reason=reason, now=now)

    def events(self, ref: TicketRef) -> List[EventView]:
        with self._session() as session:
            ticket_id = self._ticket_id(session, ref)
            rows = session.execute(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.id)).scalars()
            return [EventView.from_model(e) for e in rows]

    # ------------------------------------------------------------------ messages

    def add_message(self, ticket: TicketRef, sender: str, author: Optional[str], text: str,
                    client_msg_id: Optional[str] = None, *, mask: Optional[bool] = None,
                    now: Optional[dt.datetime] = None) -> MessageView:
        """Store a message and return it with its seq. With a ``client_msg_id`` that this ticket
        already has, nothing is stored and the earlier message is returned (resends).

        User messages are masked (``mask`` overrides). Raises :class:`TicketClosed` when the
        ticket's state does not take messages from ``sender`` (e.g. a medewerker in the
        wachtrij, anyone but 'systeem' after afgerond/teruggegeven).
        """
        sender = _sender(sender)
        body = _clean_text(text)
        if not body:
            raise ValueError("een bericht mag niet leeg zijn")
        if len(body) > MESSAGE_MAX:
            raise ValueError(f"een bericht heeft hoogstens {MESSAGE_MAX} tekens")
        if mask if mask is not None else sender == SENDER_GEBRUIKER:
            body = mask_text(body)
        if client_msg_id is not None:
            client_msg_id = str(client_msg_id).strip()
            if not client_msg_id or len(client_msg_id) > CLIENT_MSG_ID_MAX or not all(
                    33 <= ord(ch) < 127 for ch in client_msg_id):
                raise ValueError(
                    f"client_msg_id: 1-{CLIENT_MSG_ID_MAX} zichtbare ASCII-tekens")
        author = _clip(_clean_text(author), 80) or None
        now = _utc(now)
        try:
            return self._add_message(ticket, sender, author, body, client_msg_id, now)
        except IntegrityError:
            if client_msg_id is None:
                raise
            existing = self._message_by_client_id(ticket, client_msg_id)
            if existing is None:
                raise
            return existing

    class _Duplicate(Exception):
        def __init__(self, message: MessageView):
            self.message = message

    def _add_message(self, ref: TicketRef, sender: str, author: Optional[str], body: str,
                     client_msg_id: Optional[str], now: dt.datetime) -> MessageView:
        try:
            with self._session() as session:
                ticket_id = self._ticket_id(session, ref)
                # First statement of the write: takes the ticket's row lock (PostgreSQL) or the
                # database write lock (SQLite) before anything is checked.
                bumped = session.execute(
                    update(Ticket).where(Ticket.id == ticket_id)
                    .values(last_seq=Ticket.last_seq + 1, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if bumped.rowcount != 1:
                    raise TicketNotFound("Onbekend ticket.")
                state, seq = session.execute(
                    select(Ticket.state, Ticket.last_seq).where(Ticket.id == ticket_id)).one()
                if client_msg_id is not None:
                    found = session.execute(
                        select(TicketMessage).where(TicketMessage.ticket_id == ticket_id,
                                                    TicketMessage.client_msg_id == client_msg_id)
                    ).scalars().first()
                    if found is not None:
                        raise self._Duplicate(MessageView.from_model(found))  # rolls back
                if state not in _MESSAGE_STATES[sender]:
                    raise TicketClosed(
                        f"Bij een vraag met status '{states.label(state)}' kan dit bericht "
                        f"niet meer worden toegevoegd.")
                message = TicketMessage(ticket_id=ticket_id, seq=seq, sender=sender,
                                        author=author, text=body, client_msg_id=client_msg_id,
                                        at=now)
                session.add(message)
                session.flush()
                return MessageView.from_model(message)
        except self._Duplicate as dup:
            return dup.message

    def _message_by_client_id(self, ref: TicketRef, client_msg_id: str) -> Optional[MessageView]:
        with self._session() as session:
            ticket_id = self._ticket_id(session, ref)
            found = session.execute(
                select(TicketMessage).where(TicketMessage.ticket_id == ticket_id,
                                            TicketMessage.client_msg_id == client_msg_id)
            ).scalars().first()
            return MessageView.from_model(found) if found else None

    def messages_after(self, ticket: TicketRef, seq: int = 0,
                       limit: int = MAX_PAGE) -> List[MessageView]:
        """Messages with a seq greater than ``seq``, in seq order (reconnect: pass the last
        seq the client has; 0 for everything)."""
        limit = max(1, min(int(limit), MAX_PAGE))
        with self._session() as session:
            ticket_id = self._ticket_id(session, ticket)
            rows = session.execute(
                select(TicketMessage)
                .where(TicketMessage.ticket_id == ticket_id, TicketMessage.seq > int(seq))
                .order_by(TicketMessage.seq).limit(limit)
            ).scalars()
            return [MessageView.from_model(m) for m in rows]

    # ------------------------------------------------------------------ notes and canned replies

    def add_note(self, ticket: TicketRef, staff: Union[StaffView, int], text: str, *,
                 now: Optional[dt.datetime] = None) -> NoteView:
        """An internal note (never shown to the user); stored as typed (rendered escaped)."""
        body = _clean_text(text)
        if not body:
            raise ValueError("een notitie mag niet leeg zijn")
        if len(body) > MESSAGE_MAX:
            raise ValueError(f"een notitie heeft hoogstens {MESSAGE_MAX} tekens")
        with self._session() as session:
            ticket_id = self._ticket_id(session, ticket)
            self._load(session, ticket_id)
            user = self._staff(session, staff)
            note = Note(ticket_id=ticket_id, staff_id=user.id, author=user.display_name,
                        text=body, at=_utc(now))
            session.add(note)
            session.flush()
            return NoteView.from_model(note)

    def notes(self, ticket: TicketRef) -> List[NoteView]:
        with self._session() as session:
            ticket_id = self._ticket_id(session, ticket)
            rows = session.execute(
                select(Note).where(Note.ticket_id == ticket_id).order_by(Note.id)).scalars()
            return [NoteView.from_model(n) for n in rows]

    def canned_replies(self) -> List[CannedReplyView]:
        with self._session() as session:
            rows = session.execute(select(CannedReply).order_by(CannedReply.title)).scalars()
            return [CannedReplyView(r.id, r.title, r.text) for r in rows]

    def _require_beheerder(self, session: Session, by: Optional[Union[StaffView, int]]) -> None:
        if by is None:
            return  # CLI / system
        if self._staff(session, by).role != ROLE_BEHEERDER:
            raise PermissionDenied("Alleen een beheerder mag standaardantwoorden beheren.")

    def save_canned_reply(self, title: str, text: str, *,
                          by: Optional[Union[StaffView, int]] = None) -> CannedReplyView:
        """Create or (same title) update a canned reply; ``by`` must be a beheerder when given."""
        title = _clip(" ".join(_clean_text(title).split()), 100)
        body = _clean_text(text)
        if not title or not body:
            raise ValueError("titel en tekst zijn nodig")
        if len(body) > MESSAGE_MAX:
            raise ValueError(f"een standaardantwoord heeft hoogstens {MESSAGE_MAX} tekens")
        now = utcnow()
        with self._session() as session:
            self._require_beheerder(session, by)
            row = session.execute(
                select(CannedReply).where(CannedReply.title == title)).scalars().first()
            if row is None:
                row = CannedReply(title=title, text=body, created_at=now, updated_at=now)
                session.add(row)
            else:
                row.text, row.updated_at = body, now
            session.flush()
            return CannedReplyView(row.id, row.title, row.text)

    def delete_canned_reply(self, reply_id: int, *,
                            by: Optional[Union[StaffView, int]] = None) -> bool:
        with self._session() as session:
            self._require_beheerder(session, by)
            return bool(session.execute(
                delete(CannedReply).where(CannedReply.id == reply_id)
                .execution_options(synchronize_session=False)).rowcount)

    # ------------------------------------------------------------------ retention

    def purge_finished(self, before: dt.datetime) -> int:
        """Delete tickets that ended (afgerond/teruggegeven) before ``before``, with their
        messages, events and notes. Returns how many tickets were deleted."""
        cutoff = _utc(before)
        ended = func.coalesce(Ticket.closed_at, Ticket.returned_at, Ticket.updated_at)
        with self._session() as session:
            ids = [i for (i,) in session.execute(
                select(Ticket.id).where(Ticket.state.in_(states.FINAL_STATES), ended < cutoff))]
            if not ids:
                return 0
            for model in (TicketMessage, TicketEvent, Note):
                session.execute(delete(model).where(model.ticket_id.in_(ids))
                                .execution_options(synchronize_session=False))
            session.execute(delete(Ticket).where(Ticket.id.in_(ids))
                            .execution_options(synchronize_session=False))
        log.info("handoff: %d finished tickets purged", len(ids))
        return len(ids)

    def erase_conversation(self, conversation_id: str) -> int:
        """"Gesprek wissen": what the user said leaves the helpdesk too. Every ticket of the
        conversation keeps only its bare record (state, times, who handled it) so the console
        can say it was erased; the question, contact, transcript and notes are deleted."""
        with self._session() as session:
            ids = [i for (i,) in session.execute(
                select(Ticket.id).where(Ticket.conversation_id == conversation_id))]
            if not ids:
                return 0
            for model in (TicketMessage, Note):
                session.execute(delete(model).where(model.ticket_id.in_(ids))
                                .execution_options(synchronize_session=False))
            session.execute(update(Ticket).where(Ticket.id.in_(ids)).values(
                question=ERASED_QUESTION, contact_kind=None, contact_masked=None,
                contact_encrypted=None, gemeente=None, updated_at=utcnow())
                .execution_options(synchronize_session=False))
        log.info("handoff: conversation erased from %d tickets", len(ids))
        return len(ids)

    def purge_conversation(self, conversation_id: str) -> int:
        """Delete every ticket of a conversation (the user deletes their conversation)."""
        with self._session() as session:
            ids = [i for (i,) in session.execute(
                select(Ticket.id).where(Ticket.conversation_id == conversation_id))]
            if not ids:
                return 0
            for model in (TicketMessage, TicketEvent, Note):
                session.execute(delete(model).where(model.ticket_id.in_(ids))
                                .execution_options(synchronize_session=False))
            session.execute(delete(Ticket).where(Ticket.id.in_(ids))
                            .execution_options(synchronize_session=False))
        return len(ids)


__all__ = [
    "HandoffService", "TicketView", "MessageView", "EventView", "NoteView", "QueueItem",
    "CannedReplyView", "TicketDetail", "HandoffError", "TicketNotFound", "TicketConflict",
    "AlreadyClaimed", "NotAssigned", "TicketClosed", "UnknownStaff", "InvalidTransition",
    "PermissionDenied", "TicketRef", "Actor",
]

