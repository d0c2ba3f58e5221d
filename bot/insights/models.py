"""The question events table: one row per question the assistant handled.

Personal data: there is no conversation id (not even hashed), so a row cannot be tied to a
person or a conversation. ``text`` is masked (bot.core.masking) and capped, and only kept for
questions an editor should look at (not understood, half understood, low confidence); plain
confident answers store only their topic. Rows go after the retention period (bot.retention).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.core.clock import utcnow


class Base(DeclarativeBase):
    """The metadata of the insights tables (each package has its own, and its own migrations)."""


#: NLU understood it and the knowledge base answered.
ANSWERED = "answered"
#: An unsure NLU guess that the knowledge-base search overruled ("second opinion").
REVISED = "revised"
#: Low confidence, and the knowledge-base search answered (the second chance).
SECOND_CHANCE = "second_chance"
#: Low confidence; the user got "Bedoel je …?" with up to three topics.
CHOICES = "choices"
#: Not understood: asked to rephrase, or offered the helpdesk, or no answer for the intent.
FALLBACK = "fallback"
KINDS = (ANSWERED, REVISED, SECOND_CHANCE, CHOICES, FALLBACK)

TEXT_MAX = 200
TOPIC_MAX = 100
TABLE_PREFIX = "kw_question"


class QuestionEvent(Base):
    __tablename__ = "kw_question_events"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")", name="ck_kw_question_events_kind"),
        Index("ix_kw_question_events_at", "at"),
        Index("ix_kw_question_events_conversation", "conversation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Naive UTC, like every datetime in the app database.
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    #: The knowledge-base answer key (or the intent when no answer has one).
    topic: Mapped[str | None] = mapped_column(String(TOPIC_MAX), nullable=True)
    #: NLU confidence of the best real intent, 0..1.
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The question, masked and at most TEXT_MAX characters; NULL for confident answers.
    text: Mapped[str | None] = mapped_column(String(TEXT_MAX), nullable=True)
    #: A keyed pseudonym of the conversation (``record.conversation_key``), never its id: what
    #: lets "Gesprek wissen" delete the conversation's questions too.
    conversation: Mapped[str | None] = mapped_column(String(40), nullable=True)

    def __repr__(self) -> str:  # no text
        return f"<QuestionEvent {self.id} {self.kind} {self.topic}>"
