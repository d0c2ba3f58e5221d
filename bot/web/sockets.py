"""Caps on open WebSockets (widget and console), per client address and in all, per gateway.

A WebSocket holds a connection, a task and buffers for as long as the client keeps it open, so
without a cap one address (or a few) could hold every file descriptor of the gateway. The
header-read timeout is aiohttp's keep-alive timeout (``KW_HEADER_TIMEOUT_S``, set in
bot/web/__main__.py): a connection that has not sent a whole request by then is closed.
"""

from __future__ import annotations

from collections import Counter

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.web.keys import METRICS, PROM, SETTINGS
from bot.web.protocol import error_frame
from bot.web.security import client_ip, rate_key

#: Seconds a refused client is asked to wait.
RETRY_AFTER_S = 60


class SocketCaps:
    def __init__(self, per_client: int, total: int):
        self.per_client = max(1, per_client)
        self.total = max(1, total)
        self.open: Counter[str] = Counter()
        self.count = 0

    def acquire(self, client: str) -> bool:
        if self.count >= self.total or self.open[client] >= self.per_client:
            return False
        self.open[client] += 1
        self.count += 1
        return True

    def release(self, client: str) -> None:
        self.count -= 1
        self.open[client] -= 1
        if self.open[client] <= 0:
            del self.open[client]


SOCKET_CAPS = web.AppKey("kw.socket_caps", SocketCaps)


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


@web.middleware
async def socket_caps(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts a WebSocket from its handshake until its handler returns (the socket closed)."""
    if not _is_websocket(request):
        return await handler(request)
    caps = request.config_dict[SOCKET_CAPS]
    client = rate_key(client_ip(request))
    if not caps.acquire(client):
        request.config_dict[METRICS]["ws_socket_cap"] += 1
        request.config_dict[PROM].refusals.labels(limit="sockets").inc()
        full = caps.count >= caps.total
        return web.json_response(
            error_frame("too_many_sockets"), status=503 if full else 429, headers={"Retry-After": str(RETRY_AFTER_S)}
        )
    try:
        return await handler(request)
    finally:
        caps.release(client)


def install(app: web.Application) -> None:
    settings = app[SETTINGS]
    app[SOCKET_CAPS] = SocketCaps(settings.max_sockets_per_client, settings.max_sockets)
    app.middlewares.append(socket_caps)
