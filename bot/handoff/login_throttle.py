"""Failed helpdesk logins per (account, client address), in this process.

Five failures in a row *from one client address* lock the account for that address only, for
15 minutes, then twice as long after each further series: failures from other addresses never
refuse the right password from a new one, so nobody can lock a colleague out from outside.
The account service (bot/handoff/staff.py) asks this throttle before and after each login.

The pairs are bounded by what they hold (bot/core/bounded.py): a pair without a failure for
``MAX_LOCKOUT`` (its lockout ended by then) goes; beyond ``max_bytes`` (estimated;
KW_LIMITER_MAX_BYTES) the pairs failed longest ago go first.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from bot.core.bounded import BoundedCache, deep_size

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
#: The longest lockout of one address for one account (the doubling stops here).
MAX_LOCKOUT = dt.timedelta(hours=24)
#: Estimated bytes of the pairs kept in memory at most, unless the caller says otherwise (the
#: oldest go first): some 10,000 pairs.
MAX_BYTES = 4 * 2**20
EPOCH = dt.datetime(1970, 1, 1)


@dataclass
class _Pair:
    """One (account, address) pair's state."""

    failures: int = 0  # in a row, since the last lockout or success
    until: dt.datetime | None = None  # the end of its current lockout
    series: int = 0  # lockouts so far: each lasts twice as long as the one before


class LoginThrottle:
    """Failed logins per (account, client address), in this process: ``max_failures`` in a
    row lock that pair for ``lockout``, each further series for twice as long as the one before
    (up to ``MAX_LOCKOUT``). A success from that address clears it. Like the gateway's other
    rate limits it is per process; the account's counter in the database is shared."""

    def __init__(
        self, max_failures: int = MAX_FAILED_LOGINS, lockout: dt.timedelta = LOCKOUT, max_bytes: int = MAX_BYTES
    ) -> None:
        self.max_failures = max(1, int(max_failures))
        self.lockout = lockout
        self._lock = threading.Lock()
        # Used at each failure only (the clock is the ``now`` the account service passes): a
        # pair idle for MAX_LOCKOUT has no lockout left.
        self._pairs: BoundedCache[tuple[int, str], _Pair] = BoundedCache(
            max_bytes, MAX_LOCKOUT.total_seconds(), deep_size
        )

    @staticmethod
    def _seconds(now: dt.datetime) -> float:
        return (now.replace(tzinfo=None) - EPOCH).total_seconds()

    def size(self) -> tuple[int, int]:
        """Pairs held and their estimated bytes (for /metrics)."""
        with self._lock:
            return len(self._pairs), self._pairs.bytes

    @property
    def evictions(self) -> dict[str, int]:
        return self._pairs.evictions

    def locked_until(self, user_id: int, client: str, now: dt.datetime) -> dt.datetime | None:
        with self._lock:
            entry = self._pairs.peek((user_id, client))
            until = entry.until if entry else None
            return until if until is not None and until > now else None

    def failed(self, user_id: int, client: str, now: dt.datetime) -> dt.datetime | None:
        """Count a failure; the end of the lockout it starts, or None."""
        with self._lock:
            at = self._seconds(now)
            entry = self._pairs.get((user_id, client), at) or _Pair()
            entry.failures += 1
            until = None
            if entry.failures >= self.max_failures:
                until = now + min(MAX_LOCKOUT, self.lockout * (1 << min(entry.series, 16)))
                entry.failures, entry.until, entry.series = 0, until, entry.series + 1
            self._pairs.put((user_id, client), entry, at)  # most recent last
            return until

    def succeeded(self, user_id: int, client: str) -> None:
        with self._lock:
            self._pairs.pop((user_id, client))

    def clear(self, user_id: int) -> None:
        with self._lock:
            for key in [k for k in self._pairs if k[0] == user_id]:
                self._pairs.pop(key)
