"""Several gateways behind one proxy: pushes to a widget and console news travel through Redis
pub/sub (bot/web/bus.py), so they reach sockets on whichever gateway holds them, once each.

Against the machine's Redis on 127.0.0.1:6379 (KW_TEST_REDIS_URL), each test on channels of its
own (a random prefix), with no mocks of Redis: buses with real ChatHubs and stand-in sockets, and
two real gateways (create_app, the fake Rasa of conftest.py) sharing one database, a medewerker
on the first and the widget on the second. Redis going away and coming back is in
test_pubsub_redis_restart.py.
"""

from __future__ import annotations

import json
import os
import secrets

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from bot.settings import SettingsError, load
from bot.web.bus import Bus
from bot.web.chat.hub import ChatHub
from bot.web.console import prepare_database
from bot.web.keys import BUS, METRICS
from tests.fixtures.bus import Recorder, bound, started_buses
from tests.fixtures.chat import sid_of
from tests.fixtures.console import frames_until
from tests.fixtures.console import login as console_login
from tests.fixtures.gateway import poll_async
from tests.fixtures.handoff import active_ticket

REDIS_URL = os.environ.get("KW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "een-lang-wachtwoord-2026"


@pytest.fixture
def prefix() -> str:
    return f"kw-test-{secrets.token_hex(6)}:"


@pytest_asyncio.fixture
async def redis_up():
    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        assert await client.ping(), f"no Redis at {REDIS_URL}"
    finally:
        await client.aclose()


@pytest_asyncio.fixture
async def two_buses(redis_up, prefix):
    """Two buses on one channel, as two gateways make them (each in its own listener list)."""
    buses = await started_buses(REDIS_URL, prefix)
    yield buses
    for bus in buses:
        await bus.stop()


# -- the bus -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_frame_reaches_the_conversations_sockets_on_every_gateway_once(two_buses):
    one, two = two_buses
    x_on_one, x_on_two, y_on_two = bound(one, "gesprek-x"), bound(two, "gesprek-x"), bound(two, "gesprek-y")
    frame = {"type": "agent", "messages": [{"id": "h-1-1", "text": "Ik kijk even mee.", "buttons": []}]}
    marker = {"type": "handoff", "handoff": None}

    assert await one.push("gesprek-x", frame) == 1  # the sockets of this gateway
    # Messages from one publisher arrive in order: once the marker is there, a double would be too.
    await one.push("gesprek-x", marker)
    await poll_async(lambda: marker in x_on_two.sent, 5, "the marker on gateway 2")
    assert x_on_two.sent == [frame, marker]
    assert x_on_one.sent == [frame, marker]  # delivered here, its own message skipped
    assert y_on_two.sent == []

    # And the other way round.
    await two.push("gesprek-x", {"type": "pong"})
    await poll_async(lambda: len(x_on_one.sent) == 3, 5, "the frame on gateway 1")
    await two.push("gesprek-x", marker)
    await poll_async(lambda: len(x_on_one.sent) == 4, 5, "the marker on gateway 1")
    assert x_on_one.sent[2:] == [{"type": "pong"}, marker] and x_on_two.sent[2:] == [{"type": "pong"}, marker]
    assert one.metrics["pubsub_published"] == 2 and two.metrics["pubsub_received"] == 2
    assert not one.metrics["pubsub_publish_errors"] and not two.metrics["pubsub_publish_errors"]


@pytest.mark.asyncio
async def test_ticket_and_queue_changes_reach_the_other_gateways_console(two_buses):
    one, two = two_buses
    here, there = one.listeners[0], two.listeners[0]
    await one.ticket_changed(42)
    await one.queue_changed()
    assert here.heard == [42, "queue"]  # its own gateway's changes at once, without Redis
    await poll_async(lambda: there.heard == [42, "queue"], 5, "the changes on gateway 2")
    await two.ticket_changed(7)
    await poll_async(lambda: here.heard == [42, "queue", 7], 5, "the change on gateway 1")
    assert there.heard == [42, "queue", 7]  # once: not again from Redis


@pytest.mark.asyncio
async def test_what_is_not_a_bus_message_is_counted_and_ignored(two_buses, prefix):
    one, two = two_buses
    x_on_two = bound(two, "gesprek-x")
    raw = aioredis.Redis.from_url(REDIS_URL)
    try:
        for junk in (
            b"\xff niet eens json",
            b"[1, 2]",
            json.dumps({"from": "elders", "kind": "frame", "sid": 5, "frame": "tekst"}),
        ):
            await raw.publish(f"{prefix}gateway", junk)
    finally:
        await raw.aclose()
    await one.push("gesprek-x", {"type": "pong"})
    await poll_async(lambda: x_on_two.sent, 5, "the frame after the junk")
    assert x_on_two.sent == [{"type": "pong"}]
    assert two.metrics["pubsub_bad_messages"] == 3 and two.subscribed


@pytest.mark.asyncio
async def test_without_a_url_the_bus_is_this_gateways_chat_hub():
    console = Recorder()
    bus = Bus(ChatHub(), "")
    bus.subscribe(console)
    await bus.start()
    ws = bound(bus, "gesprek-x")
    assert await bus.push("gesprek-x", {"type": "pong"}) == 1
    assert await bus.push("gesprek-y", {"type": "pong"}) == 0
    await bus.ticket_changed(1)
    await bus.queue_changed()
    assert ws.sent == [{"type": "pong"}] and console.heard == [1, "queue"]
    assert bus._task is None and not bus.subscribed and not bus.metrics
    await bus.stop()


def test_the_setting(tmp_path):
    env = {"KW_VAR_DIR": str(tmp_path)}
    settings = load(env)
    assert settings.pubsub_url == "" and settings.pubsub_prefix == "kw:"
    settings = load({**env, "KW_PUBSUB_URL": "redis://10.0.0.5:6379/2", "KW_PUBSUB_PREFIX": "acc:"})
    assert (settings.pubsub_url, settings.pubsub_prefix) == ("redis://10.0.0.5:6379/2", "acc:")
    with pytest.raises(SettingsError, match="KW_PUBSUB_URL"):
        load({**env, "KW_PUBSUB_URL": "10.0.0.5:6379"})


# -- two real gateways -------------------------------------------------------------------------


async def widget(client, session=None):
    ws = await client.ws_connect("/chat/ws", headers={"Origin": client.origin})
    await ws.send_json({"type": "hello", "session": session})
    ready = await ws.receive_json(timeout=10)
    assert ready["type"] == "ready"
    return ws, ready["session"]


@pytest.mark.asyncio
async def test_a_medewerker_on_gateway_1_reaches_a_widget_on_gateway_2(redis_up, prefix, start_gateway, fake_rasa):
    # No console poll during the test: what reaches a console on the other gateway came by Redis.
    env = dict(
        KW_PUBSUB_URL=REDIS_URL,
        KW_PUBSUB_PREFIX=prefix,
        KW_HELPDESK_POLL_S="3600",
        KW_HELPDESK_HOURS="ma-zo 00:00-24:00",
    )
    one = await start_gateway(**env)
    two = await start_gateway(**env)
    await poll_async(lambda: one.app[BUS].subscribed and two.app[BUS].subscribed, 10, "both subscriptions")
    prepare_database(one.settings)
    StaffService.from_settings(one.settings).create_user("mo", "Mo Medewerker", PASSWORD, "medewerker")
    tickets = HandoffService.from_settings(one.settings)

    def handoff_action(sender: str, text: str):  # what action_handoff_create does, in short
        if "medewerker" in text:
            tickets.create_ticket(sender, "Vraag over mijn budget", transcript=[("gebruiker", text, None)])
            return "Dank je, je vraag staat klaar voor een medewerker van de helpdesk."
        return None

    fake_rasa.on_message = handoff_action
    csrf = await console_login(one, "mo", PASSWORD)
    queue_ws = await one.ws_connect("/helpdesk/ws", headers={"Origin": one.origin})
    await queue_ws.send_json({"type": "hello", "csrf": csrf, "ticket": None, "after": 0})
    frames = await frames_until(queue_ws, lambda f: f["type"] == "queue")
    assert frames[-1]["wachtrij"] == []

    # The user, on gateway 2, asks for a medewerker: the queue on gateway 1 shows it at once.
    user, session = await widget(two)
    other_user, _ = await widget(two)
    await user.send_json({"type": "message", "id": "bericht-0001", "text": "ik wil een medewerker spreken"})
    await frames_until(user, lambda f: f["type"] == "handoff")
    ticket = active_ticket(tickets, sid_of(session))
    frames = await frames_until(queue_ws, lambda f: f["type"] == "queue" and f["wachtrij"])
    assert [q["id"] for q in frames[-1]["wachtrij"]] == [ticket.public_id]

    # The same conversation in a second tab, on gateway 1: each gateway delivers to its own.
    tab_on_one, _ = await widget(one, session)
    ticket_ws = await one.ws_connect("/helpdesk/ws", headers={"Origin": one.origin})
    await ticket_ws.send_json({"type": "hello", "csrf": csrf, "ticket": ticket.public_id, "after": 0})
    await frames_until(ticket_ws, lambda f: f["type"] == "messages")
    await user.send_json({"type": "message", "id": "bericht-0002", "text": "Mijn mail is jan@example.nl"})
    await frames_until(user, lambda f: f["type"] == "reply")
    frames = await frames_until(ticket_ws, lambda f: f["type"] == "messages")
    assert [m["tekst"] for m in frames[-1]["messages"]] == ["Mijn mail is [e-mailadres]"]

    # The medewerker, on gateway 1, takes over, replies and hands back.
    origin = {"Origin": one.origin}
    assert (
        await one.post(
            f"/helpdesk/vraag/{ticket.public_id}/oppakken", data={"csrf": csrf}, headers=origin, allow_redirects=False
        )
    ).status == 303
    resp = await one.post(
        f"/helpdesk/vraag/{ticket.public_id}/bericht",
        allow_redirects=False,
        data={"csrf": csrf, "tekst": "Ik kijk even mee."},
        headers={**origin, "Accept": "application/json"},
    )
    seq = (await resp.json())["bericht"]["volgnummer"]
    assert (
        await one.post(
            f"/helpdesk/vraag/{ticket.public_id}/terug", data={"csrf": csrf}, headers=origin, allow_redirects=False
        )
    ).status == 303

    end = f"h-{ticket.public_id}-einde"
    expected = [
        ("handoff", "live"),
        ("agent", f"h-{ticket.public_id}-live"),
        ("agent", f"h-{ticket.public_id}-{seq}"),
        ("handoff", None),
        ("agent", end),
    ]
    for ws in (user, tab_on_one):
        frames = await frames_until(ws, lambda f: f["type"] == "agent" and f["messages"][0]["id"] == end)
        seen = [
            (f["type"], f["handoff"]["state"] if f["handoff"] else None)
            if f["type"] == "handoff"
            else (f["type"], f["messages"][0]["id"])
            for f in frames
            if f["type"] in ("agent", "handoff")
        ]
        assert seen == expected  # each once, in order
    texts = [f["messages"][0]["text"] for f in frames if f["type"] == "agent"]
    assert texts[1] == "Ik kijk even mee." and frames[-1]["messages"][0].get("agent") is None

    # Nothing for the other conversation: its next frame is the answer to its own ping.
    await other_user.send_json({"type": "ping"})
    assert (await other_user.receive_json(timeout=5))["type"] == "pong"
    assert one.app[METRICS]["pubsub_published"] >= 5 and not one.app[METRICS]["pubsub_publish_errors"]
    assert two.app[METRICS]["pubsub_received"] >= 5
    metrics = await (await one.get("/metrics")).text()
    assert "kw_gateway_pubsub_subscribed 1" in metrics
    assert 'kw_gateway_events_total{event="pubsub_published"}' in metrics
    for ws in (user, other_user, tab_on_one, queue_ws, ticket_ws):
        await ws.close()
