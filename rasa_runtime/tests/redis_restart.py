"""The lock store while Redis restarts: Rasa's own and ours (stores.RedisLockStore, built by
Rasa from the lock store endpoints.yml names). Starts, stops and starts again a redis-server of
its own on the given port (never the machine's). Arguments: the JSON output path and the port.

While Redis is down Rasa's lock store fails a turn at once; ours waits for it: a lock taken
while Redis is down, with Redis started again right after, is granted, and the lock store works
as before once Redis is back."""

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import threading
import time

from rasa.core.lock_store import LockError, LockStore
from rasa.core.lock_store import RedisLockStore as RasaRedisLockStore
from rasa.utils.endpoints import EndpointConfig

import endpoints

#: Seconds a redis-server gets to listen.
START_S = 10.0


def start_redis(port: int) -> subprocess.Popen:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed"
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + START_S
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.01)  # polling interval while redis-server starts


def stop_redis(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=10)


async def take(store: LockStore, conversation_id: str) -> bool:
    async with store.lock(conversation_id, wait_time_in_seconds=0.05):
        return True


def main(out_path: str, port: str) -> None:
    redis_port = int(port)
    server = start_redis(redis_port)
    try:
        config = EndpointConfig.from_dict(endpoints.lock_store(f"redis://127.0.0.1:{redis_port}/0"))
        ours = LockStore.create(config)
        rasa = RasaRedisLockStore(host="127.0.0.1", port=redis_port, db=0)
        out = {
            "store": f"{type(ours).__module__}.{type(ours).__name__}",
            "before": asyncio.run(take(ours, "before")) and asyncio.run(take(rasa, "before")),
        }
        stop_redis(server)
        try:
            asyncio.run(take(rasa, "down"))
            out["rasa_while_down"] = "granted"
        except LockError:
            out["rasa_while_down"] = "failed"
        # Ours asks while Redis is down; Redis starts again as soon as the request is under way.
        result = {}
        asking = threading.Event()

        def ask() -> None:
            asking.set()
            try:
                result["granted"] = asyncio.run(take(ours, "during"))
            except LockError as exc:
                result["error"] = str(exc)

        thread = threading.Thread(target=ask)
        thread.start()
        asking.wait()
        server = start_redis(redis_port)
        thread.join()
        out["ours_across_restart"] = result
        out["after"] = asyncio.run(take(ours, "after")) and asyncio.run(take(rasa, "after"))
    finally:
        stop_redis(server)
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
