"""Redis goes away and comes back; the gateways keep working (bot/web/bus.py).

A redis-server of the test's own on a free port (never the machine's on 6379), two buses on it as
two gateways have them. While Redis is gone a push still reaches the sockets of the gateway that
made it (and the failed publish is counted); once Redis is back each subscriber has reconnected
and resubscribed by itself, and delivery between the gateways works again, with the same bus
objects. A Redis that stops answering without closing its connections (SIGSTOP: a half-open
connection) is given up by the subscriber's ping and found again.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.web import bus as bus_mod
from bot.web.bus import Bus
from tests.fixtures.bus import FakeSocket, bound, started_buses
from tests.fixtures.gateway import free_port, poll_async

pytestmark = pytest.mark.asyncio


class RedisServer:
    """`redis-server` as a child process without persistence, to kill and start again."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    async def _answers(self) -> bool:
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(await client.ping())
        except Exception:
            return False
        finally:
            await client.aclose()

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await poll_async(self._answers, 10, f"redis-server on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no goodbye to the clients, like a crash
            self.proc.wait(timeout=10)

    def signal(self, sig: int) -> None:
        assert self.proc is not None, "start() first"
        os.kill(self.proc.pid, sig)


@pytest_asyncio.fixture
async def server(tmp_path):
    server = RedisServer(free_port(), tmp_path)
    await server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.signal(signal.SIGCONT)
    server.kill()


@pytest_asyncio.fixture
async def buses(server):
    made = await started_buses(server.url, "kw-restart:")
    yield made
    for bus in made:
        await bus.stop()


async def across(sender: Bus, receiver: FakeSocket, frame: dict[str, Any], what: str) -> None:
    """Push ``frame`` and a marker through ``sender``; wait for the marker at ``receiver``."""
    marker = {"type": "marker", "after": frame}
    await sender.push("gesprek-x", frame)
    await sender.push("gesprek-x", marker)
    await poll_async(lambda: marker in receiver.sent, 20, what)


async def test_delivery_survives_a_redis_restart_without_new_buses(server, buses):
    one, two = buses
    x_on_one, x_on_two = bound(one, "gesprek-x"), bound(two, "gesprek-x")
    a, b, c = ({"type": "agent", "messages": [{"id": f"h-1-{n}", "text": n, "buttons": []}]} for n in "abc")
    await across(one, x_on_two, a, "the first frame on gateway 2")

    server.kill()
    await poll_async(lambda: not one.subscribed and not two.subscribed, 10, "the subscribers to notice")
    started = time.monotonic()
    assert await one.push("gesprek-x", b) == 1  # this gateway's socket, without Redis
    await one.ticket_changed(3)
    assert time.monotonic() - started < 2.0  # a Redis that is gone is not waited for
    assert x_on_one.sent[-1] == b
    assert one.metrics["pubsub_publish_errors"] == 2

    await server.start()  # the same port, an empty Redis: nothing subscribed
    await poll_async(lambda: one.subscribed and two.subscribed, 20, "both subscribers back")
    await across(one, x_on_two, c, "the frame after the restart on gateway 2")
    # Each frame once; b was published while Redis was gone and is lost for gateway 2 (the
    # widget has it from the tracker on its next reconnect).
    assert [f.get("after", f) for f in x_on_two.sent] == [a, a, c, c]
    assert [f.get("after", f) for f in x_on_one.sent] == [a, a, b, c, c]
    await two.ticket_changed(9)
    # Gateway 1 heard its own change 3 without Redis; gateway 2 heard its own 9 at once, and
    # not 3 (published while Redis was gone).
    await poll_async(lambda: one.listeners[0].heard == [3, 9], 10, "a ticket change on gateway 1")
    assert two.listeners[0].heard == [9]
    for bus in buses:
        assert bus.metrics["pubsub_subscribe_errors"] >= 1


async def test_a_redis_that_stops_answering_is_given_up_and_found_again(server, buses, monkeypatch):
    # Shorter than in production, so the test does not wait 15 s for the silence.
    monkeypatch.setattr(bus_mod, "READ_S", 0.2)
    monkeypatch.setattr(bus_mod, "PING_S", 0.3)
    monkeypatch.setattr(bus_mod, "SILENT_S", 1.0)
    monkeypatch.setattr(bus_mod, "QUIET_AFTER_TIMEOUT_S", 0.5)
    one, two = buses
    x_on_one, x_on_two = bound(one, "gesprek-x"), bound(two, "gesprek-x")

    server.signal(signal.SIGSTOP)  # connections stay open; nothing answers
    try:
        started = time.monotonic()
        assert await one.push("gesprek-x", {"type": "pong"}) == 1
        assert await one.push("gesprek-x", {"type": "pong"}) == 1
        # One publish timed out (COMMAND_TIMEOUT_S); the next did not wait again.
        assert time.monotonic() - started < bus_mod.COMMAND_TIMEOUT_S + 1.0
        assert one.metrics["pubsub_publish_errors"] == 1 and one.metrics["pubsub_publish_skipped"] == 1
        assert x_on_one.sent == [{"type": "pong"}] * 2
        await poll_async(lambda: not one.subscribed and not two.subscribed, 10, "the silence to be noticed")
    finally:
        server.signal(signal.SIGCONT)

    await poll_async(lambda: one.subscribed and two.subscribed, 20, "both subscribers back")
    loop = asyncio.get_running_loop()
    await poll_async(lambda: loop.time() > one._quiet_until, 5, "the quiet time after the timeout")
    frame = {"type": "agent", "messages": [{"id": "h-1-9", "text": "weer daar", "buttons": []}]}
    await across(one, x_on_two, frame, "a frame after the silence on gateway 2")
    assert x_on_two.sent.count(frame) == 1
