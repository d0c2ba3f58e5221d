"""Each attack of issue 8 against the running gateway process (and the Rasa stack behind it).

Every test here failed on the code before the fix: the attack is made as a client would, and
the test asserts the defended outcome.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from bot.settings import ROOT, load
from bot.web.portal import issue_portal_token
from tests.fixtures.chat import Chat, fresh_application, reply_text, run, tracker_json
from tests.fixtures.gateway import poll
from tests.fixtures.text import match

PASSWORD = "correct horse battery staple"


def raw_request(edge, head: str, body: bytes = b"", timeout: float = 10) -> bytes:
    """Send bytes over a plain socket and return what the gateway answers first."""
    with socket.create_connection(("127.0.0.1", edge.port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def status_line(data: bytes) -> int:
    return int(data.split(b" ", 2)[1])


# -- 5. the edge reads nothing it does not want ------------------------------------------------


def test_login_refuses_a_large_multipart_body_before_reading_it(edge):
    # Headers only: a gateway that waited for the 2.7 MB body would never answer.
    head = (
        f"POST /helpdesk/inloggen HTTP/1.1\r\nHost: 127.0.0.1:{edge.port}\r\n"
        f"Origin: {edge.url}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        "Content-Length: 2700000\r\n\r\n"
    )
    answer = raw_request(edge, head)
    assert status_line(answer) in (413, 415), answer[:200]


def test_login_accepts_only_small_urlencoded_forms(edge):
    big = b"gebruikersnaam=" + b"a" * 9000
    head = (
        f"POST /helpdesk/inloggen HTTP/1.1\r\nHost: 127.0.0.1:{edge.port}\r\n"
        f"Origin: {edge.url}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(big)}\r\nConnection: close\r\n\r\n"
    )
    answer = raw_request(edge, head, big)
    assert status_line(answer) == 413
    assert b"te groot" in answer or b"413" in answer[:20]


def test_deeply_nested_frames_and_bad_bytes_get_a_dutch_error_not_a_500(edge):
    nested = "[" * 5000 + "]" * 5000

    async def attack():
        async with Chat(edge, "198.51.100.7") as chat:
            await chat.hello()
            await chat.socket.send_str(nested)
            frame = await chat.until(lambda f: f["type"] == "error")
            assert frame["code"] == "bad_json" and "kon ik niet lezen" in frame["message"]
            await chat.socket.send_bytes(b"\xff\xfe\x00binary")
            frame = await chat.until(lambda f: f["type"] == "error")
            assert frame["code"] == "bad_frame"
            # The socket still works afterwards.
            reply = await chat.say("Welke gebieden doen mee?")
            assert reply["type"] == "reply"
        async with aiohttp.ClientSession() as http:
            headers = {"Origin": edge.url, "Content-Type": "application/json"}
            resp = await http.post(f"{edge.url}/chat/http", data=nested, headers=headers)
            assert resp.status == 400 and (await resp.json())["frames"][0]["code"] == "bad_json"
            resp = await http.post(f"{edge.url}/chat/http", data=b"\xff\xfe{", headers=headers)
            assert resp.status == 400
            resp = await http.get(f"{edge.url}/", headers={"X-Big": "a" * 20000})
            assert resp.status in (400, 431)

    run(attack())
    assert "Traceback" not in edge.log()


# -- 2. limits keyed on the client's address ---------------------------------------------------


async def look_up(chat: Chat, number: str, code_text: str) -> dict:
    """The status form through the widget's socket: ask, give the number, then the code."""
    await chat.hello()
    await chat.say("Wat is de status van mijn aanvraag?")
    await chat.say(number)
    return await chat.say(code_text)


def test_status_lockout_holds_whatever_user_agent_the_client_sends(edge):
    number, code = fresh_application(edge)

    async def attack():
        for attempt in range(6):
            async with Chat(edge, "203.0.113.50", user_agent=f"Browser/{attempt}") as chat:
                reply = reply_text(await look_up(chat, number, code if attempt == 5 else "QQQQ-QQ3Q"))
        return reply

    last = run(attack())
    # Five wrong codes from one address: the right code is refused too, whatever the browser.
    assert "te vaak" in last, last


def test_another_address_is_not_locked_out_by_someone_else(edge):
    number, code = fresh_application(edge, "Utrecht")

    async def lookup():
        async with Chat(edge, "203.0.113.77") as chat:
            return reply_text(await look_up(chat, number, code))

    text = run(lookup())
    assert number in text and "te vaak" not in text, text


def test_hello_frames_are_limited_per_socket(edge):
    async def flood():
        async with Chat(edge, "198.51.100.99") as chat:
            await chat.hello()
            codes = []
            for _ in range(15):
                frame = await chat.hello(session=chat.ready.get("session"))
                codes.append(frame.get("code") if frame["type"] == "error" else "ready")
            return codes

    codes = run(flood())
    assert "rate_limited" in codes and codes[0] == "ready", codes


# -- 3. the verificatiecode is never stored ----------------------------------------------------


def test_the_verificatiecode_never_reaches_the_tracker_or_the_history(edge):
    number, code = fresh_application(edge, "Rotterdam")

    async def lookup():
        async with Chat(edge, "198.51.100.20") as chat:
            frame = await look_up(chat, number, f"de code is {code.lower()}")
            assert number in reply_text(frame), reply_text(frame)
            assert code not in json.dumps(frame["ack"]) and "[verificatiecode]" in frame["ack"]["text"]
            session = chat.ready["session"]
            sid = chat.sid
        async with Chat(edge, "198.51.100.20") as again:
            resumed = await again.hello(session=session)
        return sid, resumed

    sid, resumed = run(lookup())
    stored = tracker_json(edge, sid)
    plain = code.replace("-", "")
    for form in (code, code.lower(), plain, plain.lower()):
        assert form not in stored
        assert form not in json.dumps(resumed)
    assert "[verificatiecode]" in stored


# -- 4. masking that holds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret, kind",
    [
        ("06/12345678", "[telefoonnummer]"),
        ("123-456-782", "[BSN]"),
        ("jån@example.nl", "[e-mailadres]"),
        ("０６１２３４５６７８", "[telefoonnummer]"),
        ("NL91-ABNA-0417-1643-00", "[IBAN]"),
    ],
)
def test_personal_data_in_any_spelling_is_masked_before_rasa(edge, secret, kind):
    async def say():
        async with Chat(edge, "198.51.100.30") as chat:
            await chat.hello()
            frame = await chat.say(f"Mijn gegevens: {secret}")
            return chat.sid, frame["ack"]["text"]

    sid, shown = run(say())
    stored = tracker_json(edge, sid)
    assert kind in shown and kind in stored
    digits = re.sub(r"\D", "", secret.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    for text in (shown, stored):
        assert secret not in text and (not digits or digits[-6:] not in re.sub(r"\D", "", text))


# -- 6. staff sessions end on the server -------------------------------------------------------


def staff_http(ip: str) -> aiohttp.ClientSession:
    """A browser of helpdesk staff at its own address (the login limiter counts per address)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"X-Forwarded-For": ip})


class Console:
    def __init__(self, edge, http: aiohttp.ClientSession):
        self.edge, self.http = edge, http

    async def login(self, username: str) -> str:
        page = await self.http.get(f"{self.edge.url}/helpdesk/inloggen")
        token = match(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
        resp = await self.http.post(
            f"{self.edge.url}/helpdesk/inloggen",
            allow_redirects=False,
            headers={"Origin": self.edge.url},
            data={"csrf": token, "gebruikersnaam": username, "wachtwoord": PASSWORD},
        )
        assert resp.status == 303, await resp.text()
        queue = await self.http.get(f"{self.edge.url}/helpdesk/wachtrij")
        return match(r'data-csrf="([^"]+)"', await queue.text()).group(1)


def staff_user(edge, username: str, role: str = "medewerker"):
    staff = StaffService.from_settings(edge.rasa_stack.settings)
    existing = staff.get_by_username(username)
    return existing or staff.create_user(username, username.capitalize(), PASSWORD, role)


def test_logout_ends_the_session_for_copies_of_the_cookie_and_open_sockets(edge):
    staff_user(edge, "lotte")

    async def attack():
        async with staff_http("192.0.2.11") as http:
            console = Console(edge, http)
            csrf = await console.login("lotte")
            copied = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
            ws = await http.ws_connect(f"{edge.url}/helpdesk/ws", headers={"Origin": edge.url})
            await ws.send_json({"type": "hello", "csrf": csrf, "ticket": None})
            assert json.loads((await ws.receive(timeout=20)).data)["type"] == "ready"
            resp = await http.post(
                f"{edge.url}/helpdesk/uitloggen",
                data={"csrf": csrf},
                headers={"Origin": edge.url},
                allow_redirects=False,
            )
            assert resp.status == 303
            while True:  # the open console socket is closed by the server
                msg = await ws.receive(timeout=20)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    break
        async with aiohttp.ClientSession() as thief:
            resp = await thief.get(
                f"{edge.url}/helpdesk/wachtrij",
                allow_redirects=False,
                headers={"Cookie": copied, "X-Forwarded-For": "192.0.2.12"},
            )
            return resp.status, resp.headers.get("Location", "")

    status, location = run(attack())
    assert status == 303 and location.startswith("/helpdesk/inloggen")


def test_failed_logins_do_not_tell_which_usernames_exist(edge):
    staff_user(edge, "kees")

    async def attack():
        async with staff_http("192.0.2.13") as http:
            for name in ["kees"] * 6 + ["niemand-bestaat"] * 6:
                page = await http.get(f"{edge.url}/helpdesk/inloggen")
                token = match(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
                await http.post(
                    f"{edge.url}/helpdesk/inloggen",
                    headers={"Origin": edge.url},
                    data={"csrf": token, "gebruikersnaam": name, "wachtwoord": "fout"},
                )
        async with aiohttp.ClientSession() as local:
            resp = await local.get(f"{edge.url}/metrics")
            return await resp.text()

    metrics = run(attack())
    assert "helpdesk_login_failed" in metrics and "login_locked" not in metrics


# -- 7. portal scope ends with the portal token ------------------------------------------------


def test_portal_scope_ends_with_the_portal_token(edge):
    settings = edge.rasa_stack.settings
    now = int(time.time())
    # Within the verifier's 10 s clock-skew leeway, but already past its expiry.
    token = issue_portal_token(settings, "Rotterdam", "u-1", lifetime_s=3, now=now - 6)
    no_iat = __import__("jwt").encode(
        {
            "sub": "u-2",
            "gemeente": "Rotterdam",
            "aud": settings.portal_jwt_audience,
            "iss": settings.portal_jwt_issuer,
            "exp": now + 600,
        },
        settings.portal_jwt_secret,
        algorithm="HS256",
    )

    async def attack():
        async with Chat(edge, "198.51.100.40") as chat:
            ready = await chat.hello(portal_token=token)
            frame = await chat.say("welke aanvragen hebben wij lopen?")
        async with Chat(edge, "198.51.100.40") as other:
            ready_no_iat = await other.hello(portal_token=no_iat)
        return ready, frame, ready_no_iat

    ready, frame, ready_no_iat = run(attack())
    assert ready["portal"]["status"] == "ok"
    assert frame["type"] == "error" and frame["code"] == "portal_expired", frame
    assert ready_no_iat["portal"]["status"] == "invalid"


# -- 8. demo stays a demo ------------------------------------------------------------------------


def run_gateway(env_extra, tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("KW_")}
    env.update({"KW_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)})
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "bot.web"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_demo_refuses_to_listen_on_a_network(tmp_path):
    result = run_gateway({"KW_GATEWAY_HOST": "0.0.0.0"}, tmp_path)
    assert result.returncode == 2 and "loopback" in result.stderr


#: Every secret production requires, long enough to pass its checks.
STRONG_SECRETS = {
    name: "s" * 40
    for name in (
        "KW_RASA_TOKEN",
        "KW_API_TOKEN",
        "KW_PORTAL_JWT_SECRET",
        "KW_COOKIE_SECRET",
        "KW_OPS_TOKEN",
        "KW_IDENTITY_KEY",
    )
}


def test_production_refuses_short_secrets_and_localhost_origins(tmp_path):
    strong = dict(STRONG_SECRETS)
    base = dict(
        strong,
        KW_ENV="production",
        KW_CONTACT_KEY="dGVzdC1jb250YWN0LWtleS0wMTIzNDU2Nzg5YWJjZGU=",
        KW_ALLOWED_ORIGINS="https://www.example.nl",
    )
    short = run_gateway(dict(base, KW_COOKIE_SECRET="kort"), tmp_path)
    assert short.returncode == 2 and "KW_COOKIE_SECRET" in short.stderr
    local = run_gateway(dict(base, KW_ALLOWED_ORIGINS="http://localhost:8080"), tmp_path)
    assert local.returncode == 2 and "localhost" in local.stderr


def test_production_refuses_demo_applications(edge, tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    from bot import migrations
    from bot.status import demo

    migrations.upgrade(url)
    demo.load_demo_data(url)
    strong = dict(STRONG_SECRETS)
    result = run_gateway(
        dict(
            strong,
            KW_ENV="production",
            KW_DATABASE_URL=url,
            KW_CONTACT_KEY="dGVzdC1jb250YWN0LWtleS0wMTIzNDU2Nzg5YWJjZGU=",
            KW_ALLOWED_ORIGINS="https://www.example.nl",
        ),
        tmp_path,
    )
    assert result.returncode == 2 and "demo-aanvragen" in result.stderr


def test_demo_portal_page_does_not_exist_in_production():
    from bot.web.pages import demo_portal_enabled

    assert not demo_portal_enabled(type("S", (), {"production": True})())


# -- 9. operations endpoints ---------------------------------------------------------------------


def test_metrics_and_readyz_only_from_loopback_or_with_the_token(edge):
    def get(path, headers):
        req = urllib.request.Request(f"{edge.url}{path}", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    outside = {"X-Forwarded-For": "203.0.113.9"}
    assert get("/metrics", outside) == 403 and get("/readyz", outside) == 403
    token = {"Authorization": f"Bearer {edge.rasa_stack.settings.ops_token}", **outside}
    assert get("/metrics", token) == 200 and get("/readyz", token) in (200, 503)
    assert get("/metrics", {"Authorization": "Bearer verkeerd"}) == 403
    assert get("/metrics", {}) == 200  # from this machine itself


# -- 10. contact details -------------------------------------------------------------------------


def test_contact_details_only_for_the_assigned_medewerker_or_a_beheerder(edge):
    settings = edge.rasa_stack.settings
    staff_user(edge, "nina")
    tickets = HandoffService.from_settings(settings)
    ticket = tickets.create_ticket(f"conv-{time.time_ns()}", "Bel me terug", "bel@example.nl")

    async def attack():
        async with staff_http("192.0.2.14") as http:
            csrf = await Console(edge, http).login("nina")
            resp = await http.post(
                f"{edge.url}/helpdesk/vraag/{ticket.public_id}/contact",
                data={"csrf": csrf},
                headers={"Origin": edge.url},
            )
            return resp.status, await resp.text()

    status, body = run(attack())
    assert status == 403 and "bel@example.nl" not in body


# -- 11. secrets ---------------------------------------------------------------------------------


def test_no_secret_on_a_command_line_and_a_private_secrets_file(edge):
    settings = edge.rasa_stack.settings
    rasa = next(s for s in edge.rasa_stack.stack.services if s.name == "rasa")
    cmdline = Path(f"/proc/{rasa.proc.pid}/cmdline").read_bytes().decode("utf-8", "replace")
    assert settings.rasa_token not in cmdline and "--auth-token" not in cmdline
    for pid in (edge.proc.pid,):
        assert settings.cookie_secret not in Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
    secrets_file = settings.var_dir / "secrets.json"
    if secrets_file.exists():
        assert secrets_file.stat().st_mode & 0o077 == 0


# -- 12. AVG ----------------------------------------------------------------------------------------


def test_gesprek_wissen_also_deletes_the_ticket_transcript(edge):
    settings = edge.rasa_stack.settings

    async def conversation():
        async with Chat(edge, "198.51.100.60") as chat:
            await chat.hello()
            await chat.say("Wanneer kon je aanvragen?")
            sid = chat.sid
            tickets = HandoffService.from_settings(settings)
            ticket = tickets.create_ticket(
                sid, "Mijn vraag over Breda", "wis@example.nl", transcript=[("gebruiker", "Wanneer kon je aanvragen?")]
            )
            await chat.socket.send_json({"type": "reset"})
            await chat.until(lambda f: f["type"] == "ready")
            return ticket

    ticket = run(conversation())
    tickets = HandoffService.from_settings(settings)
    poll(
        lambda: (
            not tickets.messages_after(ticket.public_id, 0)
            or all(m.sender == "systeem" for m in tickets.messages_after(ticket.public_id, 0))
        ),
        30,
        "the transcript to be erased",
    )
    erased = tickets.find_ticket(ticket.public_id)
    assert erased is not None and "Breda" not in erased.question and not erased.has_contact


def test_the_purge_runs_inside_the_running_stack(edge):
    settings = load(edge.env)
    tracker_db = settings.tracker_store_url.split(":///", 1)[1]
    old = time.time() - (settings.retention_days + 5) * 86400
    sender = f"oud-{time.time_ns()}"
    with sqlite3.connect(tracker_db) as conn:
        conn.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
            "VALUES (?, 'user', ?, NULL, NULL, '{}')",
            (sender, old),
        )

    def gone() -> bool:
        with sqlite3.connect(tracker_db) as conn:
            return conn.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0] == 0

    poll(gone, 30, "the running gateway's purge")


# -- 13. headers ---------------------------------------------------------------------------------


def test_hsts_behind_a_trusted_https_proxy_in_production_and_no_store_on_the_api(edge, tmp_path):
    req = urllib.request.Request(f"{edge.url}/api/v1/openapi.yaml")
    with urllib.request.urlopen(req, timeout=20) as resp:
        assert resp.headers["Cache-Control"] == "no-store"
    # HSTS needs production; the demo gateway never sends it, even for https.
    req = urllib.request.Request(f"{edge.url}/", headers={"X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(req, timeout=20) as resp:
        assert "Strict-Transport-Security" not in resp.headers


def test_security_headers_in_production_use_the_proxy_scheme():
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from bot.web.keys import SETTINGS
    from bot.web.security import security_headers

    app = web.Application()
    app[SETTINGS] = type("S", (), {"production": True, "trusted_proxies": ("10.0.0.0/8",)})()

    async def headers_for(peer, proto):
        req = make_mocked_request("GET", "/", headers={"X-Forwarded-Proto": proto}, app=app, transport=_Transport(peer))
        resp = web.Response()
        await security_headers(req, resp)
        return resp.headers

    assert "Strict-Transport-Security" in run(headers_for("10.1.2.3", "https"))
    assert "Strict-Transport-Security" not in run(headers_for("198.51.100.1", "https"))


class _Transport:
    def __init__(self, peer):
        self.peer = peer

    def get_extra_info(self, name, default=None):
        return (self.peer, 1234) if name == "peername" else default
