"""Event classes resolved through the cache (trackers_patches.install_event_type_cache) as
Rasa resolves them, and the SQLite file of our tracker store (stores.CachingSQLTrackerStore):
WAL mode, synchronous=NORMAL, one pooled connection. Writes JSON to the path given first."""

import json
import os
import sys
import tempfile

from rasa.shared.core import events
from rasa.shared.core.domain import Domain
from rasa.shared.utils.common import all_subclasses

import trackers_patches
from stores import CachingSQLTrackerStore


def resolved(names):
    return {n: events.Event.resolve_by_type(n).__name__ for n in names}


def main(out_path: str) -> None:
    names = sorted(
        {c.type_name for c in all_subclasses(events.Event) if isinstance(getattr(c, "type_name", None), str)}
    )
    before = resolved(names)
    trackers_patches.install_event_type_cache()
    after, again = resolved(names), resolved(names)
    try:
        events.Event.resolve_by_type("geen-event")
        unknown = "accepted"
    except ValueError:
        unknown = "refused"
    default = events.Event.resolve_by_type("geen-event", events.UserUttered).__name__

    store = CachingSQLTrackerStore(Domain.empty(), dialect="sqlite", db=os.path.join(tempfile.mkdtemp(), "t.db"))
    with store.engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    dbapi = []
    for _ in range(3):
        with store.session_scope() as session:
            dbapi.append(id(session.connection().connection.connection))
    out = {
        "n": len(names),
        "same": before == after == again,
        "unknown": unknown,
        "default": default,
        "mode": mode,
        "sync": sync,
        "pool": type(store.engine.pool).__name__,
        "reused": len(set(dbapi)) == 1,
    }
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
