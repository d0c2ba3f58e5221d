"""Browser tests: Debian's chromium driven by Playwright, against the real gateway process.

The gateway runs as `python -m bot.web` (a real subprocess on a free port, so it can be killed
and restarted mid-conversation) in front of the session's real Rasa stack (`rasa_stack` from
tests/conftest.py). One chromium for the module; each test gets a fresh context.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.browser.widget_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT
from tests.fixtures.gateway import GatewayProcess, gateway_for


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium; installed by scripts/ensure-browser.sh when missing (needs root)."""
    if not os.path.exists(CHROMIUM):
        subprocess.run(["bash", str(ROOT / "scripts" / "ensure-browser.sh")], check=False, stdin=subprocess.DEVNULL)
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium ontbreekt: voer scripts/ensure-browser.sh uit als root")
    return CHROMIUM


@pytest.fixture(scope="session")
def gateway(rasa_stack, tmp_path_factory) -> Iterator[GatewayProcess]:
    # The whole browser suite comes from one client; the flood test is in tests/integration.
    proc = gateway_for(rasa_stack, tmp_path_factory.mktemp("gateway"), KW_RATE_LIMIT_PER_MINUTE="600")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def browser(chromium_path):
    """One chromium for the browser tests. Module scope on purpose: Playwright's sync API keeps an
    event loop marked as running while it is started, which would break the asyncio tests that
    pytest runs after this module (tests/integration)."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nl-NL")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.csp_messages = []
    page.on(
        "console",
        lambda msg: (
            page.csp_messages.append(msg.text)
            if "Content Security Policy" in msg.text or "Trusted Type" in msg.text
            else None
        ),
    )
    yield page
