"""The handoff service's foundation: its engine and contact cipher, one short transaction per
call, and the lookups the service's parts share (ticket by reference, staff, actor, event)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Self

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.core import db
from bot.handoff.errors import PermissionDenied, TicketNotFound, UnknownStaff
from bot.handoff.models import (
    HELPDESK_ROLES,
    SENDER_ASSISTENT,
    SENDER_GEBRUIKER,
    SENDER_MEDEWERKER,
    SENDER_SYSTEEM,
    StaffUser,
    Ticket,
    TicketEvent,
)
from bot.handoff.privacy import ContactCipher
from bot.handoff.staff import StaffView
from bot.handoff.values import clean_text as _clean_text
from bot.handoff.values import clip as _clip
from bot.handoff.views import TicketView
from bot.settings import Settings

#: A ticket: its public id (str), its internal id (int) or a view.
TicketRef = str | int | TicketView
#: Who acts: a staff member (view or id) or 'gebruiker' / 'assistent' / 'systeem'.
Actor = StaffView | int | str


class Store:
    """The app database under the handoff service, and the lookups every part of it uses.

    ``contact_key`` is one Fernet key or a list, newest first (``KW_CONTACT_KEY``); without one,
    ``create_ticket`` refuses a contact.
    """

    def __init__(
        self, database: str | Engine, timeout_s: float = 1.5, *, contact_key: str | Sequence[str] | None = None
    ) -> None:
        self.engine = db.get_engine(database, timeout_s) if isinstance(database, str) else database
        self._cipher = ContactCipher(contact_key) if contact_key else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(settings.database_url, settings.db_timeout_s, contact_key=list(settings.contact_keys))

    def _session(self) -> AbstractContextManager[Session]:
        return db.session_scope(self.engine)

    @staticmethod
    def _ticket_id(session: Session, ref: TicketRef) -> int:
        if isinstance(ref, TicketView):
            return ref.id
        if isinstance(ref, bool):
            raise TicketNotFound("Onbekend ticket.")
        if isinstance(ref, int):
            return ref
        if isinstance(ref, str) and 0 < len(ref) <= 64:
            found = session.execute(select(Ticket.id).where(Ticket.public_id == ref)).scalar()
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
    def _staff(session: Session, ref: StaffView | int) -> StaffUser:
        staff_id = ref.id if isinstance(ref, StaffView) else ref
        user = session.get(StaffUser, staff_id) if isinstance(staff_id, int) else None
        if user is None or not user.is_active:
            raise UnknownStaff("Onbekende of uitgeschakelde medewerker.")
        if user.role not in HELPDESK_ROLES:  # a redacteur reads the editors' page, no tickets
            raise PermissionDenied("Alleen medewerkers en beheerders behandelen vragen.")
        return user

    def _actor(self, session: Session, actor: Actor) -> tuple[str, StaffUser | None]:
        if isinstance(actor, (StaffView, int)) and not isinstance(actor, bool):
            return SENDER_MEDEWERKER, self._staff(session, actor)
        if actor in (SENDER_GEBRUIKER, SENDER_ASSISTENT, SENDER_SYSTEEM):
            return actor, None
        raise ValueError(f"onbekende actor {actor!r}")

    @staticmethod
    def _event(
        session: Session,
        ticket_id: int,
        from_state: str | None,
        to_state: str,
        actor: str,
        staff: StaffUser | None,
        at: dt.datetime,
        reason: str | None = None,
    ) -> None:
        session.add(
            TicketEvent(
                ticket_id=ticket_id,
                from_state=from_state,
                to_state=to_state,
                at=at,
                actor=actor,
                staff_id=staff.id if staff is not None else None,
                actor_name=staff.display_name if staff is not None else None,
                reason=_clip(_clean_text(reason), 1000) if reason else None,
            )
        )

    def get_ticket(self, ref: TicketRef) -> TicketView:
        with self._session() as session:
            return TicketView.from_model(self._load(session, self._ticket_id(session, ref)))

    def find_ticket(self, ref: TicketRef) -> TicketView | None:
        try:
            return self.get_ticket(ref)
        except TicketNotFound:
            return None
