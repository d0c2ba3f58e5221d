"""The chat widget in a real browser (Debian's chromium), through the real gateway and Rasa.

Done-when of the widget issue: a full FAQ conversation, buttons, reload keeps history, a
gateway restart mid-conversation loses and duplicates nothing, keyboard-only use, portal mode
with a valid / expired / forged token, zero CSP violations on a strict-CSP page, zero axe
WCAG 2.1 A/AA violations, screenshots at desktop and 320 px.
"""

from __future__ import annotations

import json
import re
import secrets
import time

import jwt
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.widget_helpers import ANSWER_TIMEOUT_MS, SCREENSHOTS, poll, sender_id, session_token, user_events

WCAG_21_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
Q_START = "Vanaf wanneer kon je aanvragen?"
A_START = "7 juli 2025"
Q_YEARS = "Voor welke jaren is het geld?"
A_YEARS = "2026 tot en met 2028"


def launcher(page):
    return page.get_by_role("button", name="Stel je vraag")


def panel(page):
    return page.get_by_role("dialog", name="Kansrijke Wijk Assistent")


def textbox(page):
    return page.get_by_role("textbox", name="Typ je vraag")


def bot(page):
    return page.locator(".kw-msg--bot .kw-bubble")


def mine(page):
    return page.locator(".kw-msg--user .kw-bubble")


def ask(page, text: str) -> None:
    textbox(page).fill(text)
    textbox(page).press("Enter")


def expect_answer(page, text: str) -> None:
    expect(bot(page).filter(has_text=text).last).to_be_visible(timeout=ANSWER_TIMEOUT_MS)


def start_chat(page, url: str) -> None:
    """Open ``url``, open the widget, ask the first question and see its answer."""
    page.goto(url)
    launcher(page).click()
    ask(page, Q_START)
    expect_answer(page, A_START)


def no_axe_violations(page, what: str) -> None:
    results = Axe().run(page, options=WCAG_21_AA)
    assert results.violations_count == 0, f"{what}:\n{results.generate_report()}"


def widget_html_elements(page, selector: str) -> int:
    return page.evaluate(
        "(sel) => document.getElementById('kw-assistent').shadowRoot.querySelectorAll(sel).length", selector
    )


def scrolled(page) -> None:
    """Wait until the message list stopped (smooth) scrolling."""
    page.wait_for_function("""() => {
        const b = document.getElementById('kw-assistent').shadowRoot.querySelector('.kw-body');
        const top = b.scrollTop;
        return new Promise(done => requestAnimationFrame(() => requestAnimationFrame(
            () => done(b.scrollTop === top))));
    }""")


def shadow_active(page) -> dict:
    return page.evaluate("""() => {
        const host = document.activeElement;
        if (!host || host.id !== 'kw-assistent') return {outside: true, tag: host && host.tagName};
        const el = host.shadowRoot.activeElement;
        return el ? {tag: el.tagName, id: el.id, cls: el.className, text: el.textContent,
                     outline: getComputedStyle(el).outlineStyle} : {};
    }""")


def test_full_faq_conversation_with_buttons(page, gateway):
    page.goto(gateway.url + "/")
    # Before the first message: a digital assistant, not a person; how to reach one; privacy.
    launcher(page).click()
    expect(panel(page)).to_be_visible()
    intro = page.locator(".kw-intro")
    expect(intro).to_contain_text("Je praat met een digitale assistent, niet met een mens.")
    expect(intro).to_contain_text("medewerker")
    privacy = intro.get_by_role("link", name=re.compile("Lees hoe we met je gegevens omgaan"))
    expect(privacy).to_have_attribute("href", gateway.url + "/privacy")
    expect(privacy).to_have_attribute("rel", "noopener noreferrer")
    expect(page.get_by_role("group", name="Onderwerpen").get_by_role("button")).to_have_count(3)

    ask(page, Q_START)
    expect(mine(page).last).to_contain_text(Q_START)
    expect_answer(page, A_START)
    answer = bot(page).filter(has_text=A_START).last
    expect(answer.locator("strong").filter(has_text=A_START)).to_have_count(1)  # **bold**
    source = answer.locator("p.kw-source")
    expect(source).to_contain_text("Bron:")
    link = source.get_by_role("link").first
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    assert link.get_attribute("href").startswith("https://")
    expect(page.get_by_role("group", name="Onderwerpen")).to_be_hidden()  # starters only before

    # Buttons: the payload goes to Rasa, the title is the user's bubble.
    follow_up = page.locator(".kw-msg--bot").filter(has_text=A_START).last.get_by_role("button", name=Q_YEARS)
    follow_up.click()
    expect(mine(page).last).to_have_text(re.compile(re.escape(Q_YEARS)))
    expect_answer(page, A_YEARS)
    expect(follow_up).to_be_enabled()  # buttons stay usable
    expect(page.get_by_role("log", name="Gesprek")).to_be_visible()

    events = user_events(gateway.rasa_stack, sender_id(page))
    assert [e["text"] for e in events][-2:] == [Q_START, "/faq_looptijd"]
    assert all(set(e["metadata"]) >= {"client_id", "msg_id"} and "portal" not in e["metadata"] for e in events)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover effects in the picture
    scrolled(page)
    page.screenshot(path=str(SCREENSHOTS / "widget-desktop.png"))
    assert page.csp_messages == []


def test_reload_and_navigation_keep_history_and_wissen_starts_over(page, gateway):
    start_chat(page, gateway.url + "/")
    html = '<img src=x onerror="window.__pwned=1"><b>vet?</b>'
    ask(page, html)
    expect(page.locator(".kw-msg").last).to_have_class(re.compile("kw-msg--bot"), timeout=ANSWER_TIMEOUT_MS)
    before = page.locator(".kw-msg .kw-bubble").all_inner_texts()
    # The start-date answer once, plus once more if the search behind "Kun je het anders
    # zeggen?" took the HTML for a question about it: a reload must not add a copy.
    starts = bot(page).filter(has_text=A_START).count()
    assert starts >= 1
    token = session_token(page)

    page.reload()
    expect(panel(page)).to_be_visible()  # the open state survives too
    expect(mine(page)).to_have_count(2)
    expect(bot(page).filter(has_text=A_START)).to_have_count(starts)
    assert page.locator(".kw-msg .kw-bubble").all_inner_texts() == before
    # HTML the user typed is shown as text, also when it comes back from the tracker.
    expect(mine(page).last).to_contain_text(html)
    assert widget_html_elements(page, "img, b, script") == 0
    assert page.evaluate("window.__pwned") is None

    page.goto(gateway.url + "/privacy")
    page.goto(gateway.url + "/")
    expect(mine(page)).to_have_count(2)
    expect(bot(page).filter(has_text=A_START)).to_have_count(starts)

    old_sid = sender_id(page)
    assert user_events(gateway.rasa_stack, old_sid)
    page.get_by_role("button", name="Gesprek wissen").click()
    page.get_by_role("button", name="Ja, wissen").click()
    expect(page.locator(".kw-msg")).to_have_count(0)
    # The old conversation is deleted from the tracker store, not only hidden.
    poll(lambda: not user_events(gateway.rasa_stack, old_sid), 10, "the wiped conversation gone")
    expect(page.get_by_role("group", name="Onderwerpen")).to_be_visible()
    expect(textbox(page)).to_be_focused()
    page.wait_for_function(
        "(old) => { const k = Object.keys(sessionStorage).find(k => k.startsWith('kw-assistent:'));"
        " return k && JSON.parse(sessionStorage.getItem(k)).token !== old; }",
        arg=token,
    )
    page.reload()
    expect(panel(page)).to_be_visible()
    expect(page.get_by_role("group", name="Onderwerpen")).to_be_visible()
    expect(page.locator(".kw-msg")).to_have_count(0)


def test_gateway_restart_mid_conversation_loses_and_duplicates_nothing(page, gateway):
    start_chat(page, gateway.url + "/")

    # The gateway dies; the widget says so and keeps what the user types.
    gateway.stop(kill=True)
    status = page.get_by_role("status").filter(has_text="Verbinding herstellen")
    expect(status).to_be_visible()
    ask(page, Q_YEARS)
    expect(page.locator(".kw-msg--user").last.locator(".kw-meta")).to_contain_text(
        "Wordt verstuurd zodra er weer verbinding is."
    )
    gateway.start()
    expect(page.get_by_role("status").filter(has_text="Verbinding hersteld")).to_be_visible()
    expect_answer(page, A_YEARS)

    # Killed right after a message went out: after the reconnect it is answered exactly once.
    ask(page, "Kan ik het geld doorschuiven naar een ander jaar?")
    gateway.stop(kill=True)
    gateway.start()
    expect(page.locator(".kw-msg--user")).to_have_count(3)
    expect(page.locator(".kw-msg--user").last.locator(".kw-meta")).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator(".kw-msg").last).to_have_class(re.compile("kw-msg--bot"), timeout=ANSWER_TIMEOUT_MS)

    events = user_events(gateway.rasa_stack, sender_id(page))
    ids = [e["metadata"]["msg_id"] for e in events]
    assert len(ids) == 3 and len(set(ids)) == 3, ids
    # What the widget shows equals what the tracker holds (no lost or doubled bubbles).
    shown = page.locator(".kw-msg .kw-bubble").all_inner_texts()
    page.reload()
    expect(mine(page)).to_have_count(3)
    assert page.locator(".kw-msg .kw-bubble").all_inner_texts() == shown


def test_keyboard_only(page, gateway):
    page.goto(gateway.url + "/")
    for _ in range(40):
        page.keyboard.press("Tab")
        if "kw-launcher" in shadow_active(page).get("cls", ""):
            break
    else:
        pytest.fail("the launcher is not reachable with Tab")
    assert shadow_active(page)["outline"] != "none"  # visible focus
    page.keyboard.press("Enter")
    expect(panel(page)).to_be_visible()
    assert shadow_active(page)["id"] == "kw-input"

    page.keyboard.type(Q_START)
    page.keyboard.press("Enter")
    expect_answer(page, A_START)
    for _ in range(15):  # back from the text box to the follow-up buttons
        page.keyboard.press("Shift+Tab")
        if shadow_active(page).get("text") == Q_YEARS:
            break
    else:
        pytest.fail("the follow-up button is not reachable with Shift+Tab")
    page.keyboard.press("Enter")
    expect_answer(page, A_YEARS)

    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    assert "kw-launcher" in shadow_active(page)["cls"]  # focus returns to the launcher
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(panel(page)).to_be_visible()
    expect(mine(page)).to_have_count(2)


def _portal_page(url: str, token: str, extra: str = "") -> str:
    return f"""<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Portaal</title></head>
<body><main><h1>Aanvragersportaal (test)</h1></main>
<script src="{url}/static/widget.js" data-portal-token="{token}" {extra}></script></body></html>"""


@pytest.mark.parametrize("kind", ["valid", "expired", "forged"])
def test_portal_mode(page, gateway, kind):
    settings = gateway.rasa_stack.settings
    now = int(time.time())
    claims = {
        "sub": "portal-user-9",
        "gemeente": "Tilburg",
        "aud": settings.portal_jwt_audience,
        "iss": settings.portal_jwt_issuer,
        "iat": now,
        "exp": now + 300,
    }
    secret = settings.portal_jwt_secret
    if kind == "expired":
        claims.update(iat=now - 1200, exp=now - 600)
    if kind == "forged":
        secret = secrets.token_urlsafe(32)
    token = jwt.encode(claims, secret, algorithm="HS256")
    page.route(
        gateway.url + "/test/portaal",
        lambda route: route.fulfill(status=200, content_type="text/html", body=_portal_page(gateway.url, token)),
    )
    page.goto(gateway.url + "/test/portaal")
    launcher(page).click()
    notice = page.locator(".kw-portal")
    expected = {
        "valid": "Je bent ingelogd via het portaal (gemeente Tilburg).",
        "expired": "Je inlog is verlopen.",
        "forged": "We konden je inlog niet controleren.",
    }[kind]
    expect(notice).to_contain_text(expected)
    ask(page, Q_START)
    expect_answer(page, A_START)
    metadata = user_events(gateway.rasa_stack, sender_id(page))[-1]["metadata"]
    if kind == "valid":
        assert metadata["portal"] == {"gemeente": "Tilburg", "user": "portal-user-9"}
    else:
        assert "portal" not in metadata


def test_plain_http_fallback(page, gateway):
    """data-transport="http": the same conversation without WebSockets."""
    page.route(
        gateway.url + "/test/http",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body=_portal_page(gateway.url, "", 'data-transport="http"')
        ),
    )
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    start_chat(page, gateway.url + "/test/http")
    page.reload()
    expect(mine(page)).to_have_count(1)
    expect(bot(page).filter(has_text=A_START)).to_have_count(1)
    assert sockets == []


def test_demo_portal_login(page, gateway):
    page.goto(gateway.url + "/")
    page.get_by_label("Gemeente").select_option("Breda")
    page.get_by_role("button", name="Inloggen als demo-gebruiker").click()
    expect(page.get_by_text("Je bent ingelogd als demo-gebruiker van gemeente Breda.")).to_be_visible()
    launcher(page).click()
    expect(page.locator(".kw-portal")).to_contain_text("gemeente Breda")
    no_axe_violations(page, "demo page, portal mode, widget open")


def test_strict_csp_page_has_no_violations(page, gateway):
    nonce = secrets.token_urlsafe(16)
    csp = (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}' 'strict-dynamic'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
    )
    body = f"""<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Strikte CSP</title></head>
<body><main><h1>Gemeente met strikte CSP</h1></main>
<script src="/static/widget.js" nonce="{nonce}"></script></body></html>"""
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.route(
        gateway.url + "/test/strikt",
        lambda route: route.fulfill(
            status=200, content_type="text/html", headers={"Content-Security-Policy": csp}, body=body
        ),
    )
    start_chat(page, gateway.url + "/test/strikt")
    # The stylesheet loaded only because the widget passed the nonce on.
    header = page.locator(".kw-header")
    assert header.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(21, 66, 115)"
    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    assert page.evaluate("window.__csp") == []
    assert page.csp_messages == []


def test_axe_on_demo_page_and_open_widget(page, gateway):
    page.goto(gateway.url + "/")
    no_axe_violations(page, "demo page")
    launcher(page).click()
    ask(page, Q_START)
    expect_answer(page, A_START)
    no_axe_violations(page, "open widget with a conversation")
    page.goto(gateway.url + "/privacy")
    no_axe_violations(page, "privacy page")


def test_small_screen_zoom_and_reduced_motion(browser, gateway):
    # 320 px wide (WCAG 1.4.10 reflow), reduced motion asked for by the visitor.
    ctx = browser.new_context(
        viewport={"width": 320, "height": 640}, reduced_motion="reduce", locale="nl-NL", has_touch=True
    )
    try:
        page = ctx.new_page()
        start_chat(page, gateway.url + "/")
        box = panel(page).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 320
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        assert page.evaluate(
            "() => { const p = document.getElementById('kw-assistent').shadowRoot"
            ".querySelector('.kw-panel'); return p.scrollWidth <= p.clientWidth; }"
        )
        expect(textbox(page)).to_be_in_viewport()
        assert (
            page.evaluate(
                "() => getComputedStyle(document.getElementById('kw-assistent').shadowRoot"
                ".querySelector('.kw-dots span')).animationName"
            )
            == "none"
        )
        scrolled(page)
        page.screenshot(path=str(SCREENSHOTS / "widget-mobile-320.png"))
        no_axe_violations(page, "open widget at 320 px")
    finally:
        ctx.close()
    # 200 % zoom of a 1280 x 800 screen: 640 x 400 CSS pixels.
    ctx = browser.new_context(viewport={"width": 640, "height": 400}, device_scale_factor=2, locale="nl-NL")
    try:
        page = ctx.new_page()
        start_chat(page, gateway.url + "/")
        expect(textbox(page)).to_be_in_viewport()
        expect(page.get_by_role("button", name="Chat sluiten")).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth") <= 640
    finally:
        ctx.close()


def test_bot_text_is_rendered_as_text_with_markdown_lite(page, gateway):
    """A crafted gateway (mocked socket): HTML and script in bot text stay inert."""
    sockets = {}
    ready = {
        "type": "ready",
        "session": "v1.test.test",
        "resumed": False,
        "history": [],
        "portal": {"status": "none"},
        "limits": {"max_chars": 1000},
        "starters": [],
    }

    def on_socket(ws):
        sockets["ws"] = ws

        def on_message(message):
            frame = json.loads(message)
            if frame["type"] == "hello":
                ws.send(json.dumps(ready))
            elif frame["type"] == "message":
                sockets["id"] = frame["id"]
                ws.send(
                    json.dumps(
                        {"type": "ack", "id": frame["id"], "text": frame["text"], "masked": [], "duplicate": False}
                    )
                )
                ws.send(json.dumps({"type": "typing"}))

        ws.on_message(on_message)

    page.route_web_socket(re.compile(r".*/chat/ws$"), on_socket)
    page.goto(gateway.url + "/")
    launcher(page).click()
    typed = '<img src=x onerror="window.__pwned=1">'
    ask(page, typed)
    expect(page.locator(".kw-typing")).to_be_visible()  # typing indicator while waiting
    text = (
        'Dit is **vet** en <b>geen html</b> <img src=x onerror="window.__pwned=2">.\n'
        "- punt een met [een link](https://example.org/pad?x=1)\n"
        "- punt twee https://www.rijksoverheid.nl/onderwerpen.\n\n"
        'Klik [hier](javascript:window.__pwned=3) of <a href="javascript:alert(1)">daar</a>'
    )
    # Sources are data: a safe link becomes the "Bron:" line, a javascript: one only its title.
    sources = [
        {"title": "Regeling SPUK", "url": "https://wetten.overheid.nl/BWBR0050000"},
        {"title": "<i>Kwaad</i>", "url": "javascript:window.__pwned=4"},
    ]
    sockets["ws"].send(
        json.dumps(
            {
                "type": "reply",
                "id": sockets["id"],
                "messages": [
                    {
                        "text": text,
                        "buttons": [{"title": "<i>knop</i>", "payload": "/faq_themas"}],
                        "sources": sources,
                        "checked": "2026-11-27",
                    }
                ],
            }
        )
    )
    answer = bot(page).last
    expect(answer).to_contain_text("<b>geen html</b>")
    expect(page.locator(".kw-typing")).to_be_hidden()
    expect(answer.locator("strong")).to_have_text("vet")
    expect(answer.locator("ul > li")).to_have_count(2)
    links = answer.get_by_role("link")
    expect(links).to_have_count(3)
    hrefs = [links.nth(i).get_attribute("href") for i in range(3)]
    assert hrefs == [
        "https://example.org/pad?x=1",
        "https://www.rijksoverheid.nl/onderwerpen",
        "https://wetten.overheid.nl/BWBR0050000",
    ]
    for i in range(3):
        expect(links.nth(i)).to_have_attribute("rel", "noopener noreferrer")
    expect(answer.locator("p.kw-source")).to_have_text(
        "Bron: Regeling SPUK (opent in een nieuw tabblad); <i>Kwaad</i> (gecontroleerd op 27-11-2026)"
    )
    expect(page.locator(".kw-msg--bot").last.get_by_role("button", name="<i>knop</i>")).to_be_visible()
    expect(mine(page).last).to_contain_text(typed)
    assert widget_html_elements(page, "img, b, i, script, a[href^='javascript'], iframe") == 0
    assert page.evaluate("window.__pwned") is None

    # An error for a message is shown in Dutch, and the message can be sent again.
    first_id = sockets["id"]
    ask(page, "nog een vraag")
    poll(lambda: page.evaluate("1") and sockets["id"] != first_id, 10, "the second message on the socket")
    sockets["ws"].send(
        json.dumps(
            {
                "type": "error",
                "id": sockets["id"],
                "code": "rate_limited",
                "message": "Je stuurt veel berichten kort na elkaar. Wacht 3 seconden en probeer het dan opnieuw.",
                "retry_after": 3,
            }
        )
    )
    expect(page.get_by_role("alert")).to_contain_text("Wacht 3 seconden")
    expect(page.locator(".kw-msg--user").last.get_by_role("button", name="Opnieuw proberen")).to_be_visible()
