"""The editors' report: what people asked over the last days, read from the question events and
the helpdesk tickets, and which answers are past their check date (bot.knowledge.check).

Days are local days (``KW_TIMEZONE``); weeks are ISO weeks. Every read is bounded (MAX_ROWS
newest rows per table); ``Report.truncated`` says when a period had more.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.core import db
from bot.core.masking import mask_text
from bot.handoff.models import Ticket
from bot.insights.grouping import Group, group_similar
from bot.insights.models import ANSWERED, CHOICES, FALLBACK, KINDS, QuestionEvent
from bot.insights.record import LOW_CONFIDENCE
from bot.knowledge import check
from bot.knowledge.loader import KnowledgeBase

#: Periods the page offers, in days; the default fits the default retention (30 days).
PERIODS = (7, 14, 28, 90)
DEFAULT_DAYS = 28
MAX_ROWS = 200_000
TOPICS_PER_WEEK = 5
#: Tag of an answered question with low NLU confidence (the other tags are the kinds).
LOW = "low_confidence"


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    questions: int
    fallbacks: int
    handoffs: int


@dataclass(frozen=True)
class TopicRow:
    year: int
    week: int
    monday: dt.date
    key: str
    title: str
    count: int


@dataclass(frozen=True)
class OverdueRow:
    key: str
    title: str
    checked: dt.date
    age_days: int


@dataclass
class Report:
    start: dt.date
    end: dt.date
    max_age_days: int
    per_day: list[DayRow] = field(default_factory=list)
    #: Not understood, half understood, or answered with low confidence; masked, grouped.
    questions: list[Group] = field(default_factory=list)
    #: The questions people gave when they asked for a person; tags are the tickets' states.
    reasons: list[Group] = field(default_factory=list)
    topics: list[TopicRow] = field(default_factory=list)
    overdue: list[OverdueRow] = field(default_factory=list)
    totals: Counter = field(default_factory=Counter)
    truncated: bool = False

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _tz(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except Exception:  # a bad zone name shows UTC days rather than nothing
        return dt.UTC


def local_day(value: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """The local date of a naive-UTC datetime."""
    return value.replace(tzinfo=dt.UTC).astimezone(tz).date()


def window(end: dt.date, days: int, tz: dt.tzinfo) -> tuple[dt.date, dt.datetime]:
    """First local day of the period, and its start as naive UTC (the query's bound)."""
    start = end - dt.timedelta(days=max(1, days) - 1)
    midnight = dt.datetime.combine(start, dt.time(0), tzinfo=tz)
    return start, midnight.astimezone(dt.UTC).replace(tzinfo=None)


def _answer_title(kb: KnowledgeBase, key: str) -> str:
    answer = kb.answers.get(key)
    return answer.button if answer is not None and answer.button else key


def needs_attention(kind: str, confidence: float | None) -> bool:
    return kind != ANSWERED or (confidence is not None and confidence < LOW_CONFIDENCE)


def topics_per_week(
    rows: list[tuple[dt.date, str | None]], kb: KnowledgeBase, top: int = TOPICS_PER_WEEK
) -> list[TopicRow]:
    """The most asked topics of each ISO week, newest week first, commonest topic first."""
    weeks: dict[tuple[int, int], Counter] = defaultdict(Counter)
    for day, topic in rows:
        if topic:
            iso = day.isocalendar()
            weeks[(iso[0], iso[1])][topic] += 1
    out: list[TopicRow] = []
    for year, week in sorted(weeks, reverse=True):
        monday = dt.date.fromisocalendar(year, week, 1)
        ranked = sorted(weeks[(year, week)].items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        out += [TopicRow(year, week, monday, key, _answer_title(kb, key), n) for key, n in ranked]
    return out


def per_day(start: dt.date, end: dt.date, events: list[tuple[dt.date, str]], handoffs: list[dt.date]) -> list[DayRow]:
    """One row per day of the period, also for days without anything."""
    questions: Counter[dt.date] = Counter()
    fallbacks: Counter[dt.date] = Counter()
    tickets = Counter(handoffs)
    for day, kind in events:
        questions[day] += 1
        if kind == FALLBACK:
            fallbacks[day] += 1
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return [DayRow(d, questions[d], fallbacks[d], tickets[d]) for d in days]


def overdue_answers(
    kb: KnowledgeBase, today: dt.date, max_age_days: int = check.DEFAULT_MAX_AGE_DAYS
) -> list[OverdueRow]:
    """Answers past the check age, oldest check first (the same rule as `kb check`)."""
    report = check.build(kb, today, max_age_days, tested=set())
    rows = [OverdueRow(r.key, _answer_title(kb, r.key), r.checked, r.age_days) for r in report.overdue]
    return sorted(rows, key=lambda r: (-r.age_days, r.key))


def build(
    database: str | Engine,
    kb: KnowledgeBase,
    *,
    days: int = DEFAULT_DAYS,
    timezone: str = "Europe/Amsterdam",
    today: dt.date | None = None,
    max_age_days: int = check.DEFAULT_MAX_AGE_DAYS,
    timeout_s: float = 10.0,
    max_rows: int = MAX_ROWS,
) -> Report:
    """Read the period ending ``today`` (local) and aggregate it."""
    tz = _tz(timezone)
    today = today or dt.datetime.now(tz).date()
    start, since = window(today, days, tz)
    engine = db.get_engine(database, timeout_s) if isinstance(database, str) else database
    with db.session_scope(engine) as session:
        events = session.execute(
            select(
                QuestionEvent.at, QuestionEvent.kind, QuestionEvent.topic, QuestionEvent.confidence, QuestionEvent.text
            )
            .where(QuestionEvent.at >= since)
            .order_by(QuestionEvent.at.desc())
            .limit(max_rows)
        ).all()
        tickets = session.execute(
            select(Ticket.created_at, Ticket.question, Ticket.state)
            .where(Ticket.created_at >= since)
            .order_by(Ticket.created_at.desc())
            .limit(max_rows)
        ).all()
    report = Report(
        start=start, end=today, max_age_days=max_age_days, truncated=len(events) >= max_rows or len(tickets) >= max_rows
    )
    dated = [(local_day(at, tz), at, kind, topic, conf, text) for at, kind, topic, conf, text in events]
    dated = [row for row in dated if start <= row[0] <= today]
    report.totals.update(kind for _, _, kind, _, _, _ in dated)
    report.totals["questions"] = len(dated)
    attention = []
    for _, at, kind, _, conf, text in dated:
        if needs_attention(kind, conf):
            tag = LOW if kind == ANSWERED else kind
            report.totals[LOW] += kind == ANSWERED
            if text:
                attention.append((text, at, tag))
    report.questions = group_similar(attention)
    handoffs = [(local_day(at, tz), at, question, state) for at, question, state in tickets]
    handoffs = [h for h in handoffs if start <= h[0] <= today]
    report.totals["handoffs"] = len(handoffs)
    # Stored masked already; masked again in case an older row was not.
    report.reasons = group_similar((mask_text(q), at, state) for _, at, q, state in handoffs)
    report.per_day = per_day(start, today, [(d, kind) for d, _, kind, _, _, _ in dated], [d for d, _, _, _ in handoffs])
    report.topics = topics_per_week(
        [(d, topic) for d, _, kind, topic, _, _ in dated if kind != FALLBACK and kind != CHOICES], kb
    )
    report.overdue = overdue_answers(kb, today, max_age_days)
    return report


__all__ = [
    "DEFAULT_DAYS",
    "KINDS",
    "LOW",
    "PERIODS",
    "DayRow",
    "Group",
    "OverdueRow",
    "Report",
    "TopicRow",
    "build",
]
