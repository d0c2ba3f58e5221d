"""Back-office API: the authenticated way status data enters the assistant.

``create_api_app(settings)`` returns an aiohttp sub-application; the gateway mounts it with
``app.add_subapp("/api/v1", create_api_app(settings))``. Endpoints (see openapi.yaml):

* ``PUT  /applications/{aanvraagnummer}``          create (with verificatiecode) or update
* ``POST /applications/{aanvraagnummer}/changes``  add a status change, idempotent by change_id
* ``GET  /applications/{aanvraagnummer}``          current data and history
* ``GET  /openapi.yaml``                           the description (no token needed)

Every other request needs ``Authorization: Bearer <KW_API_TOKEN>`` (compared in constant time).
Input is validated here with Dutch messages in JSON (``{"fout": …, "details": […]}``); bodies
are limited to 64 kB; database work runs in a thread pool so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.core import db
from bot.core.extract import canonical_aanvraagnummer
from bot.core.runner import run_db
from bot.settings import Settings, get_settings
from bot.status.feed import (
    SOURCE_API,
    ChangeOutcome,
    FeedError,
    apply_change,
    get_application,
)
from bot.status.fields import validate_fields
from bot.status.service import ApplicationView

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
_BODY_READ = web.RequestKey("kw_api_body_read", bool)
OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.yaml"

SETTINGS_KEY = web.AppKey("kw_api_settings", Settings)
ENGINE_KEY = web.AppKey("kw_api_engine", Engine)

_STATUS_MESSAGES = {
    400: "Het verzoek is ongeldig.",
    401: "Geen of een ongeldig token. Stuur de header 'Authorization: Bearer <token>'.",
    403: "Geen toegang.",
    404: "Niet gevonden.",
    405: "Deze methode is hier niet toegestaan.",
    413: f"Het verzoek is te groot (hoogstens {MAX_BODY_BYTES // 1024} kB).",
    415: "Stuur de gegevens als JSON (Content-Type: application/json).",
    422: "De gegevens kloppen niet.",
    503: "De database is nu niet bereikbaar. Probeer het later opnieuw.",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str | None = None, details: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message or _STATUS_MESSAGES.get(status, "Het verzoek is geweigerd.")
        self.details = details or []


def _error_response(
    status: int, message: str, details: list[str] | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    body: dict[str, Any] = {"fout": message}
    if details:
        body["details"] = details
    return web.json_response(body, status=status, headers=headers)


@web.middleware
async def _error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        headers = {"WWW-Authenticate": 'Bearer realm="kw-backoffice"'} if exc.status == 401 else None
        response = _error_response(exc.status, exc.message, exc.details, headers=headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "WWW-Authenticate")}
        message = _STATUS_MESSAGES.get(exc.status, "Het verzoek is geweigerd.")
        response = _error_response(exc.status, message, headers=headers)
    except asyncio.CancelledError:
        raise
    except Exception:  # never an HTML 500 page; details only in the log
        log.exception("back-office API: unexpected error on %s %s", request.method, request.path)
        response = _error_response(500, "Er ging iets mis op de server. Probeer het later opnieuw.")
    if request.body_exists and not request.get(_BODY_READ):
        # Refused before the body was read (too big, no token …): do not read the rest of it,
        # close the connection instead (aiohttp 3.9 can stall a reused one).
        response.force_close()
    return response


def _check_token(request: web.Request, expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or not expected:
        # Still compare, so a missing header costs the same as a wrong one.
        hmac.compare_digest(b"x" * 32, (expected or "y").encode())
        return False
    return hmac.compare_digest(token.strip().encode("utf-8", "replace"), expected.encode("utf-8"))


@web.middleware
async def _auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route_handler = getattr(request.match_info.route, "handler", None)
    if request.method == "GET" and route_handler in _PUBLIC_HANDLERS:
        return await handler(request)
    if not _check_token(request, request.app[SETTINGS_KEY].api_token):
        raise ApiError(401)
    return await handler(request)


def _number(request: web.Request) -> str:
    number = canonical_aanvraagnummer(request.match_info.get("aanvraagnummer", ""))
    if number is None:
        raise ApiError(400, "Het aanvraagnummer heeft niet de vorm KW-JJJJ-NNNN (bijvoorbeeld KW-2025-0042).")
    return number


async def _read_limited(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, at most ``limit`` bytes, whatever the root application's client_max_size.

    (A sub-application's own client_max_size is not used: aiohttp takes it from the root app.)
    """
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413)
    data = bytearray()
    while True:
        chunk = await request.content.read(16 * 1024)
        if not chunk:
            request[_BODY_READ] = True
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise ApiError(413)


async def _json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type not in ("application/json", "application/octet-stream"):
        raise ApiError(415)
    raw = await _read_limited(request)
    if not raw.strip():
        raise ApiError(400, "De body is leeg; stuur een JSON-object.")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "De body is geen geldige JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "De body moet een JSON-object zijn.")
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


async def _in_thread(request: web.Request, fn: Callable[[], Any]) -> Any:
    """Run blocking database work in the one bounded database runner (bot.core.runner)."""
    settings = request.app[SETTINGS_KEY]
    try:
        return await run_db(fn, settings.db_timeout_s * 2 + 2)
    except TimeoutError:
        log.warning("back-office API: database too slow")
        raise ApiError(503, "De database reageert niet op tijd. Probeer het later opnieuw.") from None
    except FeedError as exc:
        raise ApiError(exc.http_status, _STATUS_MESSAGES.get(exc.http_status, "Geweigerd."), exc.errors) from None
    except SQLAlchemyError as exc:
        log.warning("back-office API: database error (%s)", type(exc).__name__)
        raise ApiError(503) from None


def _write(engine: Engine, number: str, values: dict[str, Any], create: bool) -> tuple[ChangeOutcome, dict[str, Any]]:
    """Apply in one transaction; one retry when a concurrent request won a unique race."""
    for attempt in (1, 2):
        try:
            with db.session_scope(engine) as session:
                outcome = apply_change(session, number, source=SOURCE_API, create=create, **values)
                app = get_application(session, number)
                assert app is not None  # apply_change made or kept it, in this transaction
                view = ApplicationView.from_model(app).to_dict()
            return outcome, view
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _read(engine: Engine, number: str) -> dict[str, Any] | None:
    with db.session_scope(engine) as session:
        app = get_application(session, number)
        return None if app is None else ApplicationView.from_model(app).to_dict()


def _validated(body: dict[str, Any], number: str) -> dict[str, Any]:
    body = dict(body)
    given = body.pop("aanvraagnummer", None)
    if given is not None and canonical_aanvraagnummer(str(given)) != number:
        raise ApiError(422, details=["aanvraagnummer in de body verschilt van dat in de URL"])
    values, errors = validate_fields(body)
    if errors:
        raise ApiError(422, details=errors)
    return values


def _outcome_json(outcome: ChangeOutcome, view: dict[str, Any]) -> dict[str, Any]:
    if outcome.duplicate:
        result = "al_ontvangen"
    elif outcome.created:
        result = "aangemaakt"
    else:
        result = "bijgewerkt"
    return {"resultaat": result, "aanvraag": view}


async def put_application(request: web.Request) -> web.Response:
    number = _number(request)
    values = _validated(await _json_object(request), number)
    engine = request.app[ENGINE_KEY]
    outcome, view = await _in_thread(request, lambda: _write(engine, number, values, True))
    log.info(
        "back-office API: PUT %s → %s",
        number,
        "created" if outcome.created else ("duplicate" if outcome.duplicate else "updated"),
    )
    return web.json_response(_outcome_json(outcome, view), status=201 if outcome.created else 200)


async def post_change(request: web.Request) -> web.Response:
    number = _number(request)
    values = _validated(await _json_object(request), number)
    missing = [name for name, key in (("change_id", "change_id"), ("status", "status")) if key not in values]
    if missing:
        raise ApiError(422, details=[f"{name} is verplicht" for name in missing])
    engine = request.app[ENGINE_KEY]
    outcome, view = await _in_thread(request, lambda: _write(engine, number, values, False))
    log.info(
        "back-office API: change %s/%s → %s",
        number,
        values["change_id"],
        "duplicate" if outcome.duplicate else "applied",
    )
    return web.json_response(_outcome_json(outcome, view), status=200 if outcome.duplicate else 201)


async def get_application_handler(request: web.Request) -> web.Response:
    number = _number(request)
    engine = request.app[ENGINE_KEY]
    view = await _in_thread(request, lambda: _read(engine, number))
    if view is None:
        raise ApiError(404, f"Aanvraag {number} bestaat niet.")
    return web.json_response({"aanvraag": view})


async def get_openapi(request: web.Request) -> web.Response:
    return web.Response(text=OPENAPI_PATH.read_text(encoding="utf-8"), content_type="application/yaml", charset="utf-8")


_PUBLIC_HANDLERS = (get_openapi,)


def create_api_app(settings: Settings | None = None) -> web.Application:
    """The back-office API as a sub-application (mount at ``/api/v1``)."""
    settings = settings or get_settings()
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[_error_middleware, _auth_middleware],
    )
    app[SETTINGS_KEY] = settings

    async def database(app: web.Application) -> AsyncIterator[None]:
        engine = db.make_engine(settings.database_url, settings.db_timeout_s)
        app[ENGINE_KEY] = engine
        yield
        engine.dispose()

    app.cleanup_ctx.append(database)
    app.router.add_put("/applications/{aanvraagnummer}", put_application)
    app.router.add_post("/applications/{aanvraagnummer}/changes", post_change)
    app.router.add_get("/applications/{aanvraagnummer}", get_application_handler, allow_head=False)
    app.router.add_get("/openapi.yaml", get_openapi, allow_head=False)
    return app
