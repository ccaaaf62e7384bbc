"""The API's request and response models, built from the endpoint's own contract constants.

One definition: the lengths and ranges come from model_code/forecast_contract.py, the module the endpoint
validates with, so the API refuses (422) what the endpoint would refuse, before paying for an inference.
"""

from __future__ import annotations

from typing import Annotated

from forecast_contract import (
    CAPACITY_RANGE,
    DAY_OF_WEEK_RANGE,
    HISTORY_HOURS,
    HORIZON_KEYS,
    HOUR_RANGE,
    LATITUDE_RANGE,
    LONGITUDE_RANGE,
    MAX_BATCH,
    MAX_MISSING_HOURS,
    MAX_STATION_CODE_CHARS,
)
from pydantic import BaseModel, ConfigDict, Field, field_validator

HourlyCount = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)] | None


class PredictionRequest(BaseModel):
    """The design guide's request: a station's last 24 hourly counts and where and when it stands."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "station_code": "16107", "historical_bikes": [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6, 7,
                                                      8, 9, 10, 11],
        "hour": 14, "day_of_week": 1, "is_weekend": False, "capacity": 20, "latitude": 48.8566,
        "longitude": 2.3522}]})

    station_code: Annotated[str, Field(min_length=1, max_length=MAX_STATION_CODE_CHARS)]
    historical_bikes: Annotated[list[HourlyCount], Field(min_length=HISTORY_HOURS, max_length=HISTORY_HOURS,
                                                         description="hourly counts, oldest first; null if missing")]
    hour: Annotated[int, Field(strict=True, ge=HOUR_RANGE[0], le=HOUR_RANGE[1])]
    day_of_week: Annotated[int, Field(strict=True, ge=DAY_OF_WEEK_RANGE[0], le=DAY_OF_WEEK_RANGE[1],
                                      description="0 = Monday")]
    is_weekend: Annotated[bool | None, Field(strict=True, description="default: Saturday or Sunday")] = None
    capacity: Annotated[int, Field(strict=True, ge=CAPACITY_RANGE[0], le=CAPACITY_RANGE[1])]
    latitude: Annotated[float, Field(strict=True, ge=LATITUDE_RANGE[0], le=LATITUDE_RANGE[1], allow_inf_nan=False)]
    longitude: Annotated[float, Field(strict=True, ge=LONGITUDE_RANGE[0], le=LONGITUDE_RANGE[1],
                                      allow_inf_nan=False)]

    @field_validator("historical_bikes")
    @classmethod
    def _few_missing_hours(cls, value: list[float | None]) -> list[float | None]:
        missing = sum(v is None for v in value)
        if missing > MAX_MISSING_HOURS:
            raise ValueError(f"{missing} missing hours (null); at most {MAX_MISSING_HOURS} can be imputed")
        return value

    def to_endpoint(self) -> dict[str, object]:
        """The endpoint's JSON body; an unset is_weekend is left to the endpoint's default."""
        return self.model_dump(exclude_none=True, exclude={"historical_bikes"}) | {
            "historical_bikes": self.historical_bikes}


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instances: Annotated[list[PredictionRequest], Field(min_length=1, max_length=MAX_BATCH)]


Predictions = Annotated[dict[str, float], Field(description=f"bikes expected at {', '.join(HORIZON_KEYS)}",
                                                examples=[{"T+1h": 10.5, "T+2h": 9.2, "T+3h": 8.7}])]


class PredictionResponse(BaseModel):
    """The guide's PredictionResponse (station_code, predictions, inference_time_ms, model_version) and more."""

    station_code: str
    predictions: Predictions
    inference_time_ms: float
    model_version: str
    station_known: bool
    warnings: list[str]


class Station(BaseModel):
    station_code: str
    name: str
    capacity: int
    latitude: float
    longitude: float
    bikes: float | None = Field(description="the latest hourly count (null if that hour is missing)")


class StationForecast(BaseModel):
    """A station's forecast with the history it was made from, for the page's chart."""

    station: Station
    history: list[float | None]
    last_hour: str
    forecast: PredictionResponse


class Health(BaseModel):
    status: str
    endpoint: dict[str, object]
    cache: str
    rate_limit: str
