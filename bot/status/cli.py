"""Sub-commands of ``python -m bot`` for the status store.

The project's CLI calls ``add_commands(subparsers)``; every sub-command sets
``func(args, settings) -> int`` (the exit code).

* ``db-upgrade``           create/upgrade every table of the app database (Alembic)
* ``import-status FILE``   import a back-office CSV export (all rows or nothing)
* ``demo-data``            load the demo applications and print number + code
* ``demo-data-remove``     delete them again (production refuses to start while they exist)
"""

from __future__ import annotations

import argparse
from typing import Any

from bot import migrations
from bot.core.commands import add_table, refused, say
from bot.settings import Settings


def add_commands(subparsers: Any) -> None:
    add_table(subparsers, COMMANDS)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    migrations.upgrade(settings.database_url)
    say(f"Database bijgewerkt tot de nieuwste versie ({migrations.current_revision(settings.database_url)}).")
    return 0


def cmd_import_status(args: argparse.Namespace, settings: Settings) -> int:
    from bot.status.csv_import import import_csv

    if not args.dry_run:  # a check changes nothing, not even the schema
        migrations.upgrade(settings.database_url)
    report = import_csv(args.file, settings.database_url, dry_run=args.dry_run)
    say(report.format(), error=not report.ok)
    return 0 if report.ok else 1


def cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    from bot.status.demo import format_demo_table, load_demo_data

    if settings.production:
        return refused("Demo-gegevens laden kan niet als KW_ENV=production.", 2)
    migrations.upgrade(settings.database_url)
    say(format_demo_table(load_demo_data(settings.database_url)))
    return 0


def cmd_demo_data_remove(args: argparse.Namespace, settings: Settings) -> int:
    from bot.status.demo import remove_demo_data

    migrations.upgrade(settings.database_url)
    say(f"{remove_demo_data(settings.database_url)} demo-aanvragen verwijderd.")
    return 0


COMMANDS = (
    ("db-upgrade", "maak of werk alle tabellen van de app-database bij (Alembic-migraties)", cmd_db_upgrade, ()),
    (
        "import-status",
        "importeer statussen uit een CSV-export van de backoffice",
        cmd_import_status,
        (
            (("file",), {"metavar": "FILE", "help": "CSV-bestand (scheidingsteken ; of ,)"}),
            (("--dry-run",), {"action": "store_true", "help": "alleen controleren, niets opslaan"}),
        ),
    ),
    ("demo-data", "laad de demo-aanvragen en toon nummer en verificatiecode", cmd_demo_data, ()),
    ("demo-data-remove", "verwijder de demo-aanvragen (voor productie)", cmd_demo_data_remove, ()),
)
