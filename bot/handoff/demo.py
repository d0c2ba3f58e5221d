"""The demo medewerker of a demo run, and the refusal to start production with one.

:func:`ensure_demo_user` makes (or resets) the ``demo`` account with a fresh random password
and prints its login, marked demo-only; it refuses when ``settings.production``.
:func:`check_production` raises when a production start finds a demo account.
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import inspect

from bot.handoff.models import ROLE_MEDEWERKER, StaffUser
from bot.handoff.staff import StaffError, StaffService, UserExists
from bot.settings import Settings

DEMO_USERNAME = "demo"
DEMO_DISPLAY_NAME = "Demo-medewerker"


class DemoUserInProduction(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    display_name: str
    created: bool

    def banner(self, console_url: str = "") -> str:
        where = f" ({console_url})" if console_url else ""
        return (
            f"\nHelpdesk-console{where} — ALLEEN VOOR DE DEMO:\n"
            f"  gebruikersnaam: {self.username}\n"
            f"  wachtwoord:     {self.password}\n"
            f"  Dit demo-account wordt bij elke demo-start opnieuw ingesteld; met "
            f"KW_ENV=production weigert de assistent te starten zolang het bestaat."
        )

    def __repr__(self) -> str:  # the password is for the banner only
        return f"DemoLogin({self.username!r}, created={self.created})"


def ensure_demo_user(
    settings: Settings, out: TextIO | None = sys.stdout, service: StaffService | None = None
) -> DemoLogin:
    """Create (or reset) the demo medewerker with a fresh random password and print its login.

    Refuses (:class:`DemoUserInProduction`) when ``settings.production``. The handoff tables
    must exist (:func:`bot.migrations.upgrade`).
    """
    if settings.production:
        raise DemoUserInProduction("Een demo-medewerker aanmaken kan niet als KW_ENV=production.")
    staff = service or StaffService.from_settings(settings)
    password = secrets.token_urlsafe(12)  # 16 characters
    existing = staff.get_by_username(DEMO_USERNAME)
    if existing is not None and not existing.is_demo:
        raise StaffError(f"De gebruikersnaam {DEMO_USERNAME} is al in gebruik door een echt account.")
    if existing is None:
        try:
            staff.create_user(DEMO_USERNAME, DEMO_DISPLAY_NAME, password, ROLE_MEDEWERKER, is_demo=True)
            created = True
        except UserExists:  # another process created it just now
            created = False
            staff.set_password(DEMO_USERNAME, password)
    else:
        created = False
        staff.set_password(DEMO_USERNAME, password)
        staff.set_active(DEMO_USERNAME, True)
        staff.change_role(DEMO_USERNAME, ROLE_MEDEWERKER)
    login = DemoLogin(DEMO_USERNAME, password, DEMO_DISPLAY_NAME, created)
    if out is not None:
        print(login.banner(f"{settings.gateway_url}/helpdesk"), file=out, flush=True)
    return login


def check_production(settings: Settings, service: StaffService | None = None) -> None:
    """Raise :class:`DemoUserInProduction` when ``settings.production`` and a demo account exists.

    Does nothing outside production, or when the handoff tables do not exist yet.
    """
    if not settings.production:
        return
    staff = service or StaffService.from_settings(settings)
    with staff.engine.connect() as conn:
        if not inspect(conn).has_table(StaffUser.__tablename__):
            return
    demo = staff.demo_users()
    if demo:
        names = ", ".join(u.username for u in demo)
        raise DemoUserInProduction(
            f"Er bestaat een demo-medewerker ({names}) terwijl KW_ENV=production. "
            f"Verwijder het met: python -m bot staff-remove-demo"
        )
