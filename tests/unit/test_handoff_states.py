"""The ticket state machine (bot/handoff/states.py): valid and invalid transitions, labels."""

import itertools

import pytest

from bot.handoff import states
from bot.handoff.states import (
    AFGEROND,
    LIVE,
    OPGEPAKT,
    TERUGGEGEVEN,
    WACHTRIJ,
    InvalidTransition,
    can_transition,
    validate_transition,
)

VALID = {
    (WACHTRIJ, OPGEPAKT),
    (WACHTRIJ, AFGEROND),
    (OPGEPAKT, LIVE),
    (OPGEPAKT, TERUGGEGEVEN),
    (OPGEPAKT, AFGEROND),
    (LIVE, TERUGGEGEVEN),
    (LIVE, AFGEROND),
}


@pytest.mark.parametrize("pair", sorted(VALID))
def test_valid_transitions(pair):
    assert can_transition(*pair)
    validate_transition(*pair)  # no exception


@pytest.mark.parametrize("pair", sorted(set(itertools.product(states.STATES, repeat=2)) - VALID))
def test_every_other_transition_is_refused(pair):
    assert not can_transition(*pair)
    with pytest.raises(InvalidTransition) as info:
        validate_transition(*pair)
    assert info.value.from_state == pair[0] and info.value.to_state == pair[1]
    assert states.label(pair[0]) in str(info.value)


def test_final_states_have_no_way_out_and_cannot_go_back_to_the_queue():
    for final in states.FINAL_STATES:
        assert states.TRANSITIONS[final] == frozenset()
        assert states.is_final(final) and not states.is_active(final)
    assert states.sources(WACHTRIJ) == ()
    assert states.sources(TERUGGEGEVEN) == (OPGEPAKT, LIVE)
    assert states.sources(AFGEROND) == (WACHTRIJ, OPGEPAKT, LIVE)


def test_unknown_states_are_refused():
    with pytest.raises(InvalidTransition, match="Onbekende status"):
        validate_transition("open", OPGEPAKT)
    with pytest.raises(InvalidTransition, match="Onbekende status"):
        validate_transition(WACHTRIJ, "gesloten")
    assert isinstance(InvalidTransition(WACHTRIJ, LIVE), ValueError)


def test_every_state_has_a_dutch_label_and_partitions_are_complete():
    assert set(states.LABELS) == set(states.STATES) == set(states.TRANSITIONS)
    assert states.label(LIVE) == "In gesprek"
    assert states.label(None) == "nieuw"
    assert set(states.ACTIVE_STATES) | set(states.FINAL_STATES) == set(states.STATES)
    assert not set(states.ACTIVE_STATES) & set(states.FINAL_STATES)
    assert set(states.ACTION_LABELS) == {OPGEPAKT, LIVE, TERUGGEGEVEN, AFGEROND}
