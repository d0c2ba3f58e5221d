"""The chat over a WebSocket (/chat/ws): reads frames from the socket and writes the service's
answers to it. What a frame means is the chat service's (service.py, ``dispatch``); this
transport checks the handshake, keeps one socket's frames in order and binds the socket to its
conversation in the hub (hub.py), so the live handoff can push to it."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from bot.core.logs import log_event
from bot.web.chat.hub import ChatHub
from bot.web.chat.service import Conversation, Emit
from bot.web.keys import CHAT, HUB, METRICS, SETTINGS
from bot.web.protocol import WS_MAX_MSG_SIZE, FrameError, error_frame, parse_frame
from bot.web.security import client_ip, origin_allowed, rate_key
from bot.web.sessions import ChatSession

log = logging.getLogger("bot.web.chat")

# Seconds a new WebSocket may take to send its hello.
HELLO_TIMEOUT_S = 10.0
# Server pings keep proxies from closing idle sockets and notice dead clients.
WS_HEARTBEAT_S = 25.0
# Unreadable frames tolerated on one socket before it is closed (policy violation).
MAX_BAD_FRAMES = 5
# Frames of one socket waiting for the one before them; more are refused (rate_limited).
QUEUED_FRAMES = 32
# Seconds a closing socket's last frame may take before its worker is cancelled.
DRAIN_S = 60

Frames = asyncio.Queue[dict[str, Any] | None]
Dispatch = Callable[[dict[str, Any], Conversation], Awaitable[None]]


def _frame_id(frame: dict[str, Any]) -> str | None:
    mid = frame.get("id")
    return mid if isinstance(mid, str) else None


async def chat_ws(request: web.Request) -> web.StreamResponse:
    app = request.app
    service, hub, metrics = app[CHAT], app[HUB], app[METRICS]
    if not origin_allowed(request, app[SETTINGS]):
        metrics["ws_forbidden_origin"] += 1
        log_event(log, "forbidden_origin", transport="ws")
        raise web.HTTPForbidden(text=json.dumps(error_frame("forbidden_origin")), content_type="application/json")
    client = service.client_id(rate_key(client_ip(request)))
    try:
        service.limit_socket(client)
    except FrameError as exc:
        raise web.HTTPTooManyRequests(
            text=json.dumps(error_frame(exc.code)),
            content_type="application/json",
            headers={"Retry-After": str(exc.params["wait"])},
        ) from None
    ws = web.WebSocketResponse(heartbeat=WS_HEARTBEAT_S, max_msg_size=WS_MAX_MSG_SIZE)
    await ws.prepare(request)
    hub.add(ws)
    metrics["ws_connections"] += 1

    async def emit(frame: dict[str, Any]) -> None:
        if not ws.closed:
            try:
                await ws.send_json(frame)
            except (ConnectionError, RuntimeError):
                pass

    def bind(new: ChatSession, old: ChatSession | None) -> None:
        hub.bind(new.sid, ws, old.sid if old else None)

    conv = Conversation(client, emit, "ws", socket_key=secrets.token_hex(8), on_session=bind)
    queue: Frames = asyncio.Queue(maxsize=QUEUED_FRAMES)
    task = asyncio.create_task(_work(queue, conv, service.dispatch))
    try:
        await _read(ws, queue, emit, metrics)
    finally:
        await _drain(queue, task)
        hub.unbind(conv.session.sid if conv.session else None, ws)
        hub.remove(ws)
        if not ws.closed:
            await ws.close()
    return ws


async def _work(queue: Frames, conv: Conversation, dispatch: Dispatch) -> None:
    """Frames of one socket are handled in order, apart from the reader, so that pings and pongs
    keep flowing while Rasa thinks."""
    while True:
        frame = await queue.get()
        if frame is None:
            return
        try:
            await dispatch(frame, conv)
        except FrameError as exc:
            await conv.emit(exc.as_frame())
        except Exception:  # never let one frame kill the socket
            log.exception("chat frame failed")
            await conv.emit(error_frame("unavailable", _frame_id(frame)))


async def _read(ws: web.WebSocketResponse, queue: Frames, emit: Emit, metrics: Counter[str]) -> None:
    """Read the socket until it closes: frames go to the queue, unreadable ones are answered
    here, and too many of those close the socket."""
    bad_frames = 0
    first = True
    try:
        while True:
            msg = await ws.receive(timeout=HELLO_TIMEOUT_S if first else None)
            first = False
            if msg.type == WSMsgType.TEXT:
                try:
                    frame = parse_frame(msg.data)
                except FrameError as exc:
                    bad_frames += 1
                    metrics["ws_bad_frames"] += 1
                    await emit(exc.as_frame())
                else:
                    if queue.full():
                        bad_frames += 1
                        await emit(error_frame("rate_limited", _frame_id(frame), wait=5))
                    else:
                        queue.put_nowait(frame)
            elif msg.type == WSMsgType.BINARY:
                bad_frames += 1
                metrics["ws_bad_frames"] += 1
                await emit(error_frame("bad_frame"))
            else:  # CLOSE, CLOSING, CLOSED, ERROR (e.g. a frame over max_msg_size)
                if msg.type == WSMsgType.ERROR:
                    metrics["ws_errors"] += 1
                return
            if bad_frames > MAX_BAD_FRAMES:
                await ws.close(code=1008, message=b"too many unreadable frames")
                return
    except TimeoutError:
        await ws.close(code=1008, message=b"no hello")


async def _drain(queue: Frames, task: asyncio.Task[None]) -> None:
    """Let the worker finish the frames it has (a reply to the last message), then end it."""
    if task.done():
        return
    try:
        queue.put_nowait(None)
    except asyncio.QueueFull:
        task.cancel()
    try:
        await asyncio.wait_for(task, timeout=DRAIN_S)
    except (TimeoutError, asyncio.CancelledError):
        task.cancel()


__all__ = ["ChatHub", "chat_ws"]
