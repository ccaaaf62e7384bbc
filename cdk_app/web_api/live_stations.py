"""The station routes' answers from a collected history (`api --history`): the latest readings, the stored
forecasts (no endpoint call), and past forecasts beside what happened.

Hours are named by their end, as in the history; every time is shown in Paris time, as riders read it.
"""

from __future__ import annotations

from datetime import datetime

from forecast_contract import HISTORY_HOURS, HORIZON_HOURS, HORIZON_KEYS

from cdk_app.live_data.city_forecast import MIN_HOURS, PARIS, hours_needed
from cdk_app.live_data.history import HOUR, CityForecast, is_stale
from cdk_app.live_data.snapshot import Reading
from cdk_app.web_api.history_cache import HistoryState
from cdk_app.web_api.schemas import (
    ForecastStatus,
    PastForecasts,
    PastHour,
    Station,
    StationForecast,
    StoredForecast,
)


def local_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, PARIS).isoformat(timespec="minutes")


def station(state: HistoryState, code: str) -> Station:
    """A stale reading's counts are null, as the history counts it missing; when it was reported stays."""
    info = state.latest.stations[code]
    reading = state.latest.readings.get(code)
    fresh = reading if reading is not None and not is_stale(reading, state.latest.feed_time) else None
    return Station(station_code=code, name=info.name, capacity=info.capacity, latitude=info.latitude,
                   longitude=info.longitude, bikes=None if fresh is None else fresh.bikes,
                   mechanical=None if fresh is None else fresh.mechanical,
                   ebikes=None if fresh is None else fresh.ebikes, docks=None if fresh is None else fresh.docks,
                   installed=None if reading is None else reading.installed,
                   renting=None if reading is None else reading.renting,
                   last_reported=None if reading is None else local_time(reading.last_reported))


def stations(state: HistoryState) -> list[Station]:
    return [station(state, code) for code in sorted(state.latest.stations)]


def _stored(forecast: CityForecast, code: str) -> StoredForecast:
    return StoredForecast(station_code=code, predictions=forecast.forecasts[code],
                          model_version=forecast.model_version, hour=local_time(forecast.hour))


def _closed(reading: Reading | None) -> str | None:
    """Why a station is closed, or None. A closed station is not forecast, whatever is stored: nobody can take a
    bike there."""
    if reading is not None and not reading.installed:
        return "Closed: the station is not installed."
    if reading is not None and not reading.renting:
        return "Closed: the station is not renting bikes right now."
    return None


def forecasts(state: HistoryState) -> list[StoredForecast]:
    current = state.current_forecast
    if current is None:
        return []
    challenger = state.challenger_forecasts.get(current.hour)
    codes = sorted({*current.forecasts, *(challenger.forecasts if challenger else ())})
    served = ((code, state.current_for(code)) for code in codes if not _closed(state.latest.readings.get(code)))
    return [_stored(forecast, code) for code, forecast in served if forecast is not None]


def _status(reading: Reading | None, forecast: bool, needed: int, next_hour: int) -> tuple[ForecastStatus, str | None]:
    closed = _closed(reading)
    if closed:
        return "closed", closed
    if forecast:
        return "forecast", None
    if needed:
        return "collecting", (f"Not forecast yet: {needed} more hour{'s' if needed > 1 else ''} of readings needed "
                              f"({MIN_HOURS} of the last {HISTORY_HOURS}).")
    return "waiting", (f"Not forecast yet: it will be in the next hourly forecast, after "
                       f"{datetime.fromtimestamp(next_hour, PARIS):%H:%M}.")


def station_forecast(state: HistoryState, code: str) -> StationForecast:
    history = state.counts(code, state.hour)
    needed = hours_needed(history)
    current = state.current_for(code)
    stored = current is not None
    status, message = _status(state.latest.readings.get(code), stored, needed, state.hour)
    return StationForecast(station=station(state, code), history=history, last_hour=local_time(state.hour),
                           forecast=_stored(current, code) if current is not None and status == "forecast" else None,
                           status=status, hours_needed=needed, message=message)


def past_forecasts(state: HistoryState, code: str, hours: int) -> PastForecasts:
    """The last `hours` completed hours, each with what the forecasts made 1, 2 and 3 hours before it said."""
    targets = range(state.hour - hours * HOUR, state.hour, HOUR)
    observed = state.counts(code, state.hour - HOUR, hours)

    def forecast_for(target: int, ahead: int, horizon: str) -> float | None:
        made = state.forecast_of(target - ahead * HOUR, code)
        return None if made is None else made.forecasts[code][horizon]

    return PastForecasts(station_code=code, hours=[
        PastHour(hour=local_time(target), observed=count,
                 forecasts={key: forecast_for(target, ahead, key) for key, ahead in zip(HORIZON_KEYS, HORIZON_HOURS,
                                                                                         strict=True)})
        for target, count in zip(targets, observed, strict=True)])
