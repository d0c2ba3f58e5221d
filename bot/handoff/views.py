"""What the handoff service returns: plain frozen dataclasses, never ORM objects, so callers
can hand them across threads and to templates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bot.handoff import states
from bot.handoff.models import Note, Ticket, TicketEvent, TicketMessage
from bot.handoff.values import utc as _utc


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


@dataclass(frozen=True)
class TicketView:
    id: int
    public_id: str
    conversation_id: str
    state: str
    question: str
    contact_kind: str | None
    contact_masked: str | None
    gemeente: str | None
    consent_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    assigned_to: int | None
    assigned_name: str | None
    claimed_at: dt.datetime | None
    live_at: dt.datetime | None
    returned_at: dt.datetime | None
    closed_at: dt.datetime | None
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

    def waiting_s(self, now: dt.datetime | None = None) -> int:
        """Seconds since creation (until claimed, when it was)."""
        end = self.claimed_at or _utc(now)
        return max(0, int((end - self.created_at).total_seconds()))

    @classmethod
    def from_model(cls, t: Ticket) -> TicketView:
        return cls(
            id=t.id,
            public_id=t.public_id,
            conversation_id=t.conversation_id,
            state=t.state,
            question=t.question,
            contact_kind=t.contact_kind,
            contact_masked=t.contact_masked,
            gemeente=t.gemeente,
            consent_at=t.consent_at,
            created_at=t.created_at,
            updated_at=t.updated_at,
            assigned_to=t.assigned_to,
            assigned_name=t.assignee.display_name if t.assignee is not None else None,
            claimed_at=t.claimed_at,
            live_at=t.live_at,
            returned_at=t.returned_at,
            closed_at=t.closed_at,
            last_seq=t.last_seq or 0,
        )

    def to_dict(self) -> dict[str, Any]:
        """For the console's JSON and sockets, with Dutch keys like every view here (staff read
        them; docs/console.md): never the internal id or the conversation id."""
        return {
            "id": self.public_id,
            "status": self.state,
            "status_tekst": self.state_label,
            "vraag": self.question,
            "contact": self.contact_masked,
            "contact_soort": self.contact_kind,
            "gemeente": self.gemeente,
            "aangemaakt": _iso(self.created_at),
            "toestemming": _iso(self.consent_at),
            "medewerker": self.assigned_name,
            "opgepakt": _iso(self.claimed_at),
            "live": _iso(self.live_at),
            "teruggegeven": _iso(self.returned_at),
            "afgerond": _iso(self.closed_at),
            "laatste_volgnummer": self.last_seq,
        }

    def __repr__(self) -> str:
        return f"TicketView(id={self.id}, public_id={self.public_id!r}, state={self.state!r})"


@dataclass(frozen=True)
class MessageView:
    ticket_id: int
    seq: int
    sender: str
    author: str | None
    text: str
    client_msg_id: str | None
    at: dt.datetime

    @classmethod
    def from_model(cls, m: TicketMessage) -> MessageView:
        return cls(
            ticket_id=m.ticket_id,
            seq=m.seq,
            sender=m.sender,
            author=m.author,
            text=m.text,
            client_msg_id=m.client_msg_id,
            at=m.at,
        )

    def to_dict(self) -> dict[str, Any]:
        """``bericht_id``: the id the sender's browser gave the message (a resend has the same)."""
        return {
            "volgnummer": self.seq,
            "afzender": self.sender,
            "auteur": self.author,
            "tekst": self.text,
            "bericht_id": self.client_msg_id,
            "tijd": _iso(self.at),
        }


@dataclass(frozen=True)
class EventView:
    from_state: str | None
    to_state: str
    at: dt.datetime
    actor: str
    staff_id: int | None
    actor_name: str | None
    reason: str | None

    @classmethod
    def from_model(cls, e: TicketEvent) -> EventView:
        return cls(
            from_state=e.from_state,
            to_state=e.to_state,
            at=e.at,
            actor=e.actor,
            staff_id=e.staff_id,
            actor_name=e.actor_name,
            reason=e.reason,
        )


@dataclass(frozen=True)
class NoteView:
    id: int
    staff_id: int | None
    author: str | None
    text: str
    at: dt.datetime

    @classmethod
    def from_model(cls, n: Note) -> NoteView:
        return cls(id=n.id, staff_id=n.staff_id, author=n.author, text=n.text, at=n.at)


@dataclass(frozen=True)
class QueueItem:
    """A waiting ticket as the queue shows it."""

    public_id: str
    topic: str
    gemeente: str | None
    created_at: dt.datetime
    waiting_s: int
    has_contact: bool
    ticket_id: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.public_id,
            "onderwerp": self.topic,
            "gemeente": self.gemeente,
            "aangemaakt": _iso(self.created_at),
            "wachttijd_s": self.waiting_s,
            "contact": self.has_contact,
        }


@dataclass(frozen=True)
class CannedReplyView:
    id: int
    title: str
    text: str


@dataclass(frozen=True)
class TicketDetail:
    ticket: TicketView
    messages: tuple[MessageView, ...]
    events: tuple[EventView, ...]
    notes: tuple[NoteView, ...] = field(default=())
