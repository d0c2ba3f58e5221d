"""A small in-memory token-bucket rate limiter, keyed by pseudonymous client id.

Per gateway process; with several gateways behind a load balancer each enforces its own share
(sticky sessions or a shared store would make it global; good enough against floods).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_KEYS = 50_000


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        burst: int | None = None,
        max_keys: int = MAX_KEYS,
        on_refused: Callable[[], None] | None = None,
    ):
        #: Called on every refusal (the gateway's /metrics counts them, bot/web/metrics.py).
        self.on_refused = on_refused
        self.per_minute = max(1, int(per_minute))
        self.capacity = float(burst if burst is not None else self.per_minute)
        self.rate = self.per_minute / 60.0  # tokens per second
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def hit(self, key: str, now: float | None = None, cost: float = 1.0) -> tuple[bool, int]:
        """Take `cost` tokens for `key`: (allowed, seconds to wait when not allowed)."""
        current = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self.capacity, current))
        tokens = min(self.capacity, tokens + (current - last) * self.rate)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        self._buckets[key] = (tokens, current)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if allowed:
            return True, 0
        if self.on_refused is not None:
            self.on_refused()
        return False, max(1, math.ceil((cost - tokens) / self.rate))
