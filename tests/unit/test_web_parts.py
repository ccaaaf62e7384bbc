"""The web API's and the page's own logic, without a server: contract-built schemas, colours, error locations,
and a user's own station file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from forecast_contract import HISTORY_HOURS, HOUR_RANGE, LATITUDE_RANGE, MAX_BATCH, MAX_STATION_CODE_CHARS
from support.fixtures import GUIDE, station_file

from cdk_app.client.forecast_client import BadRequestError, FieldProblem
from cdk_app.web_api.forecasts import endpoint_field_errors, parse_proxies
from cdk_app.web_api.schemas import BatchRequest, PredictionRequest
from cdk_app.web_api.station_source import JsonStations
from cdk_app.web_page.api_calls import GREEN, GREY, ORANGE, RED, availability_colour


def test_the_request_schema_is_the_endpoints_contract() -> None:
    schema = PredictionRequest.model_json_schema()["properties"]
    assert schema["historical_bikes"]["minItems"] == schema["historical_bikes"]["maxItems"] == HISTORY_HOURS
    assert (schema["hour"]["minimum"], schema["hour"]["maximum"]) == HOUR_RANGE
    assert (schema["latitude"]["minimum"], schema["latitude"]["maximum"]) == LATITUDE_RANGE
    assert schema["station_code"]["maxLength"] == MAX_STATION_CODE_CHARS
    assert BatchRequest.model_json_schema()["properties"]["instances"]["maxItems"] == MAX_BATCH


def test_the_endpoint_body_leaves_is_weekend_to_the_endpoint_when_unset() -> None:
    request = {k: v for k, v in GUIDE.items() if k != "is_weekend"}
    assert "is_weekend" not in PredictionRequest(**request).to_endpoint()
    assert PredictionRequest(**GUIDE).to_endpoint()["is_weekend"] is False


@pytest.mark.parametrize(("bikes", "colour"), [(13, GREEN), (12.1, GREEN), (12, ORANGE), (6, ORANGE),
                                               (5.9, RED), (0, RED), (None, GREY)])
def test_availability_colours_at_60_and_30_percent(bikes: float | None, colour: str) -> None:
    assert availability_colour(bikes, 20) == colour


def test_endpointendpoint_field_errors_point_into_the_callers_body() -> None:
    error = BadRequestError("bad", [FieldProblem("instances[1].historical_bikes[3]", "must be >= 0"),
                                    FieldProblem("instances[0].hour", "too late")])
    # the endpoint saw only the cache misses, the caller's rows 4 and 7
    assert [e["loc"] for e in endpoint_field_errors(error, [4, 7], batch=True)] == [
        ["body", "instances", 7, "historical_bikes", 3], ["body", "instances", 4, "hour"]]
    single = BadRequestError("bad", [FieldProblem("station_code", "blank")])
    assert endpoint_field_errors(single, [0], batch=False)[0]["loc"] == ["body", "station_code"]


def test_trusted_proxies_are_parsed_and_a_bad_one_is_named() -> None:
    assert [str(n) for n in parse_proxies("10.0.0.0/8, 127.0.0.1")] == ["10.0.0.0/8", "127.0.0.1/32"]
    with pytest.raises(ValueError, match=r"--trusted-proxies: .*10\.0\.0\.300"):
        parse_proxies("10.0.0.300")


def test_a_users_own_history_becomes_the_endpoints_request(tmp_path: Path) -> None:
    (station,) = JsonStations(station_file(tmp_path)).stations()
    request = station.request()
    assert (request["hour"], request["day_of_week"]) == (14, 2)  # 2026-11-25 is a Wednesday
    assert request["historical_bikes"][-1] is None and station.bikes_now is None


@pytest.mark.parametrize(("change", "message"), [({"hourly_bikes": [1] * 5}, "stations\\[0\\]: hourly_bikes must"),
                                                 ({"capacity": "many"}, "stations\\[0\\]"),
                                                 ({"last_hour": "noon"}, "stations\\[0\\]")])
def test_a_bad_station_file_names_the_station(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        JsonStations(station_file(tmp_path, **change))
