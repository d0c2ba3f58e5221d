"""The stores Rasa builds from the endpoints.yml that endpoints.py writes: ours, not the
in-memory tracker store Rasa falls back to (with only a warning) when it cannot import a named
class. Arguments: the JSON output path and a directory to write endpoints.yml to."""

import json
import os
import sys
from pathlib import Path

from rasa.core.lock_store import LockStore
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain

import endpoints


def built(var_dir: Path, lock_url) -> dict:
    data = endpoints.endpoints("http://127.0.0.1:5055/webhook", f"sqlite:///{var_dir / 'tracker.db'}", lock_url)
    config = AvailableEndpoints.read_endpoints(str(endpoints.write(var_dir, data)))
    tracker_store = TrackerStore.create(config.tracker_store, Domain.empty())
    lock_store = LockStore.create(config.lock_store)
    return {
        "tracker_store": f"{type(tracker_store).__module__}.{type(tracker_store).__name__}",
        "lock_store": f"{type(lock_store).__module__}.{type(lock_store).__name__}",
    }


def main(out_path: str, var_dir: str) -> None:
    os.environ[endpoints.ACTION_TOKEN_ENV] = endpoints.action_token("kwtest")  # as serve.py sets it
    out = {
        "redis": built(Path(var_dir) / "redis", "redis://127.0.0.1:6390/3"),
        "in_memory": built(Path(var_dir) / "memory", None),
    }
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
