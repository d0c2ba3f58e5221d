"""Retention: finished tickets go after the retention period, and "gesprek wissen" takes what
the user said out of the helpdesk at once.

Deleting a ticket relies on the schema: messages, events and notes reference it with
``ON DELETE CASCADE`` (SQLite enforces it because every connection turns foreign keys on,
bot/core/db.py).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.core.clock import utcnow
from bot.handoff import states
from bot.handoff.models import Note, OutboxMail, Ticket, TicketMessage
from bot.handoff.store import Store
from bot.handoff.values import utc as _utc
from bot.texts import ERASED_QUESTION

log = logging.getLogger("bot.handoff.service")


def _delete_tickets(session: Session, ids: list[int]) -> None:
    session.execute(delete(Ticket).where(Ticket.id.in_(ids)).execution_options(synchronize_session=False))


def _conversation_ticket_ids(session: Session, conversation_id: str) -> list[int]:
    return [i for (i,) in session.execute(select(Ticket.id).where(Ticket.conversation_id == conversation_id))]


class Retention(Store):
    def purge_finished(self, before: dt.datetime) -> int:
        """Delete tickets that ended (afgerond/teruggegeven) before ``before``, with their
        messages, events and notes. Returns how many tickets were deleted."""
        cutoff = _utc(before)
        ended = func.coalesce(Ticket.closed_at, Ticket.returned_at, Ticket.updated_at)
        with self._session() as session:
            ids = [
                i
                for (i,) in session.execute(
                    select(Ticket.id).where(Ticket.state.in_(states.FINAL_STATES), ended < cutoff)
                )
            ]
            if ids:
                _delete_tickets(session, ids)
        log.info("handoff: %d finished tickets purged", len(ids))
        return len(ids)

    def erase_conversation(self, conversation_id: str) -> int:
        """ "Gesprek wissen": what the user said leaves the helpdesk too. Every ticket of the
        conversation keeps only its bare record (state, times, who handled it) so the console
        can say it was erased; the question, contact, transcript, notes and mails are deleted."""
        with self._session() as session:
            ids = _conversation_ticket_ids(session, conversation_id)
            if not ids:
                return 0
            # The mails go too: they carry the question and the address (also one not yet sent).
            for model in (TicketMessage, Note, OutboxMail):
                session.execute(
                    delete(model).where(model.ticket_id.in_(ids)).execution_options(synchronize_session=False)
                )
            session.execute(
                update(Ticket)
                .where(Ticket.id.in_(ids))
                .values(
                    question=ERASED_QUESTION,
                    contact_kind=None,
                    contact_masked=None,
                    contact_encrypted=None,
                    gemeente=None,
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
        log.info("handoff: conversation erased from %d tickets", len(ids))
        return len(ids)

    def purge_conversation(self, conversation_id: str) -> int:
        """Delete every ticket of a conversation (the user deletes their conversation)."""
        with self._session() as session:
            ids = _conversation_ticket_ids(session, conversation_id)
            if ids:
                _delete_tickets(session, ids)
        return len(ids)
