"""A collected history with an A/B, written through `History` as the collector leaves one: 300 stations, a
champion alone for a few hours, then the champion and a challenger forecasting every hour, each scored by
`score_forecast` against the readings.

The truth is set here: the challenger is better at T+1h, exactly as good at T+2h and worse at T+3h. Each model's
error is a city-wide shock of the hour (the same for every station: rain, a strike) plus each station's own
noise, drawn from a seeded generator, so the station-hours of one hour are correlated, as they are live. Counts,
forecasts and errors are plain functions and arrays here, so a test computes what it expects on its own.

With this seed the sample differences lie 5 and 6 cluster standard errors from 0 at T+1h and T+3h, and 0.2 at
T+2h: the verdicts do not hinge on the bootstrap's last digits.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import numpy as np
from forecast_contract import HORIZON_HOURS, HORIZON_KEYS

from cdk_app.live_data.comparison import Scoreboard
from cdk_app.live_data.history import CHALLENGER, CHAMPION, HOUR, CityForecast, History, Score, score_forecast
from cdk_app.live_data.snapshot import Reading, Snapshot, Station

SEED = 2029
CODES = tuple(str(10001 + i) for i in range(300))
INDEX = {c: i for i, c in enumerate(CODES)}
STATIONS = {c: Station(c, f"Station {c}", 30, 48.80 + i * 0.0005, 2.25 + i * 0.0005) for i, c in enumerate(CODES)}
CHAMPION_VERSION, CHALLENGER_VERSION = "3f2a9c1e0b7d", "8b41d2c07e55"
SOLO_HOURS = 6  # the champion alone first: an hour without a challenger pairs with nothing
PAIRED_HOURS = 48
FIRST_MADE = 1_764_504_000  # 2025-11-30 12:00 UTC
FIRST_PAIRED = FIRST_MADE + SOLO_HOURS * HOUR
LAST_MADE = FIRST_PAIRED + (PAIRED_HOURS - 1) * HOUR
NOT_BY = {CHAMPION: CODES[:3], CHALLENGER: CODES[3:6]}  # stations each model leaves out: neither pairs
UNOBSERVED = CODES[6:9]  # stations without a reading every fifth hour: no case at that target hour

# Per role and horizon: (the hour's city-wide shock, each station's noise), standard deviations in bikes.
# The mean absolute error is sqrt(2/pi) * sqrt(shock^2 + noise^2): at T+1h 1.13 for the challenger against
# 1.44 for the champion, at T+2h the same 1.44 for both, at T+3h 1.78 against 1.44.
SPREAD = {CHAMPION: {"T+1h": (1.0, 1.5), "T+2h": (1.0, 1.5), "T+3h": (1.0, 1.5)},
          CHALLENGER: {"T+1h": (1.0, 1.0), "T+2h": (1.0, 1.5), "T+3h": (1.0, 2.0)}}
VERSION = {CHAMPION: CHAMPION_VERSION, CHALLENGER: CHALLENGER_VERSION}


def bikes(code: str, hour: int) -> int:
    return (hour // HOUR * 5 + int(code) * 3) % 31


def observed(code: str, hour: int) -> bool:
    return code not in UNOBSERVED or (hour // HOUR) % 5 != 0


def made_hours() -> list[int]:
    return list(range(FIRST_MADE, LAST_MADE + HOUR, HOUR))


def roles_at(made: int) -> tuple[str, ...]:
    return (CHAMPION,) if made < FIRST_PAIRED else (CHAMPION, CHALLENGER)


@cache
def _errors() -> dict[str, np.ndarray]:
    """Role -> errors[made hour index, station index, horizon index]: shock of the hour plus station noise."""
    rng = np.random.default_rng(SEED)
    shape = (len(made_hours()), len(CODES), len(HORIZON_KEYS))
    errors = {}
    for role, spread in SPREAD.items():
        shock = np.array([spread[k][0] for k in HORIZON_KEYS]) * rng.standard_normal((shape[0], 1, shape[2]))
        errors[role] = shock + np.array([spread[k][1] for k in HORIZON_KEYS]) * rng.standard_normal(shape)
    return errors


def predicted(role: str, code: str, made: int, horizon: str) -> float:
    ahead = HORIZON_HOURS[HORIZON_KEYS.index(horizon)]
    error = _errors()[role][(made - FIRST_MADE) // HOUR, INDEX[code], HORIZON_KEYS.index(horizon)]
    return bikes(code, made + ahead * HOUR) + float(error)


def _snapshot(hour: int) -> Snapshot:
    feed_time = hour - 5 * 60
    return Snapshot(feed_time, dict(STATIONS), {
        c: Reading(c, bikes(c, hour), bikes(c, hour), 0, 30 - bikes(c, hour), True, True, feed_time - 60)
        for c in CODES if observed(c, hour)})


def write_history(history: History) -> None:
    last_observed = LAST_MADE + HORIZON_HOURS[-1] * HOUR
    for hour in range(FIRST_MADE - HOUR, last_observed + 2 * HOUR, HOUR):  # and the hour under way
        history.record_hour(_snapshot(hour))
    for made in made_hours():
        seen = {k: history.hour_readings(made + h * HOUR) for k, h in zip(HORIZON_KEYS, HORIZON_HOURS, strict=True)}
        for role in roles_at(made):
            codes = [c for c in CODES if c not in NOT_BY[role]]
            forecast = CityForecast(made, VERSION[role], {c: {k: predicted(role, c, made, k) for k in HORIZON_KEYS}
                                                          for c in codes},
                                    {c: float(bikes(c, made)) for c in codes}, role)
            history.put_forecast(forecast)
            history.put_score(score_forecast(forecast, seen))
    history.put_latest(_snapshot(last_observed + HOUR), last_observed)


def report(scores: Iterable[Score]) -> dict[str, Any]:
    """What GET /accuracy answers for these scores (each hour's together)."""
    scoreboard = Scoreboard()
    scoreboard.add(scores)
    return scoreboard.report()
