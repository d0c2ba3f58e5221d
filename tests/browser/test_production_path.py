"""The production path on the default HTTPS port, end to end (issue 21, M1).

`make run-cluster`'s topology (bot/cluster.py) with KW_ENV=production: HAProxy terminates TLS
with the self-signed certificate it made at start and balances over two gateways (which trust
it as their proxy), one Rasa replica and one action server, on the machine's PostgreSQL and
Redis. Chromium maps ``kw.test:443`` to HAProxy's TLS port, so it really uses
``https://kw.test/``: its Host and Origin headers carry no port, as on a real port 443. A
widget conversation there asks for a medewerker; a medewerker (created with the CLI, as
production refuses demo accounts) logs in to the console through the same entry, opens and
takes the ticket and replies, and the widget shows the reply.

Before the fix the console refused this login with 403: the Origin ``https://kw.example`` was
compared with its default port to a Host header without one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from playwright.sync_api import expect

from bot import cluster, launcher
from bot.handoff.service import HandoffService
from bot.settings import ROOT, load
from tests.browser.handoff_helpers import (
    LIVE_MS,
    agent_messages,
    console_messages,
    expect_bot,
    handoff_bar,
    open_ticket_from_queue,
    open_widget,
    request_handoff,
    staff_login,
    staff_reply,
)
from tests.browser.widget_helpers import CHROMIUM_ARGS, sender_id
from tests.fixtures.databases import create_pg_database, drop_pg_database
from tests.fixtures.production import production_env

SITE = "https://kw.test"  # the default port: no ":443" anywhere
USERNAME, DISPLAY_NAME, PASSWORD = "sanne", "Sanne de Vries", "productie-wachtwoord-2026"


@pytest.fixture(scope="module")
def production_cluster(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("var-production")
    app_db, tracker_db = create_pg_database(), create_pg_database()
    env = launcher.isolated_env(
        var_dir,
        production_env(
            KW_DATABASE_URL=app_db,
            KW_TRACKER_STORE_URL=tracker_db,
            KW_LOCK_STORE_URL="redis://127.0.0.1:6379/0",
            KW_PUBSUB_URL="redis://127.0.0.1:6379/0",
            KW_PUBSUB_PREFIX=f"kw-prodpath-{uuid.uuid4().hex[:8]}:",
            KW_HELPDESK_HOURS="ma-zo 00:00-24:00",
        ),
    )
    settings = load(env)
    ports = cluster.Ports(
        settings.gateway_port,
        settings.rasa_port,
        settings.actions_port,
        gateways=[launcher.free_port(), launcher.free_port()],
        rasas=[launcher.free_port()],
        action_servers=[launcher.free_port()],
        tls=launcher.free_port(),
    )
    stack = None
    try:
        model = launcher.ensure_model(settings)
        # The first medewerker as an operator creates one: the CLI (which also migrates).
        created = subprocess.run(
            [sys.executable, "-m", "bot", "staff-create", USERNAME, DISPLAY_NAME],
            cwd=ROOT,
            env=dict(env, KW_NEW_STAFF_PASSWORD=PASSWORD),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        stack = cluster.Cluster(settings, model, ports)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)  # child_env() starts from os.environ
        try:
            stack.start(timeout_s=600)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        yield stack
    finally:
        if stack is not None:
            stack.stop()
        drop_pg_database(app_db)
        drop_pg_database(tracker_db)


@pytest.fixture(scope="module")
def kw_test_browser(chromium_path, production_cluster):
    """Chromium that resolves kw.test:443 to HAProxy's TLS port on loopback."""
    from playwright.sync_api import sync_playwright

    rule = f"--host-resolver-rules=MAP kw.test:443 127.0.0.1:{production_cluster.ports.tls}"
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=chromium_path, args=[*CHROMIUM_ARGS, rule])
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def new_page(kw_test_browser):
    contexts = []

    def make():
        # The certificate is self-signed: the browser is told to accept it, nothing else changes.
        ctx = kw_test_browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="nl-NL", ignore_https_errors=True
        )
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def test_console_and_widget_through_https_on_the_default_port(production_cluster, new_page):
    settings = production_cluster.settings
    user, staff = new_page(), new_page()

    # The medewerker logs in at https://kw.test/helpdesk (403 before the fix).
    staff_login(staff, SITE, USERNAME, PASSWORD)
    assert staff.evaluate("() => [location.protocol, location.host, location.port]") == ["https:", "kw.test", ""]
    session = next(c for c in staff.context.cookies(SITE + "/helpdesk") if c["name"] == "kw_helpdesk")
    assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Strict"

    # The applicant's widget on the same site, through the same entry, asks for a medewerker.
    response = user.goto(SITE + "/")
    # The gateway knows the browser used https (X-Forwarded-Proto from HAProxy): production HSTS.
    assert "max-age=" in (response.headers.get("strict-transport-security") or "")
    open_widget(user, SITE)
    question = "Kan ik de aanvraag nog aanpassen na het indienen?"
    request_handoff(user, question)
    ticket = HandoffService.from_settings(settings).active_ticket_for_conversation(sender_id(user))
    assert ticket is not None and ticket.question == question and ticket.state == "wachtrij"

    # It reaches the console live over the console socket (wss://kw.test/helpdesk/ws).
    open_ticket_from_queue(staff, question)
    expect(console_messages(staff).filter(has_text="ik wil een medewerker spreken")).to_be_visible()
    staff.get_by_role("button", name="Oppakken").click()
    expect(staff.locator("#ticket-status")).to_have_text(f"In gesprek ({DISPLAY_NAME})")
    expect(handoff_bar(user)).to_contain_text(f"Je praat nu met {DISPLAY_NAME}", timeout=LIVE_MS)

    reply = "Hallo, ik ben Sanne. Ik kijk met je mee."
    staff_reply(staff, reply)
    expect(agent_messages(user).filter(has_text=reply)).to_be_visible(timeout=LIVE_MS)
    expect(agent_messages(user).last.locator(".kw-who")).to_have_text(f"Medewerker {DISPLAY_NAME}")

    # And back: the applicant's answer reaches the console.
    expect_bot(user, f"Je praat nu met {DISPLAY_NAME}", timeout=LIVE_MS)
    user.get_by_role("textbox", name="Typ je vraag").fill("Dank je wel!")
    user.get_by_role("textbox", name="Typ je vraag").press("Enter")
    expect(console_messages(staff).filter(has_text="Dank je wel!")).to_be_visible(timeout=LIVE_MS)

    # What was stored: the ticket is live with this medewerker, the reply is theirs.
    service = HandoffService.from_settings(settings)
    stored = service.get_ticket(ticket.id)
    assert stored.state == "live" and stored.assigned_name == DISPLAY_NAME
    said = [(m.sender, m.author, m.text) for m in service.messages_after(ticket.id)]
    assert ("medewerker", DISPLAY_NAME, reply) in said
    assert any(sender == "gebruiker" and text == "Dank je wel!" for sender, _, text in said)
