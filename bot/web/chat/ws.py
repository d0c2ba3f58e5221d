"""The chat over a WebSocket (/chat/ws), and the open sockets per conversation (ChatHub) so the
live handoff can push to them."""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import Counter
from typing import Any, Dict, Optional, Set

from aiohttp import WSMsgType, web

from bot.web.chat.service import ChatService, error_from, log_event
from bot.web.keys import CHAT, HUB, METRICS, SETTINGS
from bot.web.protocol import WS_MAX_MSG_SIZE, FrameError, error_frame, parse_frame
from bot.web.security import origin_allowed
from bot.web.sessions import ChatSession

log = logging.getLogger("bot.web.chat")

# Seconds a new WebSocket may take to send its hello.
HELLO_TIMEOUT_S = 10.0
# Server pings keep proxies from closing idle sockets and notice dead clients.
WS_HEARTBEAT_S = 25.0
# Unreadable frames tolerated on one socket before it is closed (policy violation).
MAX_BAD_FRAMES = 5


class ChatHub:
    """Open sockets per conversation, so others (e.g. helpdesk staff) can push frames."""

    def __init__(self) -> None:
        self._sockets: Dict[str, Set[web.WebSocketResponse]] = {}
        self.all: Set[web.WebSocketResponse] = set()

    def add(self, ws: web.WebSocketResponse) -> None:
        self.all.add(ws)

    def bind(self, sid: str, ws: web.WebSocketResponse, old: Optional[str] = None) -> None:
        if old:
            self.unbind(old, ws)
        self._sockets.setdefault(sid, set()).add(ws)

    def unbind(self, sid: Optional[str], ws: web.WebSocketResponse) -> None:
        if sid and sid in self._sockets:
            self._sockets[sid].discard(ws)
            if not self._sockets[sid]:
                del self._sockets[sid]

    def remove(self, ws: web.WebSocketResponse) -> None:
        self.all.discard(ws)

    async def push(self, sid: str, frame: Dict[str, Any]) -> int:
        """Send a frame to every open socket of a conversation; returns how many got it."""
        sent = 0
        for ws in list(self._sockets.get(sid, ())):
            if not ws.closed:
                try:
                    await ws.send_json(frame)
                    sent += 1
                except (ConnectionError, RuntimeError):
                    pass
        return sent

    async def close_all(self) -> None:
        for ws in list(self.all):
            await ws.close(code=1001, message=b"server shutdown")


async def chat_ws(request: web.Request) -> web.StreamResponse:
    app = request.app
    service: ChatService = app[CHAT]
    hub: ChatHub = app[HUB]
    metrics: Counter = app[METRICS]
    if not origin_allowed(request, app[SETTINGS]):
        metrics["ws_forbidden_origin"] += 1
        log_event("forbidden_origin", transport="ws")
        raise web.HTTPForbidden(text=json.dumps(error_frame("forbidden_origin")),
                                content_type="application/json")
    client = service.client(request)
    allowed, wait = service.connect_limiter.hit(client)
    if not allowed:
        metrics["ws_rate_limited"] += 1
        raise web.HTTPTooManyRequests(
            text=json.dumps(error_frame("too_many_connections")), content_type="application/json",
            headers={"Retry-After": str(wait)})
    ws = web.WebSocketResponse(heartbeat=WS_HEARTBEAT_S, max_msg_size=WS_MAX_MSG_SIZE)
    await ws.prepare(request)
    hub.add(ws)
    metrics["ws_connections"] += 1
    queue: "asyncio.Queue[Optional[Dict[str, Any]]]" = asyncio.Queue(maxsize=32)
    conn: Dict[str, Any] = {"session": None, "hellos": 0}
    socket_key = secrets.token_hex(8)

    async def emit(frame: Dict[str, Any]) -> None:
        if not ws.closed:
            try:
                await ws.send_json(frame)
            except (ConnectionError, RuntimeError):
                pass

    async def worker() -> None:
        # Frames of one socket are handled in order, apart from the reader, so that pings and
        # pongs keep flowing while Rasa thinks.
        while True:
            frame = await queue.get()
            if frame is None:
                return
            try:
                await handle(frame)
            except FrameError as exc:
                await emit(error_from(exc))
            except Exception:  # never let one frame kill the socket
                log.exception("chat frame failed")
                await emit(error_frame("unavailable", frame.get("id") if isinstance(frame.get("id"), str) else None))

    async def handle(frame: Dict[str, Any]) -> None:
        kind = frame["type"]
        session: Optional[ChatSession] = conn["session"]
        if kind in ("hello", "reset") and conn["hellos"] > 0:
            # The handshake paid for the first hello.
            service.limit_session_frame(client, socket_key)
        if kind == "hello":
            conn["hellos"] += 1
            new_session, ready = await service.hello(frame, client)
            hub.bind(new_session.sid, ws, session.sid if session else None)
            conn["session"] = new_session
            await emit(ready)
        elif kind == "ping":
            await emit({"type": "pong"})
        elif session is None:
            raise FrameError("hello_required")
        elif kind in ("message", "button"):
            await service.message(frame, session, client, emit)
        elif kind == "reset":
            new_session, ready = service.reset(session, client)
            hub.bind(new_session.sid, ws, session.sid)
            conn["session"] = new_session
            await emit(ready)
        else:
            raise FrameError("invalid")

    task = asyncio.create_task(worker())
    bad_frames = 0
    try:
        first = True
        while True:
            msg = await ws.receive(timeout=HELLO_TIMEOUT_S if first else None)
            first = False
            if msg.type == WSMsgType.TEXT:
                try:
                    frame = parse_frame(msg.data)
                except FrameError as exc:
                    bad_frames += 1
                    metrics["ws_bad_frames"] += 1
                    await emit(error_from(exc))
                else:
                    if queue.full():
                        bad_frames += 1
                        await emit(error_frame("rate_limited", frame.get("id") if isinstance(frame.get("id"), str) else None, wait=5))
                    else:
                        queue.put_nowait(frame)
            elif msg.type == WSMsgType.BINARY:
                bad_frames += 1
                metrics["ws_bad_frames"] += 1
                await emit(error_frame("bad_frame"))
            else:  # CLOSE, CLOSING, CLOSED, ERROR (e.g. a frame over max_msg_size)
                if msg.type == WSMsgType.ERROR:
                    metrics["ws_errors"] += 1
                break
            if bad_frames > MAX_BAD_FRAMES:
                await ws.close(code=1008, message=b"too many unreadable frames")
                break
    except asyncio.TimeoutError:
        await ws.close(code=1008, message=b"no hello")
    finally:
        if not task.done():
            try:
                queue.put_nowait(None)
            except asyncio.QueueFull:
                task.cancel()
            try:
                await asyncio.wait_for(task, timeout=60)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
        session = conn["session"]
        hub.unbind(session.sid if session else None, ws)
        hub.remove(ws)
        if not ws.closed:
            await ws.close()
    return ws
