"""Per-process caches bounded by what they hold, not by how many entries: an estimate of their
bytes and the time since each entry was last used.

A count bound says nothing about memory: 10,000 conversations of the gateway held anything from
a few MB to a GB, depending on how long they were. Here every entry carries an estimate of its
bytes (``size_of``, usually :func:`deep_size`; an owner whose value grows in place calls
:meth:`BoundedCache.resize`), and the cache evicts:

- by idle time: entries not used for ``idle_s`` seconds go at the next access (least recently
  used first, so the sweep stops at the first entry that is not idle);
- by bytes: while the estimate of all entries exceeds ``max_bytes``, the least recently used
  goes, except an entry ``busy`` says is in use now (a conversation's turn holding its lock).

The clock is injectable (``clock``; default :func:`bot.core.clock.monotonic`), so tests move
time instead of waiting. One cache is used by one event loop or under its owner's lock; it has
no lock of its own. Evictions are counted by reason for /metrics (bot/web/metrics.py).
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from bot.core.clock import monotonic

#: What one entry costs beside its key and value: its OrderedDict node and hash slot, the
#: [value, size, last used] list and its two numbers (CPython 3.12, 64 bit, measured with
#: tracemalloc over 100,000 entries: about 190 bytes).
ENTRY_OVERHEAD = 200
#: Why an entry went (the label of kw_cache_evictions_total).
REASONS = ("bytes", "idle")


def deep_size(obj: Any, _seen: set[int] | None = None) -> int:
    """An estimate of the bytes ``obj`` holds: ``sys.getsizeof`` of it and of everything it
    contains (dicts, lists, tuples, sets and the objects in them; an object's ``__dict__`` or
    ``__slots__``), each object counted once. Interned small objects (None, True, small ints) are
    counted too, so it errs on the high side."""
    seen = set() if _seen is None else _seen
    todo = [obj]
    total = 0
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, (str, bytes, int, float, bool)) or item is None:
            continue
        if isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            todo.extend(item)
        else:
            attrs = getattr(item, "__dict__", None)
            if attrs is not None:
                todo.append(attrs)
            for slot in getattr(type(item), "__slots__", ()):
                if hasattr(item, slot):
                    todo.append(getattr(item, slot))
    return total


class BoundedCache[K: Hashable, V]:
    """A least-recently-used mapping bounded by estimated bytes and idle time (module docstring).

    ``size_of(value)`` estimates an entry's value (the key is added with :func:`deep_size`);
    ``busy(value)`` True keeps an entry through a byte eviction (never through an idle one: a
    busy entry is being used, so it is not idle). ``on_evict(key, value, reason)`` is called for
    each evicted entry."""

    def __init__(
        self,
        max_bytes: int,
        idle_s: float,
        size_of: Callable[[V], int] = deep_size,
        *,
        busy: Callable[[V], bool] | None = None,
        clock: Callable[[], float] = monotonic,
        on_evict: Callable[[K, V, str], None] | None = None,
    ) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self.idle_s = float(idle_s)
        self.size_of = size_of
        self.busy = busy
        self.clock = clock
        self.on_evict = on_evict
        #: key -> [value, estimated bytes, last used]; least recently used first.
        self._entries: OrderedDict[K, list[Any]] = OrderedDict()
        self._bytes = 0
        self.evictions: dict[str, int] = dict.fromkeys(REASONS, 0)

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._entries))

    @property
    def bytes(self) -> int:
        """The estimate of everything held now."""
        return self._bytes

    def get(self, key: K, now: float | None = None) -> V | None:
        """The value (now the most recently used), or None: absent, or idle and evicted."""
        now = self.clock() if now is None else now
        self.sweep(now)
        entry = self._entries.get(key)
        if entry is None:
            return None
        entry[2] = now
        self._entries.move_to_end(key)
        return entry[0]  # type: ignore[no-any-return]

    def peek(self, key: K) -> V | None:
        """The value without using it (no sweep, no change of order)."""
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def values(self) -> list[V]:
        return [entry[0] for entry in self._entries.values()]

    # -- writing ---------------------------------------------------------------------------

    def put(self, key: K, value: V, now: float | None = None) -> None:
        """Store ``value`` as the most recently used, then evict down to the bounds (the new
        entry last of all: an entry larger than the whole bound is not kept)."""
        now = self.clock() if now is None else now
        self.pop(key)
        size = ENTRY_OVERHEAD + deep_size(key) + self.size_of(value)
        self._entries[key] = [value, size, now]
        self._bytes += size
        self.sweep(now)
        self._shrink()

    def resize(self, key: K, now: float | None = None) -> None:
        """Estimate an entry again after its value changed in place (a conversation's replies
        grew), mark it used, and evict down to the byte bound."""
        entry = self._entries.get(key)
        if entry is None:
            return
        size = ENTRY_OVERHEAD + deep_size(key) + self.size_of(entry[0])
        self._bytes += size - entry[1]
        entry[1] = size
        entry[2] = self.clock() if now is None else now
        self._entries.move_to_end(key)
        self._shrink()

    def pop(self, key: K) -> V | None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        self._bytes -= entry[1]
        return entry[0]  # type: ignore[no-any-return]

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def sweep(self, now: float | None = None) -> int:
        """Evict the entries idle for ``idle_s`` or longer; how many went."""
        now = self.clock() if now is None else now
        horizon = now - self.idle_s
        gone = 0
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry[2] > horizon:
                break  # the rest were used later
            if self.busy is not None and self.busy(entry[0]):
                entry[2] = now  # in use right now: not idle
                self._entries.move_to_end(key)
                continue
            self._evict(key, "idle")
            gone += 1
        return gone

    def _shrink(self) -> None:
        """Evict least recently used entries while over the byte bound. Busy ones are passed
        over and keep their place; the entry just stored or resized (at the end) goes
        only once everything before it went: an entry larger than the whole bound is not kept."""
        passed: list[K] = []
        while self._bytes > self.max_bytes and len(passed) < len(self._entries):
            key = next(iter(self._entries))
            if self.busy is not None and self.busy(self._entries[key][0]):
                passed.append(key)
                self._entries.move_to_end(key)
                continue
            self._evict(key, "bytes")
        for key in reversed(passed):
            self._entries.move_to_end(key, last=False)

    def _evict(self, key: K, reason: str) -> None:
        value = self.pop(key)
        self.evictions[reason] += 1
        if self.on_evict is not None and value is not None:
            self.on_evict(key, value, reason)
