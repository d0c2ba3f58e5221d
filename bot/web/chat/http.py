"""The chat over plain HTTP (/chat/http): the fallback for networks that block WebSockets. One
client frame (plus "session") per POST; the answer holds the server frames it causes."""
from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Optional

from aiohttp import web

from bot.web.chat.service import ChatService, error_from, log_event
from bot.web.keys import CHAT, METRICS, SETTINGS
from bot.web.protocol import MAX_FRAME_BYTES, FrameError, error_frame, parse_frame
from bot.web.security import cors_headers, origin_allowed


def _json(request: web.Request, frames: List[Dict[str, Any]], status: int = 200,
          headers: Optional[Dict[str, str]] = None) -> web.Response:
    resp = web.json_response({"frames": frames}, status=status, headers=headers)
    resp.headers.update(cors_headers(request, request.app[SETTINGS]))
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def chat_http_options(request: web.Request) -> web.Response:
    if not origin_allowed(request, request.app[SETTINGS]):
        raise web.HTTPForbidden()
    resp = web.Response(status=204)
    resp.headers.update(cors_headers(request, request.app[SETTINGS], preflight=True))
    return resp


async def chat_http(request: web.Request) -> web.Response:
    """POST one client frame (plus "session"), get back the server frames it causes."""
    service: ChatService = request.app[CHAT]
    metrics: Counter = request.app[METRICS]
    if not origin_allowed(request, request.app[SETTINGS]):
        metrics["http_forbidden_origin"] += 1
        log_event("forbidden_origin", transport="http")
        return web.json_response({"frames": [error_frame("forbidden_origin")]}, status=403)
    if request.content_type != "application/json":
        return _json(request, [error_frame("invalid")], status=415)
    if request.content_length is not None and request.content_length > MAX_FRAME_BYTES:
        return _json(request, [error_frame("too_large")], status=413)
    body = await request.content.read(MAX_FRAME_BYTES + 1)
    if len(body) > MAX_FRAME_BYTES:
        return _json(request, [error_frame("too_large")], status=413)
    try:
        frame = parse_frame(body.decode("utf-8"))
    except UnicodeDecodeError:
        return _json(request, [error_frame("bad_frame")], status=400)
    except FrameError as exc:
        return _json(request, [error_from(exc)], status=400)
    client = service.client(request)
    frames: List[Dict[str, Any]] = []

    async def emit(f: Dict[str, Any]) -> None:
        if f.get("type") != "typing":
            frames.append(f)

    kind = frame["type"]
    try:
        if kind in ("hello", "reset"):
            service.limit_session_frame(client)
        if kind == "hello":
            _, ready = await service.hello(frame, client)
            frames.append(ready)
        elif kind == "ping":
            frames.append({"type": "pong"})
        elif kind in ("message", "button", "reset"):
            session = service.codec.parse(frame.get("session"))
            if session is None:
                return _json(request, [error_frame("session_expired")], status=401)
            if kind == "reset":
                _, ready = service.reset(session, client)
                frames.append(ready)
            else:
                await service.message(frame, session, client, emit, transport="http")
        else:
            raise FrameError("invalid")
    except FrameError as exc:
        status = {"rate_limited": 429, "unavailable": 503, "too_long": 413}.get(exc.code, 400)
        headers = {"Retry-After": str(exc.params["wait"])} if "wait" in exc.params else None
        return _json(request, frames + [error_from(exc)], status=status, headers=headers)
    return _json(request, frames)
