"""A small in-memory token-bucket rate limiter, keyed by pseudonymous client id.

Per gateway process; with several gateways behind a load balancer each enforces its own share
(sticky sessions or a shared store would make it global; good enough against floods).

The buckets are bounded by what they hold (bot/core/bounded.py): a bucket unused for as long as
it takes to fill up again is the same as none and goes; beyond ``max_bytes`` (estimated; each
limiter: KW_LIMITER_MAX_BYTES) the least recently used go first.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

from bot.core.bounded import BoundedCache
from bot.core.clock import monotonic

#: Estimated buckets of one limiter at most, unless the caller says otherwise (4 MiB: some
#: 14,000 keys of 64-character pseudonyms).
MAX_BYTES = 4 * 2**20
#: A bucket's value: a tuple of two floats.
BUCKET_BYTES = sys.getsizeof((0.0, 0.0)) + 2 * sys.getsizeof(0.0)


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        burst: int | None = None,
        max_bytes: int = MAX_BYTES,
        on_refused: Callable[[], None] | None = None,
        clock: Callable[[], float] = monotonic,
    ):
        #: Called on every refusal (the gateway's /metrics counts them, bot/web/metrics.py).
        self.on_refused = on_refused
        self.per_minute = max(1, int(per_minute))
        self.capacity = float(burst if burst is not None else self.per_minute)
        self.rate = self.per_minute / 60.0  # tokens per second
        self.clock = clock
        # A bucket idle this long is full again: forgetting it changes nothing.
        self._buckets: BoundedCache[str, tuple[float, float]] = BoundedCache(
            max_bytes, self.capacity / self.rate, lambda _value: BUCKET_BYTES, clock=clock
        )

    @property
    def evictions(self) -> dict[str, int]:
        return self._buckets.evictions

    def size(self) -> tuple[int, int]:
        """Buckets held and their estimated bytes."""
        return len(self._buckets), self._buckets.bytes

    def hit(self, key: str, now: float | None = None, cost: float = 1.0) -> tuple[bool, int]:
        """Take `cost` tokens for `key`: (allowed, seconds to wait when not allowed)."""
        current = self.clock() if now is None else now
        tokens, last = self._buckets.get(key, current) or (self.capacity, current)
        tokens = min(self.capacity, tokens + (current - last) * self.rate)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        self._buckets.put(key, (tokens, current), current)
        if allowed:
            return True, 0
        if self.on_refused is not None:
            self.on_refused()
        return False, max(1, math.ceil((cost - tokens) / self.rate))
