"""Retention (AVG): conversations older than KW_RETENTION_DAYS are deleted.

Rasa's SQL tracker store keeps every event in one table, `events`, with a UNIX `timestamp`; a
conversation whose newest event is older than the cut-off is deleted whole, so no half
conversation remains. Finished helpdesk tickets older than the cut-off go too (with their mails),
and so do the helpdesk's other sent or failed mails and the editors' question
events (bot/insights). Run by
`python -m bot purge` and at every `python -m bot run`. A user can also delete their own
conversation at once from the widget (`forget_conversation`, called by the gateway): its
tracker events and its question events (found by the conversation's pseudonym).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import create_engine, inspect, text

from bot.settings import Settings


@dataclass(frozen=True)
class PurgeReport:
    conversations: int
    tickets: int
    #: Rows of kw_question_events (masked questions for the editors' page).
    questions: int = 0
    #: Sent or failed mails of the helpdesk's outbox (a ticket's mails also go with the ticket).
    mails: int = 0


def purge_trackers(tracker_store_url: str, before: dt.datetime) -> int:
    engine = create_engine(tracker_store_url)
    try:
        if not inspect(engine).has_table("events"):
            return 0  # Rasa has not created its tables yet: nothing stored
        cutoff = before.timestamp()
        with engine.begin() as conn:
            old = [
                row[0]
                for row in conn.execute(
                    text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff"),
                    {"cutoff": cutoff},
                )
            ]
            for sender in old:
                conn.execute(text("DELETE FROM events WHERE sender_id = :s"), {"s": sender})
        return len(old)
    finally:
        engine.dispose()


def delete_conversation(tracker_store_url: str, sender_id: str) -> int:
    """Delete one conversation from the tracker store ("gesprek wissen" in the widget)."""
    engine = create_engine(tracker_store_url)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        with engine.begin() as conn:
            return conn.execute(text("DELETE FROM events WHERE sender_id = :s"), {"s": sender_id}).rowcount
    finally:
        engine.dispose()


def forget_conversation(settings: Settings, sender_id: str) -> tuple[int, int]:
    """ "Gesprek wissen": the conversation's tracker events and its question events for the
    editors (masked, but still what this user asked); returns how many of each."""
    from bot.insights import record as insights

    return (
        delete_conversation(settings.tracker_store_url, sender_id),
        insights.delete_conversation(settings, sender_id),
    )


def purge(settings: Settings, now: dt.datetime | None = None) -> PurgeReport:
    from bot.handoff.service import HandoffService
    from bot.insights import record as insights

    now = now or dt.datetime.now(dt.UTC)
    before = now - dt.timedelta(days=settings.retention_days)
    conversations = purge_trackers(settings.tracker_store_url, before)
    service = HandoffService.from_settings(settings)
    tickets = service.purge_finished(before)
    mails = service.purge_outbox(before)
    questions = insights.purge(settings.database_url, before)
    return PurgeReport(conversations, tickets, questions, mails)
