"""The tracker store's pooled PostgreSQL connections after the server dropped them (as a
restart does): Rasa's own SQL tracker store and ours (stores.CachingSQLTrackerStore, built by
Rasa from the tracker store endpoints.yml names). Arguments: the JSON output path and the URL of
an empty database of the test's own. Every connection to that database is terminated by the
server between two turns; Rasa's store fails the next turn, ours answers it."""

import asyncio
import json
import sys

import psycopg2
import sqlalchemy.exc
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import endpoints


def drop_connections(url: str) -> int:
    """What a server restart does to the pools: every other connection to the database ends."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0]
    finally:
        conn.close()


async def turn(store: TrackerStore, sender: str) -> str:
    try:
        tracker = await store.retrieve(sender)
        tracker.update(UserUttered("hoi", {"name": "greet", "confidence": 1.0}))
        await store.save(tracker)
        return "answered"
    except sqlalchemy.exc.OperationalError:
        return "failed"


def main(out_path: str, url: str) -> None:
    domain = Domain.load("domain.yml")
    config = EndpointConfig.from_dict(endpoints.sql_store(url))
    ours = TrackerStore.create(config, domain)
    rasa = SQLTrackerStore(domain, host=url)

    async def run() -> dict:
        for store, sender in ((ours, "ours"), (rasa, "rasa")):
            await store.save(
                DialogueStateTracker.from_events(
                    sender,
                    [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")],
                    domain.slots,
                )
            )
        before = [await turn(ours, "ours"), await turn(rasa, "rasa")]
        dropped = drop_connections(url)
        return {
            "store": f"{type(ours).__module__}.{type(ours).__name__}",
            "before": before,
            "dropped": dropped,
            "ours": await turn(ours, "ours"),
            "rasa": await turn(rasa, "rasa"),
        }

    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(asyncio.run(run()), handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
