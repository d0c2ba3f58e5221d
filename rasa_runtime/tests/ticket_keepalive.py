"""A request waiting behind a replica that was killed while holding a conversation's lock, with
Rasa's own lock store and with ours (stores.RedisLockStore, its ticket keep-alive). Arguments:
the JSON output path and the port of a Redis of the test's own. Writes, per store, the seconds
until the lock was acquired or None when it never was."""

import asyncio
import json
import sys
import time
import uuid

from rasa.core import lock_store
from rasa.core.lock_store import RedisLockStore as RasaRedisLockStore

from stores import RedisLockStore

LIFETIME = 1.0


async def behind_a_dead_holder(store) -> float:
    cid = uuid.uuid4().hex
    store.issue_ticket(cid, LIFETIME)  # a replica took the lock and was killed: never cleaned up
    start = time.monotonic()
    try:
        async with store.lock(cid, lock_lifetime=LIFETIME, wait_time_in_seconds=0.4):
            return round(time.monotonic() - start, 2)
    finally:
        store.delete_lock(cid)


async def attempt(store):
    try:
        return await asyncio.wait_for(behind_a_dead_holder(store), 4 * LIFETIME)
    except asyncio.TimeoutError:
        return None


def main(out_path: str, port: str) -> None:
    lock_store.LOCK_LIFETIME = LIFETIME  # what a request's ticket is renewed to
    settings = {"host": "127.0.0.1", "port": int(port), "db": 0, "key_prefix": "kwtest"}
    out = {
        "rasa": asyncio.run(attempt(RasaRedisLockStore(**settings))),
        "ours": asyncio.run(attempt(RedisLockStore(**settings))),
    }
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
