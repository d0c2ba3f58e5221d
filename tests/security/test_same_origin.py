"""Issue 21, M1: the console behind HTTPS on port 443 (or HTTP on 80), black-box.

A real gateway process with KW_ENV=production that trusts 127.0.0.1 as its TLS-terminating
proxy, and raw HTTP requests carrying the headers a browser and the proxy send for
``https://kw.example/``: ``Host: kw.example`` (no port: the default), ``Origin:
https://kw.example``, ``X-Forwarded-Proto: https``. Before the fix the gateway compared the
Origin's authority with its default port (``kw.example:443``) to the Host header without it, and
refused staff their own login form, posts and console socket with 403.
"""

from __future__ import annotations

import itertools
import re
import socket
import urllib.parse
from collections.abc import Iterator

import pytest

from bot import launcher, migrations
from bot.handoff.staff import StaffService
from bot.settings import load
from bot.web.staffauth import COOKIE, LOGIN_COOKIE
from tests.fixtures.gateway import GatewayProcess
from tests.fixtures.production import production_env

USERNAME, PASSWORD = "sanne", "een-lang-wachtwoord-voor-de-test"
# Each login comes from its own client address (forwarded by the trusted proxy), so the login
# rate limit of one address does not decide these tests.
_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory) -> Iterator[GatewayProcess]:
    var_dir = tmp_path_factory.mktemp("origins")
    env = launcher.isolated_env(
        var_dir, production_env(KW_TRUSTED_PROXIES="127.0.0.1/32", KW_DATABASE_URL=f"sqlite:///{var_dir / 'app.db'}")
    )
    settings = load(env)
    migrations.upgrade(settings.database_url)
    StaffService.from_settings(settings).create_user(USERNAME, "Sanne de Vries", PASSWORD, "medewerker")
    proc = GatewayProcess(env, var_dir / "gateway.log")
    proc.start()
    yield proc
    proc.stop()


def exchange(
    gw: GatewayProcess, method: str, path: str, headers: dict[str, str], body: bytes = b"", upgrade: bool = False
) -> tuple[int, dict[str, list], bytes]:
    """One raw HTTP/1.1 request; the status, headers (lower-case name -> values) and body."""
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    if not upgrade:
        lines.append("Connection: close")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if upgrade and b"\r\n\r\n" in data:
                break  # a 101 keeps the connection open
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found: dict[str, list] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found.setdefault(name.strip().lower(), []).append(value.strip())
    return int(status_line.split(" ")[1]), found, rest


def cookie(headers: dict[str, list], name: str) -> str | None:
    for value in headers.get("set-cookie", []):
        if value.startswith(f"{name}="):
            return value
    return None


def browser_headers(host: str, origin: str | None, proto: str | None) -> dict[str, str]:
    """What the TLS-terminating proxy passes on: the browser's Host and Origin, its own
    X-Forwarded-For and X-Forwarded-Proto."""
    headers = {"Host": host, "X-Forwarded-For": next(_addresses), "User-Agent": "Mozilla/5.0 (origins test)"}
    if origin is not None:
        headers["Origin"] = origin
    if proto is not None:
        headers["X-Forwarded-Proto"] = proto
    return headers


def log_in(gw: GatewayProcess, host: str, origin: str, proto: str | None) -> tuple[int, dict[str, list]]:
    """The login form (GET) and its POST, as a browser at ``origin`` does through the proxy."""
    headers = browser_headers(host, None, proto)
    status, got, body = exchange(gw, "GET", "/helpdesk/inloggen", headers)
    assert status == 200, (status, body[:300])
    found = re.search(rb'name="csrf" value="([^"]+)"', body)
    assert found is not None, body[:300]
    token = found.group(1).decode("ascii")
    set_cookie = cookie(got, LOGIN_COOKIE)
    assert set_cookie is not None, got
    login_cookie = set_cookie.split(";")[0]
    form = urllib.parse.urlencode(
        {"csrf": token, "volgende": "", "gebruikersnaam": USERNAME, "wachtwoord": PASSWORD}
    ).encode("ascii")
    post = dict(
        browser_headers(host, origin, proto),
        Cookie=login_cookie,
        **{"Content-Type": "application/x-www-form-urlencoded"},
    )
    post["X-Forwarded-For"] = headers["X-Forwarded-For"]
    status, got, _ = exchange(gw, "POST", "/helpdesk/inloggen", post, form)
    return status, got


# The gateway's own origin, written with and without the default port, over https (through the
# proxy) and http, with IPv6 hosts: the login, the console socket and the widget's socket and
# HTTP transport all accept it.
OWN = [
    ("kw.example", "https://kw.example", "https"),  # M1: https on 443
    ("kw.example:443", "https://kw.example:443", "https"),
    ("kw.example", "https://kw.example:443", "https"),
    ("kw.example:443", "https://kw.example", "https"),
    ("kw.example", "http://kw.example", "http"),  # http on 80
    ("kw.example:80", "http://kw.example", None),
    ("kw.example:8443", "https://kw.example:8443", "https"),
    ("[::1]:8080", "http://[::1]:8080", None),
    ("[2001:db8::1]", "https://[2001:db8::1]", "https"),
]


@pytest.mark.parametrize("host, origin, proto", OWN)
def test_staff_log_in_and_open_the_console_socket_on_the_gateways_own_origin(behind_proxy, host, origin, proto):
    status, got = log_in(behind_proxy, host, origin, proto)
    assert status == 303, (status, got)
    session = cookie(got, COOKIE)
    assert session is not None
    # Production: the session cookie is Secure, HttpOnly and SameSite=Strict.
    assert "Secure" in session and "HttpOnly" in session and "SameSite=Strict" in session
    ws = dict(
        browser_headers(host, origin, proto),
        Cookie=session.split(";")[0],
        Upgrade="websocket",
        Connection="Upgrade",
        **{"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="},
    )
    status, _, _ = exchange(behind_proxy, "GET", "/helpdesk/ws", ws, upgrade=True)
    assert status == 101


@pytest.mark.parametrize("host, origin, proto", OWN)
def test_the_widget_connects_from_the_gateways_own_origin(behind_proxy, host, origin, proto):
    ws = dict(
        browser_headers(host, origin, proto),
        Upgrade="websocket",
        Connection="Upgrade",
        **{"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="},
    )
    status, _, _ = exchange(behind_proxy, "GET", "/chat/ws", ws, upgrade=True)
    assert status == 101
    post = dict(browser_headers(host, origin, proto), **{"Content-Type": "application/json"})
    status, _, body = exchange(behind_proxy, "POST", "/chat/http", post, b'{"type": "hello"}')
    assert status == 200 and b'"ready"' in body, body[:300]


# Another scheme, host or port than the one the request reached: refused everywhere.
FOREIGN = [
    ("kw.example", "http://kw.example", "https"),  # scheme
    ("kw.example", "https://kw.example", None),  # the request came over plain http
    ("kw.example", "https://kw.example:8443", "https"),  # port
    ("kw.example:8443", "https://kw.example", "https"),
    ("kw.example", "https://evil.example", "https"),  # host
    ("kw.example", "https://kw.example.evil.example", "https"),
    ("[2001:db8::1]", "https://[2001:db8::2]", "https"),
    ("kw.example", "null", "https"),
]


@pytest.mark.parametrize("host, origin, proto", FOREIGN)
def test_another_origin_is_refused(behind_proxy, host, origin, proto):
    status, got = log_in(behind_proxy, host, origin, proto)
    assert status == 403 and cookie(got, COOKIE) is None
    ws = dict(
        browser_headers(host, origin, proto),
        Upgrade="websocket",
        Connection="Upgrade",
        **{"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="},
    )
    status, _, _ = exchange(behind_proxy, "GET", "/chat/ws", ws, upgrade=True)
    assert status == 403


def test_x_forwarded_proto_counts_only_from_the_trusted_proxy(tmp_path):
    """A gateway that does not trust its peer takes the scheme from the connection (http): an
    https Origin does not match, whatever X-Forwarded-Proto the client writes."""
    env = launcher.isolated_env(tmp_path, production_env(KW_DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}"))
    migrations.upgrade(load(env).database_url)
    gw = GatewayProcess(env, tmp_path / "gateway.log")
    gw.start()
    try:
        ws = dict(
            browser_headers("kw.example", "https://kw.example", "https"),
            Upgrade="websocket",
            Connection="Upgrade",
            **{"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="},
        )
        assert exchange(gw, "GET", "/chat/ws", ws, upgrade=True)[0] == 403
        ws["Origin"] = "http://kw.example"
        assert exchange(gw, "GET", "/chat/ws", ws, upgrade=True)[0] == 101
    finally:
        gw.stop()
