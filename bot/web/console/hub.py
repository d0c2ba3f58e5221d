"""The console's open sockets and what they are told: the queue when it changes and, for the
ticket a socket shows, its status when it changes and every message after the last seq it has.
Each frame carries its data and the server-rendered HTML that console.js puts in the page
(bot/web/console/fragments.py).

Changes made in this process reach the hub at once (it listens to the live handoff); a poller
(every ``poll_s`` seconds while a console is open) picks up what other processes did (tickets
created by the action server, other gateways) and closes sockets whose session ended elsewhere.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.core.clock import utcnow
from bot.handoff.live import LiveHandoff
from bot.handoff.views import NoteView, TicketView
from bot.web.console.fragments import Fragments
from bot.web.console.render import iso
from bot.web.staffauth import session_stamp

log = logging.getLogger("bot.web.console")


def ticket_frame(t: TicketView, now: dt.datetime | None = None) -> dict[str, Any]:
    data = t.to_dict()
    data["wachttijd_s"] = t.waiting_s(now)
    data["onderwerp"] = t.topic
    return data


def note_dict(note: NoteView) -> dict[str, Any]:
    return {"id": note.id, "auteur": note.author, "tekst": note.text, "tijd": iso(note.at)}


@dataclass(eq=False)
class ConsoleConn:
    ws: web.WebSocketResponse
    staff_id: int
    #: The session stamp (password change + session version) the socket was opened with.
    stamp: str = ""
    ticket_id: int | None = None
    after: int = 0
    ticket_sig: tuple[str, int | None, str | None] | None = None
    #: The ticket's mails as last sent (id, status, attempts of each); None: none sent yet.
    mail_sig: str | None = None
    #: The session's CSRF token (the mails fragment's retry form) and whether it is a beheerder's.
    csrf: str = ""
    beheerder: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ConsoleHub:
    """Open console sockets; frames are sent as JSON, errors of one socket are ignored."""

    def __init__(self, live: LiveHandoff, poll_s: float, fragments: Fragments) -> None:
        self.live = live
        self.poll_s = poll_s
        self.fragments = fragments
        self.conns: dict[web.WebSocketResponse, ConsoleConn] = {}
        self._queue_sig: str | None = None
        self._poller: asyncio.Task[None] | None = None

    # -- sockets -------------------------------------------------------------------------------

    def add(self, conn: ConsoleConn) -> None:
        self.conns[conn.ws] = conn

    def remove(self, ws: web.WebSocketResponse) -> None:
        self.conns.pop(ws, None)

    def open_sockets(self) -> int:
        return len(self.conns)

    def watching(self, ticket_id: int) -> list[ConsoleConn]:
        return [c for c in list(self.conns.values()) if c.ticket_id == ticket_id]

    def ticket_ids(self) -> list[int]:
        return sorted({c.ticket_id for c in self.conns.values() if c.ticket_id is not None})

    @staticmethod
    async def send(conn: ConsoleConn, frame: dict[str, Any]) -> bool:
        if conn.ws.closed:
            return False
        try:
            await conn.ws.send_json(frame)
            return True
        except (ConnectionError, RuntimeError):
            return False

    async def broadcast(self, frame: dict[str, Any]) -> None:
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

    # -- what the sockets are told ---------------------------------------------------------------

    async def queue_snapshot(self) -> dict[str, Any]:
        """The queue as data (the queue page, /helpdesk/api/wachtrij)."""
        live = self.live
        now = utcnow()
        waiting = await live.run(live.tickets.queue, now)
        active = await live.run(live.tickets.active_tickets)
        return {
            "type": "queue",
            "nu": now.isoformat(timespec="seconds") + "Z",
            "open": live.hours.is_open(),
            "wachtrij": [q.to_dict() for q in waiting],
            "actief": [ticket_frame(t, now) for t in active],
        }

    async def queue_frame(self) -> dict[str, Any]:
        """The queue snapshot with its rows rendered, for the sockets."""
        frame = await self.queue_snapshot()
        closed = None if frame["open"] else self.live.hours.closed_message()
        frame["html"] = self.fragments.queue(frame, closed)
        return frame

    @staticmethod
    def _queue_signature(frame: dict[str, Any]) -> str:
        return json.dumps(
            [
                [q["id"] for q in frame["wachtrij"]],
                [(t["id"], t["status"], t["medewerker"]) for t in frame["actief"]],
                frame["open"],
            ]
        )

    async def queue_changed(self, force: bool = True) -> None:
        if not self.conns:
            return
        try:
            frame = await self.queue_frame()
        except Exception:
            log.exception("queue snapshot failed")
            return
        sig = self._queue_signature(frame)
        if not force and sig == self._queue_sig:
            return
        self._queue_sig = sig
        await self.broadcast(frame)

    async def catch_up(self, conn: ConsoleConn, ticket: TicketView | None = None) -> None:
        """Send a console socket its ticket's state (when changed) and the messages after the
        last seq it has."""
        if conn.ticket_id is None:
            return
        live = self.live
        async with conn.lock:
            if ticket is None:
                ticket = await live.run(live.tickets.find_ticket, conn.ticket_id)
                if ticket is None:
                    return
            sig = (ticket.state, ticket.assigned_to, ticket.assigned_name)
            if sig != conn.ticket_sig:
                conn.ticket_sig = sig
                await self.send(
                    conn, {"type": "ticket", "ticket": ticket_frame(ticket), "html": self.fragments.ticket(ticket)}
                )
            await self._mails(conn, ticket)
            if ticket.last_seq > conn.after:
                messages = await live.run(live.tickets.messages_after, conn.ticket_id, conn.after)
                if messages:
                    sent = await self.send(
                        conn,
                        {
                            "type": "messages",
                            "ticket": ticket.public_id,
                            "messages": [m.to_dict() for m in messages],
                            "html": self.fragments.messages(messages),
                        },
                    )
                    if sent:
                        conn.after = messages[-1].seq

    async def _mails(self, conn: ConsoleConn, ticket: TicketView) -> None:
        """The ticket's mails and their status, when they changed since the last frame."""
        mails = await self.live.run(self.live.tickets.mails_for_ticket, ticket.id)
        sig = "|".join(f"{m.id}:{m.status}:{m.attempts}" for m in mails)
        if sig == conn.mail_sig or (conn.mail_sig is None and not mails):
            conn.mail_sig = sig
            return
        conn.mail_sig = sig
        may_retry = ticket.assigned_to in (None, conn.staff_id) or conn.beheerder
        await self.send(
            conn,
            {
                "type": "mails",
                "ticket": ticket.public_id,
                "html": self.fragments.mails(ticket, mails, csrf=conn.csrf, may_retry=may_retry),
            },
        )

    async def ticket_changed(self, ticket_id: int) -> None:
        conns = self.watching(ticket_id)
        if not conns:
            return
        try:
            ticket = await self.live.run(self.live.tickets.find_ticket, ticket_id)
        except Exception:
            log.exception("ticket lookup failed")
            return
        if ticket is None:
            return
        for conn in conns:
            try:
                await self.catch_up(conn, ticket)
            except Exception:
                log.exception("console catch-up failed")

    async def note_added(self, ticket: TicketView, note: NoteView) -> None:
        frame = {
            "type": "note",
            "ticket": ticket.public_id,
            "note": note_dict(note),
            "html": self.fragments.notes([note]),
        }
        for conn in self.watching(ticket.id):
            await self.send(conn, frame)

    # -- polling ---------------------------------------------------------------------------------

    async def end_stale_sessions(self) -> None:
        """Close console sockets whose session ended elsewhere (logout in another gateway or
        browser, deactivation, a new password): the account decides, not the open socket."""
        for staff_id in {c.staff_id for c in self.conns.values()}:
            user = await self.live.run(self.live.staff.get, staff_id)
            stamps = {c.stamp for c in self.conns.values() if c.staff_id == staff_id}
            if user is None or not user.is_active or stamps != {session_stamp(user)}:
                await self.close_staff(staff_id)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            if not self.conns:
                continue
            try:
                await self.end_stale_sessions()
                await self.queue_changed(force=False)
                for ticket_id in self.ticket_ids():
                    await self.ticket_changed(ticket_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep polling
                log.exception("handoff poll failed")

    def start(self) -> None:
        self._poller = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            try:
                await self._poller
            except (asyncio.CancelledError, Exception):
                pass
            self._poller = None
