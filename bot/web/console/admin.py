"""Console pages for beheer: canned replies (everyone reads, beheerders change) and staff
accounts (beheerders only)."""

from __future__ import annotations

import datetime as dt
import logging

from aiohttp import web

from bot.core.logs import log_event
from bot.handoff.models import ROLE_BEHEERDER, ROLES
from bot.handoff.staff import LastBeheerder, PermissionDenied, StaffError
from bot.web.console.auth import staff_page
from bot.web.console.render import forbidden, notice_from, redirect, render
from bot.web.keys import LIVE
from bot.web.staffauth import STAFF, read_form

log = logging.getLogger("bot.web.console")

CANNED_PATH = "/helpdesk/standaardantwoorden"
STAFF_PATH = "/helpdesk/medewerkers"


# ------------------------------------------------------------------------------ canned replies


@staff_page()
async def canned_page(request: web.Request) -> web.Response:
    live = request.config_dict[LIVE]
    replies = await live.run(live.tickets.canned_replies)
    return render(request, "console/canned.html", replies=replies, notice=notice_from(request))


@staff_page(post=True, role=ROLE_BEHEERDER)
async def canned_post(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    title, text = form.get("titel"), form.get("tekst")
    if not isinstance(title, str) or not isinstance(text, str) or not title.strip() or not text.strip():
        return redirect(CANNED_PATH, "ongeldig")
    live = request.config_dict[LIVE]
    try:
        await live.run(live.tickets.save_canned_reply, title, text, by=request[STAFF])
    except PermissionDenied as exc:
        return forbidden(request, str(exc))
    except ValueError:
        return redirect(CANNED_PATH, "ongeldig")
    return redirect(CANNED_PATH, "opgeslagen")


@staff_page(post=True, role=ROLE_BEHEERDER)
async def canned_delete(request: web.Request) -> web.StreamResponse:
    try:
        reply_id = int(request.match_info["rid"])
    except ValueError:
        return redirect(CANNED_PATH, "niet_gevonden")
    live = request.config_dict[LIVE]
    try:
        deleted = await live.run(live.tickets.delete_canned_reply, reply_id, by=request[STAFF])
    except PermissionDenied as exc:
        return forbidden(request, str(exc))
    return redirect(CANNED_PATH, "verwijderd" if deleted else "niet_gevonden")


# ------------------------------------------------------------------------------ staff accounts


async def _staff_page(
    request: web.Request, status: int = 200, error: str | None = None, notice: dict[str, str] | None = None
) -> web.Response:
    live = request.config_dict[LIVE]
    users = await live.run(live.staff.list_users)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return render(
        request, "console/staff.html", status=status, users=users, roles=ROLES, now=now, error=error, notice=notice
    )


@staff_page(role=ROLE_BEHEERDER)
async def staff_list(request: web.Request) -> web.Response:
    return await _staff_page(request, notice=notice_from(request))


@staff_page(post=True, role=ROLE_BEHEERDER)
async def staff_create(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    username, name, password, role = (form.get(k) for k in ("gebruikersnaam", "naam", "wachtwoord", "rol"))
    if not (isinstance(username, str) and isinstance(name, str) and isinstance(password, str) and role in ROLES):
        return redirect(STAFF_PATH, "ongeldig")
    live = request.config_dict[LIVE]
    try:
        await live.run(live.staff.create_user, username, name, password, role)
    except StaffError as exc:
        return await _staff_page(request, 400, str(exc))
    log_event(log, "helpdesk_staff_created", by=request[STAFF].id)
    return redirect(STAFF_PATH, "aangemaakt")


@staff_page(post=True, role=ROLE_BEHEERDER)
async def staff_unlock(request: web.Request) -> web.StreamResponse:
    live = request.config_dict[LIVE]
    try:
        await live.run(live.staff.unlock, request.match_info["naam"], by=request[STAFF])
    except (StaffError, PermissionDenied):
        return redirect(STAFF_PATH, "ongeldig")
    return redirect(STAFF_PATH, "ontgrendeld")


@staff_page(post=True, role=ROLE_BEHEERDER)
async def staff_role(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    role = form.get("rol")
    if role not in ROLES:
        return redirect(STAFF_PATH, "ongeldig")
    live = request.config_dict[LIVE]
    try:
        await live.run(live.staff.change_role, request.match_info["naam"], role, by=request[STAFF])
    except LastBeheerder as exc:
        return await _staff_page(request, 409, str(exc))
    except (StaffError, PermissionDenied):
        return redirect(STAFF_PATH, "ongeldig")
    return redirect(STAFF_PATH, "rol")
