"""Unit tests of the gateway's building blocks: masking, sessions, rate limit, portal tokens, logs."""

from __future__ import annotations

import json
import logging
import time
from types import SimpleNamespace

import jwt
import pytest

from bot.core import masking as privacy
from bot.core.extract import elfproef, iban_valid
from bot.web import logs
from bot.web.portal import EXPIRED, INVALID, OK, issue_portal_token, verify_portal_token
from bot.web.protocol import FrameError, History, button_payload, clean_text, user_text
from bot.web.ratelimit import RateLimiter
from bot.web.sessions import SessionCodec, client_id

SETTINGS = SimpleNamespace(
    portal_jwt_secret="s" * 40, portal_jwt_audience="kansrijke-wijk-assistent", portal_jwt_issuer="aanvragersportaal"
)


# -- masking --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mail me: jan.de-vries+kw@gemeente.example.nl", "mail me: [e-mailadres]"),
        ("bel 06-12345678 of 06 1234 5678", "bel [telefoonnummer] of [telefoonnummer]"),
        ("+31 6 12345678 en 0031201234567", "[telefoonnummer] en [telefoonnummer]"),
        ("kantoor (020) 123 45 67 of (0168) 12 34 56", "kantoor [telefoonnummer] of [telefoonnummer]"),
        ("kantoor 020-1234567", "kantoor [telefoonnummer]"),
        ("helpdesk 0800-1234 / 0900 123 4567", "helpdesk [telefoonnummer] / [telefoonnummer]"),
        ("from abroad +44 20 7946 0958", "from abroad [telefoonnummer]"),
        ("mijn bsn is 111222333", "mijn bsn is [BSN]"),
        ("BSN: 12345678", "BSN: [BSN]"),
        ("nummer 123456782 en 1234.56.782", "nummer [BSN] en [BSN]"),
        ("IBAN NL91 ABNA 0417 1643 00", "IBAN [IBAN]"),
        ("nl91abna0417164300", "[IBAN]"),
        ("DE89370400440532013000", "[IBAN]"),
    ],
)
def test_personal_data_is_masked(text, expected):
    assert privacy.mask_personal_data(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "Vanaf wanneer kon je aanvragen?",
        "Wat is de status van KW-2025-0042?",
        "aanvraag kw 2025 0042 of KW20250042",
        "Het budget is € 400.000.000 voor 2026-2028",
        "Op 7 juli 2025 om 09:00",
        "We hebben 123456789 euro",  # nine digits that fail the 11-proef
        "Er wonen 1.200.000 mensen",
        "versie 1.2.3 en 12:30",
    ],
)
def test_ordinary_text_is_left_alone(text):
    masked = privacy.mask_personal_data(text)
    assert masked.text == text and not masked.changed


def test_checks():
    assert elfproef("111222333") and elfproef("123456782")
    assert not elfproef("123456789") and not elfproef("000000000")
    assert iban_valid("NL91 ABNA 0417 1643 00") and not iban_valid("NL91ABNA0417164301")
    assert privacy.summary(["phone", "email", "phone"]) == ("email", "phone")


# -- edge validation ------------------------------------------------------------------------


def test_user_text_is_cleaned_and_limited():
    assert user_text({"text": "  hallo\u200b\x00 daar\r\n\r\n\r\n\r\nx "}, 100) == "hallo daar\n\nx"
    assert user_text({"text": "//faq_themas"}, 100) == "faq_themas"
    with pytest.raises(FrameError) as exc:
        user_text({"text": "a" * 101}, 100)
    assert exc.value.code == "too_long"
    for bad in ({"text": 5}, {}, {"text": ["a"]}):
        with pytest.raises(FrameError):
            user_text(bad, 100)
    assert clean_text("e\u0301") == "\u00e9"  # NFC


def test_button_payloads():
    assert button_payload({"payload": "/faq_themas"}) == "/faq_themas"
    assert button_payload({"payload": '/faq_gebieden{"gemeente":"Amsterdam"}'})
    for bad in ("faq_themas", "/faq themas", '/faq{"a":[1]}', "/faq{broken", "/" + "a" * 70, None):
        with pytest.raises(FrameError):
            button_payload({"payload": bad})


def test_history_from_tracker_shows_titles_and_skips_duplicates():
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "user", "text": "/faq_wat_is", "metadata": {"msg_id": "m1"}},
        {"event": "bot", "text": "Uitleg", "data": {"buttons": [{"title": "Thema's", "payload": "/faq_themas"}]}},
        {"event": "user", "text": "/faq_themas", "metadata": {"msg_id": "m2"}},
        {"event": "bot", "text": "Zes thema's"},
        {"event": "user", "text": "/faq_themas", "metadata": {"msg_id": "m2"}},  # resend race
        {"event": "bot", "text": "Zes thema's"},
        {"event": "bot", "text": "Ik ben Anna van de helpdesk", "metadata": {"agent_name": "Anna"}},
        {"event": "bot", "text": None, "data": {}},
    ]
    h = History.from_tracker({"events": events})
    assert [(e["from"], e["text"]) for e in h.entries] == [
        ("user", "Wat is de regeling?"),
        ("bot", "Uitleg"),
        ("user", "Thema's"),
        ("bot", "Zes thema's"),
        ("bot", "Zes thema's"),
        ("bot", "Ik ben Anna van de helpdesk"),
    ]
    assert h.entries[-1]["agent"] == "Anna"
    assert h.replies["m1"][0]["text"] == "Uitleg" and h.offered == {"/faq_themas": "Thema's"}


# -- sessions -------------------------------------------------------------------------------


def test_session_tokens_round_trip_and_resist_tampering():
    codec = SessionCodec("c" * 40)
    session = codec.new({"gemeente": "Breda", "user": "u1"}, "ok", "fp")
    token = codec.issue(session)
    assert codec.parse(token) == session
    assert len(session.sid) == 32 and session.sid != codec.new(None, "none", "").sid
    assert SessionCodec("other" * 8).parse(token) is None
    head, body, sig = token.split(".")
    assert codec.parse(f"{head}.{body}x.{sig}") is None
    assert codec.parse(token, now=time.time() + 2 * 24 * 3600) is None  # too old
    assert codec.parse("v1..") is None and codec.parse(None) is None and codec.parse("a" * 5000) is None
    assert session.log_id not in token and session.sid not in session.log_id


def test_client_id_is_keyed_and_pseudonymous():
    a = client_id("k" * 40, "192.0.2.1")
    assert a == client_id("k" * 40, "192.0.2.1") and len(a) == 32
    assert a != client_id("other-key" * 5, "192.0.2.1")
    assert a != client_id("k" * 40, "192.0.2.2")
    assert "192.0.2.1" not in a


def test_rate_key_is_the_address_or_the_ipv6_64():
    from bot.web.security import rate_key

    assert rate_key("192.0.2.1") == "192.0.2.1"
    assert rate_key("2001:db8:1:2:aaaa::1") == rate_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert rate_key("2001:db8:1:3::1") != rate_key("2001:db8:1:2::1")
    assert rate_key("::ffff:192.0.2.1") == "192.0.2.1"


def test_rate_limiter_refills():
    limiter = RateLimiter(per_minute=60)
    now = 1000.0
    assert all(limiter.hit("a", now=now)[0] for _ in range(60))
    allowed, wait = limiter.hit("a", now=now)
    assert not allowed and wait == 1
    assert limiter.hit("b", now=now)[0]  # per client
    assert limiter.hit("a", now=now + 1.01)[0]


# -- portal tokens --------------------------------------------------------------------------


def test_portal_token_checks():
    token = issue_portal_token(SETTINGS, "Tilburg", "user-1", lifetime_s=300)
    assert verify_portal_token(token, SETTINGS).identity == {"gemeente": "Tilburg", "user": "user-1"}
    assert verify_portal_token(token, SETTINGS).status == OK
    old = issue_portal_token(SETTINGS, "Tilburg", "user-1", lifetime_s=60, now=time.time() - 3600)
    assert verify_portal_token(old, SETTINGS).status == EXPIRED
    forged = issue_portal_token(SETTINGS, "Tilburg", "user-1", secret="x" * 40)
    assert verify_portal_token(forged, SETTINGS).status == INVALID
    rs = jwt.encode({"sub": "u", "gemeente": "Tilburg"}, "x" * 64, algorithm="HS512")
    assert verify_portal_token(rs, SETTINGS).status == INVALID
    weird = issue_portal_token(SETTINGS, "<b>Tilburg</b>", "user-1")
    assert verify_portal_token(weird, SETTINGS).status == INVALID
    for junk in (None, 5, "", "a" * 5000, "not.a.jwt"):
        assert verify_portal_token(junk, SETTINGS).status == INVALID


# -- logs -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_access_log_has_path_without_query_and_no_ip(aiohttp_server, aiohttp_client, caplog):
    from aiohttp import web

    from tests.fixtures.gateway import poll_async

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 12)

    caplog.set_level(logging.INFO)
    app = web.Application()
    app.router.add_get("/portaal", page)
    server = await aiohttp_server(
        app, access_log_class=logs.JsonAccessLogger, access_log=logging.getLogger("test.access")
    )
    client = await aiohttp_client(server)
    assert (await client.get("/portaal?token=secret", headers={"User-Agent": "UA"})).status == 200
    line = await poll_async(
        lambda: [r.getMessage() for r in caplog.records if r.name == "test.access"], 5, "the access log line"
    )
    record = json.loads(line[-1])
    assert record == {
        "event": "access",
        "method": "GET",
        "path": "/portaal",
        "status": 200,
        "bytes": record["bytes"],
        "ms": record["ms"],
        "client": record["client"],
    }
    assert record["bytes"] > 12  # the body and the headers
    assert "127.0.0.1" not in caplog.text and "secret" not in caplog.text


def test_json_formatter_never_prints_exception_text():
    formatter = logs.JsonFormatter()
    try:
        raise ValueError("jan@example.nl")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = formatter.format(record)
    assert "jan@example.nl" not in line and json.loads(line)["exc"] == "ValueError"


def test_portal_token_with_a_public_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = SimpleNamespace(**vars(SETTINGS), portal_jwt_public_key=pem)
    now = int(time.time())
    claims = {
        "sub": "u1",
        "gemeente": "Delft",
        "aud": SETTINGS.portal_jwt_audience,
        "iss": SETTINGS.portal_jwt_issuer,
        "iat": now,
        "exp": now + 300,
    }
    assert verify_portal_token(jwt.encode(claims, key, algorithm="ES256"), settings).status == OK
    # With a public key configured, a token signed with the shared secret is refused.
    assert (
        verify_portal_token(jwt.encode(claims, SETTINGS.portal_jwt_secret, algorithm="HS256"), settings).status
        == INVALID
    )
    # Without one, the key-pair token is refused.
    assert verify_portal_token(jwt.encode(claims, key, algorithm="ES256"), SETTINGS).status == INVALID


def test_sources_come_as_data_onto_their_message_and_only_as_web_links():
    from bot.web.protocol import from_webhook

    custom = {
        "kw_sources": [
            {"title": "Regeling", "url": "https://wetten.overheid.nl/"},
            {"title": "Kwaad", "url": "javascript:alert(1)"},
            "rommel",
        ],
        "kw_checked": "2025-11-27",
    }
    # Rasa's REST channel sends the custom data as a message after the text it belongs to.
    messages = from_webhook([{"text": "Antwoord"}, {"custom": custom}, {"text": "Nog iets"}])
    assert messages == [
        {
            "text": "Antwoord",
            "buttons": [],
            "sources": [{"title": "Regeling", "url": "https://wetten.overheid.nl/"}],
            "checked": "2025-11-27",
        },
        {"text": "Nog iets", "buttons": []},
    ]
    history = History.from_tracker(
        {"events": [{"event": "bot", "text": "Antwoord", "data": {"custom": dict(custom, kw_checked="geen datum")}}]}
    )
    assert history.entries[0]["sources"][0]["title"] == "Regeling" and "checked" not in history.entries[0]
