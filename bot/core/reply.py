"""One reply of the assistant, whichever part composes it (knowledge base, status lookup,
rephrase): its text, its buttons, and the sources it rests on as data; and the one button that
asks for a person.

Sources never go into the text: an action sends them as the message's custom data
(``{"kw_sources": [{"title", "url"}, …], "kw_checked": "YYYY-MM-DD"}``), which Rasa keeps in the tracker with the
message; the gateway hands them to the widget and the helpdesk console as data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

#: Keys of the custom data an answer carries (read by bot.web.protocol and the console).
SOURCES_KEY = "kw_sources"
CHECKED_KEY = "kw_checked"
#: What the next user message is expected to hold (the gateway takes a verificatiecode out of it).
EXPECT_KEY = "kw_expect"
#: The message is about the conversation's helpdesk question: the gateway adds no reminder.
HANDOFF_KEY = "kw_handoff"


@dataclass(frozen=True)
class _Titled:
    """Something the user sees by its title: a button, a source."""

    title: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Button(_Titled):
    payload: str


@dataclass(frozen=True)
class Source(_Titled):
    url: str


#: The one way to ask for a person; domain.yml's responses use the same title and payload
#: (tests/unit/test_training_data.py checks that).
HANDOFF_BUTTON = Button("Medewerker spreken", "/human_handoff")
#: Withdraws the conversation's waiting helpdesk question.
WITHDRAW_BUTTON = Button("Vraag intrekken", "/handoff_intrekken")


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    sources: tuple[Source, ...] = ()
    #: When the facts were last checked against the sources.
    checked: dt.date | None = None
    #: See EXPECT_KEY, e.g. "verificatiecode".
    expect: str | None = None
    #: See HANDOFF_KEY.
    about_handoff: bool = False

    def button_dicts(self) -> list[dict[str, str]]:
        return [b.as_dict() for b in self.buttons]

    def custom(self) -> dict[str, Any] | None:
        """The message's custom data (sources and markers), or None when it has none."""
        data: dict[str, Any] = {}
        if self.sources:
            data[SOURCES_KEY] = [s.as_dict() for s in self.sources]
            if self.checked is not None:
                data[CHECKED_KEY] = self.checked.isoformat()
        if self.expect:
            data[EXPECT_KEY] = self.expect
        if self.about_handoff:
            data[HANDOFF_KEY] = True
        return data or None

    def message(self) -> dict[str, Any]:
        """Keyword arguments for rasa-sdk's ``dispatcher.utter_message``."""
        out: dict[str, Any] = {"text": self.text, "buttons": self.button_dicts()}
        custom = self.custom()
        if custom is not None:
            out["json_message"] = custom
        return out


def sources_of(custom: Any) -> dict[str, Any] | None:
    """From a message's custom data: ``{"sources": [{"title", "url"}], "checked": "YYYY-MM-DD"
    or None}`` with http(s) links only, or None when it carries no sources."""
    if not isinstance(custom, dict) or not isinstance(custom.get(SOURCES_KEY), list):
        return None
    found = []
    for item in custom[SOURCES_KEY][:10]:
        if not isinstance(item, dict):
            continue
        title, url = item.get("title"), item.get("url")
        if (
            isinstance(title, str)
            and title.strip()
            and isinstance(url, str)
            and url.startswith(("https://", "http://"))
            and len(url) <= 2000
        ):
            found.append({"title": title.strip()[:300], "url": url})
    if not found:
        return None
    checked = custom.get(CHECKED_KEY)
    try:
        checked = dt.date.fromisoformat(checked).isoformat() if isinstance(checked, str) else None
    except ValueError:
        checked = None
    return {"sources": found, "checked": checked}
