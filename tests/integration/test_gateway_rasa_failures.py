"""The gateway when Rasa fails or is busy, against fake Rasas (tests/integration/conftest.py):
Rasa down, a turn lost before or after Rasa processed it, a turn that timed out, the in-flight
bound, an empty answer, and two Rasa workers with one conversation on each."""

from __future__ import annotations

import asyncio

import pytest

from bot import launcher
from bot import settings as settings_mod
from bot.web.rasa import worker_for
from tests.fixtures.widget_socket import chat, say
from tests.integration.conftest import FakeRasa

pytestmark = pytest.mark.asyncio


async def test_rasa_down_gives_a_dutch_error_for_that_message(start_gateway):
    client = await start_gateway(KW_RASA_PORT="1")
    ws, _ = await chat(client)
    err = (await say(ws, "msg-down-001", "hallo"))[-1]
    assert err == {
        "type": "error",
        "code": "unavailable",
        "id": "msg-down-001",
        "message": "De assistent is even niet bereikbaar. Probeer het over een paar minuten opnieuw.",
    }
    await ws.close()


@pytest.mark.parametrize("failure, calls", [("after", 1), ("before", 2)])
async def test_a_lost_turn_is_answered_once(start_gateway, fake_rasa, failure, calls):
    """Rasa answered 502 after processing the message (the answer is read from the tracker, the
    message not processed twice) or before (the message is sent again): one answer, one stored
    message either way."""
    ws, _ = await chat(await start_gateway())
    fake_rasa.failures = [failure]
    frames = await say(ws, f"msg-lost-{failure}", "hallo")
    assert frames[-1]["type"] == "reply" and frames[-1]["messages"][0]["text"] == "Je schreef: hallo"
    assert len(fake_rasa.webhook_calls) == calls
    sender = fake_rasa.webhook_calls[0]["sender"]
    sent = [e["metadata"]["msg_id"] for e in fake_rasa.trackers[sender] if e["event"] == "user"]
    assert sent == [f"msg-lost-{failure}"]
    await ws.close()


async def test_a_turn_that_timed_out_is_sent_again_once(start_gateway, fake_rasa, monkeypatch):
    from bot.web import rasa as rasa_client

    monkeypatch.setattr(rasa_client, "RASA_TIMEOUT_S", 0.3)
    client = await start_gateway()
    ws, _ = await chat(client)
    # The first call outlasts the gateway's wait; the closed connection cancels it (as Rasa's
    # server does), so the tracker does not have it and the gateway sends it again.
    fake_rasa.failures = ["slow"]
    frames = await say(ws, "msg-slow-001", "hallo")
    assert frames[-1]["type"] == "reply" and frames[-1]["messages"][0]["text"] == "Je schreef: hallo"
    assert len(fake_rasa.webhook_calls) == 2
    sender = fake_rasa.webhook_calls[0]["sender"]
    assert [e["metadata"]["msg_id"] for e in fake_rasa.trackers[sender] if e["event"] == "user"] == ["msg-slow-001"]
    await ws.close()


async def test_messages_wait_their_turn_beyond_the_in_flight_bound(start_gateway, fake_rasa):
    """Eight widgets ask at once; Rasa gets two messages at a time and every widget its own
    answer."""
    client = await start_gateway(KW_RASA_MAX_IN_FLIGHT="2")
    fake_rasa.delay = 0.2
    sockets = [(await chat(client))[0] for _ in range(8)]
    replies = await asyncio.gather(*(say(ws, f"msg-bound-{i:03d}", f"vraag {i}") for i, ws in enumerate(sockets)))
    assert [frames[-1]["messages"][0]["text"] for frames in replies] == [f"Je schreef: vraag {i}" for i in range(8)]
    assert fake_rasa.most_in_flight == 2 and len(fake_rasa.webhook_calls) == 8
    for ws in sockets:
        await ws.close()


async def test_each_conversation_stays_with_one_rasa_worker(start_gateway, aiohttp_server):
    """Two Rasa workers (KW_RASA_WORKERS=2: KW_RASA_PORT and the port after it): every message
    and tracker look-up of a conversation reaches one worker, the conversations are spread over
    both, and the gateway is ready only when both are."""
    base = launcher.free_ports(2)
    workers = [FakeRasa(), FakeRasa()]
    servers = [await aiohttp_server(fake.app, port=base + i) for i, fake in enumerate(workers)]
    client = await start_gateway(KW_RASA_PORT=str(base), KW_RASA_WORKERS="2", KW_ACTIONS_PORT=str(base))
    assert (await client.get("/readyz")).status == 200
    sockets = [(await chat(client))[0] for _ in range(12)]
    for turn in range(2):
        await asyncio.gather(*(say(ws, f"msg-w{i:02d}-{turn}", f"vraag {i}") for i, ws in enumerate(sockets)))
    senders = [{call["sender"] for call in fake.webhook_calls} for fake in workers]
    assert senders[0] and senders[1] and not senders[0] & senders[1]
    assert len(senders[0]) + len(senders[1]) == 12
    assert sum(len(fake.webhook_calls) for fake in workers) == 24
    assert all(worker_for(sender, 2) == i for i, group in enumerate(senders) for sender in group)
    # A worker that processed a message but failed to answer: the gateway reads the answer from
    # that same worker's tracker instead of sending the message again.
    for fake in workers:
        fake.failures = ["after"]
    frames = await say(sockets[0], "msg-w00-2", "nog een vraag")
    assert frames[-1]["messages"][0]["text"] == "Je schreef: nog een vraag"
    assert sum(len(fake.webhook_calls) for fake in workers) == 25
    assert sum(fake.failures == [] for fake in workers) == 1
    await servers[1].close()
    assert (await client.get("/readyz")).status == 503
    for ws in sockets:
        await ws.close()


async def test_the_in_flight_bound_must_be_positive(make_settings):
    with pytest.raises(settings_mod.SettingsError, match="KW_RASA_MAX_IN_FLIGHT"):
        make_settings(KW_RASA_MAX_IN_FLIGHT="0")
    assert make_settings().rasa_max_in_flight == 6


async def test_an_empty_answer_says_try_again(start_gateway, fake_rasa):
    client = await start_gateway()
    ws, _ = await chat(client)
    fake_rasa.failures = ["empty"]
    err = (await say(ws, "msg-empty-001", "hallo"))[-1]
    assert err == {
        "type": "error",
        "code": "incomplete",
        "id": "msg-empty-001",
        "message": "Het lukte me nu niet om je vraag te beantwoorden. Probeer het zo opnieuw.",
    }
    await ws.close()
