"""What the user's words mean in the handoff dialogue, without Rasa: a plain yes, doubt, a no,
no question at all, a pointer back to the previous question, withdrawing the waiting question,
a contact. The actions (actions/handoff.py) decide with these; the gateway's masking has
already replaced typed contact details by placeholders.
"""

from __future__ import annotations

import re

from bot.core.masking import EMAIL, PHONE, mask_personal_data
from bot.core.reply import WITHDRAW_BUTTON
from bot.handoff.privacy import InvalidContact, normalize_contact

#: Answers at the contact step that leave no contact.
NO_CONTACT = {"nee", "nee dank je", "nee bedankt", "geen", "liever niet", "niet nodig", "-"}


def usable_contact(typed: str | None) -> str | None:
    """The contact as typed when it is an e-mail address or phone number, else None."""
    try:
        return typed if typed and typed != "-" and normalize_contact(typed) else None
    except InvalidContact:
        return None


#: A plain yes, whatever the NLU made of it ("oké" is no clear affirm to the model).
YES_WORDS = frozenset(
    {
        "ja",
        "oké",
        "oke",
        "ok",
        "okay",
        "okee",
        "prima",
        "goed",
        "is goed",
        "akkoord",
        "ja hoor",
        "ja graag",
        "graag",
        "dat mag",
        "ja, dat mag",
        "mag",
    }
)
#: Doubt is not a no: the question comes again, explained.
UNSURE = ("weet ik niet", "weet niet", "geen idee", "twijfel", "misschien", "hmm")


def plain(text: str) -> str:
    """Lower case, single spaces, without the trailing full stop or exclamation mark."""
    return " ".join(text.lower().strip(" .!").split())


#: Never a question for the helpdesk: greetings, going back, bare yes/no.
NOT_A_QUESTION = frozenset(
    {
        "hallo",
        "hoi",
        "hey",
        "hai",
        "hallo daar",
        "goedemorgen",
        "goedemiddag",
        "goedenavond",
        "dag",
        "hallo?",
        "hoi?",
        "terug",
        "ga terug",
        "ga maar terug",
        "vorige",
        "ja",
        "nee",
        "ok",
        "oké",
        "oke",
        "test",
        "?",
        "help",
        "bedankt",
        "dank je",
        "dank je wel",
        "dankjewel",
    }
)
#: Intents of messages that are no question for the helpdesk (also when looking back for one).
NO_QUESTION_INTENTS = frozenset(
    {
        "deny",
        "affirm",
        "greet",
        "thank",
        "goodbye",
        "stop",
        "human_handoff",
        "handoff_intrekken",
        "handoff_wachten",
        "herhaal",
        "vraag_uitleg",
        "meer_vragen",
        "bot_challenge",
        "capabilities",
    }
)
#: "vorige vraag", "dezelfde vraag", "wat ik net vroeg", "zie boven": the question asked before.
_REFERS_BACK_RE = re.compile(
    r"^(?:(?:mijn|de|die|m'n)\s+)?(?:vorige|zelfde|dezelfde|eerdere|laatste|bovenstaande)(?:\s+vraag)?(?:\s+graag)?$"
    r"|^(?:zie\s+)?(?:hier)?boven(?:staand)?$"
    r"|^(?:die|de)\s+vraag\s+(?:van\s+)?(?:net|eerder|hierboven|daarnet)$"
    r"|^wat\s+ik\s+(?:net|eerder|al|daarnet|hiervoor)\s+(?:vroeg|zei|vraagde)$"
)
#: A plain "nee" at the question step; the second in a row leaves the form.
NO_WORDS = frozenset({"nee", "neen", "nope", "nee hoor", "nee dank je", "nee bedankt", "neuh", "nah"})
#: Explicit words for withdrawing the waiting question, whatever intent the NLU gave them
#: ("trek mijn vraag maar in", "laat maar, vraag intrekken", "annuleer mijn vraag").
_WITHDRAW_RE = re.compile(
    r"\bin\s?te?\s?trekken\b|\bintrek|\btrek\b.*\b(?:in|terug)\b|\bterug\s?(?:te\s)?trekken\b"
    r"|\b(?:annuleer|annuleren|verwijder|verwijderen|schrap|schrappen|cancel)\b.*\b(?:vraag|verzoek|ticket)\b"
    r"|\b(?:vraag|verzoek|ticket)\b.*\b(?:annuleren|verwijderen|schrappen|weghalen|intrekken|cancelen)\b",
    re.IGNORECASE,
)


def explicit_withdrawal(text: str) -> bool:
    """The words themselves withdraw the helpdesk question (the button, or "trek mijn vraag in");
    "hoeft niet meer" or a question about withdrawing ("kan ik … intrekken?") is not explicit."""
    text = (text or "").strip()
    if text == WITHDRAW_BUTTON.payload:
        return True
    return "?" not in text and bool(_WITHDRAW_RE.search(text))


#: Vaguer words that may mean withdrawing the waiting question: the assistant asks first.
_VAGUE_WITHDRAW_RE = re.compile(
    r"\bhoef(?:t)?\b.*\bniet\s+meer\b|\bniet\s+meer\s+nodig\b|\bik\s+weet\s+het\s+(?:al|nu)\b"
    r"|\blaat\s+(?:ook\s+)?maar\b|\btoch\s+niet\s+meer\b|\bvraag\s+is\s+(?:al\s+)?beantwoord\b",
    re.IGNORECASE,
)


def vague_withdrawal(text: str) -> bool:
    """Words that may mean withdrawing the waiting question ("hoeft niet meer"): ask first."""
    return bool(_VAGUE_WITHDRAW_RE.search(text))


def refers_back(text: str) -> bool:
    """ "vorige vraag", "zie boven": the question asked before is the one for the helpdesk."""
    return bool(_REFERS_BACK_RE.match(plain(text).rstrip("?")))


def clear_yes(text: str) -> bool:
    """ "ja" without a "but": "ja maar eerst een vraag" is no consent yet."""
    words = text.lower().replace(",", " ").split()
    return "?" not in text and not {"maar", "eerst"} & set(words)


def has_contact(text: str) -> bool:
    """An e-mail address or phone number: masked by the gateway, or as typed (Rasa's tools)."""
    if EMAIL in text or PHONE in text:
        return True
    return bool({"email", "phone"} & set(mask_personal_data(text).kinds))
