"""Origins compare as (scheme, host, port) with the default port filled in (issue 21, M1):
the parser (bot/core/origins.py), the one same-origin decision for the console, the widget
socket and the chat API (bot/web/security.py), and KW_ALLOWED_ORIGINS written one way."""

from __future__ import annotations

from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st

from bot.core import origins
from bot.core.origins import Origin
from bot.settings import SettingsError, load
from bot.web import security
from bot.web.keys import SETTINGS
from tests.fixtures.production import production_env

PROXY = "10.0.0.1"


# -- the parser --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("https://kw.example", Origin("https", "kw.example", 443)),
        ("https://kw.example:443", Origin("https", "kw.example", 443)),
        ("https://KW.Example/", Origin("https", "kw.example", 443)),
        ("HTTPS://kw.example:8443", Origin("https", "kw.example", 8443)),
        ("http://kw.example", Origin("http", "kw.example", 80)),
        ("http://kw.example:80", Origin("http", "kw.example", 80)),
        ("http://127.0.0.1:8080", Origin("http", "127.0.0.1", 8080)),
        ("http://[::1]:8080", Origin("http", "::1", 8080)),
        ("https://[2001:db8::1]", Origin("https", "2001:db8::1", 443)),
        ("https://[2001:DB8:0:0::1]:443", Origin("https", "2001:db8::1", 443)),
    ],
)
def test_origins_are_parsed_with_the_default_port_filled_in(text, expected):
    assert origins.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "null",
        "kw.example",
        "//kw.example",
        "ftp://kw.example",
        "ws://kw.example",
        "https://",
        "https://:443",
        "https://kw.example:0",
        "https://kw.example:65536",
        "https://kw.example:44x",
        "https://user@kw.example",
        "https://kw.example/pad",
        "https://kw.example?x=1",
        "https://kw example",
        "https://[::1",
        "https://::1",
        "https://[kw.example]",
        "https://kw.example\r\nX: y",
    ],
)
def test_anything_else_is_no_origin(text):
    assert origins.parse(text) is None


def test_a_referer_gives_its_origin():
    assert origins.parse("https://kw.example/helpdesk/tickets?x=1", url=True) == Origin("https", "kw.example", 443)
    assert origins.parse("https://kw.example/helpdesk") is None  # an Origin header has no path


@pytest.mark.parametrize(
    "scheme, host, expected",
    [
        ("https", "kw.example", Origin("https", "kw.example", 443)),
        ("https", "kw.example:443", Origin("https", "kw.example", 443)),
        ("http", "kw.example", Origin("http", "kw.example", 80)),
        ("http", "kw.example:", Origin("http", "kw.example", 80)),
        ("http", "[::1]:8080", Origin("http", "::1", 8080)),
        ("https", "[2001:db8::1]", Origin("https", "2001:db8::1", 443)),
        ("https", "", None),
        ("https", "kw.example:99999", None),
        ("https", "a@kw.example", None),
        ("https", "::1", None),
        ("gopher", "kw.example", None),
    ],
)
def test_a_host_header_gives_the_origin_reached_with_a_scheme(scheme, host, expected):
    assert origins.from_authority(scheme, host) == expected


@given(
    st.sampled_from(["http", "https"]),
    st.one_of(
        st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]{1,10}){0,3}", fullmatch=True),
        st.ip_addresses(v=6).map(str),
        st.ip_addresses(v=4).map(str),
    ),
    st.integers(1, 65535),
)
def test_an_origin_written_back_parses_to_itself(scheme, host, port):
    origin = Origin(scheme, host, port)
    written = str(origin)
    assert origins.parse(written) == origin
    assert (f":{port}" in written) == (port != origins.DEFAULT_PORTS[scheme])


# -- the decision, on requests ------------------------------------------------------------------


def settings(tmp_path, **env: str):
    return load({"KW_VAR_DIR": str(tmp_path), "KW_TRUSTED_PROXIES": PROXY, **env})


def request(
    settings, headers: dict[str, str], peer: str = PROXY, method: str = "POST", path: str = "/helpdesk/inloggen"
) -> web.Request:
    app = web.Application()
    app[SETTINGS] = settings
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda key, default=None: (peer, 40000) if key == "peername" else default
    return make_mocked_request(method, path, headers=headers, app=app, transport=transport)


def same(s, host: str, origin: str | None, proto: str | None = None, peer: str = PROXY, **extra) -> bool:
    headers = {"Host": host, **extra}
    if origin is not None:
        headers["Origin"] = origin
    if proto is not None:
        headers["X-Forwarded-Proto"] = proto
    req = request(s, headers, peer)
    # The console and the widget decide alike about the gateway's own origin.
    assert security.origin_allowed(req, s) == (origin is not None and security.same_origin(req))
    return security.same_origin(req)


@pytest.mark.parametrize(
    "host, origin, proto",
    [
        ("kw.example", "https://kw.example", "https"),  # M1: behind TLS on 443
        ("kw.example:443", "https://kw.example", "https"),
        ("kw.example", "https://kw.example:443", "https"),
        ("kw.example:443", "https://kw.example:443", "https"),
        ("kw.example", "http://kw.example", None),  # plain http on 80
        ("kw.example:80", "http://kw.example", None),
        ("kw.example", "http://kw.example:80", "http"),
        ("KW.example", "https://kw.EXAMPLE", "https"),
        ("kw.example:8443", "https://kw.example:8443", "https"),
        ("127.0.0.1:8080", "http://127.0.0.1:8080", None),
        ("[::1]:8080", "http://[::1]:8080", None),
        ("[2001:db8::1]", "https://[2001:db8::1]", "https"),
        ("[2001:db8:0::1]:443", "https://[2001:DB8::1]", "https"),
    ],
)
def test_the_gateways_own_origin_passes_with_or_without_the_default_port(tmp_path, host, origin, proto):
    assert same(settings(tmp_path), host, origin, proto)


@pytest.mark.parametrize(
    "host, origin, proto",
    [
        ("kw.example", "http://kw.example", "https"),  # scheme
        ("kw.example", "https://kw.example", None),  # https origin, but the request came over http
        ("kw.example", "https://kw.example:8443", "https"),  # port
        ("kw.example:8443", "https://kw.example", "https"),
        ("kw.example", "http://kw.example:8080", None),
        ("kw.example", "https://evil.example", "https"),  # host
        ("kw.example", "https://kw.example.evil.example", "https"),
        ("kw.example", "https://evil.example/kw.example", "https"),
        ("[::1]:8080", "http://[::2]:8080", None),
        ("kw.example", "null", "https"),
        ("kw.example", "https://user@kw.example", "https"),
        ("", "https://kw.example", "https"),  # no Host header value
    ],
)
def test_another_scheme_host_or_port_is_refused(tmp_path, host, origin, proto):
    assert not same(settings(tmp_path), host, origin, proto)


def test_x_forwarded_proto_counts_only_from_a_trusted_proxy(tmp_path):
    s = settings(tmp_path)
    assert same(s, "kw.example", "https://kw.example", "https", peer=PROXY)
    assert not same(s, "kw.example", "https://kw.example", "https", peer="192.0.2.7")
    assert same(s, "kw.example", "http://kw.example", "https", peer="192.0.2.7")


def test_without_origin_the_console_reads_the_referer(tmp_path):
    s = settings(tmp_path)
    assert same(s, "kw.example", None, "https", Referer="https://kw.example/helpdesk/tickets")
    assert not same(s, "kw.example", None, "https", Referer="https://evil.example/helpdesk")
    assert not same(s, "kw.example", None, "https", Referer="http://kw.example/helpdesk")
    # Neither header: a form post from an old browser passes; the socket requires one.
    req = request(s, {"Host": "kw.example"})
    assert security.same_origin(req) and not security.same_origin(req, required=True)


@pytest.mark.parametrize(
    "configured, sent",
    [
        ("https://www.example.nl", "https://www.example.nl:443"),
        ("https://www.example.nl:443", "https://www.example.nl"),
        ("https://WWW.example.nl/", "https://www.example.nl"),
        ("http://www.example.nl:80", "http://www.example.nl"),
        ("https://[2001:db8::5]:443", "https://[2001:db8:0::5]"),
        ("https://site.example:8443", "https://site.example:8443"),
    ],
)
def test_allowed_origins_match_however_they_are_written(tmp_path, configured, sent):
    s = settings(tmp_path, KW_ALLOWED_ORIGINS=configured)
    req = request(s, {"Host": "kw.example", "Origin": sent, "X-Forwarded-Proto": "https"})
    assert security.origin_allowed(req, s)
    assert security.cors_headers(req, s)["Access-Control-Allow-Origin"] == sent
    # An embedding site is not the gateway: the console does not take it.
    assert not security.same_origin(req)


@pytest.mark.parametrize(
    "configured, sent",
    [
        ("https://www.example.nl", "http://www.example.nl"),
        ("https://www.example.nl", "https://www.example.nl:8443"),
        ("https://www.example.nl", "https://example.nl"),
    ],
)
def test_other_sites_are_not_allowed(tmp_path, configured, sent):
    s = settings(tmp_path, KW_ALLOWED_ORIGINS=configured)
    req = request(s, {"Host": "kw.example", "Origin": sent, "X-Forwarded-Proto": "https"})
    assert not security.origin_allowed(req, s) and security.cors_headers(req, s) == {}


def test_the_setting_is_stored_one_way(tmp_path):
    s = settings(tmp_path, KW_ALLOWED_ORIGINS="https://www.example.nl:443/, HTTPS://WWW.example.nl, http://[::1]:80")
    assert s.allowed_origins == ("https://www.example.nl", "http://[::1]")


@pytest.mark.parametrize("value", ["www.example.nl", "https://www.example.nl/widget", "ftp://x.nl", "https://"])
def test_a_malformed_allowed_origin_fails_at_start(tmp_path, value):
    with pytest.raises(SettingsError, match="KW_ALLOWED_ORIGINS"):
        settings(tmp_path, KW_ALLOWED_ORIGINS=value)


@pytest.mark.parametrize(
    "value",
    [
        "http://localhost:8080",
        "https://LOCALHOST",
        "http://127.0.0.2",
        "http://[::1]:8080",
        "https://[0:0::1]",
        "http://app.localhost",
    ],
)
def test_production_refuses_local_origins_however_written(tmp_path, value):
    with pytest.raises(SettingsError, match="localhost"):
        load(production_env(KW_VAR_DIR=str(tmp_path), KW_ALLOWED_ORIGINS=value))
