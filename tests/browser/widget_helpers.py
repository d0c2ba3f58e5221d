"""Helpers for the browser tests: the gateway process, polling, and reading the widget's session."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

from bot.settings import ROOT
from tests.fixtures.gateway import GatewayProcess, free_port, poll  # noqa: F401 - re-exported

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Written by every run into the ignored results/ folder; `make docs` copies them into docs/.
SCREENSHOTS = ROOT / "results" / "screenshots"
ANSWER_TIMEOUT_MS = 30_000


def session_token(page) -> str:
    stored = page.evaluate(
        "() => Object.keys(sessionStorage).filter(k => k.startsWith('kw-assistent:'))"
        ".map(k => sessionStorage.getItem(k))"
    )
    assert len(stored) == 1, stored
    return json.loads(stored[0])["token"]


def sender_id(page) -> str:
    body = session_token(page).split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["sid"]


def tracker_events(rasa_stack, sender: str):
    url = f"{rasa_stack.url_for(sender)}/conversations/{sender}/tracker?token={rasa_stack.settings.rasa_token}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read().decode("utf-8"))["events"]


def user_events(rasa_stack, sender: str):
    return [e for e in tracker_events(rasa_stack, sender) if e.get("event") == "user"]
