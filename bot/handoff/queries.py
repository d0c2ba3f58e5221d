"""Reading tickets: one ticket with its transcript, a conversation's tickets, the queue."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.handoff import states
from bot.handoff.models import Ticket, TicketEvent
from bot.handoff.staff import StaffView
from bot.handoff.store import Store, TicketRef
from bot.handoff.values import utc as _utc
from bot.handoff.views import EventView, MessageView, NoteView, QueueItem, TicketDetail, TicketView


class Queries(Store):
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

    def active_ticket_for_conversation(self, conversation_id: str) -> TicketView | None:
        """The ticket of this conversation that is still waiting, assigned or live, if any."""
        if not conversation_id:
            return None
        with self._session() as session:
            ticket = (
                session.execute(
                    select(Ticket)
                    .where(Ticket.conversation_id == conversation_id, Ticket.state.in_(states.ACTIVE_STATES))
                    .order_by(Ticket.id.desc())
                )
                .scalars()
                .first()
            )
            return TicketView.from_model(ticket) if ticket else None

    def tickets_for_conversation(self, conversation_id: str) -> list[TicketView]:
        with self._session() as session:
            rows = session.execute(
                select(Ticket).where(Ticket.conversation_id == conversation_id).order_by(Ticket.id)
            ).scalars()
            return [TicketView.from_model(t) for t in rows]

    def queue(self, now: dt.datetime | None = None, limit: int = 200) -> list[QueueItem]:
        """Waiting tickets, oldest first, with their waiting time and topic."""
        now = _utc(now)
        with self._session() as session:
            rows = session.execute(
                select(
                    Ticket.id,
                    Ticket.public_id,
                    Ticket.question,
                    Ticket.gemeente,
                    Ticket.created_at,
                    Ticket.contact_kind,
                )
                .where(Ticket.state == states.WACHTRIJ)
                .order_by(Ticket.created_at, Ticket.id)
                .limit(limit)
            ).all()
        return [
            QueueItem(
                public_id=r.public_id,
                topic=r.question,
                gemeente=r.gemeente,
                created_at=r.created_at,
                waiting_s=max(0, int((now - r.created_at).total_seconds())),
                has_contact=r.contact_kind is not None,
                ticket_id=r.id,
            )
            for r in rows
        ]

    def active_tickets(self, staff: StaffView | int | None = None) -> list[TicketView]:
        """Tickets that are picked up or live (of one staff member when given), oldest first."""
        with self._session() as session:
            stmt = select(Ticket).where(Ticket.state.in_(states.ASSIGNED_STATES))
            if staff is not None:
                stmt = stmt.where(Ticket.assigned_to == (staff.id if isinstance(staff, StaffView) else staff))
            rows = session.execute(stmt.order_by(Ticket.created_at, Ticket.id)).scalars()
            return [TicketView.from_model(t) for t in rows]

    def events(self, ref: TicketRef) -> list[EventView]:
        with self._session() as session:
            ticket_id = self._ticket_id(session, ref)
            rows = session.execute(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
            ).scalars()
            return [EventView.from_model(e) for e in rows]
