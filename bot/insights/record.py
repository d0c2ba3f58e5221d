"""The one writer of ``kw_question_events``, and its retention purge.

``record`` is the plain, synchronous insert (tests, the CLI, seeding). The actions call
``note_faq`` / ``note_rephrase``: they work out what happened and mask the text, and the row is
written behind the answer (``_WriteBehind``): queued, then inserted with whatever else is
queued, in one transaction, by one task of the bounded DB runner at a time. The answer never
waits for the statistics (an insert and a commit awaited by every answer weighed on the action
server under load: docs/performance.md); a failing or slow database is logged (by type only), and what
could not be written is dropped, as before. ``flush`` waits for the queue (tests, shutdown).
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import hmac
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine

from bot.core import db
from bot.core.logs import log_event
from bot.core.masking import mask_text
from bot.core.runner import submit
from bot.handoff.values import utc
from bot.insights.models import (
    ANSWERED,
    CHOICES,
    FALLBACK,
    KINDS,
    REVISED,
    SECOND_CHANCE,
    TEXT_MAX,
    TOPIC_MAX,
    QuestionEvent,
)
from bot.knowledge.retrieval import ANSWERED as ANSWERED_PATHS
from bot.knowledge.retrieval import CHOICES as CHOICES_PATH

log = logging.getLogger("bot.insights")

#: Below this NLU confidence a question counts as "low confidence" for the editors, and its
#: (masked) text is kept even when it was answered.
LOW_CONFIDENCE = 0.7
_FALLBACK_INTENT = "nlu_fallback"

Database = str | Engine


def _engine(database: Database, timeout_s: float) -> Engine:
    return db.get_engine(database, timeout_s) if isinstance(database, str) else database


def clean_text(text: str | None) -> str | None:
    """What may be stored of a question: masked, one line, at most TEXT_MAX characters; None for
    nothing or a button payload ("/faq_…")."""
    if not isinstance(text, str):
        return None
    flat = re.sub(r"\s+", " ", mask_text(text)).strip()
    if not flat or flat.startswith("/"):
        return None
    return flat if len(flat) <= TEXT_MAX else flat[: TEXT_MAX - 1].rstrip() + "…"


def needs_text(kind: str, confidence: float | None) -> bool:
    """Only questions an editor should read keep their text (data minimisation)."""
    return kind != ANSWERED or (confidence is not None and confidence < LOW_CONFIDENCE)


def conversation_key(settings: Any, sender_id: str | None) -> str | None:
    """The pseudonym a question event keeps of its conversation: a keyed hash (a key derived
    from the cookie secret), so the editors' data cannot be joined to a conversation id without
    the secret, but "Gesprek wissen" can find the conversation's questions."""
    if not sender_id:
        return None
    key = hmac.new(settings.cookie_secret.encode("utf-8"), b"kw-question-conversation-v1", hashlib.sha256).digest()
    return hmac.new(key, str(sender_id).encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:40]


def delete_conversation(settings: Any, sender_id: str, timeout_s: float = 30.0) -> int:
    """Delete the question events of one conversation ("Gesprek wissen"); returns how many."""
    key = conversation_key(settings, sender_id)
    if key is None:
        return 0
    with db.session_scope(_engine(settings.database_url, timeout_s)) as session:
        result = session.execute(delete(QuestionEvent).where(QuestionEvent.conversation == key))
    return db.affected_rows(result)


def event_row(
    kind: str,
    *,
    topic: str | None = None,
    confidence: float | None = None,
    text: str | None = None,
    at: dt.datetime | None = None,
    conversation: str | None = None,
) -> dict[str, Any]:
    """One question event as a row. ``text`` is masked and capped here (also when a caller
    already did); it is dropped for confident answers."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if confidence is not None:
        confidence = min(1.0, max(0.0, float(confidence)))
    return {
        "at": utc(at),
        "kind": kind,
        "confidence": confidence,
        "topic": (topic or None) and str(topic)[:TOPIC_MAX],
        "text": clean_text(text) if needs_text(kind, confidence) else None,
        "conversation": conversation,
    }


def record(
    database: Database,
    kind: str,
    *,
    topic: str | None = None,
    confidence: float | None = None,
    text: str | None = None,
    at: dt.datetime | None = None,
    timeout_s: float = 1.5,
) -> None:
    """Store one question event now (see ``event_row``)."""
    row = event_row(kind, topic=topic, confidence=confidence, text=text, at=at)
    with db.session_scope(_engine(database, timeout_s)) as session:
        session.execute(insert(QuestionEvent).values(**row))


class _WriteBehind:
    """Rows queued per database, inserted by one runner task at a time, each batch in one
    transaction."""

    #: Rows kept while the database is slow or down; beyond this, new rows are dropped.
    MAX_QUEUED = 1000

    def __init__(self) -> None:
        self._rows: list[tuple[str, float, dict[str, Any]]] = []
        self._busy = False
        self._idle = threading.Condition()

    def add(self, database: str, timeout_s: float, row: dict[str, Any]) -> None:
        with self._idle:
            if len(self._rows) >= self.MAX_QUEUED:
                log_event(log, "question_event_dropped", level=logging.WARNING, reason="queue_full")
                return
            self._rows.append((database, timeout_s, row))
            if self._busy:
                return  # the running task takes it along
            self._busy = True
        try:
            submit(self._drain)
        except RuntimeError:  # the pool is shut down: the process is ending
            with self._idle:
                self._busy = False
                self._idle.notify_all()
            raise

    def _drain(self) -> None:
        while True:
            with self._idle:
                rows, self._rows = self._rows, []
                if not rows:
                    self._busy = False
                    self._idle.notify_all()
                    return
            batches: dict[tuple[str, float], list[dict[str, Any]]] = {}
            for database, timeout_s, row in rows:
                batches.setdefault((database, timeout_s), []).append(row)
            for (database, timeout_s), batch in batches.items():
                try:
                    with db.session_scope(_engine(database, timeout_s)) as session:
                        session.execute(insert(QuestionEvent), batch)
                except Exception as exc:  # statistics never break the assistant
                    log_event(
                        log, "question_event_failed", level=logging.WARNING, reason=type(exc).__name__, rows=len(batch)
                    )

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued row was written (or failed); False after ``timeout_s``."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy and not self._rows, timeout_s)


_writer = _WriteBehind()
flush = _writer.flush
atexit.register(flush, 2.0)


def purge(database: Database, before: dt.datetime, timeout_s: float = 30.0) -> int:
    """Delete question events from before ``before``; returns how many."""
    with db.session_scope(_engine(database, timeout_s)) as session:
        result = session.execute(delete(QuestionEvent).where(QuestionEvent.at < utc(before)))
    count = db.affected_rows(result)
    log_event(log, "question_events_purged", rows=count)
    return count


# -- what the actions call ------------------------------------------------------------------


def best_confidence(message: Mapping[str, Any]) -> float | None:
    """The NLU confidence of the best real intent: after a fallback, the ranking's best guess."""
    intent = message.get("intent") or {}
    if intent.get("name") != _FALLBACK_INTENT and isinstance(intent.get("confidence"), (int, float)):
        return float(intent["confidence"])
    ranked = [
        r.get("confidence")
        for r in message.get("intent_ranking") or []
        if isinstance(r, dict) and r.get("name") != _FALLBACK_INTENT
    ]
    scores = [c for c in ranked if isinstance(c, (int, float))]
    return float(max(scores)) if scores else None


def topic_key(topic: str | None) -> str | None:
    """An answer key for an answer key or an intent; the intent itself when no answer has it."""
    if not topic:
        return None
    try:
        from bot.knowledge.loader import get_knowledge_base

        kb = get_knowledge_base()
    except Exception:  # a broken knowledge base is reported elsewhere
        return topic
    if topic in kb.answers:
        return topic
    answer = kb.by_intent.get(topic)
    return answer.key if answer is not None else topic


async def note(
    settings: Any,
    kind: str,
    message: Mapping[str, Any] | None,
    topic: str | None = None,
    conversation: str | None = None,
) -> None:
    """Queue one event for the latest message of the conversation ``conversation`` (its sender
    id; kept as a pseudonym) (written behind the answer); never raises."""
    message = message or {}
    try:
        row = event_row(
            kind,
            topic=topic_key(topic),
            confidence=best_confidence(message),
            text=message.get("text"),
            conversation=conversation_key(settings, conversation),
        )
        _writer.add(settings.database_url, settings.db_timeout_s, row)
    except Exception as exc:  # an answer never fails for the statistics
        log_event(log, "question_event_failed", level=logging.WARNING, reason=type(exc).__name__)


async def note_faq(
    settings: Any,
    message: Mapping[str, Any] | None,
    reply: Any,
    topic: str | None,
    revised: bool = False,
    conversation: str | None = None,
) -> None:
    """ActionAnswerFaq: answered (``topic`` the intent), revised by the knowledge-base search
    (``topic`` the answer key), or no answer for the intent (``reply`` None)."""
    kind = FALLBACK if reply is None else REVISED if revised else ANSWERED
    await note(settings, kind, message, topic, conversation)


def _payloads(reply: Any) -> set:
    return {getattr(b, "payload", None) for b in getattr(reply, "buttons", ()) or ()} - {None}


async def note_rephrase(
    settings: Any, message: Mapping[str, Any] | None, chance: Any, reply: Any = None, conversation: str | None = None
) -> None:
    """ActionRephrase: the second chance answered, offered its choices ("Bedoel je …?": the
    ``reply`` sent carries the candidates' buttons), or the user was asked to rephrase or
    offered the helpdesk (``chance`` is bot.knowledge.retrieval.SecondChance)."""
    path = getattr(chance, "path", None)
    offered = _payloads(getattr(chance, "reply", None))
    if path in ANSWERED_PATHS:
        kind = SECOND_CHANCE
    elif path == CHOICES_PATH and offered and offered <= _payloads(reply):
        kind = CHOICES
    else:
        kind = FALLBACK
    await note(settings, kind, message, getattr(chance, "key", None), conversation)
