"""Tickets: creation (with the transcript), the contact, and the transitions.

Concurrency (several gateways and action servers share the database):

* ``claim`` is one conditional ``UPDATE … SET state='opgepakt' WHERE id=… AND
  state='wachtrij'``; exactly one of any number of simultaneous claims changes a row, the
  others get :class:`AlreadyClaimed`. The same staff member claiming twice (double click) gets
  the ticket back without a second event.
* Every other transition is validated by :mod:`bot.handoff.states` and applied with ``… AND
  state=<the state it was validated against>``; a ticket changed meanwhile gives
  :class:`TicketConflict` instead of a wrong transition.
* At most one active ticket per conversation (partial unique index); ``create_ticket`` for a
  conversation that already has one returns that one.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from bot.core import db
from bot.handoff import states
from bot.handoff.errors import (
    AlreadyClaimed,
    InvalidTransition,
    NotAssigned,
    PermissionDenied,
    TicketConflict,
    TicketNotFound,
)
from bot.handoff.models import (
    CONVERSATION_ID_MAX,
    MESSAGE_MAX,
    QUESTION_MAX,
    ROLE_BEHEERDER,
    SENDER_GEBRUIKER,
    SENDER_MEDEWERKER,
    StaffUser,
    Ticket,
    TicketMessage,
)
from bot.handoff.privacy import mask_text, normalize_contact
from bot.handoff.queries import Queries
from bot.handoff.staff import StaffView
from bot.handoff.store import Actor, TicketRef
from bot.handoff.values import clean_text as _clean_text
from bot.handoff.values import clip as _clip
from bot.handoff.values import transcript_rows
from bot.handoff.values import utc as _utc
from bot.handoff.views import TicketView

log = logging.getLogger("bot.handoff.service")

#: The timestamp column set by a transition into each state.
_STAMP = {
    states.OPGEPAKT: "claimed_at",
    states.LIVE: "live_at",
    states.TERUGGEGEVEN: "returned_at",
    states.AFGEROND: "closed_at",
}


class Tickets(Queries):
    def set_contact(self, ref: TicketRef, contact: str | None) -> bool:
        """Store how to reach the user on an open ticket (masked for display, encrypted).

        The gateway calls this with the e-mail address or phone number it found in what the
        user typed (bot/core/extract.py), at the contact step or later: the action server only
        ever sees it masked. Returns False when the value is no usable e-mail address or phone
        number or the ticket is closed (the ticket is left as it is).
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

    def create_ticket(
        self,
        conversation_id: str,
        question: str,
        contact: str | None = None,
        gemeente: str | None = None,
        transcript: Sequence[Any] = (),
        *,
        consent_at: dt.datetime | None = None,
        now: dt.datetime | None = None,
    ) -> TicketView:
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
        rows = transcript_rows(transcript)
        now = _utc(now)
        existing = self.active_ticket_for_conversation(conversation_id)
        if existing is not None:
            return existing
        try:
            with self._session() as session:
                ticket = Ticket(
                    public_id=secrets.token_urlsafe(16),
                    conversation_id=conversation_id,
                    state=states.WACHTRIJ,
                    question=text,
                    contact_kind=parsed.kind if parsed else None,
                    contact_masked=parsed.masked if parsed else None,
                    contact_encrypted=self._cipher.encrypt(parsed.value) if parsed and self._cipher else None,
                    gemeente=_clip(_clean_text(gemeente), 100) or None,
                    consent_at=_utc(consent_at) if consent_at is not None else now,
                    created_at=now,
                    updated_at=now,
                    last_seq=len(rows),
                )
                session.add(ticket)
                session.flush()
                for seq, (sender, body, at) in enumerate(rows, start=1):
                    if sender == SENDER_GEBRUIKER:
                        body = mask_text(body)
                    session.add(
                        TicketMessage(
                            ticket_id=ticket.id,
                            seq=seq,
                            sender=sender,
                            text=_clip(body, MESSAGE_MAX),
                            at=_utc(at) if at is not None else now,
                        )
                    )
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

    def claim(self, ticket: TicketRef, staff: StaffView | int, *, now: dt.datetime | None = None) -> TicketView:
        """Pick up a waiting ticket. Race-safe: of simultaneous claims exactly one wins; the
        others get :class:`AlreadyClaimed` (with the winner in ``ticket.assigned_name``)."""
        now = _utc(now)
        with self._session() as session:
            ticket_id = self._ticket_id(session, ticket)
            user = self._staff(session, staff)
            result = session.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id, Ticket.state == states.WACHTRIJ)
                .values(state=states.OPGEPAKT, assigned_to=user.id, claimed_at=now, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if db.affected_rows(result) == 1:
                self._event(session, ticket_id, states.WACHTRIJ, states.OPGEPAKT, SENDER_MEDEWERKER, user, now)
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

    def _transition(
        self, ref: TicketRef, to_state: str, actor: Actor, *, reason: str | None = None, now: dt.datetime | None = None
    ) -> TicketView:
        now = _utc(now)
        with self._session() as session:
            ticket_id = self._ticket_id(session, ref)
            kind, user = self._actor(session, actor)
            ticket = self._load(session, ticket_id)
            from_state = ticket.state
            states.validate_transition(from_state, to_state)
            if (
                user is not None
                and from_state in states.ASSIGNED_STATES
                and ticket.assigned_to != user.id
                and user.role != ROLE_BEHEERDER
            ):
                raise NotAssigned("Deze vraag wordt door een collega behandeld.")
            if kind == SENDER_GEBRUIKER and to_state == states.LIVE:
                raise PermissionDenied("Alleen een medewerker kan het gesprek overnemen.")
            values: dict[str, Any] = {"state": to_state, "updated_at": now, _STAMP[to_state]: now}
            if to_state == states.LIVE and ticket.assigned_to is None and user is not None:
                values["assigned_to"] = user.id
            result = session.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id, Ticket.state == from_state)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if db.affected_rows(result) != 1:
                current = TicketView.from_model(self._load(session, ticket_id, fresh=True))
                raise TicketConflict(f"De vraag is intussen gewijzigd (nu: {current.state_label}).", current)
            self._event(session, ticket_id, from_state, to_state, kind, user, now, reason)
            session.flush()
            view = TicketView.from_model(self._load(session, ticket_id, fresh=True))
        log.info("handoff ticket %s: %s -> %s (%s)", ticket_id, from_state, to_state, kind)
        return view

    def go_live(self, ticket: TicketRef, staff: StaffView | int, *, now: dt.datetime | None = None) -> TicketView:
        """opgepakt → live: the staff member takes over the conversation (pause Rasa)."""
        if isinstance(staff, str):
            raise ValueError("go_live needs a staff member")
        return self._transition(ticket, states.LIVE, staff, now=now)

    def hand_back(
        self, ticket: TicketRef, actor: Actor, *, reason: str | None = None, now: dt.datetime | None = None
    ) -> TicketView:
        """opgepakt/live → teruggegeven: back to the assistant (resume Rasa)."""
        return self._transition(ticket, states.TERUGGEGEVEN, actor, reason=reason, now=now)

    def close(
        self, ticket: TicketRef, actor: Actor, *, reason: str | None = None, now: dt.datetime | None = None
    ) -> TicketView:
        """wachtrij/opgepakt/live → afgerond (from wachtrij: closed without contact)."""
        return self._transition(ticket, states.AFGEROND, actor, reason=reason, now=now)

    def contact_for(self, ref: TicketRef, staff: StaffView | int) -> str | None:
        """The contact value to reach the user (decrypted), only for the medewerker the ticket
        is assigned to or a beheerder (PermissionDenied otherwise). Never log it."""
        with self._session() as session:
            ticket = session.get(Ticket, self._ticket_id(session, ref))
            user = session.get(StaffUser, staff.id if isinstance(staff, StaffView) else staff)
            if ticket is None:
                raise TicketNotFound("Onbekend ticket.")
            if user is None or not user.is_active or (user.role != ROLE_BEHEERDER and ticket.assigned_to != user.id):
                raise PermissionDenied(
                    "Alleen de medewerker die deze vraag heeft opgepakt, of een beheerder, mag de contactgegevens zien."
                )
            token = ticket.contact_encrypted
        if not token or self._cipher is None:
            return None
        return self._cipher.decrypt(token)
