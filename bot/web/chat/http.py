"""The chat over plain HTTP (/chat/http): the fallback for networks that block WebSockets. One
client frame (plus "session") per POST; the answer holds the server frames it causes. What a
frame means is the chat service's (service.py, ``dispatch``); this transport reads the body and
writes the frames with an HTTP status."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.core.logs import log_event
from bot.web.chat.service import Conversation
from bot.web.keys import CHAT, METRICS, SETTINGS
from bot.web.protocol import MAX_FRAME_BYTES, FrameError, error_frame, parse_frame
from bot.web.security import client_ip, cors_headers, origin_allowed, rate_key

log = logging.getLogger("bot.web.chat")

#: The HTTP status of a refused frame (400 for the rest).
ERROR_STATUS = {"rate_limited": 429, "unavailable": 503, "too_long": 413, "session_expired": 401}


def _json(
    request: web.Request, frames: list[dict[str, Any]], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
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
    service = request.app[CHAT]
    if not origin_allowed(request, request.app[SETTINGS]):
        request.app[METRICS]["http_forbidden_origin"] += 1
        log_event(log, "forbidden_origin", transport="http")
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
        return _json(request, [exc.as_frame()], status=400)
    frames: list[dict[str, Any]] = []

    async def emit(f: dict[str, Any]) -> None:
        if f.get("type") != "typing":  # nothing to show between request and answer
            frames.append(f)

    conv = Conversation(service.client_id(rate_key(client_ip(request))), emit, "http")
    try:
        await service.dispatch(frame, conv)
    except FrameError as exc:
        headers = {"Retry-After": str(exc.params["wait"])} if "wait" in exc.params else None
        return _json(request, [*frames, exc.as_frame()], status=ERROR_STATUS.get(exc.code, 400), headers=headers)
    return _json(request, frames)
