"""Opening hours (bot/handoff/hours.py): parsing, open/closed, next opening, Dutch sentence."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.handoff import hours
from bot.handoff.hours import OpeningHours, parse_hours

AMS = ZoneInfo("Europe/Amsterdam")


def at(y, m, d, h=0, mi=0, tz=AMS):
    return dt.datetime(y, m, d, h, mi, tzinfo=tz)


# 2025-06-02 is a Monday, 2025-06-06 a Friday, 2025-06-07 a Saturday.
MA, VR, ZA, ZO = (2025, 6, 2), (2025, 6, 6), (2025, 6, 7), (2025, 6, 8)


@pytest.fixture
def weekdays():
    return parse_hours("ma-vr 09:00-17:00")


def test_open_and_closed_on_weekdays(weekdays):
    assert weekdays.is_open(at(*MA, 9, 0))
    assert weekdays.is_open(at(*MA, 16, 59))
    assert not weekdays.is_open(at(*MA, 17, 0))
    assert not weekdays.is_open(at(*MA, 8, 59))
    assert weekdays.is_open(at(*VR, 12))
    assert not weekdays.is_open(at(*ZA, 12))
    assert not weekdays.is_open(at(*ZO, 12))


def test_now_in_another_zone_is_converted(weekdays):
    # 07:30 UTC is 09:30 in Amsterdam in summer (CEST).
    assert weekdays.is_open(dt.datetime(2025, 6, 2, 7, 30, tzinfo=dt.UTC))
    assert not weekdays.is_open(dt.datetime(2025, 6, 2, 6, 30, tzinfo=dt.UTC))
    # In winter (CET) 08:30 UTC is 09:30.
    assert weekdays.is_open(dt.datetime(2025, 1, 6, 8, 30, tzinfo=dt.UTC))


def test_naive_now_is_refused(weekdays):
    with pytest.raises(ValueError, match="timezone-aware"):
        weekdays.is_open(dt.datetime(2025, 6, 2, 10, 0))


def test_next_opening_over_the_weekend(weekdays):
    friday_evening = at(*VR, 17, 30)
    assert weekdays.next_opening(friday_evening) == at(2025, 6, 9, 9, 0)
    assert weekdays.next_opening(at(*ZA, 10)) == at(2025, 6, 9, 9, 0)
    assert weekdays.next_opening(at(*ZO, 23, 59)) == at(2025, 6, 9, 9, 0)
    assert weekdays.closed_message(friday_evening) == (
        "De helpdesk is nu gesloten. We beantwoorden je vraag vanaf maandag 9:00."
    )
    assert weekdays.closed_message(at(*ZO, 20)) == (
        "De helpdesk is nu gesloten. We beantwoorden je vraag vanaf morgen 9:00."
    )


def test_next_opening_same_day_and_next_day(weekdays):
    assert weekdays.next_opening(at(*MA, 7, 15)) == at(*MA, 9, 0)
    assert weekdays.closed_message(at(*MA, 7, 15)).endswith("vanaf vandaag 9:00.")
    assert weekdays.next_opening(at(*MA, 18)) == at(2025, 6, 3, 9, 0)
    now = at(*MA, 10)
    assert weekdays.next_opening(now) == now
    assert weekdays.closed_message(now) is None


def test_next_opening_returns_amsterdam_time_across_dst():
    oh = parse_hours("ma-vr 09:00-17:00")
    # Friday 28 March 2025 evening; clocks go forward on Sunday 30 March.
    nxt = oh.next_opening(at(2025, 3, 28, 18))
    assert nxt == at(2025, 3, 31, 9, 0)
    assert nxt.utcoffset() == dt.timedelta(hours=2)
    assert nxt.astimezone(dt.UTC).hour == 7


def test_several_clauses_and_ranges():
    oh = parse_hours("ma,wo 10:00-12:00; do 13:00-16:00")
    assert oh.is_open(at(*MA, 11)) and oh.is_open(at(2025, 6, 4, 10))
    assert not oh.is_open(at(2025, 6, 3, 11))  # dinsdag
    assert not oh.is_open(at(2025, 6, 5, 11)) and oh.is_open(at(2025, 6, 5, 15, 59))
    assert oh.next_opening(at(*MA, 12)) == at(2025, 6, 4, 10)
    assert oh.next_opening(at(2025, 6, 5, 16)) == at(2025, 6, 9, 10)
    assert (oh.closed_message(at(2025, 6, 5, 16)) or "").endswith("vanaf maandag 10:00.")

    oh = parse_hours("ma t/m do 9:00-12:00, 13:00-17:00; vr 9:00-12:00")
    assert oh.is_open(at(*MA, 9)) and not oh.is_open(at(*MA, 12, 30))
    assert oh.next_opening(at(*MA, 12, 30)) == at(*MA, 13)
    assert not oh.is_open(at(*VR, 13))
    assert oh.describe() == "maandag t/m donderdag 9:00-12:00, 13:00-17:00; vrijdag 9:00-12:00"


def test_full_day_names_wrapping_range_and_24_00():
    oh = parse_hours("Zaterdag-Maandag 00:00-24:00")
    assert oh.is_open(at(*ZA, 0)) and oh.is_open(at(*ZO, 23, 59)) and oh.is_open(at(*MA, 12))
    assert not oh.is_open(at(2025, 6, 3, 12))
    assert oh.next_opening(at(2025, 6, 3, 12)) == at(*ZA, 0)
    assert (oh.closed_message(at(2025, 6, 3, 12)) or "").endswith("vanaf zaterdag 0:00.")


def test_colon_after_the_days_and_dots_in_times():
    oh = parse_hours("ma-vr: 9.00-17.00")
    assert oh.week == parse_hours("ma-vr 09:00-17:00").week


def test_overlapping_ranges_are_merged():
    oh = parse_hours("ma 09:00-12:00, 11:00-14:00; ma 14:00-15:00")
    assert oh.week[0] == ((9 * 60, 15 * 60),)


def test_far_opening_names_the_date():
    oh = parse_hours("wo 10:00-11:00")
    # Wednesday 11:00 → next Wednesday is seven days later: weekday plus date.
    assert (oh.closed_message(at(2025, 6, 4, 11)) or "").endswith("vanaf woensdag 11 juni 10:00.")


@pytest.mark.parametrize(
    "spec, problem",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("09:00-17:00", "needs days and times"),
        ("ma-vr", "needs days and times"),
        ("mq-vr 09:00-17:00", "unknown day 'mq'"),
        ("ma-vr 9-17", "cannot read the times"),
        ("ma-vr 09:00-17:00 uur", "cannot read the times"),
        ("ma-vr 17:00-09:00", "is not after"),
        ("ma 22:00-02:00", "cannot pass midnight"),
        ("ma 09:00-09:00", "is not after"),
        ("ma 09:60-10:00", "invalid time 09:60"),
        ("ma 25:00-26:00", "invalid time 25:00"),
        ("ma 24:00-24:00", "invalid time 24:00"),
        ("ma-ma 09:00-10:00", "has one day"),
        ("ma,,di 09:00-10:00", "empty day"),
    ],
)
def test_invalid_specs_name_the_problem(spec, problem):
    with pytest.raises(ValueError) as info:
        parse_hours(spec)
    assert problem in str(info.value)


def test_unknown_time_zone():
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_hours("ma-vr 09:00-17:00", "Europe/Atlantis")


def test_from_settings_uses_the_settings(tmp_path):
    from bot.settings import load

    settings = load({"KW_VAR_DIR": str(tmp_path), "KW_HELPDESK_HOURS": "za 10:00-12:00"})
    oh = OpeningHours.from_settings(settings)
    assert oh.is_open(at(*ZA, 11)) and not oh.is_open(at(*MA, 11))
    assert hours.is_open(settings, at(*ZA, 11))
    assert hours.next_opening(settings, at(*MA, 11)) == at(*ZA, 10)
    assert hours.closed_message(settings, at(*ZA, 11)) is None
    default = load({"KW_VAR_DIR": str(tmp_path)})
    assert hours.for_settings(default).describe() == "maandag t/m vrijdag 9:00-17:00"
