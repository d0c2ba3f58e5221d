"""Closed-loop users: each sends its next turn as soon as the reply to the previous one arrived.

Two clients speak to the two stacks: `RestUser` posts to Rasa's REST channel webhook (stock
Rasa, as a plain integration would), `WidgetUser` speaks the widget's frames over the gateway's
chat WebSocket (bot/web/static/widget.js, docs/widget.md): hello, then message frames, each
answered by ack, typing and reply. Every run is bounded by its number of turns, a timeout per
turn and a deadline for the whole level.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import aiohttp
import yaml

# Turns the bench never waits longer for (a closed loop at 50 users answers within seconds).
TURN_TIMEOUT_S = 120.0
# Seconds a WebSocket may take to connect and get its `ready` frame.
CONNECT_TIMEOUT_S = 30.0
USER_AGENT = "kw-bench/1 (loopback load test)"


class TurnError(Exception):
    """A turn that got no answer: an HTTP error, an error frame, a closed socket or a timeout."""


def load_questions(path: Path) -> list[str]:
    """The sample's questions except the status ones (those need a number and code)."""
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    questions = [item["q"] for item in items if item.get("tag") != "status"]
    if not questions:
        raise ValueError(f"{path} holds no questions")
    return questions


class User(Protocol):
    async def open(self) -> None: ...
    async def ask(self, text: str) -> int: ...  # returns the number of bot messages
    async def close(self) -> None: ...


UserFactory = Callable[[aiohttp.ClientSession], User]


class RestUser:
    def __init__(self, http: aiohttp.ClientSession, webhook_url: str) -> None:
        self.http, self.url = http, webhook_url
        self.sender = f"bench-{uuid.uuid4().hex}"

    async def open(self) -> None:
        return None

    async def ask(self, text: str) -> int:
        async with self.http.post(self.url, json={"sender": self.sender, "message": text}) as resp:
            if resp.status != 200:
                raise TurnError(f"http {resp.status}")
            messages = await resp.json(content_type=None)
        if not isinstance(messages, list):
            raise TurnError("answer is not a list")
        return len(messages)

    async def close(self) -> None:
        return None


class WidgetUser:
    def __init__(self, http: aiohttp.ClientSession, ws_url: str, origin: str) -> None:
        self.http, self.url, self.origin = http, ws_url, origin
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def open(self) -> None:
        # The Origin header is what a browser sends from the gateway's own demo page.
        self.ws = await self.http.ws_connect(
            self.url, origin=self.origin, autoping=True, headers={"User-Agent": USER_AGENT}
        )
        await self.ws.send_json({"type": "hello", "session": None, "portal_token": None})
        frame = await self._frame()
        if frame.get("type") != "ready":
            raise TurnError(f"hello answered with {frame.get('type')}: {frame.get('code')}")

    async def _frame(self) -> dict:
        assert self.ws is not None
        msg = await self.ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise TurnError(f"socket {msg.type.name.lower()}")
        frame = msg.json()
        if not isinstance(frame, dict):
            raise TurnError("frame is not an object")
        return frame

    async def ask(self, text: str) -> int:
        assert self.ws is not None
        mid = uuid.uuid4().hex  # the widget's ids are 128 random bits in hex, too
        await self.ws.send_json({"type": "message", "id": mid, "text": text})
        while True:  # ack and typing come first; agent/handoff pushes may come in between
            frame = await self._frame()
            if frame.get("type") == "error":
                raise TurnError(f"error frame {frame.get('code')}")
            if frame.get("type") == "reply" and frame.get("id") == mid:
                return len(frame.get("messages") or [])

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


@dataclass
class Turn:
    user: int
    index: int  # 0-based turn number within the user's conversation
    start: float  # seconds since the level started
    latency_s: float
    messages: int
    error: str = ""


@dataclass
class Level:
    users: int
    turns_per_user: int
    wall_s: float
    turns: list[Turn]

    def as_dict(self) -> dict:
        return {
            "users": self.users,
            "turns_per_user": self.turns_per_user,
            "wall_s": round(self.wall_s, 3),
            "turns": [asdict(t) for t in self.turns],
        }


async def _bounded(coro: Awaitable, timeout: float):
    return await asyncio.wait_for(coro, timeout=timeout)


async def run_level(
    factory: UserFactory,
    questions: list[str],
    users: int,
    turns: int,
    deadline_s: float,
    turn_timeout_s: float = TURN_TIMEOUT_S,
) -> Level:
    """`users` closed loops of `turns` turns each; user i asks question (i + t) of the list."""
    connector = aiohttp.TCPConnector(limit=users + 4)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=turn_timeout_s)) as http:
        clients = [factory(http) for _ in range(users)]
        opened = await asyncio.gather(*(_bounded(c.open(), CONNECT_TIMEOUT_S) for c in clients), return_exceptions=True)
        t0 = time.monotonic()
        deadline = t0 + deadline_s
        records: list[Turn] = []

        async def loop(i: int, client: User, failed: BaseException | None) -> None:
            for t in range(turns):
                started = time.monotonic()
                if failed is not None:
                    records.append(Turn(i, t, started - t0, 0.0, 0, f"connect: {failed!r}"[:200]))
                    continue
                if started > deadline:
                    records.append(Turn(i, t, started - t0, 0.0, 0, "level deadline passed"))
                    continue
                question = questions[(i + t) % len(questions)]
                try:
                    n = await _bounded(client.ask(question), min(turn_timeout_s, deadline - started + 1))
                    records.append(Turn(i, t, started - t0, time.monotonic() - started, n))
                except (TimeoutError, TurnError, aiohttp.ClientError, OSError, RuntimeError, ValueError) as exc:
                    records.append(
                        Turn(i, t, started - t0, time.monotonic() - started, 0, (str(exc) or type(exc).__name__)[:200])
                    )

        try:
            await asyncio.gather(
                *(
                    loop(i, c, o if isinstance(o, BaseException) else None)
                    for i, c, o in zip(range(users), clients, opened, strict=True)
                )
            )
        finally:
            await asyncio.gather(*(_bounded(c.close(), 10) for c in clients), return_exceptions=True)
        ends = [t.start + t.latency_s for t in records]
        wall = max(ends) - min(t.start for t in records) if records else 0.0
    records.sort(key=lambda r: (r.user, r.index))
    return Level(users, turns, wall, records)
