"""Migration 0004 (question events, role redacteur) on a database in use: SQLite copies the
staff table to change its role check; the tickets, events and notes that point at staff keep
their links (with foreign keys on, dropping the old copy would set them to NULL)."""

import pytest
from sqlalchemy import text

from bot import migrations
from bot.core import db
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from tests.fixtures.databases import BACKENDS, TEST_CONTACT_KEY, fresh_database


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_to_0004_keeps_every_link_to_staff(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        migrations.upgrade(url, "0003_sessions_and_code_refs")
        bea = StaffService(url).create_user("bea", "Bea", "een-lang-wachtwoord", "beheerder")
        service = HandoffService(url, contact_key=TEST_CONTACT_KEY)
        ticket = service.create_ticket("c-1", "Een vraag")
        service.claim(ticket.id, bea)
        service.add_note(ticket.id, bea, "notitie")
        links = (
            "SELECT (SELECT count(*) FROM handoff_tickets WHERE assigned_to IS NOT NULL), "
            "(SELECT count(*) FROM handoff_ticket_events WHERE staff_id IS NOT NULL), "
            "(SELECT count(*) FROM handoff_notes WHERE staff_id IS NOT NULL)"
        )
        with db.session_scope(url) as s:
            before = tuple(s.execute(text(links)).one())
        assert before == (1, 1, 1)
        db.dispose_engines(url)
        migrations.upgrade(url)
        with db.session_scope(url) as s:
            assert tuple(s.execute(text(links)).one()) == before
        assert StaffService(url).create_user("rita", "Rita", "een-lang-wachtwoord", "redacteur").reads_insights
        db.dispose_engines(url)
        migrations.downgrade(url, "0003_sessions_and_code_refs")  # a redacteur cannot stay one
        with db.session_scope(url) as s:
            assert s.execute(text("SELECT role, is_active FROM handoff_staff_users WHERE username = 'rita'")).one() == (
                "medewerker",
                False,
            )
            assert s.execute(text(links)).one() == before
