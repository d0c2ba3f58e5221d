"""The one way of leaving the event loop for the database.

Actions, the back-office API, the console and the chat all run blocking SQLAlchemy work through
``run_db`` (async) or ``run_bounded`` (sync callers such as the CLI): one process-wide thread
pool, and a wall-clock bound on every call, so a database that hangs costs a conversation a
Dutch "probeer het zo opnieuw" instead of stalling the event loop.

Each call runs in the caller's context (contextvars), inside a ``db.call`` span: the turn's trace
and log fields reach the pool thread (bot/core/tracing.py).
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from bot.core.metrics import DB_CALL_DURATION, DB_TIMEOUTS
from rasa_runtime import otel

# Enough for the action server's and the gateway's concurrency on a small machine; SQLAlchemy's
# pool (5 + 10 overflow on PostgreSQL) bounds the connections anyway.
WORKERS = 16

_executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="kw-db")
atexit.register(_executor.shutdown, wait=False)


def _in_context[T](fn: Callable[[], T]) -> Callable[[], T]:
    """``fn`` to run in the pool in this (the caller's) context, inside a ``db.call`` span."""
    ctx = contextvars.copy_context()

    def call() -> T:
        if otel.current_ids() is None:  # outside a turn (start-up, purges): no trace of its own
            return fn()
        with otel.span("db.call"):
            return fn()

    return lambda: ctx.run(call)


def run_bounded[T](fn: Callable[[], T], timeout_s: float) -> T:
    """Run ``fn`` in the pool and wait; TimeoutError when it takes longer than ``timeout_s``.

    A timed-out call keeps running in its thread until the driver's own timeouts end it; its
    result is dropped. A call still queued is cancelled.
    """
    started = time.monotonic()
    future = _executor.submit(_in_context(fn))
    try:
        return future.result(timeout=timeout_s)
    except FutureTimeout:
        future.cancel()
        DB_TIMEOUTS.inc()
        raise TimeoutError(f"database call took longer than {timeout_s} s") from None
    finally:
        DB_CALL_DURATION.observe(time.monotonic() - started)


def submit(fn: Callable[[], None]) -> None:
    """Run ``fn`` in the pool without waiting for it (work behind an answer: ``fn`` handles
    its own errors and bounds)."""
    _executor.submit(fn)  # outside the caller's turn: it may take other turns' work along


async def run_db[T](fn: Callable[[], T], timeout_s: float) -> T:
    """``run_bounded`` for async code: the event loop keeps serving while the pool works."""
    started = time.monotonic()
    future = _executor.submit(_in_context(fn))
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout_s)
    except TimeoutError:
        future.cancel()
        DB_TIMEOUTS.inc()
        raise TimeoutError(f"database call took longer than {timeout_s} s") from None
    finally:
        DB_CALL_DURATION.observe(time.monotonic() - started)
