"""Conventions shared by the handoff service modules: naive UTC times, sender names, and how
free text is cleaned and clipped before it is stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from bot.core.clock import utcnow
from bot.handoff.models import (
    SENDER_ASSISTENT,
    SENDER_GEBRUIKER,
    SENDER_MEDEWERKER,
    SENDER_SYSTEEM,
    SENDERS,
)

_SENDER_ALIASES = {
    "gebruiker": SENDER_GEBRUIKER,
    "user": SENDER_GEBRUIKER,
    "assistent": SENDER_ASSISTENT,
    "bot": SENDER_ASSISTENT,
    "medewerker": SENDER_MEDEWERKER,
    "agent": SENDER_MEDEWERKER,
    "systeem": SENDER_SYSTEEM,
    "system": SENDER_SYSTEEM,
}
#: The most transcript lines a new ticket keeps (the newest).
MAX_TRANSCRIPT = 500


def utc(value: dt.datetime | float | int | None) -> dt.datetime:
    """Naive UTC (the storage convention). Naive input is taken to be UTC already;
    numbers are Unix timestamps (as in Rasa tracker events)."""
    if value is None:
        return utcnow()
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def sender(value: object) -> str:
    name = _SENDER_ALIASES.get(str(value).strip().lower()) if value is not None else None
    if name is None:
        raise ValueError(f"onbekende afzender {value!r}; kies uit {', '.join(SENDERS)}")
    return name


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def clean_text(text: str | None) -> str:
    """Strip, drop NULs and other control characters except newlines and tabs."""
    if text is None:
        return ""
    cleaned = "".join(ch for ch in str(text) if ch in "\n\t" or (ord(ch) >= 32 and ch != "\x7f"))
    return cleaned.strip()


def transcript_rows(transcript: Iterable[Any]) -> list[tuple[str, str, Any]]:
    rows: list[tuple[str, str, Any]] = []
    for item in transcript or ():
        if isinstance(item, dict):
            who, text, at = item.get("sender"), item.get("text"), item.get("at")
        else:
            item = tuple(item)
            if len(item) not in (2, 3):
                raise ValueError("transcriptregel: verwacht (afzender, tekst[, tijd])")
            who, text, at = ((*item, None))[:3]
        text = clean_text(text)
        if text:
            rows.append((sender(who), text, at))
    return rows[-MAX_TRANSCRIPT:]
