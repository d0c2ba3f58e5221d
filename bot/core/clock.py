"""The clock: every stored datetime is naive UTC."""

from __future__ import annotations

import datetime as dt
import time


def utcnow() -> dt.datetime:
    """Now in UTC, naive (the storage convention of the app database)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def monotonic() -> float:
    """Seconds on a clock that never goes back (idle times, cache ages). Caches take it as an
    argument (bot/core/bounded.py), so tests hand them a clock of their own to move."""
    return time.monotonic()
