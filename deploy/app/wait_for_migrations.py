"""Wait until the app database is at the newest migration; changes nothing.

Kubernetes has no "after the Job" for Deployments: this runs as the init container of the
gateway and action-server pods, so no new pod serves (or races the Job creating tables) before
``python -m bot db-upgrade`` (the kw-migrate Job) has brought the schema to this image's head.
docker compose does not need it: ``depends_on: condition: service_completed_successfully``.

Run as ``python deploy/app/wait_for_migrations.py [--timeout SECONDS]`` in the app image.
"""

from __future__ import annotations

import argparse
import sys
import time


def head() -> str:
    """The newest revision of bot/migrations in this image."""
    from alembic.script import ScriptDirectory

    from bot import migrations

    revision = ScriptDirectory.from_config(migrations.alembic_config()).get_current_head()
    if revision is None:  # an image without migrations is a build error, not a state to wait for
        raise RuntimeError("bot/migrations has no revision")
    return revision


def at_head(url: str) -> bool:
    from bot import migrations

    return migrations.current_revision(url) == head()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    from bot.settings import get_settings

    url = get_settings().database_url
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            if at_head(url):
                print(f"App database at {head()}.", flush=True)
                return 0
            reason = "not migrated yet"
        except Exception as exc:
            reason = type(exc).__name__
        if time.monotonic() > deadline:
            print(
                f"App database not at {head()} after {args.timeout:.0f} s ({reason}); did the kw-migrate Job run?",
                file=sys.stderr,
            )
            return 1
        time.sleep(3)  # poll interval while the migration Job runs


if __name__ == "__main__":
    sys.exit(main())
