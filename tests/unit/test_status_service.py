"""The lookup service the actions call: results, no enumeration, rate limits, audit, failure."""

import dataclasses
import datetime as dt
import logging
import time
from typing import Any

import psycopg2
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from bot.core import db
from bot.status import render, service, throttle
from bot.status.demo import load_demo_data
from bot.status.models import LookupAudit, LookupFailure
from tests.fixtures.databases import make_status_settings

NUMBER, CODE, GEMEENTE = "KW-2025-0043", "3HPM-TPHP", "Utrecht"


@pytest.fixture
def settings(status_settings):
    load_demo_data(status_settings.database_url)
    return status_settings


def audit_rows(settings):
    with db.session_scope(db.get_engine(settings.database_url, 5.0)) as s:
        return list(s.execute(select(LookupAudit).order_by(LookupAudit.id)).scalars())


def test_ok_with_number_in_a_sentence_and_code_as_typed(settings):
    result = service.lookup_public(
        "hoe staat het met kw 2025 0043?", "3hpm tphp", "conv-1", "client-1", settings=settings
    )
    assert result.kind == "ok"
    app = result.application
    assert app is not None and app.aanvraagnummer == NUMBER and app.gemeente == GEMEENTE
    assert app.status == "aanvulling_nodig" and app.missing_items
    assert app.requested_total_cents == 500_000_00
    assert [h.status for h in app.history] == ["ontvangen", "in_behandeling", "aanvulling_nodig"]
    assert not hasattr(app, "code_hash")
    assert "code" not in repr(app).lower().replace("aanvraagnummer", "")


def test_not_found_is_identical_for_unknown_number_wrong_code_and_junk(settings):
    unknown = service.lookup_public("KW-2025-9999", CODE, "c-a", settings=settings)
    wrong = service.lookup_public(NUMBER, "AAAA-AAAA", "c-b", settings=settings)
    junk = service.lookup_public("'; DROP TABLE status_applications; --", CODE, "c-c", settings=settings)
    assert unknown == wrong == junk == service.LookupResult("not_found")
    replies = {render.render_result(r).text for r in (unknown, wrong, junk)}
    assert len(replies) == 1
    assert replies.pop().startswith("Ik kan geen aanvraag vinden met dit nummer en deze code")
    # The table is still there and the application still found.
    assert service.lookup_public(NUMBER, CODE, "c-d", settings=settings).kind == "ok"


def test_every_lookup_is_audited_without_personal_data(settings, caplog):
    caplog.set_level(logging.DEBUG)
    service.lookup_public(NUMBER, CODE, "conversation-abc", "client-7", settings=settings)
    service.lookup_public("KW 2025 0042", "ZZZZ-ZZZZ", "conversation-abc", "client-7", settings=settings)
    service.lookup_public("<script>", "ZZZZ-ZZZZ", "conversation-abc", settings=settings)
    service.lookup_portal("Utrecht", NUMBER, "conversation-p", settings=settings)
    service.list_for_gemeente("Utrecht", "conversation-p", settings=settings)
    rows = audit_rows(settings)
    assert [(r.channel, r.aanvraagnummer, r.result) for r in rows] == [
        ("public", NUMBER, "ok"),
        ("public", "KW-2025-0042", "not_found"),
        ("public", "<ongeldig>", "not_found"),
        ("portal", NUMBER, "ok"),
        ("portal", "*", "ok"),
    ]
    for row in rows:
        assert "conversation" not in row.actor and "client-7" not in row.actor
        assert row.actor.startswith("c:")
    assert " k:" in rows[0].actor and " k:" not in rows[2].actor
    # Nothing of a code anywhere: not in the log, not in the audit.
    for secret in ("3HPM", "TPHP", "3hpm", "ZZZZ"):
        assert secret not in caplog.text
        assert all(secret not in str(vars(r)) for r in rows)


def test_lockout_per_conversation(settings):
    for i in range(settings.status_max_failures):
        result = service.lookup_public(NUMBER, "WRONG-CODE", "conv-x", f"client-{i}", settings=settings)
        assert result.kind == "not_found", i
    locked = service.lookup_public(NUMBER, CODE, "conv-x", "client-new", settings=settings)
    assert locked.kind == "locked"
    assert locked.retry_after_s is not None and 0 < locked.retry_after_s <= settings.status_lockout_s + 60
    assert "te vaak" in render.render_result(locked).text
    # Locked lookups do not extend the lockout (no new failures recorded).
    key = throttle.pseudonym(settings, "c", "conv-x")
    assert key is not None
    assert throttle.count_failures(key, settings=settings) == settings.status_max_failures
    # Another conversation from another client is not affected.
    assert service.lookup_public(NUMBER, CODE, "conv-y", "client-y", settings=settings).kind == "ok"


def test_lockout_per_client_across_conversations(settings):
    for i in range(settings.status_max_failures):
        assert (
            service.lookup_public("KW-2025-9999", CODE, f"conv-{i}", "1.2.3.4", settings=settings).kind == "not_found"
        )
    assert service.lookup_public(NUMBER, CODE, "conv-new", "1.2.3.4", settings=settings).kind == "locked"
    assert service.lookup_public(NUMBER, CODE, "conv-new", "5.6.7.8", settings=settings).kind == "ok"
    assert audit_rows(settings)[-2].result == "locked"


def test_lockout_ends_and_old_failures_expire(settings):
    limit = settings.status_max_failures
    for _ in range(limit):
        service.lookup_public(NUMBER, "WRONG-CODE", "conv-t", settings=settings)
    assert service.lookup_public(NUMBER, CODE, "conv-t", settings=settings).kind == "locked"
    key = throttle.pseudonym(settings, "c", "conv-t")
    engine = db.get_engine(settings.database_url, 5.0)
    # Move the failures back beyond the lockout: lookups work again.
    with db.session_scope(engine) as s:
        s.execute(
            update(LookupFailure)
            .where(LookupFailure.key == key)
            .values(at=LookupFailure.at - dt.timedelta(seconds=settings.status_lockout_s + 5))
        )
    assert service.lookup_public(NUMBER, CODE, "conv-t", settings=settings).kind == "ok"
    # Failures spread wider than the window never lock.
    with db.session_scope(engine) as s:
        s.execute(text("DELETE FROM status_lookup_failures"))
        now = dt.datetime.utcnow()
        step = dt.timedelta(seconds=settings.status_failure_window_s // (limit - 1) + 60)
        for i in range(limit):
            s.add(LookupFailure(key=key, at=now - step * i))
    assert service.lookup_public(NUMBER, CODE, "conv-t", settings=settings).kind == "ok"


def test_small_limits_from_settings(status_db_url, tmp_path):
    load_demo_data(status_db_url)
    strict = make_status_settings(status_db_url, tmp_path, KW_STATUS_MAX_FAILURES="2")
    assert service.lookup_public(NUMBER, "WRONG-CODE", "s", settings=strict).kind == "not_found"
    assert service.lookup_public(NUMBER, "WRONG-CODE", "s", settings=strict).kind == "not_found"
    assert service.lookup_public(NUMBER, CODE, "s", settings=strict).kind == "locked"


def test_portal_is_scoped_to_the_verified_gemeente(settings):
    ok = service.lookup_portal("utrecht", "aanvraag KW-2025-0043", "p1", settings=settings)
    assert ok.kind == "ok" and ok.application is not None and ok.application.aanvraagnummer == NUMBER
    other = service.lookup_portal("Rotterdam", NUMBER, "p1", settings=settings)
    unknown = service.lookup_portal("Rotterdam", "KW-2025-9999", "p1", settings=settings)
    assert other == unknown == service.LookupResult("not_found")
    assert service.lookup_portal("", NUMBER, "p1", settings=settings).kind == "not_found"
    # The portal does not count failures for the public rate limit.
    assert service.lookup_public(NUMBER, CODE, "p1", settings=settings).kind == "ok"


def test_list_for_gemeente(settings):
    result = service.list_for_gemeente("AMSTERDAM", "p2", settings=settings)
    assert result.kind == "ok"
    assert [a.aanvraagnummer for a in result.applications] == ["KW-2025-0047", "KW-2025-0046"]
    assert all(a.gemeente == "Amsterdam" for a in result.applications)
    reply = render.render_result(result)
    assert "gemeente Amsterdam (2 aanvragen)" in reply.text
    none = service.list_for_gemeente("Zaanstad", "p2", settings=settings)
    assert none.kind == "ok" and none.applications == ()
    assert service.list_for_gemeente("", "p2", settings=settings).applications == ()


@pytest.fixture
def silent_server():
    """A local TCP port that accepts connections (backlog) but never answers: a hung server.

    Stands in for an unreachable database host without sending traffic off this machine."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:1/kw",  # nothing listens
        "postgresql://postgres@127.0.0.1:{silent}/kw",  # never answers: would hang without a bound
        "sqlite:////proc/kw-no-such-dir/app.db",  # cannot be opened
    ],
)
def test_unreachable_database_is_unavailable_within_2s(url, tmp_path, silent_server):
    settings = make_status_settings(url.format(silent=silent_server), tmp_path)
    for call in (
        lambda: service.lookup_public(NUMBER, CODE, "c", "k", settings=settings),
        lambda: service.lookup_portal("Utrecht", NUMBER, "c", settings=settings),
        lambda: service.list_for_gemeente("Utrecht", "c", settings=settings),
    ):
        started = time.monotonic()
        result = call()
        assert time.monotonic() - started < 2.0
        assert result.kind == "unavailable"
    reply = render.render_result(result)
    assert "helpdesk" in reply.text and reply.buttons[-1].title == "Medewerker spreken"


def test_slow_database_is_unavailable_within_2s_and_recovers(settings):
    """A table locked by someone else: the lookup gives up in time, and works afterwards."""
    fast = dataclasses.replace(settings, db_timeout_s=0.5)
    url = make_url(settings.database_url)
    conn: Any  # a psycopg2 or a sqlite3 connection: both roll back and close
    if url.get_backend_name() == "postgresql":
        conn = psycopg2.connect(url.render_as_string(hide_password=False))
        cur = conn.cursor()
        cur.execute("LOCK TABLE status_applications IN ACCESS EXCLUSIVE MODE")
    else:
        import sqlite3

        assert url.database is not None
        conn = sqlite3.connect(url.database, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        result = service.lookup_public(NUMBER, CODE, "slow", settings=fast)
        assert time.monotonic() - started < 2.0
        assert result.kind == "unavailable"
    finally:
        conn.rollback()
        conn.close()
    assert service.lookup_public(NUMBER, CODE, "slow", settings=settings).kind == "ok"


def test_async_variants_do_not_block_the_event_loop(settings, tmp_path, silent_server):
    import asyncio

    down = make_status_settings(f"postgresql://postgres@127.0.0.1:{silent_server}/kw", tmp_path)

    async def scenario():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        ok = await service.lookup_public_async(NUMBER, CODE, "a1", settings=settings)
        portal = await service.lookup_portal_async("Utrecht", NUMBER, "a1", settings=settings)
        listed = await service.list_for_gemeente_async("Utrecht", "a1", settings=settings)
        unavailable = await service.lookup_public_async(NUMBER, CODE, "a1", settings=down)
        task.cancel()
        return ok, portal, listed, unavailable, ticks

    ok, portal, listed, unavailable, ticks = asyncio.run(scenario())
    assert ok.kind == portal.kind == listed.kind == "ok"
    assert unavailable.kind == "unavailable"
    assert ticks > 0
