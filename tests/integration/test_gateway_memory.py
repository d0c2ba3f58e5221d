"""The gateway's memory bounded by what it holds (bot/core/bounded.py, bot/web/chat/service.py):
conversation states leave by bytes (KW_SESSION_CACHE_MAX_BYTES) and by idle time
(KW_SESSION_IDLE_S, on a clock the test moves), an evicted conversation goes on from Rasa's
tracker (its next message answered, a resend of an old one recognised), and /metrics shows every
cache's entries and estimated bytes.

The fake Rasa of tests/integration/conftest.py for the figures; the last test runs the real
gateway process in front of the real Rasa stack."""

from __future__ import annotations

import urllib.request

import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from bot.core.bounded import ENTRY_OVERHEAD, deep_size
from bot.web.app import create_app
from bot.web.chat.service import SessionState
from bot.web.keys import CHAT
from bot.web.metrics import CACHES
from tests.fixtures.chat import Chat, sid_of
from tests.fixtures.gateway import gateway_for
from tests.fixtures.widget_socket import chat, hello, say

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def start(aiohttp_client, make_settings):
    """A gateway (create_app) on the fake Rasa with settings overrides and the test's clock."""

    async def start(clock: Clock, **env: str):
        settings = make_settings(**env)
        client = await aiohttp_client(create_app(settings, clock=clock))
        client.origin = str(client.make_url("/").origin())
        return client

    return start


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def cache_value(scrape, name: str, cache: str, **labels: str) -> float:
    return scrape[(name, tuple(sorted({"cache": cache, **labels}.items())))]


async def scrape(client) -> dict:
    resp = await client.get("/metrics")
    assert resp.status == 200
    return samples(await resp.text())


async def resend(ws, mid: str, text: str) -> list[dict]:
    """The widget sends a message again (it never saw the reply): ack and reply."""
    return await say(ws, mid, text)


async def test_an_evicted_conversation_goes_on_from_the_tracker(start, fake_rasa):
    # Room for about one short conversation: each new one pushes the one before out.
    bound = 2 * SessionState.BASE_BYTES + 3000
    client = await start(Clock(), KW_SESSION_CACHE_MAX_BYTES=str(bound))
    service = client.app[CHAT]
    ws_a, ready_a = await chat(client)
    first = (await say(ws_a, "mem-a-0001", "Vanaf wanneer kon je aanvragen?"))[-1]
    await say(ws_a, "mem-a-0002", "hallo")
    sid_a = sid_of(ready_a["session"])
    assert sid_a in service._states

    ws_b, _ = await chat(client)
    for i in range(3):
        await say(ws_b, f"mem-b-{i:04d}", "nog een vraag over de regeling")
    assert sid_a not in service._states
    assert service._states.bytes <= bound
    figures = await scrape(client)
    assert cache_value(figures, "kw_cache_evictions_total", "sessions", reason="bytes") >= 1

    # A resend of A's first message: recognised from Rasa's tracker, not sent to Rasa again.
    calls = len(fake_rasa.webhook_calls)
    again = await resend(ws_a, "mem-a-0001", "Vanaf wanneer kon je aanvragen?")
    assert again[0]["type"] == "ack" and again[0]["duplicate"] is True
    assert again[-1]["type"] == "reply" and again[-1]["messages"] == first["messages"]
    assert len(fake_rasa.webhook_calls) == calls
    # A's next message is answered.
    nxt = (await say(ws_a, "mem-a-0003", "en daarna?"))[-1]
    assert nxt["type"] == "reply" and nxt["messages"][0]["text"] == "Je schreef: en daarna?"
    assert [c["message"] for c in fake_rasa.webhook_calls if c["sender"] == sid_a] == [
        "Vanaf wanneer kon je aanvragen?",
        "hallo",
        "en daarna?",
    ]
    assert service._states.bytes <= bound  # also after a turn (a busy state is not evicted)
    await ws_a.close()
    await ws_b.close()


async def test_idle_conversations_leave_on_the_clock(start, fake_rasa):
    clock = Clock()
    client = await start(clock, KW_SESSION_IDLE_S="600")
    service = client.app[CHAT]
    ws_a, ready_a = await chat(client)
    await say(ws_a, "idle-a-0001", "hallo")
    sid_a = sid_of(ready_a["session"])
    clock.now += 599
    ws_b, ready_b = await chat(client)  # a's 599 s unused: it stays
    assert sid_a in service._states
    clock.now += 2
    await say(ws_b, "idle-b-0001", "hallo")
    assert list(service._states) == [sid_of(ready_b["session"])]
    figures = await scrape(client)
    assert cache_value(figures, "kw_cache_evictions_total", "sessions", reason="idle") == 1
    assert cache_value(figures, "kw_cache_entries", "sessions") == 1

    # A goes on: the button its reply offered is still accepted (read back from the tracker).
    await ws_a.send_json(
        {"type": "button", "id": "idle-a-0002", "payload": "/faq_aanvragen_vanaf", "title": "door de klant gekozen"}
    )
    frames: list[dict] = []
    while not frames or frames[-1]["type"] not in ("reply", "error"):
        frames.append(await ws_a.receive_json(timeout=5))
    assert frames[0]["text"] == "Vanaf wanneer kon je aanvragen?"  # the title the bot offered
    assert frames[-1]["type"] == "reply"
    await ws_a.close()
    await ws_b.close()


async def test_metrics_show_every_cache_with_its_entries_and_bytes(start, fake_rasa):
    client = await start(Clock())
    service = client.app[CHAT]
    before = await scrape(client)
    for cache in CACHES:  # every cache's series exists from the start
        assert cache_value(before, "kw_cache_entries", cache) >= 0
        for reason in ("bytes", "idle"):
            assert cache_value(before, "kw_cache_evictions_total", cache, reason=reason) == 0
    sockets = []
    for n in range(3):
        ws, _ = await chat(client)
        sockets.append(ws)
        for t in range(n + 1):
            await say(ws, f"met-{n}-{t:04d}", "Vanaf wanneer kon je aanvragen?")
    figures = await scrape(client)
    assert cache_value(figures, "kw_cache_entries", "sessions") == len(service._states) == 3
    assert cache_value(figures, "kw_cache_bytes", "sessions") == service._states.bytes
    states = service._states.values()
    assert cache_value(figures, "kw_cache_entries", "replies") == 1 + 2 + 3
    reply_bytes = sum(deep_size(mid) + deep_size(msgs) for st in states for mid, msgs in st.replies.items())
    assert cache_value(figures, "kw_cache_bytes", "replies") == reply_bytes
    # A state's estimate holds its replies; the cache adds its key and bookkeeping.
    assert service._states.bytes == sum(st.size + ENTRY_OVERHEAD for st in states) + sum(
        deep_size(sid) for sid in service._states
    )
    # All sockets come from one client: one bucket per limiter keyed by client.
    assert cache_value(figures, "kw_cache_entries", "rate_message") == 1
    assert cache_value(figures, "kw_cache_entries", "rate_connect") == 1
    assert cache_value(figures, "kw_cache_bytes", "rate_message") == service.limiter.size()[1] > 0
    # A socket's first hello is not limited again; a second one counts for that socket.
    assert cache_value(figures, "kw_cache_entries", "rate_socket") == 0
    await hello(sockets[0])
    figures = await scrape(client)
    assert cache_value(figures, "kw_cache_entries", "rate_socket") == 1
    assert cache_value(figures, "kw_cache_bytes", "rate_socket") == service.socket_limiter.size()[1] > 0
    assert cache_value(figures, "kw_cache_entries", "login_throttle") == 0
    for ws in sockets:
        await ws.close()


def metrics_of(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
        return samples(resp.read().decode("utf-8"))


async def test_the_real_gateway_continues_an_evicted_conversation_with_real_rasa(rasa_stack, tmp_path):
    """The real gateway process with room for about one conversation, in front of the real
    Rasa: conversation A is pushed out by B, then A's next question is answered by the
    assistant and a resend of its first is answered from the tracker, not asked again."""
    edge = gateway_for(rasa_stack, tmp_path, KW_SESSION_CACHE_MAX_BYTES="12000", KW_RATE_LIMIT_PER_MINUTE="600")
    try:
        async with Chat(edge, "198.51.100.21") as a, Chat(edge, "198.51.100.22") as b:
            await a.hello()
            first = await a.say("Vanaf wanneer kon je aanvragen?")
            assert first["type"] == "reply" and "7 juli 2025" in " ".join(m["text"] for m in first["messages"])
            first_id = first["id"]
            await b.hello()
            for _ in range(3):
                assert (await b.say("Welke gebieden doen mee?"))["type"] == "reply"
            figures = metrics_of(edge.url)
            assert cache_value(figures, "kw_cache_evictions_total", "sessions", reason="bytes") >= 1
            assert cache_value(figures, "kw_cache_bytes", "sessions") <= 12000

            again = await resend(a.socket, first_id, "Vanaf wanneer kon je aanvragen?")
            assert again[0]["duplicate"] is True and again[-1]["messages"] == first["messages"]
            nxt = await a.say("Welke gebieden doen mee?")
            assert nxt["type"] == "reply" and nxt["messages"]
            users = [e for e in rasa_stack_events(rasa_stack, a.sid) if e.get("event") == "user"]
            assert [u["text"] for u in users] == ["Vanaf wanneer kon je aanvragen?", "Welke gebieden doen mee?"]
    finally:
        edge.stop()


def rasa_stack_events(rasa_stack, sid: str) -> list[dict]:
    import json

    url = f"{rasa_stack.url_for(sid)}/conversations/{sid}/tracker?token={rasa_stack.settings.rasa_token}"
    with urllib.request.urlopen(url, timeout=20) as resp:
        return json.loads(resp.read().decode("utf-8"))["events"]
