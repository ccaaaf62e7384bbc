"""Warm hours: the weekly windows in which a serverless endpoint is kept warm, and their cron schedules.

`warm_hours` reads like "Mon-Fri 07:00-10:00,16:30-20:00; Sat 09:00-12:00": groups separated by ';', each
a set of days, then time ranges in `warm_timezone`. Both strategies turn the windows into cron expressions
in that time zone (Application Auto Scaling scheduled actions, EventBridge Scheduler schedules), so the
clock changes twice a year without a redeploy. Plain Python: the config, the stack, `cost` and the
rehearsal all read the same windows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
PING_EVERY_MINUTES = 5  # the guide says every 10; an idle serverless instance may be reclaimed sooner
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
EXAMPLE = "Mon-Fri 07:00-10:00,16:30-20:00"


class WarmHoursError(ValueError):
    """What is wrong with the text; the config prefixes the key."""


@dataclass(frozen=True)
class WarmWindow:
    days: tuple[int, ...]  # 0 is Monday
    start: int  # minutes after midnight
    end: int  # exclusive, at most 24:00


@dataclass(frozen=True)
class WarmHours:
    windows: tuple[WarmWindow, ...]
    timezone: str
    strategy: str  # "ping" or "provisioned"

    @property
    def weekly_minutes(self) -> int:
        return sum((w.end - w.start) * len(w.days) for w in self.windows)

    @property
    def pings_per_week(self) -> int:
        return sum(len(_ping_minutes(w)) * len(w.days) for w in self.windows)

    def __str__(self) -> str:
        """The windows as `warm_hours` writes them, with the zone: what `cost` and README print."""
        groups: dict[tuple[int, ...], list[str]] = {}
        for window in self.windows:
            groups.setdefault(window.days, []).append(f"{_clock(window.start)}-{_clock(window.end)}")
        return "; ".join(f"{_day_ranges(days)} {','.join(times)}" for days, times in groups.items()) + \
            f" {self.timezone}"

    def transitions(self) -> list[tuple[str, bool]]:
        """(cron expression, warm) for every start (True) and end (False) of a window, in `timezone`."""
        found = []
        for window in self.windows:
            found.append((_cron((window.start % 60,), (window.start // 60,), window.days), True))
            end_days = tuple((d + window.end // MINUTES_PER_DAY) % 7 for d in window.days)
            end = window.end % MINUTES_PER_DAY
            found.append((_cron((end % 60,), (end // 60,), end_days), False))
        return found

    def ping_schedules(self) -> list[str]:
        """Cron expressions that together fire every PING_EVERY_MINUTES inside the windows, and never outside."""
        expressions: list[str] = []
        for window in self.windows:
            by_hour: dict[int, list[int]] = {}
            for minute in _ping_minutes(window):
                by_hour.setdefault(minute // 60, []).append(minute % 60)
            by_minutes: dict[tuple[int, ...], list[int]] = {}
            for hour, minutes in by_hour.items():
                by_minutes.setdefault(tuple(minutes), []).append(hour)
            expressions += [_cron(minutes, tuple(hours), window.days) for minutes, hours in by_minutes.items()]
        return expressions


def _ping_minutes(window: WarmWindow) -> range:
    """The minutes of the day a ping goes out at, on each of the window's days."""
    return range(window.start, window.end, PING_EVERY_MINUTES)


def _day_ranges(days: tuple[int, ...]) -> str:
    """(0, 1, 2, 3, 4, 6) as Mon-Fri,Sun."""
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(DAYS[r[0]].title() + (f"-{DAYS[r[-1]].title()}" if len(r) > 1 else "") for r in runs)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _cron(minutes: tuple[int, ...], hours: tuple[int, ...], days: tuple[int, ...]) -> str:
    return (f"cron({','.join(map(str, minutes))} {','.join(map(str, hours))} ? * "
            f"{','.join(DAYS[d] for d in sorted(days))} *)")


def parse_windows(text: str) -> tuple[WarmWindow, ...]:
    """The windows `text` describes; overlapping or touching windows are refused (write them as one)."""
    windows = []
    for group in (g.strip() for g in text.split(";")):
        parts = group.split()
        if len(parts) != 2:
            raise WarmHoursError(f"'{group}' is not days then times, like '{EXAMPLE}'")
        days = _days(parts[0])
        windows += [WarmWindow(days, *_times(r)) for r in parts[1].split(",")]
    spans = sorted((d * MINUTES_PER_DAY + w.start, d * MINUTES_PER_DAY + w.end) for w in windows for d in w.days)
    for (_, end), (start, _) in zip(spans, [*spans[1:], (spans[0][0] + MINUTES_PER_WEEK, 0)], strict=True):
        if end >= start:
            raise WarmHoursError("two windows overlap or touch; write them as one window")
    return tuple(windows)


def _days(text: str) -> tuple[int, ...]:
    days: set[int] = set()
    for item in text.split(","):
        first, _, last = item.partition("-")
        start, end = _day(first), _day(last or first)
        days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
    return tuple(sorted(days))


def _day(text: str) -> int:
    name = text.strip().upper()
    if name not in DAYS:
        raise WarmHoursError(f"'{text}' is not a day; use Mon, Tue, Wed, Thu, Fri, Sat or Sun")
    return DAYS.index(name)


def _times(text: str) -> tuple[int, int]:
    match = _RANGE.match(text.strip())
    if not match:
        raise WarmHoursError(f"'{text}' is not a time range like 07:00-10:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > MINUTES_PER_DAY or end <= start:
        raise WarmHoursError(f"'{text}' must run forward within one day, from 00:00 up to 24:00")
    return start, end
