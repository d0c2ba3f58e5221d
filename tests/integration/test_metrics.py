"""/metrics of the gateway and the action server (prometheus-client) with the real Rasa stack:
real turns move the turn, outcome and Rasa-hop series by exactly their number, the action
server counts the action that ran, nothing personal the user typed is in either scrape, and
neither endpoint answers a forwarded or outside client without its token.
"""

from __future__ import annotations

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from bot.web.app import create_app
from rasa_runtime.endpoints import action_token
from tests.fixtures.chat import sid_of
from tests.fixtures.widget_socket import chat, say

pytestmark = pytest.mark.asyncio

EMAIL = "piet.jansen@example.nl"
PHONE = "0612345678"
#: Typed by the user: none of it (nor the conversation id) may reach a scrape.
PERSONAL_TEXT = f"mijn mail is {EMAIL} en mijn nummer {PHONE}"
FAQ = "Vanaf wanneer kon je aanvragen?"
GIBBERISH = "blorp kwadrafonie zwiebel"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(scrape: Samples, name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest_asyncio.fixture
async def real_gateway(aiohttp_client, rasa_stack):
    client = await aiohttp_client(create_app(rasa_stack.settings))
    client.origin = str(client.make_url("/").origin())
    return client


def actions_url(rasa_stack) -> str:
    s = rasa_stack.settings
    return f"http://{s.host}:{s.actions_port}/metrics"


async def scrape_gateway(client) -> str:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return await resp.text()


async def scrape_actions(rasa_stack) -> str:
    async with aiohttp.ClientSession() as http, http.get(actions_url(rasa_stack)) as resp:
        assert resp.status == 200
        return await resp.text()


async def exchange(ws, frame):
    await ws.send_json(frame)
    while True:
        out = await ws.receive_json(timeout=60)
        if out["type"] in ("reply", "error"):
            return out


async def test_real_turns_move_the_gateway_and_action_metrics_by_their_number(real_gateway, rasa_stack):
    client = real_gateway
    before, actions_before = samples(await scrape_gateway(client)), samples(await scrape_actions(rasa_stack))

    ws = await client.ws_connect("/chat/ws", headers={"Origin": client.origin})
    await ws.send_json({"type": "hello"})
    ready = await ws.receive_json(timeout=10)
    for i, text in enumerate((FAQ, PERSONAL_TEXT, GIBBERISH)):
        reply = await exchange(ws, {"type": "message", "id": f"metrics-msg-{i:04d}", "text": text})
        assert reply["type"] == "reply" and reply["messages"], reply
    await ws.close()
    # One turn over the HTTP transport, in its own conversation.
    hello = await client.post("/chat/http", json={"type": "hello"}, headers={"Origin": client.origin})
    session = (await hello.json())["frames"][0]["session"]
    resp = await client.post(
        "/chat/http",
        json={"type": "message", "id": "metrics-http-0001", "text": FAQ, "session": session},
        headers={"Origin": client.origin},
    )
    assert resp.status == 200, await resp.text()

    text = await scrape_gateway(client)
    after = samples(text)
    assert moved(before, after, "kw_turn_duration_seconds_count", transport="ws") == 3
    assert moved(before, after, "kw_turn_duration_seconds_count", transport="http") == 1
    outcomes = {
        o: moved(before, after, "kw_turns_total", outcome=o) for o in ("answered", "fallback", "handoff", "error")
    }
    # The FAQ twice answered, the gibberish not understood; the contact sentence either.
    assert sum(outcomes.values()) == 4 and outcomes["error"] == 0 and outcomes["handoff"] == 0, outcomes
    assert outcomes["answered"] >= 2 and outcomes["fallback"] >= 1, outcomes
    # Each turn one call to Rasa, each waited (briefly) for the in-flight limit; none left.
    assert moved(before, after, "kw_rasa_request_duration_seconds_count") == 4
    assert moved(before, after, "kw_rasa_queue_wait_seconds_count") == 4
    assert value(after, "kw_rasa_in_flight") == 0
    assert sum(moved(before, after, "kw_rasa_errors_total", kind=k) for k in ("timeout", "connection", "http")) == 0
    # A turn lasts at least its Rasa call.
    assert moved(before, after, "kw_turn_duration_seconds_sum", transport="ws") + moved(
        before, after, "kw_turn_duration_seconds_sum", transport="http"
    ) >= moved(before, after, "kw_rasa_request_duration_seconds_sum")
    # Scrape-time figures are there (values depend on the clock and the stack's database).
    assert ("kw_helpdesk_open", ()) in after and ("kw_tickets_waiting", ()) in after
    assert value(after, "kw_pubsub_connected") == 1  # no pub/sub configured
    assert value(after, "kw_status_throttle_active", scope="global") == 0
    assert value(after, "kw_open_sockets", kind="widget") == 0  # the socket was closed
    # Rasa's tracker cache per worker, from its answers: both conversations are kept there.
    workers = {dict(labels)["worker"] for name, labels in after if name == "kw_rasa_tracker_cache_entries"}
    assert workers and all(w.isdigit() for w in workers), workers
    kept = {w: value(after, "kw_rasa_tracker_cache_entries", worker=w) for w in workers}
    assert sum(kept.values()) >= 2, kept
    for w, entries in kept.items():  # a kept tracker is some kB at least (rasa_runtime/stores.py)
        assert value(after, "kw_rasa_tracker_cache_bytes", worker=w) >= 1000 * entries

    # The action server counted the FAQ answers (two turns) and the gateway's status
    # look-ups nothing; its database calls are measured.
    actions_text = await scrape_actions(rasa_stack)
    actions_after = samples(actions_text)
    ran = {
        a: moved(actions_before, actions_after, "kw_action_duration_seconds_count", action=a)
        for a in ("action_answer_faq", "action_rephrase")
    }
    # Every message was answered by one of the two; each misunderstood one by the rephrase.
    assert ran["action_answer_faq"] >= 2 and sum(ran.values()) == 4, ran
    assert ran["action_rephrase"] == outcomes["fallback"], (ran, outcomes)
    assert moved(actions_before, actions_after, "kw_action_errors_total", action="action_answer_faq") == 0
    assert ("kw_status_lookups_total", (("outcome", "found"),)) in actions_after

    # Nothing the user typed, nor the conversation id, in either scrape.
    sid = sid_of(ready["session"])
    for scraped in (text, actions_text):
        for secret in (EMAIL, PHONE, "piet", PERSONAL_TEXT, FAQ, GIBBERISH, "blorp", sid):
            assert secret.lower() not in scraped.lower(), secret


async def test_metrics_refused_to_forwarded_and_outside_clients_without_token(real_gateway, rasa_stack):
    client = real_gateway
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    assert (await client.get("/metrics", headers=forwarded)).status == 403
    assert (await client.get("/metrics", headers={"Forwarded": "for=203.0.113.7"})).status == 403
    assert (await client.get("/metrics", headers={**forwarded, "Authorization": "Bearer verkeerd"})).status == 403
    ok = await client.get("/metrics", headers={**forwarded, "Authorization": f"Bearer {rasa_stack.settings.ops_token}"})
    assert ok.status == 200 and "kw_turns_total" in await ok.text()

    token = action_token(rasa_stack.settings.rasa_token)
    async with aiohttp.ClientSession() as http:
        url = actions_url(rasa_stack)
        async with http.get(url, headers=forwarded) as resp:
            assert resp.status == 401
            assert "kw_action" not in await resp.text()
        async with http.get(url, headers={"Forwarded": "for=203.0.113.7"}) as resp:
            assert resp.status == 401
        async with http.get(url, headers={**forwarded, "Authorization": "Bearer verkeerd"}) as resp:
            assert resp.status == 401
        async with http.get(url, headers={**forwarded, "Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 200 and "kw_action_duration_seconds" in await resp.text()
        ops = {**forwarded, "Authorization": f"Bearer {rasa_stack.settings.ops_token}"}
        async with http.get(url, headers=ops) as resp:  # Prometheus' token, as on the gateway
            assert resp.status == 200 and "kw_action_duration_seconds" in await resp.text()
        async with http.post(url.replace("/metrics", "/webhook"), headers=ops, json={}) as resp:
            assert resp.status == 401  # ... which runs no action
        # The action server's other routes still want the token, even from loopback.
        async with http.get(url.replace("/metrics", "/actions")) as resp:
            assert resp.status == 401


async def test_status_lookups_are_counted_by_outcome_and_throttles_seen(status_settings):
    """The status service's outcomes as the action server's /metrics counts them; a wrong code
    for an existing number is told apart there only (the user's answer stays the same)."""
    import dataclasses

    from prometheus_client import generate_latest

    from bot.core.metrics import REGISTRY
    from bot.status import service, throttle
    from bot.status.demo import load_demo_data

    load_demo_data(status_settings.database_url)
    settings = dataclasses.replace(
        status_settings, status_number_max_failures=2, status_max_failures=3, status_throttle_max_delay_s=0.01
    )
    number, code = "KW-2025-0043", "3HPM-TPHP"
    before = samples(generate_latest(REGISTRY).decode())
    assert throttle.active_throttles(settings) == {"global": False, "number": False}
    assert service.lookup_public(number, code, "c-1", settings=settings).kind == "ok"
    unknown = service.lookup_public("KW-2025-9999", code, "c-2", settings=settings)
    wrong = service.lookup_public(number, "AAAA-AAAA", "c-3", settings=settings)
    assert unknown == wrong == service.LookupResult("not_found")
    # The number's second failure reaches its limit: from now on its lookups are slowed.
    service.lookup_public(number, "BBBB-BBBB", "c-4", settings=settings)
    assert throttle.active_throttles(settings) == {"global": False, "number": True}
    assert service.lookup_public(number, code, "c-5", settings=settings).kind == "ok"
    # c-6 locks itself out; the unknown number's throttle slows its second and third try.
    for _ in range(3):
        service.lookup_public("KW-2025-9999", code, "c-6", settings=settings)
    assert service.lookup_public(number, code, "c-6", settings=settings).kind == "locked"
    after = samples(generate_latest(REGISTRY).decode())
    counted = {
        o: moved(before, after, "kw_status_lookups_total", outcome=o)
        for o in ("found", "not_found", "bad_code", "locked", "throttled", "error")
    }
    assert counted == {"found": 1, "not_found": 2, "bad_code": 2, "locked": 1, "throttled": 3, "error": 0}, counted


async def test_refusals_rasa_errors_error_turns_and_open_sockets_with_a_fake_rasa(start_gateway, fake_rasa):
    """With tests/integration/conftest.py's fake Rasa: a Rasa error the gateway recovers from,
    an empty answer (an action failed: an error turn), a message over the rate limit (a refusal,
    no turn), and the open socket."""
    client = await start_gateway(KW_RATE_LIMIT_PER_MINUTE="3")
    before = samples(await scrape_gateway(client))
    ws, _ = await chat(client)
    assert value(samples(await scrape_gateway(client)), "kw_open_sockets", kind="widget") == 1
    fake_rasa.failures = ["before"]
    assert (await say(ws, "metrics-fake-0001", "vraag een"))[-1]["type"] == "reply"  # after a 502
    fake_rasa.failures = ["empty"]
    assert (await say(ws, "metrics-fake-0002", "vraag twee"))[-1]["code"] == "incomplete"
    assert (await say(ws, "metrics-fake-0003", "vraag drie"))[-1]["type"] == "reply"
    assert (await say(ws, "metrics-fake-0004", "vraag vier"))[-1]["code"] == "rate_limited"
    after = samples(await scrape_gateway(client))
    assert moved(before, after, "kw_rate_limit_refusals_total", limit="message") == 1
    assert moved(before, after, "kw_rasa_errors_total", kind="http") == 1
    assert moved(before, after, "kw_rasa_errors_total", kind="timeout") == 0
    assert moved(before, after, "kw_turns_total", outcome="answered") == 2
    assert moved(before, after, "kw_turns_total", outcome="error") == 1
    assert moved(before, after, "kw_turn_duration_seconds_count", transport="ws") == 3
    # Every call to Rasa's webhook measured, the failed one and the one sent again too.
    assert moved(before, after, "kw_rasa_request_duration_seconds_count") == len(fake_rasa.webhook_calls) == 4
    await ws.close()
