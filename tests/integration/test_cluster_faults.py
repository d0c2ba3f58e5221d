"""The cluster (bot/cluster.py: two gateways, two Rasa replicas, two action servers behind
HAProxy) survives its faults, with real processes on loopback and a PostgreSQL and Redis of its
own (tests/fixtures/services.py), so restarting them touches nobody else:

- kill -9 of one Rasa replica during 20 concurrent conversations: every message gets exactly
  one answer, none is lost or processed twice, every conversation stays in order;
- the action servers killed: a Dutch "probeer het zo opnieuw", then answers again once the
  supervisor has restarted them;
- PostgreSQL restarted, then Redis restarted: answers go on without restarting our processes.

The tests run in file order on one cluster (module fixture); each leaves it whole.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import urllib.request
import uuid
from types import SimpleNamespace

import aiohttp
import pytest

from bot import cluster, launcher, migrations
from bot.settings import load
from tests.fixtures.chat import sid_of
from tests.fixtures.gateway import poll
from tests.fixtures.services import OwnPostgres, OwnRedis

QUESTIONS = [
    "Welke gebieden doen mee?",
    "Wat is de deadline voor de aanvraag?",
    "Hoeveel geld krijgt Rotterdam?",
    "Welke thema's zijn er?",
    "Wie mag de aanvraag indienen?",
    "Hoeveel geld is er in totaal?",
]
CONVERSATIONS = 20
TURNS = 5


class Supervisor(threading.Thread):
    """What `make run-cluster` does in its main loop, in a thread the test can pause."""

    def __init__(self, stack: cluster.Cluster):
        super().__init__(daemon=True)
        self.stack = stack
        self.running = threading.Event()
        self.running.set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            if self.running.is_set():
                self.stack.supervise_once(time.monotonic())
            self.done.wait(0.2)  # supervision interval


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    pg = OwnPostgres().start()
    red = OwnRedis().start()
    var_dir = tmp_path_factory.mktemp("var-cluster")
    env = launcher.isolated_env(
        var_dir,
        {
            "KW_DATABASE_URL": pg.create_database("kw_app"),
            "KW_TRACKER_STORE_URL": pg.create_database("kw_tracker"),
            "KW_LOCK_STORE_URL": red.url,
            "KW_PUBSUB_URL": red.url,
            # Every test user comes from 127.0.0.1 through HAProxy (which replaces any
            # X-Forwarded-For): to the gateways they are one client, as in the bench.
            "KW_RATE_LIMIT_PER_MINUTE": "1000000",
            "KW_CONNECT_RATE_PER_MINUTE": "1000000",
        },
    )
    settings = load(env)
    model = launcher.ensure_model(settings)
    migrations.upgrade(settings.database_url)
    stack = cluster.Cluster(settings, model, cluster.Ports.free(settings))
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # child_env() starts from os.environ
    try:
        stack.start(timeout_s=900)  # two Rasa replicas load TensorFlow at once on 2 cores
    except BaseException:
        pg.stop()
        red.stop()
        raise
    finally:
        os.environ.clear()
        os.environ.update(saved)
    supervisor = Supervisor(stack)
    supervisor.start()
    yield SimpleNamespace(
        settings=settings, stack=stack, pg=pg, redis=red, supervisor=supervisor, url=settings.gateway_url
    )
    supervisor.done.set()
    supervisor.join(timeout=10)
    stack.stop()
    pg.stop()
    red.stop()


def service(run, name: str) -> launcher.Service:
    return next(s for s in run.stack.services if s.name == name)


def pids(run) -> dict[str, int]:
    return {s.name: s.proc.pid for s in run.stack.services}


def tracker_events(run, sid: str) -> list[dict]:
    s = run.settings
    url = f"{s.rasa_url}/conversations/{sid}/tracker?token={s.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())["events"]


class Widget:
    """One widget conversation through HAProxy; keeps every frame it receives."""

    def __init__(self, run, n: int):
        self.url = run.url
        self.headers = {"Origin": run.url, "User-Agent": f"Mozilla/5.0 (cluster test {n})"}
        self.frames: list[dict] = []
        self.sent: list[str] = []

    async def __aenter__(self) -> Widget:
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(f"{self.url}/chat/ws", headers=self.headers)
        await self.ws.send_json({"type": "hello"})
        ready = await self.next(lambda f: f["type"] in ("ready", "error"))
        assert ready["type"] == "ready", ready
        self.sid = sid_of(ready["session"])
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()
        await self.http.close()

    async def next(self, done, timeout: float = 90) -> dict:
        while True:
            msg = await self.ws.receive(timeout=timeout)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            frame = json.loads(msg.data)
            self.frames.append(frame)
            if done(frame):
                return frame

    async def say(self, text: str) -> dict:
        mid = uuid.uuid4().hex
        self.sent.append(mid)
        await self.ws.send_json({"type": "message", "id": mid, "text": text})
        return await self.next(lambda f: f.get("id") == mid and f["type"] in ("reply", "error"))


def answered(frame: dict) -> bool:
    return frame["type"] == "reply" and any(m.get("text") for m in frame["messages"])


# It found Rasa's ticket lock leaving a request behind the dead replica's ticket for ever
# (rasa_runtime/stores.py, TicketKeepalive; docs/cluster.md).
def test_killing_a_rasa_replica_loses_and_repeats_no_reply(cluster_run):
    run = cluster_run
    victim = service(run, "rasa-1")
    assert victim.proc is not None
    victim_pid = victim.proc.pid
    second_turn_done = 0
    killed = asyncio.Event()

    async def conversation(n: int) -> Widget:
        nonlocal second_turn_done
        async with Widget(run, n) as widget:
            for turn in range(TURNS):
                frame = await widget.say(QUESTIONS[(n + turn) % len(QUESTIONS)])
                assert answered(frame), (n, turn, frame)
                if turn == 1:
                    second_turn_done += 1
                    # Half the conversations are past their second turn, the rest still in it:
                    # turns are in flight on both replicas when one dies.
                    if second_turn_done == CONVERSATIONS // 2:
                        os.kill(victim_pid, signal.SIGKILL)
                        killed.set()
            return widget

    async def main() -> list[Widget]:
        return await asyncio.gather(*(conversation(n) for n in range(CONVERSATIONS)))

    # The supervisor waits until the conversations are done: a restarting replica loads
    # TensorFlow for a minute on one of the 2 cores, which is not what this test measures.
    run.supervisor.running.clear()
    try:
        widgets = asyncio.run(main())
    finally:
        run.supervisor.running.set()
    assert killed.is_set()
    for widget in widgets:
        replies = [f for f in widget.frames if f["type"] == "reply"]
        # One answer per message, in the order they were sent (a second answer to a message
        # would arrive before the answer to the next one).
        assert [f["id"] for f in replies] == widget.sent
        assert not [f for f in widget.frames if f["type"] == "error"]
        # Rasa processed each message once, in order: the tracker holds each msg_id once.
        stored = [
            e["metadata"].get("msg_id")
            for e in tracker_events(run, widget.sid)
            if e.get("event") == "user" and isinstance(e.get("metadata"), dict)
        ]
        assert stored == widget.sent

    # The supervisor brings the replica back.
    def restarted() -> bool:
        proc = victim.proc
        return proc is not None and proc.pid != victim_pid and proc.poll() is None

    poll(restarted, 30, "rasa-1 restarted")


def test_action_servers_down_says_try_again_then_recovers(cluster_run):
    run = cluster_run
    run.supervisor.running.clear()  # hold the restart so the outage is certain
    try:
        for name in ("actieserver-1", "actieserver-2"):
            svc = service(run, name)
            assert svc.proc is not None
            os.kill(svc.proc.pid, signal.SIGKILL)
            svc.proc.wait(timeout=10)

        async def during() -> dict:
            async with Widget(run, 100) as widget:
                return await widget.say("Welke gebieden doen mee?")

        frame = asyncio.run(during())
        assert frame["type"] == "error" and frame["code"] == "incomplete", frame
        assert "Probeer het zo opnieuw" in frame["message"]
    finally:
        run.supervisor.running.set()

    async def after() -> bool:
        async with Widget(run, 101) as widget:
            return answered(await widget.say("Welke gebieden doen mee?"))

    poll(lambda: asyncio.run(after()), 120, "answers once the action servers are back", interval=1.0)


def _answers(run) -> bool:
    async def ask() -> bool:
        async with Widget(run, 150) as widget:
            return answered(await widget.say("Wat is de deadline voor de aanvraag?"))

    return asyncio.run(ask())


@pytest.mark.parametrize("store", ["postgres", "redis"])
def test_a_restarted_store_is_survived_without_restarting_our_processes(cluster_run, store):
    run = cluster_run
    # The cluster may still be recovering from the test before (a replica loading, action
    # servers rejoining the balancer): that is not what this test is about.
    poll(
        lambda: all(s.proc.poll() is None for s in run.stack.services) and _answers(run),
        180,
        "the cluster to answer",
        interval=1.0,
    )
    before = pids(run)
    (run.pg if store == "postgres" else run.redis).restart()

    async def conversation() -> list[dict]:
        async with Widget(run, 200) as widget:
            return [await widget.say(q) for q in QUESTIONS[:3]]

    frames = asyncio.run(conversation())
    assert all(answered(f) for f in frames), frames
    assert pids(run) == before
