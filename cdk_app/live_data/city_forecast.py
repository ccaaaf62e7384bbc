"""The hourly forecast of the whole city: every station with enough history, in one endpoint invocation.

This is the design guide's "pre-compute predictions for popular stations", done for every station: the API
then serves forecasts from the history, so a visitor never waits for a serverless cold start, and a month
of forecasts for all of Paris costs about 720 invocations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from forecast_contract import CAPACITY_RANGE, HISTORY_HOURS, LATITUDE_RANGE, LONGITUDE_RANGE, MAX_MISSING_HOURS

from cdk_app.client.forecast_client import ForecastClient
from cdk_app.live_data.history import CHAMPION, CityForecast, Counts
from cdk_app.live_data.snapshot import Station

PARIS = ZoneInfo("Europe/Paris")
MIN_HOURS = HISTORY_HOURS - MAX_MISSING_HOURS  # 18 of the last 24


def hours_needed(counts: list[float | None]) -> int:
    """How many more observed hours a station needs before it can be forecast (0: it can)."""
    return max(0, MIN_HOURS - sum(c is not None for c in counts))


def _in_contract(station: Station) -> bool:
    """A station the endpoint would refuse (a capacity of 0 while it is built, a position outside the service
    area) is left out, rather than failing the batch for everyone."""
    return (CAPACITY_RANGE[0] <= station.capacity <= CAPACITY_RANGE[1]
            and LATITUDE_RANGE[0] <= station.latitude <= LATITUDE_RANGE[1]
            and LONGITUDE_RANGE[0] <= station.longitude <= LONGITUDE_RANGE[1])


def station_request(station: Station, counts: list[float | None], local: datetime) -> dict[str, Any]:
    """The endpoint request for a station's counts ending at `local`, the local time of the last one; the
    endpoint's own default decides is_weekend. The one translation for the live forecast and the API's stations."""
    return {"station_code": station.code, "historical_bikes": counts, "hour": local.hour,
            "day_of_week": local.weekday(), "capacity": station.capacity, "latitude": station.latitude,
            "longitude": station.longitude}


def city_requests(hour: int, counts: Counts, stations: dict[str, Station]) -> list[dict[str, Any]]:
    local = datetime.fromtimestamp(hour, PARIS)
    return [station_request(stations[code], history, local) for code, history in sorted(counts.items())
            if code in stations and hours_needed(history) == 0 and _in_contract(stations[code])]


def forecast_city(client: ForecastClient, hour: int, counts: Counts, stations: dict[str, Station],
                  role: str = CHAMPION) -> CityForecast | None:
    """None when no station has enough history yet. The answers carry the model version that served them."""
    requests = city_requests(hour, counts, stations)
    if not requests:
        return None
    answers = client.predict_many(requests)
    return CityForecast(hour=hour, model_version=answers[0].model_version,
                        forecasts={a.station_code: dict(a.predictions) for a in answers},
                        last_counts={r["station_code"]: next(c for c in reversed(r["historical_bikes"])
                                                             if c is not None) for r in requests},
                        role=role)
