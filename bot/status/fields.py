"""The fields of the back-office feed (API JSON bodies and CSV columns have the same names):
parsing and validating them into clean values, with Dutch error messages. Storing them is
bot/status/feed.py's.

External field names:

=====================  =====================================================================
aanvraagnummer         KW-JJJJ-NNNN (API: in the URL)
change_id              id of the status change in the back office (idempotency key)
status                 a code from bot.status.statuses
status_datum           when the change happened (JJJJ-MM-DD or ISO date-time; local time)
toelichting            note with the change (not shown to applicants)
gemeente               required for a new application
gebied                 focus area
ingediend_op           date of submission
aangevraagd            requested amounts per theme and year
toegekend_bedrag       granted amount (euros)
ontbrekende_stukken    what is missing; required with status aanvulling_nodig
volgende_stap          specific next step
volgende_stap_datum    expected date of the next step
verificatiecode        required for a new application; stored only as a hash
=====================  =====================================================================
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.status import statuses
from bot.status.models import to_utc_naive
from bot.status.verification import normalize_code

#: Internal name → external (API/CSV) name.
FIELD_NAMES: dict[str, str] = {
    "change_id": "change_id",
    "status": "status",
    "at": "status_datum",
    "note": "toelichting",
    "gemeente": "gemeente",
    "gebied": "gebied",
    "submitted_at": "ingediend_op",
    "requested": "aangevraagd",
    "granted_amount_cents": "toegekend_bedrag",
    "missing_items": "ontbrekende_stukken",
    "next_step": "volgende_stap",
    "next_step_date": "volgende_stap_datum",
    "code": "verificatiecode",
}
EXTERNAL_TO_INTERNAL = {v: k for k, v in FIELD_NAMES.items()}
#: Fields that may be cleared (null in JSON).
CLEARABLE = {
    "note",
    "gebied",
    "submitted_at",
    "requested",
    "granted_amount_cents",
    "missing_items",
    "next_step",
    "next_step_date",
}
MAX_AMOUNT_CENTS = 10**14  # one trillion euros: anything above is a typo
_CHANGE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,99}$")
_TEXT_LIMITS = {
    "gemeente": 100,
    "gebied": 200,
    "note": 2000,
    "missing_items": 2000,
    "next_step": 500,
}
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_amount(value: Any, name: str = "bedrag") -> int:
    """Euros (number or Dutch/English formatted text such as "€ 1.250.000,50") → cents."""
    if isinstance(value, bool):
        raise ValueError(f"{name} moet een bedrag zijn")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{name} moet een bedrag zijn")
        amount = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "")
        text = re.sub(r"^(€|EUR|eur)", "", text)
        text = re.sub(r",-{1,2}$", "", text)
        if re.fullmatch(r"[0-9]{1,3}(\.[0-9]{3})+(,[0-9]{1,2})?", text):
            text = text.replace(".", "").replace(",", ".")
        elif re.fullmatch(r"[0-9]+(,[0-9]{1,2})?", text):
            text = text.replace(",", ".")
        elif re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]{1,2})?", text):
            text = text.replace(",", "")
        elif not re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", text):
            raise ValueError(f"{name} '{_show(value)}' is geen geldig bedrag (bijvoorbeeld 1250000 of 1.250.000,00)")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{name} '{_show(value)}' is geen geldig bedrag") from None
    else:
        raise ValueError(f"{name} moet een bedrag zijn")
    if amount < 0:
        raise ValueError(f"{name} mag niet negatief zijn")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{name} mag hoogstens 2 cijfers achter de komma hebben")
    if cents >= MAX_AMOUNT_CENTS:
        raise ValueError(f"{name} is te groot")
    return int(cents)


def parse_date(value: Any, name: str = "datum") -> dt.date:
    """A calendar date: JJJJ-MM-DD or DD-MM-JJJJ (also with / or .)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{name} moet een datum zijn (JJJJ-MM-DD)")
    text = value.strip()
    match = re.fullmatch(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})", text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = re.fullmatch(r"([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})", text)
        if not match:
            raise ValueError(f"{name} '{_show(value)}' is geen geldige datum (gebruik JJJJ-MM-DD)")
        day, month, year = (int(g) for g in match.groups())
    try:
        result = dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{name} '{_show(value)}' bestaat niet") from None
    if not 2000 <= result.year <= 2100:
        raise ValueError(f"{name} '{_show(value)}' ligt buiten 2000-2100")
    return result


def parse_datetime(value: Any, name: str = "status_datum") -> dt.datetime:
    """A moment → naive UTC. Naive input is Europe/Amsterdam time; a date alone is 00:00 there."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
            r"(Z|[+-][0-9]{2}:?[0-9]{2})?",
            text,
        ):
            if text.endswith("Z"):
                text = text[:-1] + "+00:00"
            try:
                parsed = dt.datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{name} '{_show(value)}' is geen geldig tijdstip") from None
        else:
            day = parse_date(text, name)
            parsed = dt.datetime(day.year, day.month, day.day)
    else:
        raise ValueError(f"{name} moet een datum of tijdstip zijn")
    if not 2000 <= parsed.year <= 2100:
        raise ValueError(f"{name} '{_show(value)}' ligt buiten 2000-2100")
    return to_utc_naive(parsed)


def parse_text(value: Any, name: str, max_len: int, multiline: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} moet tekst zijn")
    text = value.strip()
    if not multiline and ("\n" in text or "\r" in text):
        raise ValueError(f"{name} mag geen regelovergang bevatten")
    if _CONTROL_RE.search(text):
        raise ValueError(f"{name} bevat ongeldige tekens")
    if "<" in text or ">" in text:
        raise ValueError(f"{name} mag geen < of > bevatten")
    if len(text) > max_len:
        raise ValueError(f"{name} is te lang (hoogstens {max_len} tekens)")
    return text


def parse_requested(value: Any, name: str = "aangevraagd") -> list[tuple[str, int, int]]:
    """Requested amounts: a JSON list of {thema, jaar, bedrag} or the CSV form
    ``thema:jaar:bedrag|thema:jaar:bedrag``. Returns [(thema, jaar, cents)]."""
    items: list[tuple[Any, Any, Any]] = []
    if isinstance(value, str):
        for part in (p.strip() for p in value.split("|")):
            if not part:
                continue
            pieces = part.split(":")
            if len(pieces) != 3:
                raise ValueError(f"{name}: '{_show(part)}' moet de vorm thema:jaar:bedrag hebben")
            items.append((pieces[0], pieces[1].strip(), pieces[2]))
    elif isinstance(value, list):
        for entry in value:
            if not isinstance(entry, dict) or set(entry) - {"thema", "jaar", "bedrag"}:
                raise ValueError(f"{name}: elk onderdeel moet de velden thema, jaar en bedrag hebben")
            items.append((entry.get("thema"), entry.get("jaar"), entry.get("bedrag")))
    else:
        raise ValueError(f"{name} moet een lijst zijn van thema, jaar en bedrag")
    if len(items) > 50:
        raise ValueError(f"{name}: hoogstens 50 onderdelen")
    result: list[tuple[str, int, int]] = []
    seen = set()
    for thema, jaar, bedrag in items:
        if thema is None or (isinstance(thema, str) and not thema.strip()):
            raise ValueError(f"{name}: thema ontbreekt")
        thema_text = parse_text(thema, f"{name}: thema", 100)
        if isinstance(jaar, bool):
            raise ValueError(f"{name}: jaar moet een jaartal zijn")
        if isinstance(jaar, str) and re.fullmatch(r"[0-9]{4}", jaar.strip()):
            jaar = int(jaar.strip())
        if not isinstance(jaar, int) or not 2000 <= jaar <= 2100:
            raise ValueError(f"{name}: jaar '{_show(jaar)}' is geen geldig jaartal")
        if bedrag is None:
            raise ValueError(f"{name}: bedrag ontbreekt voor {thema_text} {jaar}")
        cents = parse_amount(bedrag, f"{name}: bedrag")
        key = (thema_text.casefold(), jaar)
        if key in seen:
            raise ValueError(f"{name}: {thema_text} {jaar} staat er twee keer in")
        seen.add(key)
        result.append((thema_text, jaar, cents))
    return result


def _show(value: Any, limit: int = 40) -> str:
    """A short, safe echo of rejected input for error messages."""
    text = str(value)
    text = _CONTROL_RE.sub("?", text).replace("<", "?").replace(">", "?")
    return text if len(text) <= limit else text[:limit] + "…"


def validate_fields(raw: Mapping[str, Any], *, empty_is_unset: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Validate external fields (see module doc) → (values by internal name, Dutch errors).

    Absent fields are left out (unchanged). ``None`` clears a clearable field. With
    ``empty_is_unset`` (CSV) an empty value means "unchanged" instead.
    ``aanvraagnummer`` is not handled here (it is the URL or the row key).
    """
    values: dict[str, Any] = {}
    errors: list[str] = []
    for external, value in raw.items():
        internal = EXTERNAL_TO_INTERNAL.get(external)
        if internal is None:
            errors.append(f"onbekend veld '{_show(external)}'")
            continue
        if isinstance(value, str) and not value.strip():
            if empty_is_unset:
                continue
            value = None
        if value is None:
            if internal in CLEARABLE:
                values[internal] = [] if internal == "requested" else None
            else:
                errors.append(f"{external} mag niet leeg zijn")
            continue
        try:
            values[internal] = _parse_one(internal, external, value)
        except ValueError as exc:
            errors.append(str(exc))
    return values, errors


def _parse_one(internal: str, external: str, value: Any) -> Any:
    if internal == "change_id":
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ValueError("change_id moet tekst zijn")
        text = str(value).strip()
        if not _CHANGE_ID_RE.match(text):
            raise ValueError("change_id mag alleen letters, cijfers en . _ : - bevatten (hoogstens 100 tekens)")
        return text
    if internal == "status":
        found = statuses.find(value) if isinstance(value, str) else None
        if found is None:
            raise ValueError(f"onbekende status '{_show(value)}' (toegestaan: {', '.join(statuses.CODES)})")
        return found.code
    if internal == "at":
        return parse_datetime(value, external)
    if internal in ("submitted_at", "next_step_date"):
        return parse_date(value, external)
    if internal == "granted_amount_cents":
        return parse_amount(value, external)
    if internal == "requested":
        return parse_requested(value, external)
    if internal == "code":
        normalized = normalize_code(value) if isinstance(value, str) else None
        if normalized is None:
            # Never echo a code.
            raise ValueError("verificatiecode is ongeldig (6 tot 64 letters en cijfers; spaties en streepjes mogen)")
        return normalized
    multiline = internal in ("note", "missing_items", "next_step")
    return parse_text(value, external, _TEXT_LIMITS[internal], multiline=multiline)
