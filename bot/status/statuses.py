"""The statuses of an application (aanvraag): the one place that defines them.

Every status has a code (stored in the database and used by the back-office feed), a short
Dutch label, a plain-Dutch explanation (B1, je/jij) and "wat gebeurt er nu". These statuses are
the way of working of whoever handles the application, not facts about the regeling: FACTS.md
lists the ontvangstbevestiging, beslistermijn, payment and vaststelling of 2026-2028 as not
known, and which body processes applications is not known either. So every sentence about such
a step says it comes from the data of the organisation that handles the application ("volgens
de gegevens van de behandelaar"), never names that body ("onze backoffice" is not the
regeling's), never invents a procedure (bezwaar) and never promises a term or a date. Concrete
dates only come from the back office (``next_step_date``) and are shown next to these texts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    code: str
    label: str
    explanation: str
    next_step: str
    #: "besluit" for the three decisions, otherwise the code itself.
    group: str
    #: No further change is expected in the normal course of things.
    final: bool = False


_ALL: tuple[Status, ...] = (
    Status(
        code="ontvangen",
        label="Ontvangen",
        explanation="Volgens de gegevens van de behandelaar is je aanvraag binnen. Er is nog niet "
        "naar de inhoud gekeken.",
        next_step=(
            "Je aanvraag wordt in behandeling genomen. Je hoeft nu niets te doen. "
            "Zodra de status verandert, zie je dat hier."
        ),
        group="ontvangen",
    ),
    Status(
        code="in_behandeling",
        label="In behandeling",
        explanation="Je aanvraag wordt nu beoordeeld.",
        next_step=(
            "Je hoeft nu niets te doen. Is er meer informatie nodig, dan krijg je bericht. "
            "Zodra er een besluit is, zie je dat hier."
        ),
        group="in_behandeling",
    ),
    Status(
        code="aanvulling_nodig",
        label="Aanvulling nodig",
        explanation=(
            "Om je aanvraag te kunnen beoordelen, is meer informatie nodig. "
            "De beoordeling staat stil tot die informatie er is."
        ),
        next_step=(
            "Lever de ontbrekende informatie aan zoals in het verzoek om aanvulling staat. "
            "Daarna gaat de beoordeling verder. Weet je niet hoe? Vraag het een medewerker."
        ),
        group="aanvulling_nodig",
    ),
    Status(
        code="besluit_toegekend",
        label="Besluit genomen: toegekend",
        explanation="Er is een besluit over je aanvraag: je aanvraag is toegekend.",
        next_step=(
            "Volgens de gegevens van de behandelaar is de volgende stap de betaling. Zodra de "
            "behandelaar een betaling registreert, zie je dat hier."
        ),
        group="besluit",
    ),
    Status(
        code="besluit_deels_toegekend",
        label="Besluit genomen: deels toegekend",
        explanation=(
            "Er is een besluit over je aanvraag: een deel is toegekend. Je krijgt minder dan "
            "je hebt aangevraagd. In het besluit staat waarom."
        ),
        next_step=(
            "Lees het besluit goed. Heb je vragen over het besluit? Vraag het dan een medewerker. "
            "Volgens de gegevens van de behandelaar is de volgende stap de betaling van het "
            "toegekende deel."
        ),
        group="besluit",
    ),
    Status(
        code="besluit_afgewezen",
        label="Besluit genomen: afgewezen",
        explanation=("Er is een besluit over je aanvraag: je aanvraag is afgewezen. In het besluit staat waarom."),
        next_step=("Heb je vragen over het besluit, of ben je het er niet mee eens? Vraag het dan een medewerker."),
        group="besluit",
        final=True,
    ),
    Status(
        code="bevoorschot",
        label="Voorschot betaald",
        explanation=(
            "Volgens de gegevens van de behandelaar is er een voorschot betaald. Dat is geld dat "
            "je vooraf krijgt, voordat het definitieve bedrag vaststaat."
        ),
        next_step=(
            "Volgens de gegevens van de behandelaar wordt later vastgesteld hoeveel geld je "
            "definitief krijgt. Zodra de behandelaar dat registreert, zie je dat hier."
        ),
        group="betaling",
    ),
    Status(
        code="uitbetaald",
        label="Uitbetaald",
        explanation="Volgens de gegevens van de behandelaar is het toegekende geld betaald.",
        next_step=(
            "Volgens de gegevens van de behandelaar volgt later de vaststelling: dan wordt bepaald "
            "hoeveel geld je definitief krijgt. Zodra de behandelaar dat registreert, zie je dat hier."
        ),
        group="betaling",
    ),
    Status(
        code="wijziging_in_behandeling",
        label="Wijziging in behandeling",
        explanation=(
            "Volgens de gegevens van de behandelaar is er een wijziging van je aanvraag "
            "doorgegeven. Die wordt nu beoordeeld."
        ),
        next_step=(
            "Je hoeft nu niets te doen. Zodra de behandelaar een besluit over de wijziging "
            "registreert, zie je dat hier."
        ),
        group="wijziging",
    ),
    Status(
        code="vastgesteld",
        label="Vastgesteld",
        explanation=(
            "Volgens de gegevens van de behandelaar is het definitieve bedrag vastgesteld. Dit is de laatste stap."
        ),
        next_step=(
            "Er hoeft niets meer te gebeuren, tenzij in het besluit dat de behandelaar over de "
            "vaststelling nam iets anders staat."
        ),
        group="vastgesteld",
        final=True,
    ),
    Status(
        code="ingetrokken",
        label="Ingetrokken",
        explanation="De aanvraag is ingetrokken. Er wordt niet meer naar gekeken.",
        next_step=("Er gebeurt niets meer met deze aanvraag. Klopt dit niet? Neem dan contact op met een medewerker."),
        group="ingetrokken",
        final=True,
    ),
)

STATUSES: dict[str, Status] = {s.code: s for s in _ALL}
CODES: tuple[str, ...] = tuple(STATUSES)
AANVULLING_NODIG = "aanvulling_nodig"


def get(code: str) -> Status:
    """The status for ``code``; raises KeyError for an unknown code."""
    return STATUSES[code]


def find(code: str | None) -> Status | None:
    """The status for ``code`` (case and spaces tolerated), or None."""
    if not code:
        return None
    key = code.strip().lower().replace(" ", "_").replace("-", "_")
    return STATUSES.get(key)


def is_valid(code: str | None) -> bool:
    return bool(code) and code in STATUSES


def all_statuses() -> tuple[Status, ...]:
    return _ALL
