"""The open widget sockets of this gateway, per conversation, so that the live handoff (through
the bus, bot/web/bus.py) can push frames to them. The socket transport (ws.py) adds and binds
its sockets here; nothing here reads or parses frames."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class ChatHub:
    """Open sockets per conversation, so others (e.g. helpdesk staff) can push frames."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[web.WebSocketResponse]] = {}
        self.all: set[web.WebSocketResponse] = set()

    def add(self, ws: web.WebSocketResponse) -> None:
        self.all.add(ws)

    def bind(self, sid: str, ws: web.WebSocketResponse, old: str | None = None) -> None:
        if old:
            self.unbind(old, ws)
        self._sockets.setdefault(sid, set()).add(ws)

    def unbind(self, sid: str | None, ws: web.WebSocketResponse) -> None:
        if sid and sid in self._sockets:
            self._sockets[sid].discard(ws)
            if not self._sockets[sid]:
                del self._sockets[sid]

    def remove(self, ws: web.WebSocketResponse) -> None:
        self.all.discard(ws)

    async def push(self, sid: str, frame: dict[str, Any]) -> int:
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


__all__ = ["ChatHub"]
