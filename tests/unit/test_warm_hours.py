"""Warm hours: the text users write, the windows it means, and the cron schedules both strategies run on."""

from __future__ import annotations

import re

import pytest

from cdk_app.deployment.warm_hours import (
    DAYS,
    MINUTES_PER_DAY,
    PING_EVERY_MINUTES,
    WarmHours,
    WarmHoursError,
    parse_windows,
)

EXAMPLE = "Mon-Fri 07:00-10:00,16:30-20:00"


def fires_at(expression: str) -> set[tuple[int, int]]:
    """Every (day, minute of the day) a cron(m h ? * days *) expression fires at, expanded independently."""
    match = re.fullmatch(r"cron\(([\d,]+) ([\d,]+) \? \* ([A-Z,]+) \*\)", expression)
    assert match, expression
    minutes, hours, days = (match.group(i).split(",") for i in (1, 2, 3))
    return {(DAYS.index(d), int(h) * 60 + int(m)) for d in days for h in hours for m in minutes}


def warm(text: str) -> WarmHours:
    return WarmHours(parse_windows(text), "Europe/Paris", "ping")


def test_the_issue_example_is_32_and_a_half_hours_a_week() -> None:
    hours = warm(EXAMPLE)
    assert hours.weekly_minutes == 5 * (180 + 210)
    assert {w.days for w in hours.windows} == {(0, 1, 2, 3, 4)}


def test_pings_fire_every_five_minutes_inside_the_windows_and_never_outside() -> None:
    text = "Mon-Fri 07:00-10:00,16:32-20:00; Sun 23:00-24:00"
    expected = {(day, minute) for day in range(5) for start, end in ((420, 600), (992, 1200))
                for minute in range(start, end, PING_EVERY_MINUTES)}
    expected |= {(6, minute) for minute in range(23 * 60, MINUTES_PER_DAY, PING_EVERY_MINUTES)}
    fired = [slot for expression in warm(text).ping_schedules() for slot in fires_at(expression)]
    assert sorted(fired) == sorted(expected)  # and no slot twice


def test_transitions_start_and_end_each_window_and_midnight_moves_to_the_next_day() -> None:
    found = {(tuple(sorted(fires_at(e))), up) for e, up in warm("Mon-Fri 07:00-10:00; Sat,Sun 22:00-24:00")
             .transitions()}
    assert found == {
        (tuple((d, 420) for d in range(5)), True), (tuple((d, 600) for d in range(5)), False),
        (((5, 1320), (6, 1320)), True), (((0, 0), (6, 0)), False)}  # Sat and Sun end at 00:00 Sun and Mon


@pytest.mark.parametrize(("text", "days"), [
    ("Fri-Mon 08:00-09:00", (0, 4, 5, 6)), ("mon,wed 08:00-09:00", (0, 2)), ("Sun 08:00-09:00", (6,)),
])
def test_days_accept_ranges_lists_and_wrap_around_the_week(text: str, days: tuple[int, ...]) -> None:
    assert parse_windows(text)[0].days == days


@pytest.mark.parametrize(("text", "problem"), [
    ("Mon-Fri", "is not days then times"),
    ("Mon-Fri 7:00-10:00", "'7:00-10:00' is not a time range"),
    ("Mon-Fri 10:00-07:00", "must run forward within one day"),
    ("Mon-Fri 07:00-24:30", "must run forward within one day"),
    ("Mon-Fri 07:60-08:00", "must run forward within one day"),
    ("Monday 07:00-08:00", "'Monday' is not a day"),
    ("Mon-Fri 07:00-10:00,09:30-11:00", "overlap or touch"),
    ("Mon 07:00-10:00; Mon 10:00-11:00", "overlap or touch"),
    ("Sun 23:00-24:00; Mon 00:00-01:00", "overlap or touch"),  # across the end of the week
])
def test_bad_text_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(WarmHoursError, match=re.escape(problem)):
        parse_windows(text)
