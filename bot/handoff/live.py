"""The live handoff: what happens to a conversation while a helpdesk ticket is open.

The ticket library (:class:`bot.handoff.service.HandoffService`) is synchronous; every call runs
in the one bounded database runner (bot.core.runner). The gateway makes this object with what it
talks to: Rasa (:class:`Tracker`) and the bus (:class:`Bus`), which carries frames to the widgets'
sockets and ticket and queue changes to the consoles, on every gateway. Nothing here knows about
HTTP or sockets.

Widget → console. On each user message the chat asks :meth:`LiveHandoff.user_message`. When
the conversation has an active ticket (wachtrij/opgepakt/live) the masked text is stored with
``add_message(ticket, 'gebruiker', …, client_msg_id=<widget message id>)`` (a resend is stored
once) and the console is told. The message still goes to Rasa, which records it in the paused
tracker and answers nothing.

Console → widget. A staff reply is stored (``add_message(ticket, 'medewerker', author=…)``),
appended to the Rasa tracker as a bot event ``{"event": "bot", "text", "metadata": {"agent":
name, "handoff_id": "h-<ticket>-<seq>"}}`` and pushed to the conversation's open sockets as an
``agent`` frame with the same id. An answer by e-mail (:meth:`LiveHandoff.answer_by_mail`)
goes into the outbox and, like a reply, into the transcript, the tracker and the open widgets.
Taking over, handing back and closing are announced the same way (a ``systeem`` message on the
ticket, a bot event, a push) and change the widget's ``handoff`` state; hand back and close
first append ``{"event": "resume"}`` so Rasa answers again. Because every message the user sees
is in the tracker with a stable id, a widget that reloads or reconnects rebuilds them from the
history, once each.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, ParamSpec, Protocol, TypeVar

from bot.core.clock import utcnow
from bot.core.extract import ContactValue
from bot.core.logs import log_event
from bot.core.runner import run_db
from bot.handoff import states
from bot.handoff.errors import AlreadyClaimed, NotAssigned, TicketClosed
from bot.handoff.hours import OpeningHours
from bot.handoff.outbox import OutboxView
from bot.handoff.privacy import EMAIL, PHONE, contact_hint
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService, StaffView
from bot.handoff.views import MessageView, TicketView
from bot.mail.compose import new_message_id
from bot.settings import Settings
from bot.texts import (
    HANDOFF_CONTACT_ADDED_EMAIL,
    HANDOFF_CONTACT_ADDED_PHONE,
    TEXT_ABANDONED,
    TEXT_BACK,
    TEXT_CLOSED,
    TEXT_ERASED_REASON,
    TEXT_LIVE,
)

log = logging.getLogger("bot.handoff.live")

T = TypeVar("T")
P = ParamSpec("P")


class Tracker(Protocol):
    """What the live handoff needs of Rasa (bot.web.rasa.RasaClient)."""

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> bool: ...

    async def tracker_events(self, sender: str) -> list[dict[str, Any]] | None: ...


class Bus(Protocol):
    """Where the live handoff's news goes (bot.web.bus.Bus), on this gateway and the others."""

    async def push(self, sid: str, frame: dict[str, Any]) -> int:
        """Send a frame to a conversation's open widget sockets; how many of this process's
        sockets got it. Nothing here relies on the count: a push is best effort, the tracker has
        every message."""
        ...

    async def ticket_changed(self, ticket_id: int) -> None:
        """Tell the consoles that a ticket changed (its state, messages or contact)."""
        ...

    async def queue_changed(self) -> None:
        """Tell the consoles that the queue changed."""
        ...


def handoff_id(ticket: TicketView, suffix: Any) -> str:
    """The id under which a handoff message is known to the widget (and in the tracker)."""
    return f"h-{ticket.public_id}-{suffix}"


def widget_state_of(ticket: TicketView | None) -> dict[str, Any] | None:
    """The handoff as the widget shows it, or None when there is none."""
    if ticket is None or not ticket.is_active:
        return None
    return {
        "state": ticket.state,
        "label": ticket.state_label,
        "agent": ticket.assigned_name if ticket.state == states.LIVE else None,
    }


class LiveHandoff:
    def __init__(
        self,
        tickets: HandoffService,
        staff: StaffService,
        hours: OpeningHours,
        rasa: Tracker,
        bus: Bus,
        *,
        timeout_s: float,
        metrics: Counter[str],
    ) -> None:
        self.tickets = tickets
        self.staff = staff
        self.hours = hours
        self.rasa = rasa
        self.bus = bus
        #: Every ticket call may take a few statements; the runner bounds the whole call.
        self.timeout_s = timeout_s
        self.metrics = metrics
        self._background: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(cls, settings: Settings, rasa: Tracker, bus: Bus, metrics: Counter[str]) -> LiveHandoff:
        return cls(
            HandoffService.from_settings(settings),
            StaffService.from_settings(settings),
            OpeningHours.from_settings(settings),
            rasa,
            bus,
            timeout_s=settings.db_timeout_s * 4 + 2,
            metrics=metrics,
        )

    # -- plumbing ------------------------------------------------------------------------------

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Blocking ticket/staff work in the one bounded database runner."""
        return await run_db(lambda: fn(*args, **kwargs), self.timeout_s)

    async def ticket_changed(self, ticket_id: int) -> None:
        await self.bus.ticket_changed(ticket_id)

    async def queue_changed(self) -> None:
        await self.bus.queue_changed()

    async def _push(self, sid: str, frame: dict[str, Any]) -> int:
        try:
            return await self.bus.push(sid, frame)
        except Exception:  # a push is best effort; the tracker has it
            log.exception("push to widget failed")
            return 0

    async def _append(self, sid: str, events: list[dict[str, Any]]) -> bool:
        if not await self.rasa.append_events(sid, events):
            self.metrics["handoff_rasa_errors"] += 1
            return False
        return True

    async def _tracker_has(self, sid: str, hid: str) -> bool:
        events = await self.rasa.tracker_events(sid)
        return any(isinstance(e.get("metadata"), dict) and e["metadata"].get("handoff_id") == hid for e in events or ())

    async def _say(
        self,
        ticket: TicketView,
        hid: str,
        text: str,
        *,
        agent: str | None = None,
        resume: bool = False,
        pause: bool = False,
        fresh: bool = True,
    ) -> bool:
        """Put one message in the user's conversation: the tracker (for history) and a push.
        ``pause``: from now on Rasa answers nothing (a medewerker took over); ``resume``: again."""
        sid = ticket.conversation_id
        meta: dict[str, Any] = {"handoff_id": hid}
        if agent:
            meta["agent"] = agent
        events: list[dict[str, Any]] = [{"event": "resume"}] if resume else []
        if pause:
            events.append({"event": "pause"})
        delivered = True
        if fresh or not await self._tracker_has(sid, hid):
            events.append({"event": "bot", "text": text, "metadata": meta})
        if resume:
            # While paused, Rasa logged the user's messages without predicting, so the tracker
            # ends with action_handoff_create and no action_listen. Without one, the policies
            # would see no new user turn and only listen to the next message instead of answering.
            events.append({"event": "action", "name": "action_listen"})
        if events:
            delivered = await self._append(sid, events)
        message: dict[str, Any] = {"id": hid, "text": text, "buttons": []}
        if agent:
            message["agent"] = agent
        await self._push(sid, {"type": "agent", "messages": [message]})
        return delivered

    async def _note(self, ticket: TicketView, text: str) -> None:
        """A ``systeem`` line in the ticket's transcript."""
        await self.run(self.tickets.add_message, ticket, "systeem", None, text, mask=False)

    # -- the widget side ---------------------------------------------------------------------------

    async def _active(self, sid: str) -> TicketView | None:
        return await self.run(self.tickets.active_ticket_for_conversation, sid)

    async def widget_state(self, sid: str) -> dict[str, Any] | None:
        """For the widget's ``ready`` frame: the conversation's handoff, or None."""
        try:
            return widget_state_of(await self._active(sid))
        except Exception as exc:  # the chat must work without the app database
            log.warning("handoff state unavailable (%s)", type(exc).__name__)
            return None

    async def user_message(self, sid: str, msg_id: str, text: str) -> TicketView | None:
        """A user message (already masked): route it to the conversation's active ticket.

        Returns the ticket when there is one (the message then also goes to Rasa, paused)."""
        try:
            ticket = await self._active(sid)
        except Exception as exc:  # the chat must work without the app database
            log.warning("handoff lookup failed (%s)", type(exc).__name__)
            return None
        if ticket is None:
            return None
        try:
            await self.run(self.tickets.add_message, ticket, "gebruiker", None, text, client_msg_id=msg_id)
        except TicketClosed:
            return None  # handed back at this very moment: the assistant answers
        except Exception:
            log.exception("handoff message not stored")
            return ticket
        self.metrics["handoff_user_messages"] += 1
        log_event(log, "handoff_user_message", ticket=ticket.id, state=ticket.state)
        await self.ticket_changed(ticket.id)
        return ticket

    async def after_reply(self, sid: str, had_ticket: bool) -> dict[str, Any] | None:
        """After Rasa answered: a ticket the action server created just now goes to the queue
        and the widget learns its state. Returns the widget's ``handoff`` frame when it changed."""
        try:
            ticket = await self._active(sid)
        except Exception:
            return None
        if had_ticket:
            if ticket is not None:
                return None
            # The user withdrew the waiting question ("vraag intrekken", action server).
            log_event(log, "handoff_withdrawn")
            await self.queue_changed()
            return {"type": "handoff", "handoff": None}
        if ticket is None:
            return None
        self.metrics["handoff_tickets_seen"] += 1
        log_event(log, "handoff_ticket_seen", ticket=ticket.id, state=ticket.state)
        await self.queue_changed()
        return {"type": "handoff", "handoff": widget_state_of(ticket)}

    async def add_contact(self, sid: str, contact: ContactValue) -> str | None:
        """An e-mail address or phone number the user typed (in any sentence) while the
        conversation has an active ticket: the one made this turn by the handoff form's contact
        step, or one that already waits. Rasa only saw it masked, so the gateway stores it on the
        ticket itself, encrypted. Returns the sentence that says it back masked, or None when
        there is no ticket or it could not be stored."""
        try:
            ticket = await self._active(sid)
            if ticket is None:
                return None
            stored = await self.run(self.tickets.set_contact, ticket, contact.value)
        except Exception as exc:  # the ticket stands without a contact
            log_event(log, "handoff_contact_not_stored", reason=type(exc).__name__)
            return None
        if not stored:
            return None
        self.metrics["handoff_contacts_added"] += 1
        log_event(log, "handoff_contact_added", ticket=ticket.id, kind=contact.kind)
        await self.ticket_changed(ticket.id)
        email = contact.kind == "email"
        template = HANDOFF_CONTACT_ADDED_EMAIL if email else HANDOFF_CONTACT_ADDED_PHONE
        return template.format(hint=contact_hint(EMAIL if email else PHONE, contact.value))

    def conversation_reset(self, sid: str) -> None:
        """The user wiped the conversation ("gesprek wissen"): close its active ticket, so the
        helpdesk does not answer a conversation nobody reads. Runs in the background."""
        task = asyncio.ensure_future(self._close_abandoned(sid))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _close_abandoned(self, sid: str) -> None:
        try:
            ticket = await self._active(sid)
            if ticket is not None:
                await self.run(self.tickets.close, ticket, "gebruiker", reason=TEXT_ERASED_REASON)
            # AVG: the transcript, question, contact and notes go with the conversation.
            erased = await self.run(self.tickets.erase_conversation, sid)
            if ticket is not None:
                await self._note(ticket, TEXT_ABANDONED)
                log_event(log, "handoff_abandoned", ticket=ticket.id)
                await self.ticket_changed(ticket.id)
                await self.queue_changed()
            elif erased:
                log_event(log, "handoff_erased", tickets=erased)
        except Exception as exc:  # e.g. staff finished it at the same moment
            log.warning("abandoned ticket not closed (%s)", type(exc).__name__)

    # -- the staff side ----------------------------------------------------------------------------

    @staticmethod
    def may_act(ticket: TicketView, staff: StaffView) -> bool:
        """Whether ``staff`` may act on ``ticket``: nobody holds it, they do, or a beheerder."""
        return ticket.state not in states.ASSIGNED_STATES or ticket.assigned_to == staff.id or staff.is_beheerder

    def _check_may_act(self, ticket: TicketView, staff: StaffView) -> None:
        if not self.may_act(ticket, staff):
            raise NotAssigned("Deze vraag wordt door een collega behandeld.")

    async def take(self, ref: Any, staff: StaffView) -> TicketView:
        """Oppakken: claim (race-safe) and go live at once; announce it to the user."""
        ticket = await self.run(self.tickets.get_ticket, ref)
        if not self.may_act(ticket, staff):
            # Lost the race (or came late): say who has it, as claim() does.
            raise AlreadyClaimed(f"Deze vraag is al opgepakt door {ticket.assigned_name or 'een collega'}.", ticket)
        if ticket.state == states.WACHTRIJ:
            ticket = await self.run(self.tickets.claim, ticket, staff)  # AlreadyClaimed
        if ticket.state == states.OPGEPAKT:
            self._check_may_act(ticket, staff)
            ticket = await self.run(self.tickets.go_live, ticket, staff)
            await self._announce_live(ticket)
        elif ticket.state == states.LIVE:
            self._check_may_act(ticket, staff)
        else:
            raise states.InvalidTransition(ticket.state, states.LIVE)
        await self.ticket_changed(ticket.id)
        await self.queue_changed()
        return ticket

    async def _announce_live(self, ticket: TicketView) -> None:
        text = TEXT_LIVE.format(name=ticket.assigned_name or "een medewerker")
        await self._note(ticket, text)
        await self._push(ticket.conversation_id, {"type": "handoff", "handoff": widget_state_of(ticket)})
        await self._say(ticket, handoff_id(ticket, "live"), text, pause=True)
        log_event(log, "handoff_live", ticket=ticket.id)

    async def reply(
        self, ref: Any, staff: StaffView, text: str, client_msg_id: str | None = None
    ) -> tuple[MessageView, bool]:
        """A staff message to the user. Returns the stored message and whether Rasa's tracker
        took it (the push to open widgets happens either way)."""
        ticket = await self.run(self.tickets.get_ticket, ref)
        self._check_may_act(ticket, staff)
        if ticket.state == states.OPGEPAKT:
            ticket = await self.take(ticket, staff)
        if ticket.state != states.LIVE:
            raise TicketClosed("Je kunt alleen berichten sturen als je het gesprek hebt overgenomen.")
        started = utcnow()
        message = await self.run(
            self.tickets.add_message, ticket, "medewerker", staff.display_name, text, client_msg_id=client_msg_id
        )
        fresh = message.at >= started
        delivered = await self._say(
            ticket,
            handoff_id(ticket, message.seq),
            message.text,
            agent=message.author or staff.display_name,
            fresh=fresh,
        )
        self.metrics["handoff_staff_messages"] += 1
        log_event(log, "handoff_staff_message", ticket=ticket.id, staff=staff.id, seq=message.seq, delivered=delivered)
        await self.ticket_changed(ticket.id)
        return message, delivered

    async def answer_by_mail(
        self, ref: Any, staff: StaffView, text: str, key: str, *, close: bool, helpdesk: str, sender: str
    ) -> tuple[OutboxView, bool]:
        """Answer a ticket by e-mail: the mail goes into the outbox (the worker sends it), the
        answer into the transcript and, when the applicant's chat is open, into it too. A waiting
        ticket is picked up by ``staff`` first; with ``close`` it is closed afterwards. The same
        ``key`` again (a resent form) changes nothing. Returns the mail and whether it is new."""
        ticket = await self.run(self.tickets.get_ticket, ref)
        self._check_may_act(ticket, staff)
        if ticket.state == states.WACHTRIJ:
            # Check the address before the ticket changes hands: a refusal leaves it waiting.
            await self.run(self.tickets.preview_answer, ticket, staff, text, helpdesk=helpdesk)
            ticket = await self.run(self.tickets.claim, ticket, staff)
        mail, new = await self.run(
            self.tickets.queue_answer, ticket, staff, text, key, helpdesk=helpdesk, message_id=new_message_id(sender)
        )
        if new:
            self.metrics["handoff_mail_answers"] += 1
            log_event(log, "handoff_mail_queued", ticket=ticket.id, staff=staff.id, mail=mail.id)
            try:
                message = await self.run(
                    self.tickets.add_message,
                    ticket,
                    "medewerker",
                    staff.display_name,
                    text,
                    client_msg_id=f"mail-{mail.id}",
                )
                await self._say(ticket, handoff_id(ticket, f"mail-{mail.id}"), message.text, agent=staff.display_name)
            except Exception:  # the mail is queued; the chat's copy is secondary
                log.exception("mail answer not put in the conversation")
        if close and new:
            await self.close(ticket, staff)
        else:
            await self.ticket_changed(ticket.id)
            await self.queue_changed()
        return mail, new

    async def hand_back(self, ref: Any, staff: StaffView, reason: str | None = None) -> TicketView:
        """Terug naar de assistent."""
        return await self._finish(ref, staff, self.tickets.hand_back, TEXT_BACK, reason)

    async def close(self, ref: Any, staff: StaffView, reason: str | None = None) -> TicketView:
        """Afronden."""
        return await self._finish(ref, staff, self.tickets.close, TEXT_CLOSED, reason)

    async def _finish(
        self, ref: Any, staff: StaffView, transition: Callable[..., TicketView], text: str, reason: str | None
    ) -> TicketView:
        """Resume Rasa and tell the user who they talk to now."""
        ticket = await self.run(transition, ref, staff, reason=reason)
        try:
            await self._note(ticket, text)
        except Exception:  # the transition happened; the note is secondary
            log.exception("handoff system message not stored")
        await self._push(ticket.conversation_id, {"type": "handoff", "handoff": None})
        await self._say(ticket, handoff_id(ticket, "einde"), text, resume=True)
        log_event(log, "handoff_finished", ticket=ticket.id, state=ticket.state, staff=staff.id)
        await self.ticket_changed(ticket.id)
        await self.queue_changed()
        return ticket


__all__ = ["Bus", "LiveHandoff", "Tracker", "handoff_id", "widget_state_of"]
