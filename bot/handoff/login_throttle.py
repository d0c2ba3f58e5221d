"""Failed helpdesk logins per (account, client address), in this process.

Five failures in a row *from one client address* lock the account for that address only, for
15 minutes, then twice as long after each further series: failures from other addresses never
refuse the right password from a new one, so nobody can lock a colleague out from outside.
The account service (bot/handoff/staff.py) asks this throttle before and after each login.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
#: The longest lockout of one address for one account (the doubling stops here).
MAX_LOCKOUT = dt.timedelta(hours=24)
#: (account, address) pairs kept in memory at most; the oldest go first.
MAX_TRACKED = 10_000


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

    def __init__(self, max_failures: int = MAX_FAILED_LOGINS, lockout: dt.timedelta = LOCKOUT) -> None:
        self.max_failures = max(1, int(max_failures))
        self.lockout = lockout
        self._lock = threading.Lock()
        self._pairs: OrderedDict[tuple[int, str], _Pair] = OrderedDict()

    def locked_until(self, user_id: int, client: str, now: dt.datetime) -> dt.datetime | None:
        with self._lock:
            entry = self._pairs.get((user_id, client))
            until = entry.until if entry else None
            return until if until is not None and until > now else None

    def failed(self, user_id: int, client: str, now: dt.datetime) -> dt.datetime | None:
        """Count a failure; the end of the lockout it starts, or None."""
        with self._lock:
            entry = self._pairs.pop((user_id, client), None) or _Pair()
            self._pairs[(user_id, client)] = entry  # most recent last
            while len(self._pairs) > MAX_TRACKED:
                self._pairs.popitem(last=False)
            entry.failures += 1
            if entry.failures < self.max_failures:
                return None
            until = now + min(MAX_LOCKOUT, self.lockout * (1 << min(entry.series, 16)))
            entry.failures, entry.until, entry.series = 0, until, entry.series + 1
            return until

    def succeeded(self, user_id: int, client: str) -> None:
        with self._lock:
            self._pairs.pop((user_id, client), None)

    def clear(self, user_id: int) -> None:
        with self._lock:
            for key in [k for k in self._pairs if k[0] == user_id]:
                del self._pairs[key]
