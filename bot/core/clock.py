"""The clock: every stored datetime is naive UTC."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now in UTC, naive (the storage convention of the app database)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
