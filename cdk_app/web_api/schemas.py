"""The API's request and response models, built from the endpoint's own contract constants.

One definition: the lengths and ranges come from model_code/forecast_contract.py, the module the endpoint
validates with, so the API refuses (422) what the endpoint would refuse, before paying for an inference.
"""

from __future__ import annotations

from typing import Annotated, Literal

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
    variant: str | None = Field(default=None, description=(
        "which model answered: champion or challenger in a serverless A/B (sticky per station); otherwise the "
        "endpoint's production variant that answered (real-time A/B: Champion or Challenger; else AllTraffic)"))


class Station(BaseModel):
    """A station and its latest count. With `--history`, its latest reading too (those fields are absent
    otherwise); a reading more than an hour older than the feed's time is stale, so its counts are null."""

    station_code: str
    name: str
    capacity: int
    latitude: float
    longitude: float
    bikes: float | None = Field(description="the latest hourly count (null if that hour is missing)")
    mechanical: int | None = Field(default=None, description="mechanical bikes (null if the feed does not split them)")
    ebikes: int | None = Field(default=None, description="e-bikes (null when the feed does not split them)")
    docks: int | None = Field(default=None, description="free docks (null when the feed does not say)")
    installed: bool | None = None
    renting: bool | None = None
    last_reported: str | None = Field(default=None, description="when the station last reported, local time (ISO 8601)")


class StoredForecast(BaseModel):
    """A forecast the collector made from the 24 hours ending at `hour` (local time) and stored: it is served
    without invoking the endpoint."""

    station_code: str
    predictions: Predictions
    model_version: str
    hour: str


ForecastStatus = Literal["forecast", "collecting", "closed", "waiting"]


class StationForecast(BaseModel):
    """A station's forecast with the history it was made from, for the page's chart.

    `status` says why `forecast` is null: `collecting` (fewer than 18 of its last 24 hours observed;
    `hours_needed` more are), `closed` (not installed, or not renting), `waiting` (forecastable, but no stored
    forecast covers it yet); `message` says it in a sentence."""

    station: Station
    history: list[float | None]
    last_hour: str
    forecast: PredictionResponse | StoredForecast | None
    status: ForecastStatus = "forecast"
    hours_needed: int = 0
    message: str | None = None


class PastHour(BaseModel):
    """One completed hour: the count observed then, and what was forecast for it 1, 2 and 3 hours before
    (null where no forecast covered the station)."""

    hour: str
    observed: float | None
    forecasts: dict[str, float | None]


class PastForecasts(BaseModel):
    station_code: str
    hours: list[PastHour]


class HorizonAccuracy(BaseModel):
    n: int
    mae: float | None
    persistence_mae: float | None


class HorizonComparison(BaseModel):
    """The champion and the challenger on the station-hours both scored at one horizon (MAE in bikes)."""

    n: int = Field(description="station-hours both models were scored on")
    hours: int = Field(description="forecast hours they came from: the bootstrap resamples these")
    champion_mae: float | None
    challenger_mae: float | None
    difference: float | None = Field(description="challenger's MAE minus champion's; negative: the challenger is "
                                                 "better")
    ci_low: float | None = Field(description="the difference's confidence interval (a cluster bootstrap over "
                                             "hours); null before min_hours paired hours")
    ci_high: float | None
    verdict: str = Field(examples=["challenger better", "champion better", "not enough evidence yet (n = 4500)"])


class Comparison(BaseModel):
    """The A/B: the champion and the challenger of the latest hour both forecast, compared on every hour both
    versions were scored (first_hour to last_hour, Paris time)."""

    champion: str = Field(description="model version")
    challenger: str = Field(description="model version")
    first_hour: str
    last_hour: str
    confidence_level: float
    min_hours: int = Field(description="paired hours needed before an interval or a verdict")
    by_horizon: dict[str, HorizonComparison]


class Accuracy(BaseModel):
    """Every scored forecast, summed per model version and horizon, beside persistence on the same cases; and the
    champion against the challenger (`comparison`, null when the history has no challenger)."""

    by_model_version: dict[str, dict[str, HorizonAccuracy]]
    comparison: Comparison | None


class SideHealth(BaseModel):
    endpoint: str
    weight: float = Field(description="the share of stations this side serves")
    forecasts: int | None = Field(description=(
        "forecasts it served, cache hits included, since this process started, or with --redis-url since the "
        "first process of the same split did, summed over all of them (null when Redis does not answer)"))
    state: dict[str, object] = Field(description="the endpoint's last known state, as `endpoint` for the champion")


class Health(BaseModel):
    status: str
    endpoint: dict[str, object]
    cache: str
    rate_limit: str
    ab: dict[str, SideHealth] | None = Field(default=None, description=(
        "a serverless A/B's split: champion and challenger; null without a challenger (in real-time mode SageMaker "
        "splits, and each answer's `variant` says which variant served it)"))
