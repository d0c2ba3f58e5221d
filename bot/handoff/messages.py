"""Messages on a ticket (and the staff's internal notes).

``add_message`` first bumps ``handoff_tickets.last_seq`` (a row lock on PostgreSQL, the write
lock on SQLite), so seqs are gapless and strictly increasing per ticket and the check for a
resent ``client_msg_id`` cannot race. User messages are masked before they are stored.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.core import db
from bot.handoff import states
from bot.handoff.errors import TicketClosed, TicketNotFound
from bot.handoff.models import (
    CLIENT_MSG_ID_MAX,
    MESSAGE_MAX,
    SENDER_ASSISTENT,
    SENDER_GEBRUIKER,
    SENDER_MEDEWERKER,
    SENDER_SYSTEEM,
    Note,
    Ticket,
    TicketMessage,
)
from bot.handoff.privacy import mask_text
from bot.handoff.staff import StaffView
from bot.handoff.store import Store, TicketRef
from bot.handoff.values import clean_text as _clean_text
from bot.handoff.values import clip as _clip
from bot.handoff.values import sender as _sender
from bot.handoff.values import utc as _utc
from bot.handoff.views import MessageView, NoteView

#: In which states a sender may add messages.
_MESSAGE_STATES = {
    SENDER_GEBRUIKER: states.ACTIVE_STATES,
    SENDER_ASSISTENT: states.ACTIVE_STATES,
    SENDER_MEDEWERKER: states.ASSIGNED_STATES,
    SENDER_SYSTEEM: states.STATES,
}
#: The most messages one call returns.
MAX_PAGE = 1000


class Messages(Store):
    def add_message(
        self,
        ticket: TicketRef,
        sender: str,
        author: str | None,
        text: str,
        client_msg_id: str | None = None,
        *,
        mask: bool | None = None,
        now: dt.datetime | None = None,
    ) -> MessageView:
        """Store a message and return it with its seq. With a ``client_msg_id`` that this ticket
        already has, nothing is stored and the earlier message is returned (resends).

        User messages are masked (``mask`` overrides). A medewerker's reply is kept as typed:
        it may rightly carry the gemeente's own phone number or e-mail address, which the user
        must be able to read; the console warns under the reply box that what is typed there is
        stored with the conversation (issue 21, L4). Raises :class:`TicketClosed` when the
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
            if (
                not client_msg_id
                or len(client_msg_id) > CLIENT_MSG_ID_MAX
                or not all(33 <= ord(ch) < 127 for ch in client_msg_id)
            ):
                raise ValueError(f"client_msg_id: 1-{CLIENT_MSG_ID_MAX} zichtbare ASCII-tekens")
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

    def _add_message(
        self, ref: TicketRef, sender: str, author: str | None, body: str, client_msg_id: str | None, now: dt.datetime
    ) -> MessageView:
        try:
            with self._session() as session:
                ticket_id = self._ticket_id(session, ref)
                # First statement of the write: takes the ticket's row lock (PostgreSQL) or the
                # database write lock (SQLite) before anything is checked.
                bumped = session.execute(
                    update(Ticket)
                    .where(Ticket.id == ticket_id)
                    .values(last_seq=Ticket.last_seq + 1, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if db.affected_rows(bumped) != 1:
                    raise TicketNotFound("Onbekend ticket.")
                state, seq = session.execute(select(Ticket.state, Ticket.last_seq).where(Ticket.id == ticket_id)).one()
                if client_msg_id is not None:
                    found = (
                        session.execute(
                            select(TicketMessage).where(
                                TicketMessage.ticket_id == ticket_id, TicketMessage.client_msg_id == client_msg_id
                            )
                        )
                        .scalars()
                        .first()
                    )
                    if found is not None:
                        raise self._Duplicate(MessageView.from_model(found))  # rolls back
                if state not in _MESSAGE_STATES[sender]:
                    raise TicketClosed(
                        f"Bij een vraag met status '{states.label(state)}' kan dit bericht niet meer worden toegevoegd."
                    )
                message = TicketMessage(
                    ticket_id=ticket_id,
                    seq=seq,
                    sender=sender,
                    author=author,
                    text=body,
                    client_msg_id=client_msg_id,
                    at=now,
                )
                session.add(message)
                session.flush()
                return MessageView.from_model(message)
        except self._Duplicate as dup:
            return dup.message

    def _message_by_client_id(self, ref: TicketRef, client_msg_id: str) -> MessageView | None:
        with self._session() as session:
            ticket_id = self._ticket_id(session, ref)
            found = (
                session.execute(
                    select(TicketMessage).where(
                        TicketMessage.ticket_id == ticket_id, TicketMessage.client_msg_id == client_msg_id
                    )
                )
                .scalars()
                .first()
            )
            return MessageView.from_model(found) if found else None

    def messages_after(self, ticket: TicketRef, seq: int = 0, limit: int = MAX_PAGE) -> list[MessageView]:
        """Messages with a seq greater than ``seq``, in seq order (reconnect: pass the last
        seq the client has; 0 for everything)."""
        limit = max(1, min(int(limit), MAX_PAGE))
        with self._session() as session:
            ticket_id = self._ticket_id(session, ticket)
            rows = session.execute(
                select(TicketMessage)
                .where(TicketMessage.ticket_id == ticket_id, TicketMessage.seq > int(seq))
                .order_by(TicketMessage.seq)
                .limit(limit)
            ).scalars()
            return [MessageView.from_model(m) for m in rows]

    def add_note(
        self, ticket: TicketRef, staff: StaffView | int, text: str, *, now: dt.datetime | None = None
    ) -> NoteView:
        """An internal note (never shown to the user); stored masked like every typed text (the
        contact a user left is kept encrypted on the ticket instead), rendered escaped."""
        body = mask_text(_clean_text(text))
        if not body:
            raise ValueError("een notitie mag niet leeg zijn")
        if len(body) > MESSAGE_MAX:
            raise ValueError(f"een notitie heeft hoogstens {MESSAGE_MAX} tekens")
        with self._session() as session:
            ticket_id = self._ticket_id(session, ticket)
            self._load(session, ticket_id)
            user = self._staff(session, staff)
            note = Note(ticket_id=ticket_id, staff_id=user.id, author=user.display_name, text=body, at=_utc(now))
            session.add(note)
            session.flush()
            return NoteView.from_model(note)

    def notes(self, ticket: TicketRef) -> list[NoteView]:
        with self._session() as session:
            ticket_id = self._ticket_id(session, ticket)
            rows = session.execute(select(Note).where(Note.ticket_id == ticket_id).order_by(Note.id)).scalars()
            return [NoteView.from_model(n) for n in rows]
