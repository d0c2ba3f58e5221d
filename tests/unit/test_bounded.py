"""Per-process caches bounded by estimated bytes and idle time (bot/core/bounded.py) and the
caches built on it: the rate limiters' buckets, the helpdesk login throttle and a conversation's
reply cache. Time is a clock of the test's own, moved by hand."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from bot.core.bounded import ENTRY_OVERHEAD, BoundedCache, deep_size
from bot.handoff.login_throttle import MAX_LOCKOUT, LoginThrottle
from bot.web.chat.service import REPLY_CACHE, REPLY_CACHE_MAX_BYTES, SessionState
from bot.web.ratelimit import BUCKET_BYTES, RateLimiter


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_deep_size_counts_what_a_value_holds_once():
    text = "x" * 1000
    assert deep_size(text) == sys.getsizeof(text)
    one = deep_size([text])
    assert one == sys.getsizeof([text]) + sys.getsizeof(text)
    # The same string twice is held once; two equal but distinct strings twice.
    assert deep_size([text, text]) == sys.getsizeof([text, text]) + sys.getsizeof(text)
    other = "".join(["x"] * 1000)
    assert deep_size([text, other]) == sys.getsizeof([text, other]) + 2 * sys.getsizeof(text)
    nested = {"messages": [{"text": text, "buttons": [{"title": "a", "payload": "/b"}]}]}
    assert deep_size(nested) > 1000 + sys.getsizeof(nested)


def sized(n: int) -> int:
    return n


def test_evicts_least_recently_used_by_bytes():
    entry = ENTRY_OVERHEAD + deep_size("a")
    cache: BoundedCache[str, int] = BoundedCache(3 * (entry + 100), 3600, sized, clock=Clock())
    for key in "abc":
        cache.put(key, 100)
    assert list(cache) == ["a", "b", "c"] and cache.bytes == 3 * (entry + 100)
    assert cache.get("a") == 100  # now the most recently used
    cache.put("d", 100)
    assert list(cache) == ["c", "a", "d"]
    assert cache.evictions == {"bytes": 1, "idle": 0}
    # A larger entry pushes out as many as it needs.
    cache.put("e", 250)
    assert list(cache) == ["d", "e"] and cache.bytes == 2 * entry + 350
    # One larger than the whole bound is not kept at all.
    cache.put("f", 10_000)
    assert "f" not in cache and cache.bytes <= cache.max_bytes


def test_a_busy_entry_survives_a_byte_eviction():
    busy = {"a"}
    entry = ENTRY_OVERHEAD + deep_size("a")
    cache: BoundedCache[str, str] = BoundedCache(
        2 * (entry + 100), 3600, lambda _v: 100, busy=lambda v: v in busy, clock=Clock()
    )
    cache.put("a", "a")
    cache.put("b", "b")
    cache.put("c", "c")
    assert list(cache) == ["a", "c"]  # b went although a was older
    busy.clear()
    cache.put("d", "d")
    assert list(cache) == ["c", "d"]


def test_resize_follows_a_value_that_grew():
    cache: BoundedCache[str, list[str]] = BoundedCache(10_000, 3600, deep_size, clock=Clock())
    held: list[str] = []
    cache.put("k", held)
    before = cache.bytes
    held.extend(["y" * 500] * 3)  # the same string three times: held once
    cache.resize("k")
    assert cache.bytes == before + sys.getsizeof("y" * 500) + sys.getsizeof(held) - sys.getsizeof([])
    held.append("z" * 20_000)
    cache.resize("k")  # now larger than the bound: it goes
    assert "k" not in cache and cache.bytes == 0 and cache.evictions["bytes"] == 1


def test_idle_entries_go_at_the_next_access():
    clock = Clock()
    cache: BoundedCache[str, int] = BoundedCache(1 << 20, 60, sized, clock=clock)
    cache.put("a", 1)
    clock.now += 30
    cache.put("b", 1)
    clock.now += 29
    assert cache.get("a") == 1  # used 59 s after it was stored: it stays, as the newest
    clock.now += 31
    assert cache.get("c") is None
    assert list(cache) == ["a"]  # b was unused for 60 s
    assert cache.evictions == {"bytes": 0, "idle": 1}
    clock.now += 60
    assert cache.sweep() == 1 and len(cache) == 0 and cache.bytes == 0


def test_a_busy_entry_is_not_idle():
    clock = Clock()
    cache: BoundedCache[str, str] = BoundedCache(1 << 20, 60, lambda _v: 1, busy=lambda v: v == "turn", clock=clock)
    cache.put("a", "turn")
    cache.put("b", "quiet")
    clock.now += 61
    cache.sweep()
    assert list(cache) == ["a"] and cache.evictions["idle"] == 1


def test_rate_limit_buckets_go_once_full_again_and_stay_within_bytes():
    clock = Clock()
    limiter = RateLimiter(per_minute=60, clock=clock)
    for _ in range(3):
        assert limiter.hit("a")[0]
    assert limiter.size() == (1, ENTRY_OVERHEAD + deep_size("a") + BUCKET_BYTES)
    clock.now += 59.9  # not yet full again: the bucket stays and counts what was taken
    assert limiter.hit("b")[0]
    assert limiter.size()[0] == 2
    clock.now += 0.2
    limiter.hit("b")
    assert limiter.size()[0] == 1 and limiter.evictions["idle"] == 1
    assert all(limiter.hit("a")[0] for _ in range(60))  # a fresh bucket, as if never seen
    # The byte bound: 10 keys' worth.
    key_bytes = ENTRY_OVERHEAD + deep_size("client-00") + BUCKET_BYTES
    small = RateLimiter(per_minute=60, max_bytes=10 * key_bytes, clock=clock)
    for i in range(25):
        small.hit(f"client-{i:02d}")
    assert small.size() == (10, 10 * key_bytes) and small.evictions["bytes"] == 15


def test_rate_limiter_refuses_until_refilled_with_its_clock():
    clock = Clock()
    limiter = RateLimiter(per_minute=2, clock=clock)
    assert limiter.hit("a")[0] and limiter.hit("a")[0]
    assert limiter.hit("a") == (False, 30)
    clock.now += 30
    assert limiter.hit("a")[0]


def test_login_throttle_forgets_pairs_idle_for_the_longest_lockout():
    throttle = LoginThrottle(max_failures=2)
    t0 = dt.datetime(2026, 12, 7, 9, 0)
    assert throttle.failed(1, "c1", t0) is None
    until = throttle.failed(1, "c1", t0)
    assert until is not None and throttle.locked_until(1, "c1", t0) == until
    throttle.failed(2, "c2", t0 + dt.timedelta(hours=1))
    assert throttle.size()[0] == 2
    # Any failure a day after the pair's last one: the pair (its lockout long over) goes.
    later = t0 + MAX_LOCKOUT + dt.timedelta(seconds=1)
    throttle.failed(3, "c3", later)
    assert throttle.size()[0] == 2 and throttle.evictions["idle"] == 1
    assert throttle.locked_until(1, "c1", later) is None
    # The series starts over: the next lockout is the first one's length again.
    throttle.failed(1, "c1", later)
    assert throttle.failed(1, "c1", later) == later + (until - t0)


def test_login_throttle_is_bounded_by_bytes():
    one = LoginThrottle(max_failures=5)
    one.failed(1, "client-000", dt.datetime(2026, 12, 7))
    pair_bytes = one.size()[1]
    throttle = LoginThrottle(max_failures=5, max_bytes=20 * pair_bytes)
    now = dt.datetime(2026, 12, 7)
    for i in range(50):
        throttle.failed(i, f"client-{i:03d}", now)
    count, held = throttle.size()
    # Full: within the bound, with no room for one more pair; the oldest went.
    assert held <= 20 * pair_bytes < held + pair_bytes
    assert count >= 20 and throttle.evictions["bytes"] == 50 - count
    assert throttle.locked_until(49, "client-049", now) is None and not throttle.evictions["idle"]


def reply(n: int, chars: int) -> list[dict[str, object]]:
    return [{"text": f"{n:04d}" + "a" * chars, "buttons": [{"title": f"Knop {n}", "payload": f"/keuze_{n}"}]}]


def test_a_conversations_reply_cache_is_bounded_by_count_and_bytes():
    state = SessionState(warm=True)
    empty = state.size
    for n in range(REPLY_CACHE + 5):
        state.remember(f"m{n}", reply(n, 10))
    assert len(state.replies) == REPLY_CACHE and next(iter(state.replies)) == "m5"
    offered = sum(deep_size(payload) + deep_size(title) for payload, title in state.offered.items())
    assert state.size == empty + state.reply_bytes + offered
    big = REPLY_CACHE_MAX_BYTES // 4
    for n in range(100, 108):
        state.remember(f"m{n}", reply(n, big))
    assert state.reply_bytes <= REPLY_CACHE_MAX_BYTES
    assert list(state.replies)[-1] == "m107" and len(state.replies) <= 4
    assert state.reply_bytes == sum(deep_size(mid) + deep_size(msgs) for mid, msgs in state.replies.items())
    # The newest reply stays even when it alone is larger than the bound.
    state.remember("huge", reply(999, 2 * REPLY_CACHE_MAX_BYTES))
    assert list(state.replies) == ["huge"]
    # Every button offered stays known (a click on an older one is still accepted).
    assert state.offered["/keuze_0"] == "Knop 0" and state.offered["/keuze_999"] == "Knop 999"


@pytest.mark.parametrize("idle", [0.0, -1.0])
def test_an_idle_time_of_zero_keeps_nothing_between_accesses(idle):
    clock = Clock()
    cache: BoundedCache[str, int] = BoundedCache(1 << 20, idle, sized, clock=clock)
    cache.put("a", 1)
    assert len(cache) == 0 and cache.evictions["idle"] == 1
