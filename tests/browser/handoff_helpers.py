"""Helpers for the handoff browser tests: the applicant's widget and the staff console."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.widget_helpers import ANSWER_TIMEOUT_MS, ROOT, GatewayProcess, free_port

PASSWORD = "helpdesk-wachtwoord-2026"
WCAG_21_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
LIVE_MS = 15_000  # console/widget live updates (push, or the console's 2 s poll)
# The console's two reference widths: a desktop, and 320 CSS px (WCAG 1.4.10 reflow).
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 320, "height": 640}


# -- widget (applicant) ------------------------------------------------------------------------


def open_widget(page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_role("button", name="Stel je vraag").click()
    expect(textbox(page)).to_be_visible()


def textbox(page):
    return page.get_by_role("textbox", name="Typ je vraag")


def ask(page, text: str) -> None:
    textbox(page).fill(text)
    textbox(page).press("Enter")


def bot_bubbles(page):
    return page.locator(".kw-msg--bot .kw-bubble")


def expect_bot(page, text: str, timeout: int = ANSWER_TIMEOUT_MS) -> None:
    expect(bot_bubbles(page).filter(has_text=text).last).to_be_visible(timeout=timeout)


def agent_messages(page):
    return page.locator(".kw-msg--agent")


def handoff_bar(page):
    return page.locator(".kw-handoff")


def request_handoff(page, question: str, contact: str = "") -> str:
    """The consent dialogue of the handoff form; returns the assistant's last message."""
    ask(page, "ik wil een medewerker spreken")
    expect_bot(page, "Mag ik ons gesprek tot nu toe met die medewerker delen?")
    page.get_by_role("button", name="Ja, dat mag").last.click()
    expect_bot(page, "Wat is je vraag, in één zin?")
    ask(page, question)
    expect_bot(page, "hoe kunnen we je dan bereiken?")
    if contact:
        ask(page, contact)
    else:
        page.get_by_role("button", name="Nee, liever niet").last.click()
    expect_bot(page, "Dank je, je vraag staat klaar")
    # (A contact is said back in a bubble of its own after it.)
    return bot_bubbles(page).filter(has_text="je vraag staat klaar").last.inner_text()


def count_text(locator, text: str) -> int:
    return sum(1 for t in locator.all_inner_texts() if text in t)


# -- console (staff) ----------------------------------------------------------------------------


def staff_login(page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(url + "/helpdesk")
    expect(page.get_by_role("heading", name="Inloggen bij de helpdesk")).to_be_visible()
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="Wachtrij", exact=True)).to_be_visible()


def open_ticket_from_queue(page, question: str) -> None:
    link = page.get_by_role("link", name=f"Bekijken: {question}")
    expect(link).to_be_visible(timeout=LIVE_MS)  # arrives over the console socket
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(question)


def console_messages(page):
    return page.locator("#berichten .c-msg__text")


def staff_reply(page, text: str) -> None:
    page.get_by_label("Je bericht aan de gebruiker").fill(text)
    page.get_by_role("button", name="Versturen").click()
    expect(page.locator("#antwoord-status")).to_have_text("Verstuurd.")


def closed_hours_spec(now: dt.datetime | None = None) -> str:
    """An opening-hours setting that is closed now: one hour, three days from today."""
    today = (now or dt.datetime.now(ZoneInfo("Europe/Amsterdam"))).weekday()
    day = ("ma", "di", "wo", "do", "vr", "za", "zo")[(today + 3) % 7]
    return f"{day} 10:00-11:00"


def gateway_for(stack, log_dir: Path) -> GatewayProcess:
    """`python -m bot.web` in front of a given Rasa stack (as the `gateway` fixture does)."""
    env: dict[str, str] = dict(stack.env)
    env.update(
        {
            "KW_GATEWAY_PORT": str(free_port()),
            "KW_GATEWAY_HOST": "127.0.0.1",
            "KW_RATE_LIMIT_PER_MINUTE": "600",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        }
    )
    proc = GatewayProcess(env, log_dir / "gateway.log")
    proc.rasa_stack = stack
    proc.start()
    return proc


# -- scrolling regions ---------------------------------------------------------------------------

# Every element that scrolls inside the page (overflow auto/scroll with more content than room),
# with what a keyboard user needs to scroll it: a tab stop and a name. axe's
# scrollable-region-focusable only sees regions that scroll at that moment, so the tests fill
# the pages (long transcript, long queue) before they look. Form fields are tab stops with a
# label of their own.
_SCROLL_REGIONS_JS = """() => Array.from(document.querySelectorAll('body *:not(textarea):not(select)')).filter(el => {
    const s = getComputedStyle(el);
    const y = /(auto|scroll)/.test(s.overflowY) && el.scrollHeight > el.clientHeight + 1;
    const x = /(auto|scroll)/.test(s.overflowX) && el.scrollWidth > el.clientWidth + 1;
    return y || x;
}).map(el => ({id: el.id, cls: el.className, tabindex: el.tabIndex,
               name: el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || ''}))"""


def scroll_regions(page) -> list[dict]:
    return page.evaluate(_SCROLL_REGIONS_JS)


def assert_scroll_regions_reachable(page, what: str) -> list[str]:
    """Each scrolling region is a tab stop with a name; returns their ids."""
    regions = scroll_regions(page)
    bad = [r for r in regions if r["tabindex"] < 0 or not r["name"]]
    assert not bad, f"{what}: scrolling regions without a tab stop or a name: {bad}"
    return [r["id"] for r in regions]


def page_overflow(page) -> dict[str, int]:
    """How far the page itself reaches beyond the viewport (0 = it fits)."""
    return page.evaluate("""() => ({
        down: document.documentElement.scrollHeight - window.innerHeight,
        sideways: document.documentElement.scrollWidth - document.documentElement.clientWidth})""")
