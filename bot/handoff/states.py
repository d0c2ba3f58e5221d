"""The ticket state machine — the one place that says which transitions exist.

::

    wachtrij ──oppakken──▶ opgepakt ──overnemen──▶ live
       │                      │                     │
       │                      ├──────────┬──────────┤
       │                      │          ▼          │
       │                      │    teruggegeven     │   terug naar de assistent
       ▼                      ▼                     ▼
    afgerond ◀────────────────┴─────────────────────┘   afsluiten
    (vanuit de wachtrij: afgesloten zonder contact)

``afgerond`` and ``teruggegeven`` are final: a new question becomes a new ticket.
"""

from __future__ import annotations

WACHTRIJ = "wachtrij"  # waiting for a staff member
OPGEPAKT = "opgepakt"  # assigned to a staff member, not yet talking
LIVE = "live"  # staff member talks with the user; Rasa is paused
AFGEROND = "afgerond"  # closed (with or without contact)
TERUGGEGEVEN = "teruggegeven"  # handed back to the assistant; Rasa resumes

#: All states, in the order of the normal flow.
STATES: tuple[str, ...] = (WACHTRIJ, OPGEPAKT, LIVE, AFGEROND, TERUGGEGEVEN)
#: States in which the ticket is still being handled (at most one per conversation).
ACTIVE_STATES: tuple[str, ...] = (WACHTRIJ, OPGEPAKT, LIVE)
#: States in which nothing happens any more.
FINAL_STATES: tuple[str, ...] = (AFGEROND, TERUGGEGEVEN)
#: States in which a staff member holds the ticket (the Rasa conversation is paused in ``live``).
ASSIGNED_STATES: tuple[str, ...] = (OPGEPAKT, LIVE)

TRANSITIONS: dict[str, frozenset[str]] = {
    WACHTRIJ: frozenset({OPGEPAKT, AFGEROND}),
    OPGEPAKT: frozenset({LIVE, TERUGGEGEVEN, AFGEROND}),
    LIVE: frozenset({TERUGGEGEVEN, AFGEROND}),
    AFGEROND: frozenset(),
    TERUGGEGEVEN: frozenset(),
}

#: Dutch labels for the console and the widget.
LABELS: dict[str, str] = {
    WACHTRIJ: "In de wachtrij",
    OPGEPAKT: "Opgepakt",
    LIVE: "In gesprek",
    AFGEROND: "Afgerond",
    TERUGGEGEVEN: "Teruggegeven aan de assistent",
}

#: Dutch names of the actions that lead to a state (button texts in the console).
ACTION_LABELS: dict[str, str] = {
    OPGEPAKT: "Oppakken",
    LIVE: "Gesprek overnemen",
    TERUGGEGEVEN: "Terug naar de assistent",
    AFGEROND: "Afsluiten",
}


class InvalidTransition(ValueError):
    """A transition the state machine does not allow; the message is Dutch and names both states."""

    def __init__(self, from_state: str | None, to_state: str, message: str | None = None):
        self.from_state = from_state
        self.to_state = to_state
        super().__init__(message or (f"Van '{label(from_state)}' naar '{label(to_state)}' kan niet."))


def label(state: str | None) -> str:
    """The Dutch label of ``state`` (the raw value for an unknown one)."""
    if state is None:
        return "nieuw"
    return LABELS.get(state, state)


def is_state(state: object) -> bool:
    return isinstance(state, str) and state in TRANSITIONS


def can_transition(from_state: str, to_state: str) -> bool:
    """True when the machine allows ``from_state → to_state``."""
    return to_state in TRANSITIONS.get(from_state, frozenset())


def validate_transition(from_state: str, to_state: str) -> None:
    """Raise :class:`InvalidTransition` unless ``from_state → to_state`` is allowed."""
    if not is_state(from_state):
        raise InvalidTransition(from_state, to_state, f"Onbekende status: {from_state!r}.")
    if not is_state(to_state):
        raise InvalidTransition(from_state, to_state, f"Onbekende status: {to_state!r}.")
    if not can_transition(from_state, to_state):
        raise InvalidTransition(from_state, to_state)


def sources(to_state: str) -> tuple[str, ...]:
    """The states from which ``to_state`` can be reached (in flow order)."""
    return tuple(s for s in STATES if to_state in TRANSITIONS[s])


def is_final(state: str) -> bool:
    return state in FINAL_STATES


def is_active(state: str) -> bool:
    return state in ACTIVE_STATES
