"""Shared fixtures: the real Rasa server and action server, started once per test session.

The model is trained by `make test` before pytest starts; `ensure_model` here only finds it
(or trains it when pytest is run on its own). Each session gets its own var/ directory, so the
tracker and app databases start empty, and free ports, so a developer's `make run` can keep
running beside the tests.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot import launcher
from bot.settings import Settings, load

if TYPE_CHECKING:  # for the annotation only: start_stack imports the demo data when a stack starts
    from bot.status.demo import DemoApplication

free_port = launcher.free_port


@dataclass
class RasaStack:
    settings: Settings
    env: dict[str, str]
    stack: launcher.Stack
    demo: list[DemoApplication]

    @property
    def rasa_url(self) -> str:
        return self.settings.rasa_url

    @property
    def rest_url(self) -> str:
        return f"{self.settings.rasa_url}/webhooks/rest/webhook"

    def url_for(self, sender: str) -> str:
        """The Rasa worker the gateway sends this conversation to (bot/web/rasa.py)."""
        from bot.web.rasa import worker_for

        return self.settings.rasa_urls[worker_for(sender, self.settings.rasa_workers)]

    def say(
        self,
        message: str,
        sender: str | None = None,
        metadata: dict | None = None,
        timeout: float = 30,
        signed: bool = True,
    ) -> list[dict]:
        """One message through the REST channel, with Rasa's token; returns the bot's messages.
        Unless ``signed`` is False the metadata is signed as the gateway signs it
        (bot/core/identity.py), with a client id of this conversation's own unless one is given:
        unsigned messages all count as one unverified client."""
        from bot.core import identity

        body: dict[str, Any] = {"sender": sender or f"t-{uuid.uuid4().hex}", "message": message}
        if signed:
            given = dict(metadata or {})
            client, portal = given.pop("client_id", None), given.pop("portal", None)
            metadata = identity.signed_metadata(
                self.settings.identity_key, body["sender"], client or f"test-{body['sender']}", portal, **given
            )
        if metadata is not None:
            body["metadata"] = metadata
        req = urllib.request.Request(
            f"{self.url_for(body['sender'])}/webhooks/rest/webhook",
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.settings.rasa_token}"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            assert resp.status == 200
            return json.loads(resp.read().decode("utf-8") or "[]")


stack_env = launcher.isolated_env


def start_stack(var_dir: Path, extra: dict[str, str] | None = None) -> RasaStack:
    env = stack_env(var_dir, extra)
    settings = load(env)
    model = launcher.ensure_model(settings)
    from bot import migrations
    from bot.status import demo as demo_data

    migrations.upgrade(settings.database_url)
    demo = list(demo_data.load_demo_data(settings.database_url))
    stack = launcher.Stack(settings, model, gateway=False)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # child_env() starts from os.environ
    try:
        stack.start(timeout_s=600)  # generous: a loaded CI machine loads TensorFlow slowly
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return RasaStack(settings, launcher.child_env(settings, env), stack, demo)


@pytest.fixture(scope="session")
def rasa_stack(tmp_path_factory) -> Iterator[RasaStack]:
    """Real Rasa server + action server on SQLite, with the demo applications loaded."""
    running = start_stack(tmp_path_factory.mktemp("var"))
    yield running
    running.stack.stop()


@pytest.fixture
def make_tracker():
    """A rasa-sdk Tracker whose latest message has the given intent, text and entities."""
    from rasa_sdk import Tracker

    def make(
        intent: str,
        text: str = "",
        entities: list | None = None,
        events: list | None = None,
        ranking: list | None = None,
        metadata: dict | None = None,
        slots: dict | None = None,
    ):
        latest = {
            "intent": {"name": intent, "confidence": 0.9},
            "text": text,
            "entities": entities or [],
            "intent_ranking": ranking or [],
            "metadata": metadata or {},
        }
        evts = [*(events or []), {"event": "user", "text": text, "parse_data": latest, "metadata": metadata or {}}]
        return Tracker(
            sender_id="unit",
            slots=slots or {},
            latest_message=latest,
            events=evts,
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name=None,
        )

    return make


@pytest.fixture
def dispatcher():
    from rasa_sdk.executor import CollectingDispatcher

    return CollectingDispatcher()
