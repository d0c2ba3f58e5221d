"""The editors' page (role redacteur, and beheerder): what people asked, what the assistant did
not understand, why people asked for a person, the most asked topics per week, answers past
their check date, a chart per day, and CSV downloads. The figures are bot.insights'; this module
only reads the period from the URL and shows or sends them."""

from __future__ import annotations

import logging

from aiohttp import web

from bot import texts
from bot.core.logs import log_event
from bot.core.runner import run_db
from bot.handoff.models import EDITOR_ROLES
from bot.handoff.states import LABELS as STATE_LABELS
from bot.insights import report as insights_report
from bot.insights.export import EXPORTS, export
from bot.knowledge.loader import get_knowledge_base
from bot.web.console.auth import staff_page
from bot.web.console.chart import day_chart
from bot.web.console.render import NO_STORE, not_found, render
from bot.web.keys import SETTINGS
from bot.web.staffauth import STAFF

log = logging.getLogger("bot.web.console")

#: A report reads up to MAX_ROWS rows per table: more time than a ticket lookup.
REPORT_TIMEOUT_S = 30.0
#: Download name → what the link says.
EXPORT_LABELS = {
    "vragen": "Niet (goed) begrepen vragen",
    "overdrachten": "Redenen om een medewerker te vragen",
    "onderwerpen": "Onderwerpen per week",
    "dagen": "Aantallen per dag",
    "controle": "Antwoorden over de controledatum",
}
editors_page_guard = staff_page(roles=EDITOR_ROLES, refused=texts.EDITORS_ONLY)


def period(request: web.Request) -> int:
    """Days asked for with ?dagen=N (one of the offered periods), else the default."""
    try:
        days = int(request.query.get("dagen", ""))
    except ValueError:
        return insights_report.DEFAULT_DAYS
    return days if days in insights_report.PERIODS else insights_report.DEFAULT_DAYS


async def _report(request: web.Request, days: int) -> insights_report.Report:
    settings = request.config_dict[SETTINGS]
    kb = get_knowledge_base()
    return await run_db(
        lambda: insights_report.build(
            settings.database_url, kb, days=days, timezone=settings.timezone, timeout_s=REPORT_TIMEOUT_S
        ),
        REPORT_TIMEOUT_S,
    )


@editors_page_guard
async def editors_page(request: web.Request) -> web.Response:
    days = period(request)
    report = await _report(request, days)
    return render(
        request,
        "console/editors.html",
        report=report,
        chart=day_chart(report.per_day),
        days=days,
        periods=insights_report.PERIODS,
        kind_labels=texts.INSIGHT_KIND_LABELS,
        state_labels=STATE_LABELS,
        exports=EXPORT_LABELS,
    )


@editors_page_guard
async def editors_csv(request: web.Request) -> web.StreamResponse:
    name = request.match_info.get("soort", "")
    if name not in EXPORTS:
        return not_found(request, texts.EXPORT_NOT_FOUND)
    report = await _report(request, period(request))
    filename, body = export(report, name)
    log_event(log, "editors_export", export=name, staff=request[STAFF].id)
    return web.Response(
        body=body,
        headers={
            **NO_STORE,
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
