"""Live handoff routing in the gateway: between the widget, Rasa and the helpdesk console.

The ticket library (bot/handoff) is synchronous; every call runs in the default executor.

Widget → console. On each user message the chat service asks :meth:`HandoffRouter.user_message`.
When the conversation has an active ticket (wachtrij/opgepakt/live) the masked text is stored
with ``add_message(ticket, 'gebruiker', …, client_msg_id=<widget message id>)`` (a resend is
stored once) and the console is told. The message still goes to Rasa, which records it in the
paused tracker and answers nothing.

Console → widget. A staff reply is stored (``add_message(ticket, 'medewerker', author=…)``),
appended to the Rasa tracker as a bot event ``{"event": "bot", "text", "metadata": {"agent":
name, "handoff_id": "h-<ticket>-<seq>"}}`` and pushed to the conversation's open sockets as an
``agent`` frame with the same id. Taking over, handing back and closing are announced the same
way (a ``systeem`` message on the ticket, a bot event, a push) and change the widget's
``handoff`` state; hand back and close first append ``{"event": "resume"}`` so Rasa answers
again. Because every message the user sees is in the tracker with a stable id, a widget that
reloads or reconnects rebuilds them from the history, once each.

Console updates. Console sockets (:class:`ConsoleHub`) get the queue when it changes and, for
the ticket they show, every message after the last seq they have. Changes made in this process
are pushed at once; a poller (every ``POLL_S`` seconds while a console is open) picks up what
other processes did (tickets created by the action server, other gateways).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import aiohttp
from aiohttp import web
from yarl import URL

from bot.handoff import states
from bot.handoff.hours import OpeningHours
from bot.handoff.service import (
    AlreadyClaimed, HandoffService, MessageView, NotAssigned, TicketClosed, TicketView,
)
from bot.handoff.staff import StaffService, StaffView
from bot.core.clock import utcnow
from bot.core.runner import run_db

log = logging.getLogger("bot.web.handoff")

ROUTER = web.AppKey("kw.handoff_router", object)  # HandoffRouter

# Seconds between polls of the database for changes made by other processes (only while a
# console is open). Proposed setting KW_HELPDESK_POLL_S.
POLL_S = 2.0
RASA_EVENT_TIMEOUT_S = 10.0
TRACKER_TIMEOUT_S = 5.0

TEXT_LIVE = "Je praat nu met {name}, medewerker van de helpdesk."
TEXT_BACK = ("Je praat nu weer met de digitale assistent, niet met een mens. "
             "Stel gerust je vraag.")
TEXT_CLOSED = ("De medewerker heeft je vraag afgerond. Je praat nu weer met de digitale "
               "assistent, niet met een mens. Stel gerust je vraag.")

_SOURCE_LINE = re.compile(r"^\s*Bron(?:nen)?:\s*(.+?)\s*$", re.MULTILINE)
_MD_LINK = re.compile(r"\[([^\]\n]{1,300})\]\((https?://[^\s()<>\"']{1,2000})\)")


def _log(event: str, **fields: Any) -> None:
    log.info(json.dumps({"event": event, **fields}, separators=(",", ":"), sort_keys=True))


def handoff_id(ticket: TicketView, suffix: Any) -> str:
    """The id under which a handoff message is known to the widget (and in the tracker)."""
    return f"h-{ticket.public_id}-{suffix}"


def knowledge_answers(texts: List[str]) -> List[Dict[str, Any]]:
    """The knowledge-base answers among bot messages: their text without the source line, and
    the sources from the final ``Bron: [titel](url)`` line (http/https links only)."""
    out: List[Dict[str, Any]] = []
    seen = set()
    for text in texts:
        if not isinstance(text, str):
            continue
        matches = list(_SOURCE_LINE.finditer(text))
        if not matches:
            continue
        line = matches[-1]
        sources = [{"titel": t.strip(), "url": u} for t, u in _MD_LINK.findall(line.group(1))]
        if not sources:
            continue
        answer = (text[: line.start()] + text[line.end():]).strip()
        key = (answer, tuple(s["url"] for s in sources))
        if key in seen:
            continue
        seen.add(key)
        out.append({"antwoord": answer, "bronnen": sources})
    return out


# ------------------------------------------------------------------------------ console sockets

@dataclass(eq=False)
class ConsoleConn:
    ws: web.WebSocketResponse
    staff_id: int
    #: The session stamp (password change + session version) the socket was opened with.
    stamp: str = ""
    ticket_id: Optional[int] = None
    after: int = 0
    ticket_sig: Optional[Tuple] = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ConsoleHub:
    """Open console sockets; frames are sent as JSON, errors of one socket are ignored."""

    def __init__(self) -> None:
        self.conns: Dict[web.WebSocketResponse, ConsoleConn] = {}

    def add(self, conn: ConsoleConn) -> None:
        self.conns[conn.ws] = conn

    def remove(self, ws: web.WebSocketResponse) -> None:
        self.conns.pop(ws, None)

    def watching(self, ticket_id: int) -> List[ConsoleConn]:
        return [c for c in list(self.conns.values()) if c.ticket_id == ticket_id]

    def ticket_ids(self) -> List[int]:
        return sorted({c.ticket_id for c in self.conns.values() if c.ticket_id is not None})

    @staticmethod
    async def send(conn: ConsoleConn, frame: Dict[str, Any]) -> bool:
        if conn.ws.closed:
            return False
        try:
            await conn.ws.send_json(frame)
            return True
        except (ConnectionError, RuntimeError):
            return False

    async def broadcast(self, frame: Dict[str, Any]) -> None:
        for conn in list(self.conns.values()):
            await self.send(conn, frame)

    async def close_all(self) -> None:
        for ws in list(self.conns):
            await ws.close(code=1001, message=b"server shutdown")

    async def close_staff(self, staff_id: int) -> int:
        """Close every socket of one medewerker (logout, deactivation); returns how many."""
        closed = 0
        for ws, conn in list(self.conns.items()):
            if conn.staff_id == staff_id:
                self.conns.pop(ws, None)
                await ws.close(code=4001, message=b"session ended")
                closed += 1
        return closed


def message_frame(m: MessageView) -> Dict[str, Any]:
    return m.to_dict()


def ticket_frame(t: TicketView, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    data = t.to_dict()
    data["wachttijd_s"] = t.waiting_s(now)
    data["onderwerp"] = t.topic
    return data


# ------------------------------------------------------------------------------ the router

class HandoffRouter:
    def __init__(self, settings: Any, metrics: Optional[Any] = None,
                 tickets: Optional[HandoffService] = None, staff: Optional[StaffService] = None):
        self.settings = settings
        self.metrics = metrics if metrics is not None else {}
        self.tickets = tickets or HandoffService.from_settings(settings)
        self.staff = staff or StaffService.from_settings(settings)
        self.hours = OpeningHours.from_settings(settings)
        self.console = ConsoleHub()
        self.http: Optional[aiohttp.ClientSession] = None
        self.push_widget: Optional[Callable[[str, Dict[str, Any]], Any]] = None
        self._queue_sig: Optional[str] = None
        self._poller: Optional[asyncio.Task] = None
        self._background: set = set()

    # -- plumbing ------------------------------------------------------------------------------

    async def run(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Blocking ticket/staff work in the one bounded database runner (bot.core.runner)."""
        return await run_db(functools.partial(fn, *args, **kwargs), self.settings.db_timeout_s * 4 + 2)

    def _count(self, name: str) -> None:
        try:
            self.metrics[name] += 1
        except (TypeError, KeyError):
            pass

    def start(self, http: aiohttp.ClientSession, push_widget: Callable) -> None:
        self.http = http
        self.push_widget = push_widget
        self._poller = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            try:
                await self._poller
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._poller = None

    async def _push(self, sid: str, frame: Dict[str, Any]) -> int:
        if self.push_widget is None:
            return 0
        try:
            return await self.push_widget(sid, frame)
        except Exception:  # noqa: BLE001 - a push is best effort; the tracker has it
            log.exception("push to widget failed")
            return 0

    # -- Rasa tracker ----------------------------------------------------------------------------

    def _tracker_url(self, sid: str, *parts: str) -> URL:
        return (URL(self.settings.rasa_url) / "conversations" / sid / "tracker").joinpath(*parts) \
            .with_query(token=self.settings.rasa_token)

    async def append_events(self, sid: str, events: List[Dict[str, Any]]) -> bool:
        """POST events to the conversation's tracker. A connection refused is retried once;
        a timeout is not (the events may have been stored)."""
        if self.http is None:
            return False
        url = self._tracker_url(sid, "events")
        for attempt in (1, 2):
            try:
                async with self.http.post(
                    url, json=events, timeout=aiohttp.ClientTimeout(total=RASA_EVENT_TIMEOUT_S)
                ) as resp:
                    await resp.read()
                    if resp.status == 200:
                        return True
                    _log("rasa_events_failed", status=resp.status)
                    return False
            except aiohttp.ClientConnectionError:
                if attempt == 2:
                    break
                await asyncio.sleep(0.5)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                _log("rasa_events_failed", reason=type(exc).__name__)
                return False
        _log("rasa_events_failed", reason="connection")
        self._count("handoff_rasa_errors")
        return False

    async def tracker_events(self, sid: str) -> Optional[List[Dict[str, Any]]]:
        if self.http is None:
            return None
        try:
            async with self.http.get(
                self._tracker_url(sid), timeout=aiohttp.ClientTimeout(total=TRACKER_TIMEOUT_S)
            ) as resp:
                if resp.status != 200:
                    return None
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return None
        events = data.get("events") if isinstance(data, dict) else None
        return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else None

    async def _tracker_has(self, sid: str, hid: str) -> bool:
        events = await self.tracker_events(sid)
        if events is None:
            return False
        return any(isinstance(e.get("metadata"), dict) and e["metadata"].get("handoff_id") == hid
                   for e in events)

    async def _say(self, ticket: TicketView, hid: str, text: str, *,
                   agent: Optional[str] = None, resume: bool = False, fresh: bool = True) -> bool:
        """Put one message in the user's conversation: the tracker (for history) and a push."""
        sid = ticket.conversation_id
        meta: Dict[str, Any] = {"handoff_id": hid}
        if agent:
            meta["agent"] = agent
        events: List[Dict[str, Any]] = [{"event": "resume"}] if resume else []
        delivered = True
        if fresh or not await self._tracker_has(sid, hid):
            events.append({"event": "bot", "text": text, "metadata": meta})
        if resume:
            # While paused, Rasa logged the user's messages without predicting, so the tracker
            # ends with action_handoff_create and no action_listen. Without one, the policies
            # would see no new user turn and only listen to the next message instead of answering.
            events.append({"event": "action", "name": "action_listen"})
        if events:
            delivered = await self.append_events(sid, events)
        message: Dict[str, Any] = {"id": hid, "text": text, "buttons": []}
        if agent:
            message["agent"] = agent
        await self._push(sid, {"type": "agent", "messages": [message]})
        return delivered

    # -- the widget side ---------------------------------------------------------------------------

    @staticmethod
    def widget_state_of(ticket: Optional[TicketView]) -> Optional[Dict[str, Any]]:
        if ticket is None or not ticket.is_active:
            return None
        return {"state": ticket.state, "label": ticket.state_label,
                "agent": ticket.assigned_name if ticket.state == states.LIVE else None}

    async def widget_state(self, sid: str) -> Optional[Dict[str, Any]]:
        """For the widget's ``ready`` frame: the conversation's handoff, or None."""
        try:
            ticket = await self.run(self.tickets.active_ticket_for_conversation, sid)
        except Exception as exc:  # noqa: BLE001 - the chat must work without the app database
            log.warning("handoff state unavailable (%s)", type(exc).__name__)
            return None
        return self.widget_state_of(ticket)

    async def user_message(self, sid: str, msg_id: str, text: str) -> Optional[TicketView]:
        """A user message (already masked): route it to the conversation's active ticket.

        Returns the ticket when there is one (the message then also goes to Rasa, paused)."""
        try:
            ticket = await self.run(self.tickets.active_ticket_for_conversation, sid)
        except Exception as exc:  # noqa: BLE001 - the chat must work without the app database
            log.warning("handoff lookup failed (%s)", type(exc).__name__)
            return None
        if ticket is None:
            return None
        try:
            await self.run(self.tickets.add_message, ticket, "gebruiker", None, text,
                           client_msg_id=msg_id)
        except TicketClosed:
            return None  # handed back at this very moment: the assistant answers
        except Exception:  # noqa: BLE001
            log.exception("handoff message not stored")
            return ticket
        self._count("handoff_user_messages")
        _log("handoff_user_message", ticket=ticket.id, state=ticket.state)
        await self.ticket_changed(ticket.id)
        return ticket

    async def after_reply(self, sid: str, had_ticket: bool,
                          contact_text: Optional[str] = None) -> Optional[Dict[str, Any]]:
        """After Rasa answered: a ticket the action server created just now goes to the queue
        and the widget learns its state. Returns the widget state frame when it changed.

        ``contact_text``: the unmasked message that completed the handoff form (its last
        question asks how to reach the user). Rasa only saw it masked, so the gateway stores
        the contact on the ticket itself, encrypted."""
        if had_ticket:
            return None
        try:
            ticket = await self.run(self.tickets.active_ticket_for_conversation, sid)
        except Exception:  # noqa: BLE001
            return None
        if ticket is None:
            return None
        self._count("handoff_tickets_seen")
        _log("handoff_ticket_seen", ticket=ticket.id, state=ticket.state)
        if contact_text:
            try:
                await self.run(self.tickets.set_contact, ticket, contact_text)
            except Exception:  # noqa: BLE001 - the ticket stands without a contact
                _log("handoff_contact_not_stored", ticket=ticket.id)
        await self.queue_changed()
        return {"type": "handoff", "handoff": self.widget_state_of(ticket)}

    def conversation_reset(self, sid: str) -> None:
        """The user wiped the conversation ("gesprek wissen"): close its active ticket, so the
        helpdesk does not answer a conversation nobody reads. Runs in the background."""
        task = asyncio.ensure_future(self._close_abandoned(sid))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _close_abandoned(self, sid: str) -> None:
        try:
            ticket = await self.run(self.tickets.active_ticket_for_conversation, sid)
            if ticket is not None:
                await self.run(self.tickets.close, ticket, "gebruiker",
                               reason="De gebruiker heeft het gesprek gewist.")
            # AVG: the transcript, question, contact and notes go with the conversation.
            erased = await self.run(self.tickets.erase_conversation, sid)
            if ticket is not None:
                await self.run(self.tickets.add_message, ticket, "systeem", None,
                               "De gebruiker heeft het gesprek gewist en ziet geen berichten meer.",
                               mask=False)
                _log("handoff_abandoned", ticket=ticket.id)
                await self.ticket_changed(ticket.id)
                await self.queue_changed()
            elif erased:
                _log("handoff_erased", tickets=erased)
        except Exception as exc:  # noqa: BLE001 - e.g. staff finished it at the same moment
            log.warning("abandoned ticket not closed (%s)", type(exc).__name__)

    # -- the staff side ----------------------------------------------------------------------------

    @staticmethod
    def _may_act(ticket: TicketView, staff: StaffView) -> None:
        if ticket.state in states.ASSIGNED_STATES and ticket.assigned_to != staff.id \
                and not staff.is_beheerder:
            raise NotAssigned("Deze vraag wordt door een collega behandeld.")

    async def take(self, ref: Any, staff: StaffView) -> TicketView:
        """Oppakken: claim (race-safe) and go live at once; announce it to the user."""
        ticket = await self.run(self.tickets.get_ticket, ref)
        if ticket.state in states.ASSIGNED_STATES and ticket.assigned_to != staff.id \
                and not staff.is_beheerder:
            # Lost the race (or came late): say who has it, as claim() does.
            raise AlreadyClaimed(
                f"Deze vraag is al opgepakt door {ticket.assigned_name or 'een collega'}.", ticket)
        if ticket.state == states.WACHTRIJ:
            ticket = await self.run(self.tickets.claim, ticket, staff)  # AlreadyClaimed
        if ticket.state == states.OPGEPAKT:
            self._may_act(ticket, staff)
            ticket = await self.run(self.tickets.go_live, ticket, staff)
            await self._announce_live(ticket)
        elif ticket.state == states.LIVE:
            self._may_act(ticket, staff)
        else:
            raise states.InvalidTransition(ticket.state, states.LIVE)
        await self.ticket_changed(ticket.id)
        await self.queue_changed()
        return ticket

    async def _announce_live(self, ticket: TicketView) -> None:
        name = ticket.assigned_name or "een medewerker"
        text = TEXT_LIVE.format(name=name)
        await self.run(self.tickets.add_message, ticket, "systeem", None, text, mask=False)
        await self._push(ticket.conversation_id, {"type": "handoff",
                                                  "handoff": self.widget_state_of(ticket)})
        await self._say(ticket, handoff_id(ticket, "live"), text)
        _log("handoff_live", ticket=ticket.id)

    async def reply(self, ref: Any, staff: StaffView, text: str,
                    client_msg_id: Optional[str] = None) -> Tuple[MessageView, bool]:
        """A staff message to the user. Returns the stored message and whether Rasa's tracker
        took it (the push to open widgets happens either way)."""
        ticket = await self.run(self.tickets.get_ticket, ref)
        self._may_act(ticket, staff)
        if ticket.state == states.OPGEPAKT:
            ticket = await self.take(ticket, staff)
        if ticket.state != states.LIVE:
            raise TicketClosed("Je kunt alleen berichten sturen als je het gesprek hebt overgenomen.")
        started = utcnow()
        message = await self.run(self.tickets.add_message, ticket, "medewerker",
                                 staff.display_name, text, client_msg_id=client_msg_id)
        fresh = message.at >= started
        delivered = await self._say(ticket, handoff_id(ticket, message.seq), message.text,
                                    agent=message.author or staff.display_name, fresh=fresh)
        self._count("handoff_staff_messages")
        _log("handoff_staff_message", ticket=ticket.id, staff=staff.id, seq=message.seq,
             delivered=delivered)
        await self.ticket_changed(ticket.id)
        return message, delivered

    async def finish(self, ref: Any, staff: StaffView, *, close: bool,
                     reason: Optional[str] = None) -> TicketView:
        """Terug naar de assistent (hand_back) or afronden (close): resume Rasa and say so."""
        if close:
            ticket = await self.run(self.tickets.close, ref, staff, reason=reason)
        else:
            ticket = await self.run(self.tickets.hand_back, ref, staff, reason=reason)
        text = TEXT_CLOSED if close else TEXT_BACK
        try:
            await self.run(self.tickets.add_message, ticket, "systeem", None, text, mask=False)
        except Exception:  # noqa: BLE001 - the transition happened; the note is secondary
            log.exception("handoff system message not stored")
        await self._push(ticket.conversation_id, {"type": "handoff", "handoff": None})
        await self._say(ticket, handoff_id(ticket, "einde"), text, resume=True)
        _log("handoff_finished", ticket=ticket.id, state=ticket.state, staff=staff.id)
        await self.ticket_changed(ticket.id)
        await self.queue_changed()
        return ticket

    # -- console notifications -------------------------------------------------------------------

    async def queue_snapshot(self) -> Dict[str, Any]:
        now = utcnow()
        waiting = await self.run(self.tickets.queue, now)
        active = await self.run(self.tickets.active_tickets)
        return {
            "type": "queue",
            "nu": now.isoformat(timespec="seconds") + "Z",
            "open": self.hours.is_open(),
            "wachtrij": [q.to_dict() for q in waiting],
            "actief": [ticket_frame(t, now) for t in active],
        }

    @staticmethod
    def _queue_signature(frame: Dict[str, Any]) -> str:
        return json.dumps([[q["id"] for q in frame["wachtrij"]],
                           [(t["id"], t["status"], t["medewerker"]) for t in frame["actief"]],
                           frame["open"]])

    async def queue_changed(self, force: bool = True) -> None:
        if not self.console.conns:
            return
        try:
            frame = await self.queue_snapshot()
        except Exception:  # noqa: BLE001
            log.exception("queue snapshot failed")
            return
        sig = self._queue_signature(frame)
        if not force and sig == self._queue_sig:
            return
        self._queue_sig = sig
        await self.console.broadcast(frame)

    async def catch_up(self, conn: ConsoleConn, ticket: Optional[TicketView] = None) -> None:
        """Send a console socket its ticket's state (when changed) and the messages after the
        last seq it has."""
        if conn.ticket_id is None:
            return
        async with conn.lock:
            if ticket is None:
                ticket = await self.run(self.tickets.find_ticket, conn.ticket_id)
                if ticket is None:
                    return
            sig = (ticket.state, ticket.assigned_to, ticket.assigned_name)
            if sig != conn.ticket_sig:
                conn.ticket_sig = sig
                await self.console.send(conn, {"type": "ticket", "ticket": ticket_frame(ticket)})
            if ticket.last_seq > conn.after:
                messages = await self.run(self.tickets.messages_after, conn.ticket_id, conn.after)
                if messages:
                    sent = await self.console.send(conn, {
                        "type": "messages", "ticket": ticket.public_id,
                        "messages": [message_frame(m) for m in messages]})
                    if sent:
                        conn.after = messages[-1].seq

    async def ticket_changed(self, ticket_id: int) -> None:
        conns = self.console.watching(ticket_id)
        if not conns:
            return
        try:
            ticket = await self.run(self.tickets.find_ticket, ticket_id)
        except Exception:  # noqa: BLE001
            log.exception("ticket lookup failed")
            return
        if ticket is None:
            return
        for conn in conns:
            try:
                await self.catch_up(conn, ticket)
            except Exception:  # noqa: BLE001
                log.exception("console catch-up failed")

    async def end_stale_sessions(self) -> None:
        """Close console sockets whose session ended elsewhere (logout in another gateway or
        browser, deactivation, a new password): the account decides, not the open socket."""
        from bot.web.staffauth import session_stamp

        for staff_id in {c.staff_id for c in self.console.conns.values()}:
            user = await self.run(self.staff.get, staff_id)
            stamps = {c.stamp for c in self.console.conns.values() if c.staff_id == staff_id}
            if user is None or not user.is_active or stamps != {session_stamp(user)}:
                await self.console.close_staff(staff_id)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            if not self.console.conns:
                continue
            try:
                await self.end_stale_sessions()
                await self.queue_changed(force=False)
                for ticket_id in self.console.ticket_ids():
                    await self.ticket_changed(ticket_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep polling
                log.exception("handoff poll failed")


__all__ = ["ROUTER", "HandoffRouter", "ConsoleHub", "ConsoleConn", "knowledge_answers",
           "handoff_id", "POLL_S"]
