"""The gateway in front of the real Rasa stack (`rasa_stack` from tests/conftest.py).

What reaches Rasa's tracker through the gateway: the answer, masked text, verified portal
metadata only, one user event per client message id even when the widget resends it to a
restarted gateway.
"""

from __future__ import annotations

import time

import jwt
import pytest
import pytest_asyncio

from bot.web.app import create_app
from tests.fixtures.chat import sid_of

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def start_gateway(aiohttp_client, rasa_stack):
    async def start():
        client = await aiohttp_client(create_app(rasa_stack.settings))
        client.origin = str(client.make_url("/").origin())
        return client

    return start


async def exchange(ws, frame):
    await ws.send_json(frame)
    while True:
        out = await ws.receive_json(timeout=60)
        if out["type"] in ("reply", "error"):
            return out


async def tracker_users(client, rasa_stack, sid):
    url = f"{rasa_stack.url_for(sid)}/conversations/{sid}/tracker"
    async with client.session.get(url, params={"token": rasa_stack.settings.rasa_token}) as resp:
        events = (await resp.json())["events"]
    return [e for e in events if e.get("event") == "user"]


async def test_gateway_relays_to_real_rasa(start_gateway, rasa_stack):
    client = await start_gateway()
    assert (await client.get("/readyz")).status == 200
    ws = await client.ws_connect("/chat/ws", headers={"Origin": client.origin})
    await ws.send_json({"type": "hello"})
    ready = await ws.receive_json(timeout=10)
    reply = await exchange(ws, {"type": "message", "id": "rasa-msg-0001", "text": "Vanaf wanneer kon je aanvragen?"})
    assert reply["type"] == "reply", reply
    text = " ".join(m["text"] for m in reply["messages"])
    assert "7 juli 2025" in text
    # The answer's sources come as data with the message, from the knowledge base.
    sources = [src for m in reply["messages"] for src in m.get("sources", [])]
    assert sources and all(src["url"].startswith("https://") and src["title"] for src in sources)
    buttons = [b for m in reply["messages"] for b in m["buttons"]]
    assert buttons and all(b["payload"].startswith("/") for b in buttons)

    # A follow-up button the bot offered is accepted and answered.
    follow = await exchange(
        ws, {"type": "button", "id": "rasa-msg-0002", "payload": buttons[0]["payload"], "title": buttons[0]["title"]}
    )
    assert follow["type"] == "reply" and follow["messages"]

    masked = await exchange(
        ws, {"type": "message", "id": "rasa-msg-0003", "text": "mijn mail is piet@example.nl en mijn nummer 0612345678"}
    )
    assert masked["type"] == "reply"
    users = await tracker_users(client, rasa_stack, sid_of(ready["session"]))
    assert [u["metadata"]["msg_id"] for u in users] == ["rasa-msg-0001", "rasa-msg-0002", "rasa-msg-0003"]
    assert users[-1]["text"] == "mijn mail is [e-mailadres] en mijn nummer [telefoonnummer]"
    assert all("portal" not in u["metadata"] for u in users)
    await ws.close()


async def test_portal_identity_and_resend_after_restart_with_real_rasa(start_gateway, rasa_stack):
    settings = rasa_stack.settings
    now = int(time.time())
    token = jwt.encode(
        {
            "sub": "user-1",
            "gemeente": "Heerlen",
            "aud": settings.portal_jwt_audience,
            "iss": settings.portal_jwt_issuer,
            "iat": now,
            "exp": now + 300,
        },
        settings.portal_jwt_secret,
        algorithm="HS256",
    )
    first = await start_gateway()
    ws = await first.ws_connect("/chat/ws", headers={"Origin": first.origin})
    await ws.send_json({"type": "hello", "portal_token": token})
    ready = await ws.receive_json(timeout=10)
    assert ready["portal"] == {"status": "ok", "gemeente": "Heerlen"}
    reply = await exchange(ws, {"type": "message", "id": "rasa-msg-0101", "text": "Voor welke jaren is het geld?"})
    assert reply["type"] == "reply"
    await ws.close()

    second = await start_gateway()  # as after a restart: nothing in memory
    ws = await second.ws_connect("/chat/ws", headers={"Origin": second.origin})
    await ws.send_json({"type": "hello", "session": ready["session"], "portal_token": token})
    resumed = await ws.receive_json(timeout=10)
    assert resumed["resumed"] is True
    assert [h["from"] for h in resumed["history"]][:1] == ["user"]
    again = await exchange(ws, {"type": "message", "id": "rasa-msg-0101", "text": "Voor welke jaren is het geld?"})
    assert again["messages"] == reply["messages"]
    users = await tracker_users(second, rasa_stack, sid_of(ready["session"]))
    assert len(users) == 1
    assert users[0]["metadata"]["portal"] == {"gemeente": "Heerlen", "user": "user-1"}
    await ws.close()
