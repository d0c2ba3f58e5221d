"""Sub-commands of ``python -m bot`` for the helpdesk handoff.

The project's CLI calls ``add_commands(subparsers)``; every sub-command sets
``func(args, settings) -> int`` (the exit code).

* ``staff-create USERNAME NAAM [--role R]``   create a staff account (the first beheerder);
  the password is asked twice (getpass) or read from ``KW_NEW_STAFF_PASSWORD``
* ``staff-role USERNAME ROL``                 change the role of an account
* ``staff-remove-demo``                       delete the demo account(s) (before production)
"""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Callable, Mapping
from typing import Any

from bot import migrations
from bot.core.commands import add_table, refused, say
from bot.handoff.models import ROLE_MEDEWERKER, ROLES
from bot.handoff.staff import PASSWORD_ENV, StaffError, StaffService
from bot.settings import Settings


def add_commands(subparsers: Any) -> None:
    add_table(subparsers, COMMANDS)


def read_password(env: Mapping[str, str] | None = None, prompt: Callable[[str], str] | None = None) -> str | None:
    """From ``KW_NEW_STAFF_PASSWORD`` when set, else asked twice; None when they differ."""
    env = os.environ if env is None else env
    prompt = prompt or getpass.getpass
    value = env.get(PASSWORD_ENV)
    if value:
        return value
    first = prompt("Wachtwoord (minstens 12 tekens): ")
    second = prompt("Herhaal het wachtwoord: ")
    if first != second:
        return None
    return first


def cmd_staff_create(args: argparse.Namespace, settings: Settings) -> int:
    migrations.upgrade(settings.database_url)
    try:
        password = read_password()
    except (EOFError, KeyboardInterrupt):
        return refused("Afgebroken.")
    if password is None:
        return refused("De wachtwoorden zijn niet gelijk.")
    try:
        user = StaffService.from_settings(settings).create_user(args.username, args.display_name, password, args.role)
    except StaffError as exc:
        return refused(exc)
    say(f"Account {user.username} ({user.display_name}) aangemaakt met rol {user.role}.")
    return 0


def cmd_staff_role(args: argparse.Namespace, settings: Settings) -> int:
    try:
        user = StaffService.from_settings(settings).change_role(args.username, args.role)
    except StaffError as exc:
        return refused(exc)
    say(f"Account {user.username} heeft nu de rol {user.role}.")
    return 0


def cmd_staff_remove_demo(args: argparse.Namespace, settings: Settings) -> int:
    migrations.upgrade(settings.database_url)
    removed = StaffService.from_settings(settings).delete_demo_users()
    say(f"{removed} demo-account(s) verwijderd.")
    return 0


COMMANDS = (
    (
        "staff-create",
        f"maak een helpdeskaccount aan (wachtwoord via prompt of {PASSWORD_ENV})",
        cmd_staff_create,
        (
            (("username",), {"metavar": "GEBRUIKERSNAAM"}),
            (("display_name",), {"metavar": "NAAM", "help": "weergavenaam, bijv. 'Sanne de Vries'"}),
            (("--role",), {"choices": ROLES, "default": ROLE_MEDEWERKER, "help": "rol (standaard: medewerker)"}),
        ),
    ),
    (
        "staff-role",
        "wijzig de rol van een helpdeskaccount",
        cmd_staff_role,
        (
            (("username",), {"metavar": "GEBRUIKERSNAAM"}),
            (("role",), {"metavar": "ROL", "choices": ROLES}),
        ),
    ),
    ("staff-remove-demo", "verwijder het demo-account van de helpdesk", cmd_staff_remove_demo, ()),
)
