"""The console WebSocket (/helpdesk/ws): live queue and ticket updates for console.js.

Handshake: the gateway's own Origin and a staff session; the first frame is
``{"type": "hello", "csrf": TOKEN, "ticket": ID|null, "after": SEQ}``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import WSMsgType, web

from bot import texts
from bot.web.console.auth import current_staff
from bot.web.console.hub import ConsoleConn
from bot.web.console.keys import CONSOLE_HUB
from bot.web.console.render import json_error
from bot.web.console.tickets import ID_RE
from bot.web.keys import LIVE, METRICS
from bot.web.security import same_origin
from bot.web.staffauth import SESSION, csrf_matches

HELLO_TIMEOUT_S = 10.0
HEARTBEAT_S = 25.0
MAX_MSG_SIZE = 16 * 1024


async def _hello(ws: web.WebSocketResponse, request: web.Request) -> Any:
    """The first frame, when it is a hello with the session's CSRF token; else None."""
    try:
        msg = await ws.receive(timeout=HELLO_TIMEOUT_S)
    except TimeoutError:
        await ws.close(code=1008, message=b"no hello")
        return None
    hello: Any = None
    if msg.type == WSMsgType.TEXT:
        try:
            hello = json.loads(msg.data)
        except (ValueError, RecursionError):
            hello = None
    if not (
        isinstance(hello, dict) and hello.get("type") == "hello" and csrf_matches(request[SESSION], hello.get("csrf"))
    ):
        await ws.close(code=1008, message=b"csrf")
        return None
    return hello


async def console_ws(request: web.Request) -> web.StreamResponse:
    metrics = request.config_dict[METRICS]
    if not same_origin(request, required=True):
        metrics["helpdesk_ws_forbidden_origin"] += 1
        return json_error(403, texts.SOCKET_REFUSED)
    staff = await current_staff(request)
    if staff is None:
        return json_error(401, texts.LOG_IN_FIRST)
    if not staff.works_helpdesk:  # a redacteur: no queue, no conversations
        return json_error(403, texts.HELPDESK_ONLY)
    live = request.config_dict[LIVE]
    hub = request.config_dict[CONSOLE_HUB]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_MSG_SIZE)
    await ws.prepare(request)
    hello = await _hello(ws, request)
    if hello is None:
        return ws
    conn = ConsoleConn(
        ws=ws, staff_id=staff.id, stamp=request[SESSION].stamp, csrf=request[SESSION].csrf, beheerder=staff.is_beheerder
    )
    ticket_ref = hello.get("ticket")
    if isinstance(ticket_ref, str) and ID_RE.match(ticket_ref):
        ticket = await live.run(live.tickets.find_ticket, ticket_ref)
        if ticket is not None:
            conn.ticket_id = ticket.id
            after = hello.get("after")
            conn.after = after if isinstance(after, int) and after >= 0 else 0
    hub.add(conn)
    metrics["helpdesk_ws_connections"] += 1
    try:
        await ws.send_json({"type": "ready"})
        await ws.send_json(await hub.queue_frame())
        await hub.catch_up(conn)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                try:
                    frame = json.loads(msg.data)
                except (ValueError, RecursionError):
                    continue
                if isinstance(frame, dict) and frame.get("type") == "ping":
                    await ws.send_json({"type": "pong"})
            elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    except (ConnectionError, RuntimeError):
        pass
    finally:
        hub.remove(ws)
        if not ws.closed:
            await ws.close()
    return ws
