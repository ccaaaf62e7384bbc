"""A collected history for the web tests, written through `History` as the collector leaves one: 31 hours of
readings, hourly forecasts by two model versions (one hour missed, as in an endpoint outage), their scores, and
stations in each state the API and the page tell apart. Counts and forecasts are plain functions of the station
and the hour, so a test computes what it expects on its own.
"""

from __future__ import annotations

from forecast_contract import HORIZON_HOURS, HORIZON_KEYS

from cdk_app.live_data.history import HOUR, CityForecast, History, hour_end, score_forecast
from cdk_app.live_data.snapshot import Reading, Snapshot, Station

LAST_COMPLETE = 1_764_504_000  # 2025-11-30 12:00 UTC (13:00 in Paris): the last completed hour
FEED_TIME = LAST_COMPLETE + 20 * 60  # the latest poll, 20 minutes into the hour under way
CURRENT = LAST_COMPLETE + HOUR  # the hour under way, named by its end
FIRST = LAST_COMPLETE - 30 * HOUR
OUTAGE = LAST_COMPLETE - 5 * HOUR  # no forecast was made from this hour
MODEL_A, MODEL_B = "model-a", "model-b"  # model-b replaced model-a from this hour on:
MODEL_B_FROM = LAST_COMPLETE - 10 * HOUR
CAPACITY = 20

OPEN, CLOSED, WAITING, NEW, STALE = "16107", "9020", "11104", "42001", "8001"
STATIONS = {OPEN: Station(OPEN, "Rivoli - Louvre", CAPACITY, 48.8606, 2.3376),
            CLOSED: Station(CLOSED, "Bastille - Roquette", CAPACITY, 48.8532, 2.3700),
            WAITING: Station(WAITING, "Oberkampf", CAPACITY, 48.8649, 2.3800),
            NEW: Station(NEW, "Gare de Lyon - Nouvelle", CAPACITY, 48.8443, 2.3740),
            STALE: Station(STALE, "Trocadéro", CAPACITY, 48.8627, 2.2875)}
FORECAST = (OPEN, CLOSED, STALE)  # the stations each stored forecast covers
NEW_FROM = CURRENT - 4 * HOUR  # NEW has readings for 5 hours: 13 more are needed
STALE_AGE = 2 * HOUR  # STALE's latest reading is this old at FEED_TIME


def bikes(code: str, hour: int) -> int:
    return (hour // HOUR * 7 + int(code)) % 16


def ebikes(code: str, hour: int) -> int:
    return bikes(code, hour) // 3


def model_of(made: int) -> str:
    return MODEL_B if made >= MODEL_B_FROM else MODEL_A


def predicted(code: str, made: int, ahead: int) -> float:
    """model-a drifts up from the last count; model-b is half a bike off the truth."""
    if model_of(made) == MODEL_A:
        return float(bikes(code, made) + ahead)
    return bikes(code, made + ahead * HOUR) + 0.5


def forecast_hours() -> list[int]:
    """Every completed hour whose forecast's last horizon falls in the window, but the outage."""
    return [h for h in range(FIRST, LAST_COMPLETE + HOUR, HOUR) if h != OUTAGE]


def reading(code: str, hour: int, reported: int) -> Reading:
    count = bikes(code, hour)
    return Reading(code, count, count - ebikes(code, hour), ebikes(code, hour), CAPACITY - count, True,
                   code != CLOSED, reported)


def poll(feed_time: int) -> Snapshot:
    """What the feed said at `feed_time`, counted in the hour it belongs to."""
    hour = hour_end(feed_time)
    codes = [c for c in STATIONS if c != NEW or hour >= NEW_FROM]
    return Snapshot(feed_time, dict(STATIONS), {
        c: reading(c, hour, feed_time - (STALE_AGE if c == STALE and hour == CURRENT else 60)) for c in codes})


def write_history(history: History) -> None:
    for hour in range(FIRST, LAST_COMPLETE + HOUR, HOUR):
        history.record_hour(poll(hour - 10 * 60))
    latest = poll(FEED_TIME)
    history.record_hour(latest)
    for made in forecast_hours():
        forecast = CityForecast(made, model_of(made),
                                {c: {k: predicted(c, made, h) for k, h in zip(HORIZON_KEYS, HORIZON_HOURS, strict=True)}
                                 for c in FORECAST},
                                {c: float(bikes(c, made)) for c in FORECAST})
        history.put_forecast(forecast)
        if made + HORIZON_HOURS[-1] * HOUR <= LAST_COMPLETE:  # scored once its last horizon was observed
            history.put_score(score_forecast(forecast, {
                k: history.hour_readings(made + h * HOUR) for k, h in zip(HORIZON_KEYS, HORIZON_HOURS, strict=True)}))
    history.put_latest(latest, LAST_COMPLETE)
