"""Web gateway at the edge, against the fake Rasa of tests/integration/conftest.py.

Covers what does not need the real assistant: pages and headers, sessions, portal tokens,
masking before Rasa, button payloads, history and de-duplication after a restart, bad input
(oversized and binary frames, invalid JSON, HTML), floods and wrong origins, and the HTTP
fallback. Rasa failing or busy is in test_gateway_rasa_failures.py; the real Rasa stack is
exercised in test_gateway_rasa.py and tests/browser/.
"""

from __future__ import annotations

import json
import logging
import re
import time

import jwt
import pytest
import pytest_asyncio
from aiohttp import WSMsgType

from bot.core import identity
from bot.web.chat import ws as chat_ws_mod
from bot.web.keys import SETTINGS
from bot.web.portal import issue_portal_token
from bot.web.protocol import MAX_FRAME_BYTES, WS_MAX_MSG_SIZE
from tests.fixtures.chat import sid_of
from tests.fixtures.text import match
from tests.fixtures.widget_socket import chat, hello, say, until

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def widget(start_gateway):
    """A widget's socket on a fresh gateway, after its hello."""
    ws, _ = await chat(await start_gateway())
    yield ws
    await ws.close()


# -- pages and headers ----------------------------------------------------------------------


async def test_pages_are_dutch_and_served_with_a_strict_csp(start_gateway):
    client = await start_gateway()
    resp = await client.get("/")
    html = await resp.text()
    assert resp.status == 200
    csp = resp.headers["Content-Security-Policy"]
    nonce = match(r"'nonce-([^']+)'", csp).group(1)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert f'<script src="/static/widget.js" nonce="{nonce}"' in html
    assert '<html lang="nl">' in html
    assert "style=" not in html and "<script>" not in html  # nothing inline
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    # A fresh nonce for every response
    again = await client.get("/")
    assert again.headers["Content-Security-Policy"] != csp

    privacy = await client.get("/privacy")
    text = await privacy.text()
    assert privacy.status == 200 and "digitale assistent" in text and "30 dagen" in text

    js = await client.get("/static/widget.js")
    assert js.status == 200 and js.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    source = await js.text()
    for sink in (
        ".innerHTML",
        ".outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        ".style.",
        "setAttribute('style'",
    ):
        assert sink not in source, sink
    css = await client.get("/static/widget.css")
    assert css.status == 200

    missing = await client.get("/bestaat-niet", headers={"Accept": "text/html"})
    assert missing.status == 404 and "bestaat niet" in await missing.text()


async def test_demo_portal_page_embeds_a_valid_portal_token(start_gateway):
    client = await start_gateway()
    resp = await client.get("/portaal", params={"gemeente": "Breda"})
    html = await resp.text()
    token = match(r'data-portal-token="([^"]+)"', html).group(1)
    claims = jwt.decode(
        token,
        client.settings.portal_jwt_secret,
        algorithms=["HS256"],
        audience="kansrijke-wijk-assistent",
        issuer="aanvragersportaal",
    )
    assert claims["gemeente"] == "Breda" and claims["exp"] - claims["iat"] <= 3600
    # Unknown gemeente: falls back to a known one, never echoes input into the token.
    resp = await client.get("/portaal", params={"gemeente": "<script>"})
    assert "&lt;script&gt;" not in await resp.text()


async def test_demo_portal_is_off_in_production(start_gateway):
    client = await start_gateway(KW_ENV="production")
    assert (await client.get("/portaal")).status == 404
    assert "data-portal-token" not in await (await client.get("/")).text()


async def test_health_and_readiness(start_gateway, fake_rasa):
    client = await start_gateway()
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["checks"] == {"rasa": True, "actions": True}
    down = await start_gateway(KW_RASA_PORT="1", KW_ACTIONS_PORT="1")
    resp = await down.get("/readyz")
    assert resp.status == 503 and (await resp.json())["status"] == "not_ready"
    metrics = await client.get("/metrics")
    assert "kw_gateway_open_websockets" in await metrics.text()


async def test_back_office_api_is_mounted(start_gateway):
    client = await start_gateway()
    resp = await client.get("/api/v1/openapi.yaml")
    assert resp.status == 200


# -- conversation ---------------------------------------------------------------------------


async def test_message_round_trip_with_server_issued_sender_and_metadata(start_gateway, fake_rasa):
    client = await start_gateway()
    ws, ready = await chat(client, metadata={"portal": {"gemeente": "Rotterdam", "user": "x"}}, sender="mine")
    assert ready["resumed"] is False and ready["portal"] == {"status": "none"}
    assert ready["history"] == [] and ready["limits"]["max_chars"] == 1000
    assert any(s["payload"] == "/human_handoff" for s in ready["starters"])
    await ws.send_json(
        {
            "type": "message",
            "id": "msg-00000001",
            "text": "Vanaf wanneer kon je aanvragen?",
            "metadata": {"portal": {"gemeente": "Rotterdam", "user": "x"}},
            "sender": "mine",
        }
    )
    frames = await until(ws, "reply")
    assert [f["type"] for f in frames] == ["ack", "typing", "reply"]
    reply = frames[-1]
    assert reply["id"] == "msg-00000001"
    assert "7 juli 2025" in reply["messages"][0]["text"]
    assert reply["messages"][0]["buttons"] == [{"title": "Tot wanneer kon je aanvragen?", "payload": "/faq_deadline"}]

    call = fake_rasa.webhook_calls[-1]
    assert call["sender"] == sid_of(ready["session"]) and len(call["sender"]) == 32
    # Nothing from the browser; the turn's W3C trace context (tracing off: for the log lines).
    assert set(call["metadata"]) == {"client_id", "msg_id", "kw_sig", "traceparent"}
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]", call["metadata"]["traceparent"])
    # Signed for this conversation (bot/core/identity.py): the actions believe the client id.
    assert (
        identity.verified(client.server.app[SETTINGS].identity_key, call["sender"], call["metadata"]).client_id
        == call["metadata"]["client_id"]
    )
    assert call["metadata"]["msg_id"] == "msg-00000001"
    assert re.fullmatch(r"[0-9a-f]{32}", call["metadata"]["client_id"])

    # The offered follow-up button works; the user bubble shows its title.
    await ws.send_json(
        {"type": "button", "id": "msg-00000002", "payload": "/faq_deadline", "title": "Tot wanneer kon je aanvragen?"}
    )
    frames = await until(ws, "reply")
    assert frames[0]["text"] == "Tot wanneer kon je aanvragen?"
    assert fake_rasa.webhook_calls[-1]["message"] == "/faq_deadline"
    await ws.close()


async def test_personal_data_is_masked_before_rasa(widget, fake_rasa):
    text = "Mail jan@example.nl of bel 06-12345678, BSN 111222333, IBAN NL91ABNA0417164300"
    frames = await say(widget, "msg-mask-001", text)
    sent = fake_rasa.webhook_calls[-1]["message"]
    assert sent == "Mail [e-mailadres] of bel [telefoonnummer], BSN [BSN], IBAN [IBAN]"
    assert frames[0]["masked"] == ["email", "phone", "bsn", "iban"] and frames[0]["text"] == sent


async def test_typed_text_cannot_trigger_intents_or_unknown_buttons(widget, fake_rasa):
    await widget.send_json(
        {"type": "message", "id": "msg-slash-01", "text": '/status_aanvraag{"gemeente":"Rotterdam"}'}
    )
    await until(widget, "reply")
    assert not fake_rasa.webhook_calls[-1]["message"].startswith("/")
    calls = len(fake_rasa.webhook_calls)
    for payload in (
        '/status_overzicht{"gemeente":"Rotterdam"}',
        "/faq_deadline",
        "not a payload",
        '/faq_x{"a": {"nested": 1}}',
    ):
        await widget.send_json({"type": "button", "id": "msg-btn-0001", "payload": payload, "title": "x"})
        err = (await until(widget, "reply"))[-1]
        assert err["type"] == "error" and err["code"] == "unknown_choice", err
    assert len(fake_rasa.webhook_calls) == calls
    # Starter topics are always allowed.
    await widget.send_json(
        {"type": "button", "id": "msg-btn-0002", "payload": "/faq_wat_is", "title": "Wat is de regeling?"}
    )
    assert (await until(widget, "reply"))[-1]["type"] == "reply"


async def test_html_in_messages_is_passed_as_plain_text(widget, fake_rasa):
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    frames = await say(widget, "msg-html-001", payload)
    # JSON carries it as data; the widget renders it with textContent (tests/browser checks that).
    assert frames[0]["text"] == payload
    assert fake_rasa.webhook_calls[-1]["message"] == payload


# -- portal identity ------------------------------------------------------------------------


def _token(settings, **claims):
    now = int(time.time())
    base = {
        "sub": "user-42",
        "gemeente": "Rotterdam",
        "aud": settings.portal_jwt_audience,
        "iss": settings.portal_jwt_issuer,
        "iat": now,
        "exp": now + 300,
    }
    base.update(claims)
    base = {k: v for k, v in base.items() if v is not None}
    return jwt.encode(base, settings.portal_jwt_secret, algorithm="HS256")


async def test_portal_tokens_valid_expired_forged(start_gateway, fake_rasa, make_settings):
    settings = make_settings()
    client = await start_gateway()
    cases = {
        "valid": (_token(settings), "ok"),
        "expired": (_token(settings, iat=int(time.time()) - 900, exp=int(time.time()) - 600), "expired"),
        "forged": (
            jwt.encode(
                {
                    "sub": "user-42",
                    "gemeente": "Rotterdam",
                    "aud": settings.portal_jwt_audience,
                    "iss": settings.portal_jwt_issuer,
                    "exp": int(time.time()) + 300,
                },
                "not-the-secret-0123456789abcdefghijkl",
                algorithm="HS256",
            ),
            "invalid",
        ),
        "alg none": (
            jwt.encode(
                {
                    "sub": "u",
                    "gemeente": "Rotterdam",
                    "aud": settings.portal_jwt_audience,
                    "iss": settings.portal_jwt_issuer,
                    "exp": int(time.time()) + 300,
                },
                "",
                algorithm="none",
            ),
            "invalid",
        ),
        "wrong audience": (_token(settings, aud="other"), "invalid"),
        "wrong issuer": (_token(settings, iss="other"), "invalid"),
        "no gemeente": (_token(settings, gemeente=None), "invalid"),
        "too long-lived": (_token(settings, exp=int(time.time()) + 90 * 24 * 3600), "invalid"),
        "garbage": ("abc.def.ghi", "invalid"),
    }
    for name, (token, status) in cases.items():
        ws, ready = await chat(client, portal_token=token)
        assert ready["portal"]["status"] == status, name
        await say(ws, "msg-portal-1", "hallo")
        metadata = fake_rasa.webhook_calls[-1]["metadata"]
        if status == "ok":
            assert metadata["portal"] == {"gemeente": "Rotterdam", "user": "user-42"}, name
            assert ready["portal"]["gemeente"] == "Rotterdam"
        else:
            assert "portal" not in metadata, name
        await ws.close()


async def test_session_keeps_identity_on_reconnect_while_the_portal_token_is_valid(
    start_gateway, fake_rasa, make_settings
):
    """The identity is bound to the session: a reconnect from the same page keeps it, until the
    portal token expires (tests/security: the scope ends with the token)."""
    settings = make_settings()
    client = await start_gateway()
    token = issue_portal_token(settings, "Delft", "user-7", lifetime_s=300)
    ws, ready = await chat(client, portal_token=token)
    await ws.close()
    # Later, same page (same token, still valid): resumed with the bound identity.
    ws, again = await chat(client, session=ready["session"], portal_token=token)
    assert again["resumed"] is True and again["portal"]["status"] == "ok"
    await say(ws, "msg-bound-01", "hallo")
    assert fake_rasa.webhook_calls[-1]["metadata"]["portal"] == {"gemeente": "Delft", "user": "user-7"}
    # Another identity (or none) never continues that conversation.
    other = await hello(ws, session=ready["session"], portal_token=None)
    assert other["resumed"] is False and sid_of(other["session"]) != sid_of(ready["session"])
    await ws.close()


async def test_forged_session_tokens_get_a_fresh_session(start_gateway):
    client = await start_gateway()
    ws, ready = await chat(client)
    head, body, sig = ready["session"].split(".")
    for forged in (f"{head}.{body}.{sig[:-2]}AA", "v1.e30.AAAA", "x" * 5000, 42, None):
        again = await hello(ws, session=forged)
        assert again["resumed"] is False
        assert sid_of(again["session"]) != sid_of(ready["session"])
    await ws.close()


# -- history, reconnect, de-duplication -----------------------------------------------------


async def test_history_resumes_and_resends_are_not_duplicated_after_restart(start_gateway, fake_rasa):
    first = await start_gateway()
    ws, ready = await chat(first)
    reply1 = (await say(ws, "msg-hist-001", "Vanaf wanneer kon je aanvragen?"))[-1]
    await ws.send_json(
        {"type": "button", "id": "msg-hist-002", "payload": "/faq_deadline", "title": "Tot wanneer kon je aanvragen?"}
    )
    await until(ws, "reply")
    await ws.close()
    calls = len(fake_rasa.webhook_calls)

    # A new gateway process (same secrets): the session token and Rasa's tracker are enough.
    second = await start_gateway()
    ws, resumed = await chat(second, session=ready["session"])
    assert resumed["resumed"] is True
    assert sid_of(resumed["session"]) == sid_of(ready["session"])
    history = resumed["history"]
    assert [h["from"] for h in history] == ["user", "bot", "user", "bot"]
    assert history[0] == {"from": "user", "id": "msg-hist-001", "text": "Vanaf wanneer kon je aanvragen?"}
    assert history[2]["text"] == "Tot wanneer kon je aanvragen?"  # the button title, not the payload
    assert history[1]["buttons"][0]["payload"] == "/faq_deadline"
    # The answer's sources travel as data, in the live reply and in the rebuilt history alike.
    sources = [{"title": "Regeling", "url": "https://wetten.overheid.nl/"}]
    assert reply1["messages"][0]["sources"] == history[1]["sources"] == sources
    assert reply1["messages"][0]["checked"] == "2025-11-27" and len(reply1["messages"]) == 1

    # The widget resends a message whose reply it never saw: answered from the tracker, not again by Rasa.
    frames = await say(ws, "msg-hist-001", "Vanaf wanneer kon je aanvragen?")
    assert frames[0]["duplicate"] is True
    assert frames[-1]["messages"] == reply1["messages"]
    assert len(fake_rasa.webhook_calls) == calls
    await ws.close()


async def test_resend_to_a_cold_gateway_without_hello_history(start_gateway, fake_rasa):
    """HTTP fallback after a restart: the first message checks the tracker before relaying."""
    first = await start_gateway()
    ws, ready = await chat(first)
    await say(ws, "msg-cold-001", "hallo")
    await ws.close()
    calls = len(fake_rasa.webhook_calls)
    second = await start_gateway()
    resp = await second.post(
        "/chat/http",
        json={"type": "message", "id": "msg-cold-001", "text": "hallo", "session": ready["session"]},
        headers={"Origin": second.origin},
    )
    frames = (await resp.json())["frames"]
    assert resp.status == 200 and frames[0]["duplicate"] is True and frames[-1]["type"] == "reply"
    assert len(fake_rasa.webhook_calls) == calls


async def test_reset_starts_a_fresh_conversation(start_gateway, fake_rasa):
    client = await start_gateway()
    ws, ready = await chat(client)
    await say(ws, "msg-reset-01", "hallo")
    await ws.send_json({"type": "reset"})
    fresh = await ws.receive_json(timeout=5)
    assert fresh["type"] == "ready" and fresh["history"] == [] and fresh["resumed"] is False
    assert sid_of(fresh["session"]) != sid_of(ready["session"])
    await ws.close()


# -- bad input ------------------------------------------------------------------------------


async def test_oversized_binary_and_invalid_frames(start_gateway, fake_rasa):
    client = await start_gateway()
    ws = await client.ws_connect("/chat/ws", headers={"Origin": client.origin})
    await ws.send_json({"type": "message", "id": "msg-early-01", "text": "hallo"})
    assert (await ws.receive_json(timeout=5))["code"] == "hello_required"
    await hello(ws)

    await ws.send_json({"type": "message", "id": "msg-long-001", "text": "a" * 1001})
    err = await ws.receive_json(timeout=5)
    assert err["code"] == "too_long" and err["id"] == "msg-long-001" and "1000 tekens" in err["message"]
    await ws.send_json({"type": "message", "id": "msg-long-002", "text": "a" * 1000})  # exactly the limit
    assert (await until(ws, "reply"))[-1]["type"] == "reply"

    for raw, code in [
        ("{not json", "bad_json"),
        ("[1, 2]", "invalid"),
        ('{"type": 3}', "invalid"),
        ('{"type": "message", "id": "short", "text": "x"}', "invalid"),
        ('{"type": "message", "id": "msg-empty-01", "text": "   "}', "empty"),
        ("x" * (MAX_FRAME_BYTES + 1), "too_large"),
    ]:
        await ws.send_str(raw)
        err = await ws.receive_json(timeout=5)
        assert err["type"] == "error" and err["code"] == code, (raw[:30], err)
    await ws.close()

    calls = len(fake_rasa.webhook_calls)
    ws, _ = await chat(client)
    await ws.send_bytes(b"\x00\xff binary")
    assert (await ws.receive_json(timeout=5))["code"] == "bad_frame"
    for _ in range(6):  # keep sending garbage: the socket is closed (policy violation)
        await ws.send_bytes(b"\x00")
    msg = None
    while True:
        msg = await ws.receive(timeout=5)
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            break
    assert ws.close_code == 1008
    assert len(fake_rasa.webhook_calls) == calls

    # A frame over the WebSocket limit is refused by the reader (1009 message too big).
    ws = await client.ws_connect("/chat/ws", headers={"Origin": client.origin}, max_msg_size=0)
    await hello(ws)
    await ws.send_str(json.dumps({"type": "message", "id": "msg-huge-001", "text": "a" * (WS_MAX_MSG_SIZE + 10)}))
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE and ws.close_code == 1009


async def test_socket_without_hello_is_closed(start_gateway, monkeypatch):
    monkeypatch.setattr(chat_ws_mod, "HELLO_TIMEOUT_S", 0.2)
    client = await start_gateway()
    ws = await client.ws_connect("/chat/ws", headers={"Origin": client.origin})
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE and ws.close_code == 1008


async def test_flood_is_rate_limited_with_a_dutch_message(start_gateway, fake_rasa):
    client = await start_gateway(KW_RATE_LIMIT_PER_MINUTE="5")
    ws, _ = await chat(client)
    results = []
    for i in range(8):
        await ws.send_json({"type": "message", "id": f"msg-flood-{i:03d}", "text": f"vraag {i}"})
        results.append((await until(ws, "reply"))[-1])
    assert [r["type"] for r in results] == ["reply"] * 5 + ["error"] * 3
    assert results[-1]["code"] == "rate_limited" and results[-1]["retry_after"] >= 1
    assert "Wacht" in results[-1]["message"]
    assert len(fake_rasa.webhook_calls) == 5
    # The HTTP fallback shares the limit (same client).
    resp = await client.post(
        "/chat/http",
        headers={"Origin": client.origin},
        json={"type": "message", "id": "msg-flood-http", "text": "nog een", "session": (await hello(ws))["session"]},
    )
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    await ws.close()


async def test_wrong_origin_is_refused(start_gateway):
    client = await start_gateway(KW_ALLOWED_ORIGINS="https://www.gemeente.example")
    for headers in (
        {"Origin": "https://evil.example"},
        {},
        {"Origin": "null"},
        {"Origin": "https://www.gemeente.example.evil.example"},
    ):
        resp = await client.get(
            "/chat/ws",
            headers={
                **headers,
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            },
        )
        assert resp.status == 403, headers
        resp = await client.post("/chat/http", json={"type": "hello"}, headers=headers)
        assert resp.status == 403, headers
        assert "Access-Control-Allow-Origin" not in resp.headers
    pre = await client.options(
        "/chat/http", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert pre.status == 403
    # The configured embedding site may: WebSocket and CORS.
    ws = await client.ws_connect("/chat/ws", headers={"Origin": "https://www.gemeente.example"})
    await hello(ws)
    await ws.close()
    pre = await client.options(
        "/chat/http", headers={"Origin": "https://www.gemeente.example", "Access-Control-Request-Method": "POST"}
    )
    assert pre.status == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "https://www.gemeente.example"
    assert "Access-Control-Allow-Credentials" not in pre.headers


# -- HTTP fallback --------------------------------------------------------------------------


async def test_http_fallback_speaks_the_same_frames(start_gateway, fake_rasa):
    client = await start_gateway()
    headers = {"Origin": client.origin}
    resp = await client.post("/chat/http", json={"type": "hello"}, headers=headers)
    ready = (await resp.json())["frames"][0]
    assert resp.status == 200 and ready["type"] == "ready"
    assert resp.headers["Cache-Control"] == "no-store"
    resp = await client.post(
        "/chat/http",
        headers=headers,
        json={
            "type": "message",
            "id": "msg-http-001",
            "text": "Vanaf wanneer kon je aanvragen?",
            "session": ready["session"],
        },
    )
    frames = (await resp.json())["frames"]
    assert [f["type"] for f in frames] == ["ack", "reply"]
    assert "7 juli 2025" in frames[1]["messages"][0]["text"]

    bad = await client.post("/chat/http", data="{nope", headers={**headers, "Content-Type": "application/json"})
    assert bad.status == 400 and (await bad.json())["frames"][0]["code"] == "bad_json"
    bad = await client.post("/chat/http", data="x", headers={**headers, "Content-Type": "text/plain"})
    assert bad.status == 415
    bad = await client.post("/chat/http", data=b"\xff\xfe\x00", headers={**headers, "Content-Type": "application/json"})
    assert bad.status == 400
    big = await client.post(
        "/chat/http",
        data=json.dumps({"type": "hello", "x": "a" * MAX_FRAME_BYTES}),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert big.status == 413 and (await big.json())["frames"][0]["message"] == "Je bericht is te groot."
    nosession = await client.post(
        "/chat/http",
        headers=headers,
        json={"type": "message", "id": "msg-http-002", "text": "hoi", "session": "v1.forged.token"},
    )
    assert nosession.status == 401 and (await nosession.json())["frames"][0]["code"] == "session_expired"


# -- logs -----------------------------------------------------------------------------------


async def test_logs_never_contain_message_contents(start_gateway, caplog):
    caplog.set_level(logging.INFO)
    client = await start_gateway()
    ws, ready = await chat(client)
    await say(ws, "msg-log-0001", "geheimwoord jan@example.nl")
    await ws.close()
    assert "geheimwoord" not in caplog.text and "jan@example.nl" not in caplog.text
    assert sid_of(ready["session"]) not in caplog.text
    assert any('"event":"message"' in r.getMessage() for r in caplog.records)
