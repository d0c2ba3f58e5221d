"""Opening hours of the helpdesk, from one setting string (``KW_HELPDESK_HOURS``).

Format: clauses separated by ``;``; each clause is one or more days and one or more time ranges::

    ma-vr 09:00-17:00
    ma,wo 10:00-12:00; do 13:00-16:00
    ma t/m do 9:00-12:00, 13:00-17:00; vr 9:00-12:00

Days: ``ma di wo do vr za zo`` or written out (``maandag`` …), single, comma-separated or as a
range with ``-`` or ``t/m`` (a range may wrap: ``za-ma``). Times: ``H:MM`` or ``HH:MM`` 24-hour,
the end after the start on the same day (``24:00`` is the end of the day). Ranges of one day
are merged. Anything else raises ``ValueError`` naming the problem.

All times are wall-clock times in the configured time zone (``KW_TIMEZONE``, Europe/Amsterdam);
``now`` must be timezone-aware (or None for the current time).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.settings import Settings
from bot.texts import MONTHS

DAY_ABBR = ("ma", "di", "wo", "do", "vr", "za", "zo")
DAY_NAMES = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_DAYS = {name: i for i, name in enumerate(DAY_ABBR)}
_DAYS.update({name: i for i, name in enumerate(DAY_NAMES)})

_TIME = r"(\d{1,2})[:.](\d{2})"
_RANGE_RE = re.compile(_TIME + r"\s*[-\u2013]\s*" + _TIME)
_TIMES_RE = re.compile(
    r"^" + _TIME + r"\s*[-\u2013]\s*" + _TIME + r"(?:\s*[,\s]\s*" + _TIME + r"\s*[-\u2013]\s*" + _TIME + r")*$"
)
_CLAUSE_RE = re.compile(r"^(?P<days>[^\d]+?)\s*(?P<times>\d.*)$")
_DAY_RANGE_RE = re.compile(r"^(\w+)\s*(?:-|\u2013|t/m|tot en met)\s*(\w+)$")

Interval = tuple[int, int]  # minutes since local midnight, [start, end)


def _fmt_minutes(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def format_time(value: dt.datetime) -> str:
    """``9:00``, ``13:30`` — the Dutch way, no leading zero."""
    return f"{value.hour}:{value.minute:02d}"


@dataclass(frozen=True)
class OpeningHours:
    """A weekly schedule: for each weekday (0 = maandag) the open intervals, sorted, merged."""

    spec: str
    week: tuple[tuple[Interval, ...], ...]
    tz: dt.tzinfo

    # ------------------------------------------------------------------ construction

    @classmethod
    def parse(cls, spec: str, timezone: str = "Europe/Amsterdam") -> OpeningHours:
        return parse_hours(spec, timezone)

    @classmethod
    def from_settings(cls, settings: Settings) -> OpeningHours:
        """From ``settings.helpdesk_hours`` and ``settings.timezone`` (cached per value)."""
        return _cached(settings.helpdesk_hours, settings.timezone)

    # ------------------------------------------------------------------ queries

    def _local(self, now: dt.datetime | None) -> dt.datetime:
        if now is None:
            return dt.datetime.now(self.tz)
        if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
            raise ValueError("now must be timezone-aware (or None for the current time)")
        return now.astimezone(self.tz)

    def is_open(self, now: dt.datetime | None = None) -> bool:
        local = self._local(now)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.week[local.weekday()])

    def next_opening(self, now: dt.datetime | None = None) -> dt.datetime:
        """``now`` (in the configured zone) when open, else the start of the next open period."""
        local = self._local(now)
        if self.is_open(local):
            return local
        minute = local.hour * 60 + local.minute
        for offset in range(0, 8):
            day = local.date() + dt.timedelta(days=offset)
            for start, _end in self.week[day.weekday()]:
                if offset == 0 and start <= minute:
                    continue
                candidate = dt.datetime.combine(day, dt.time(start // 60, start % 60), tzinfo=self.tz)
                # Normalise a wall-clock time skipped by a DST change.
                candidate = candidate.astimezone(dt.UTC).astimezone(self.tz)
                if candidate > local:
                    return candidate
        raise ValueError("opening hours without any open period")  # parse() prevents this

    def when_text(self, moment: dt.datetime, now: dt.datetime | None = None) -> str:
        """``vandaag 13:00``, ``morgen 9:00``, ``maandag 9:00`` or ``maandag 6 januari 9:00``."""
        local_now = self._local(now)
        moment = moment.astimezone(self.tz)
        days = (moment.date() - local_now.date()).days
        if days == 0:
            day = "vandaag"
        elif days == 1:
            day = "morgen"
        elif days < 7:
            day = DAY_NAMES[moment.weekday()]
        else:
            day = f"{DAY_NAMES[moment.weekday()]} {moment.day} {MONTHS[moment.month - 1]}"
        return f"{day} {format_time(moment)}"

    def closed_message(self, now: dt.datetime | None = None) -> str | None:
        """The sentence for the user when the helpdesk is closed, or None when it is open.

        ``De helpdesk is nu gesloten. We beantwoorden je vraag vanaf maandag 9:00.``
        """
        local = self._local(now)
        if self.is_open(local):
            return None
        opening = self.next_opening(local)
        return f"De helpdesk is nu gesloten. We beantwoorden je vraag vanaf {self.when_text(opening, local)}."

    def describe(self) -> str:
        """The schedule in Dutch: ``maandag t/m vrijdag 9:00-17:00``."""
        parts: list[str] = []
        day = 0
        while day < 7:
            intervals = self.week[day]
            last = day
            while last + 1 < 7 and self.week[last + 1] == intervals:
                last += 1
            if intervals:
                if last == day:
                    days = DAY_NAMES[day]
                elif last == day + 1:
                    days = f"{DAY_NAMES[day]} en {DAY_NAMES[last]}"
                else:
                    days = f"{DAY_NAMES[day]} t/m {DAY_NAMES[last]}"
                times = ", ".join(f"{_fmt_minutes(s)}-{_fmt_minutes(e)}" for s, e in intervals)
                parts.append(f"{days} {times}")
            day = last + 1
        return "; ".join(parts)


# ---------------------------------------------------------------------- parsing


def _day(name: str, spec: str) -> int:
    key = name.strip().lower().rstrip(".")
    if key not in _DAYS:
        raise ValueError(
            f"opening hours {spec!r}: unknown day {name.strip()!r} (use {' '.join(DAY_ABBR)} or the full names)"
        )
    return _DAYS[key]


def _days(text: str, spec: str) -> list[int]:
    days: list[int] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"opening hours {spec!r}: empty day in {text.strip()!r}")
        match = _DAY_RANGE_RE.match(item)
        if match:
            first, last = _day(match.group(1), spec), _day(match.group(2), spec)
            if first == last:
                raise ValueError(f"opening hours {spec!r}: day range {item!r} has one day")
            day = first
            days.append(day)
            while day != last:
                day = (day + 1) % 7
                days.append(day)
        else:
            days.append(_day(item, spec))
    return days


def _minutes(hours: str, minutes: str, spec: str, end: bool) -> int:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and m != 0) or (h == 24 and not end):
        raise ValueError(f"opening hours {spec!r}: invalid time {hours}:{minutes}")
    return h * 60 + m


def _merge(intervals: Sequence[Interval]) -> tuple[Interval, ...]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def parse_hours(spec: str, timezone: str = "Europe/Amsterdam") -> OpeningHours:
    """Parse a setting such as ``ma-vr 09:00-17:00``; ValueError naming the problem."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("opening hours are empty (example: 'ma-vr 09:00-17:00')")
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r} (example: 'Europe/Amsterdam')") from None
    week: list[list[Interval]] = [[] for _ in range(7)]
    for clause in re.split(r"[;\n]", spec):
        clause = clause.strip()
        if not clause:
            continue
        match = _CLAUSE_RE.match(clause)
        if not match:
            raise ValueError(f"opening hours {spec!r}: {clause!r} needs days and times, like 'ma-vr 09:00-17:00'")
        times = match.group("times").strip()
        if not _TIMES_RE.match(times):
            raise ValueError(
                f"opening hours {spec!r}: cannot read the times {times!r} "
                f"(use HH:MM-HH:MM, several separated by commas)"
            )
        days = _days(match.group("days").strip().rstrip(":"), spec)
        for m in _RANGE_RE.finditer(times):
            start = _minutes(m.group(1), m.group(2), spec, end=False)
            end = _minutes(m.group(3), m.group(4), spec, end=True)
            if end <= start:
                raise ValueError(
                    f"opening hours {spec!r}: end {m.group(3)}:{m.group(4)} is not after "
                    f"start {m.group(1)}:{m.group(2)} (a range cannot pass midnight)"
                )
            for day in days:
                week[day].append((start, end))
    if not any(week):
        raise ValueError(f"opening hours {spec!r}: no open period found")
    return OpeningHours(spec=spec, week=tuple(_merge(d) for d in week), tz=tz)


@lru_cache(maxsize=16)
def _cached(spec: str, timezone: str) -> OpeningHours:
    return parse_hours(spec, timezone)


def for_settings(settings: Settings) -> OpeningHours:
    """The helpdesk's opening hours from the settings (parsed once per value)."""
    return OpeningHours.from_settings(settings)


def is_open(settings: Settings, now: dt.datetime | None = None) -> bool:
    return for_settings(settings).is_open(now)


def next_opening(settings: Settings, now: dt.datetime | None = None) -> dt.datetime:
    return for_settings(settings).next_opening(now)


def closed_message(settings: Settings, now: dt.datetime | None = None) -> str | None:
    return for_settings(settings).closed_message(now)
