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
import sys
from typing import Any, Callable, Mapping, Optional

from bot import migrations
from bot.handoff.models import ROLE_MEDEWERKER, ROLES
from bot.handoff.staff import PASSWORD_ENV, StaffError, StaffService


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "staff-create",
        help="maak een helpdeskaccount aan (wachtwoord via prompt of "
             f"{PASSWORD_ENV})",
    )
    p.add_argument("username", metavar="GEBRUIKERSNAAM")
    p.add_argument("display_name", metavar="NAAM", help="weergavenaam, bijv. 'Sanne de Vries'")
    p.add_argument("--role", choices=ROLES, default=ROLE_MEDEWERKER,
                   help="rol (standaard: medewerker)")
    p.set_defaults(func=cmd_staff_create)

    p = subparsers.add_parser("staff-role", help="wijzig de rol van een helpdeskaccount")
    p.add_argument("username", metavar="GEBRUIKERSNAAM")
    p.add_argument("role", metavar="ROL", choices=ROLES)
    p.set_defaults(func=cmd_staff_role)

    p = subparsers.add_parser(
        "staff-remove-demo", help="verwijder het demo-account van de helpdesk"
    )
    p.set_defaults(func=cmd_staff_remove_demo)


def _print(text: str, stream=None) -> None:
    print(text, file=stream or sys.stdout, flush=True)


def read_password(env: Optional[Mapping[str, str]] = None,
                  prompt: Optional[Callable[[str], str]] = None) -> Optional[str]:
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


def cmd_staff_create(args: argparse.Namespace, settings) -> int:
    migrations.upgrade(settings.database_url)
    try:
        password = read_password()
    except (EOFError, KeyboardInterrupt):
        _print("Afgebroken.", sys.stderr)
        return 1
    if password is None:
        _print("De wachtwoorden zijn niet gelijk.", sys.stderr)
        return 1
    try:
        user = StaffService.from_settings(settings).create_user(
            args.username, args.display_name, password, args.role)
    except StaffError as exc:
        _print(str(exc), sys.stderr)
        return 1
    _print(f"Account {user.username} ({user.display_name}) aangemaakt met rol {user.role}.")
    return 0


def cmd_staff_role(args: argparse.Namespace, settings) -> int:
    try:
        user = StaffService.from_settings(settings).change_role(args.username, args.role)
    except StaffError as exc:
        _print(str(exc), sys.stderr)
        return 1
    _print(f"Account {user.username} heeft nu de rol {user.role}.")
    return 0


def cmd_staff_remove_demo(args: argparse.Namespace, settings) -> int:
    migrations.upgrade(settings.database_url)
    removed = StaffService.from_settings(settings).delete_demo_users()
    _print(f"{removed} demo-account(s) verwijderd.")
    return 0
