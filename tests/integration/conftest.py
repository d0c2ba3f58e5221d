"""The integration tests' harness: one fake Rasa, settings made from an explicit environment,
and the real gateway app (create_app) behind aiohttp's test client.

FakeRasa is a small aiohttp app with just enough of Rasa 3.6: the REST webhook (silent while the
conversation is paused), the tracker, appended tracker events, /status, and the action server's
/health. It records what the gateway sent, so tests can assert on it. The real Rasa stack is in
test_gateway_rasa.py and tests/browser/.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from bot import settings as settings_mod
from bot.web.app import create_app
from tests.fixtures.databases import TEST_CONTACT_KEY

RASA_TOKEN = "fake-rasa-token-0123456789abcdefghij"
PORTAL_SECRET = "portal-secret-for-tests-0123456789abcdef"
COOKIE_SECRET = "cookie-secret-for-tests-0123456789abcdef"
FAQ_TEXT = "Gemeenten konden aanvragen **vanaf 7 juli 2025**."
#: The FAQ answer's sources, as data (bot/core/reply.py).
FAQ_CUSTOM = {"kw_sources": [{"title": "Regeling", "url": "https://wetten.overheid.nl/"}], "kw_checked": "2025-11-27"}


class FakeRasa:
    """Rasa for the gateway: answers, trackers, pause/resume by appended events."""

    def __init__(self) -> None:
        self.trackers: dict[str, list[dict[str, Any]]] = {}
        self.paused: dict[str, bool] = {}
        #: Every webhook body and every appended event, in order.
        self.webhook_calls: list[dict[str, Any]] = []
        self.posted: list[dict[str, Any]] = []
        #: Seconds the webhook waits before answering (a slow assistant).
        self.delay = 0.0
        #: Failures of the next webhook calls, oldest first: "before" answers 502 without
        #: processing (a replica that died on receipt), "after" processes and then answers 502
        #: (one that died before answering), "empty" answers [] (an action that failed),
        #: "slow" never answers (until the gateway gives up and closes the connection).
        self.failures: list[str] = []
        #: callable(sender, text) -> answer text or None: e.g. the handoff action making a ticket.
        self.on_message: Callable[[str, str], str | None] | None = None
        #: Webhook calls being answered now, and the most there were at once.
        self.in_flight = 0
        self.most_in_flight = 0
        self.port = 0
        self.app = web.Application()
        self.app.router.add_post("/webhooks/rest/webhook", self.webhook)
        self.app.router.add_get("/conversations/{sender}/tracker", self.tracker)
        self.app.router.add_post("/conversations/{sender}/tracker/events", self.events)
        self.app.router.add_get("/status", self.status)
        self.app.router.add_get("/health", self.health)

    @staticmethod
    def answer(text: str) -> list[dict[str, Any]]:
        if "aanvragen" in text.lower() or text == "/faq_aanvragen_vanaf":
            return [
                {
                    "text": FAQ_TEXT,
                    "custom": FAQ_CUSTOM,
                    "buttons": [{"title": "Tot wanneer kon je aanvragen?", "payload": "/faq_deadline"}],
                }
            ]
        if text == "/faq_deadline":
            return [{"text": "De sluitingsdatum is bij mij niet bekend."}]
        return [
            {"text": f"Je schreef: {text}"},
            {
                "text": "Kies een onderwerp:",
                "buttons": [{"title": "Vanaf wanneer kon je aanvragen?", "payload": "/faq_aanvragen_vanaf"}],
            },
        ]

    def _authorised(self, request: web.Request) -> bool:
        return request.query.get("token") == RASA_TOKEN

    async def webhook(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await self._webhook(request)
        finally:
            self.in_flight -= 1

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.webhook_calls.append(body)
        failure = self.failures.pop(0) if self.failures else None
        if failure == "before":
            return web.json_response({"message": "bad gateway"}, status=502)
        if failure == "slow":
            # Still working when the gateway stops waiting: the closed connection cancels this
            # handler, as Rasa's server (Sanic) cancels a turn, so nothing is stored.
            await asyncio.Event().wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        sender = body["sender"]
        events = self.trackers.setdefault(sender, [])
        events.append(
            {"event": "user", "text": body["message"], "metadata": body.get("metadata") or {}, "timestamp": time.time()}
        )
        if self.paused.get(sender) or failure == "empty":
            return web.json_response([])
        special = self.on_message(sender, body["message"]) if self.on_message else None
        answers = [{"text": special}] if special else self.answer(body["message"])
        out = []
        for m in answers:
            data = {k: m[k] for k in ("buttons", "custom") if k in m}
            events.append({"event": "bot", "text": m["text"], "data": data, "timestamp": time.time()})
            # Like Rasa's REST channel: a message's custom data comes as a message of its own.
            out.append({k: v for k, v in m.items() if k != "custom"})
            if "custom" in m:
                out.append({"custom": m["custom"]})
        if failure == "after":
            return web.json_response({"message": "bad gateway"}, status=502)
        return web.json_response([dict(m, recipient_id=sender) for m in out])

    async def tracker(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "unauthorized"}, status=401)
        sender = request.match_info["sender"]
        return web.json_response(
            {"sender_id": sender, "events": self.trackers.get(sender, []), "paused": self.paused.get(sender, False)}
        )

    async def events(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({}, status=401)
        sender = request.match_info["sender"]
        body = await request.json()
        for event in body if isinstance(body, list) else [body]:
            self.posted.append({"sender": sender, **event})
            if event.get("event") in ("resume", "pause"):
                self.paused[sender] = event["event"] == "pause"
            else:
                self.trackers.setdefault(sender, []).append(dict(event, timestamp=time.time()))
        return web.json_response({"sender_id": sender})

    async def status(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({}, status=401)
        return web.json_response({"model_id": "fake", "model_file": "fake.tar.gz"})

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})


@pytest_asyncio.fixture
async def fake_rasa(aiohttp_server) -> FakeRasa:
    fake = FakeRasa()
    server = await aiohttp_server(fake.app)
    fake.port = server.port
    return fake


@pytest.fixture
def make_settings(tmp_path, fake_rasa) -> Callable[..., settings_mod.Settings]:
    """Settings from an explicit environment (never this process's): Rasa is the fake, the
    databases are files in tmp_path; keyword arguments override any variable."""

    def make(**env: str) -> settings_mod.Settings:
        base = {
            "KW_VAR_DIR": str(tmp_path / "var"),
            "KW_RASA_TOKEN": RASA_TOKEN,
            "KW_PORTAL_JWT_SECRET": PORTAL_SECRET,
            "KW_API_TOKEN": "api-token-for-tests-0123456789abcdef",
            "KW_OPS_TOKEN": "ops-token-for-tests-0123456789abcdef",
            "KW_IDENTITY_KEY": "identity-key-for-tests-0123456789abcdef",
            "KW_CONTACT_KEY": TEST_CONTACT_KEY,
            "KW_COOKIE_SECRET": COOKIE_SECRET,
            "KW_RASA_PORT": str(fake_rasa.port),
            "KW_RASA_WORKERS": "1",  # one fake; test_gateway.py has a test with two
            "KW_ACTIONS_PORT": str(fake_rasa.port),
            "KW_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        }
        base.update(env)
        return settings_mod.load(base)

    return make


@pytest_asyncio.fixture
async def start_gateway(aiohttp_client, make_settings):
    """Start a gateway (create_app) with these settings overrides; returns its test client, with
    ``client.origin`` (the gateway's own origin) and ``client.settings``. Several calls give
    several gateways on the same databases, like a restart or a second process."""

    async def start(**env: str):
        settings = make_settings(**env)
        client = await aiohttp_client(create_app(settings))
        client.origin = str(client.make_url("/").origin())
        client.settings = settings
        return client

    return start
