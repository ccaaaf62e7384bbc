"""The four SageMaker handlers, driven as the toolkit drives them, over the fixture requests and more."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import model_utils
import pytest
from support.fixtures import EDGE_CASES, GUIDE, check_answer
from support.handler_driver import Response, Toolkit

from cdk_app.paths import ARTIFACTS_DIR

KNOWN_STATIONS = json.loads((ARTIFACTS_DIR / "station_mappings.json").read_text())["stations"]


@pytest.fixture(scope="module")
def toolkit() -> Toolkit:
    return Toolkit()


def request(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(GUIDE)
    for key, value in changes.items():
        if value is ...:
            body.pop(key)
        else:
            body[key] = value
    return body


def call(toolkit: Toolkit, payload: Any, **kwargs: Any) -> Response:
    return toolkit.invoke(json.dumps(payload), **kwargs)


def assert_bad(response: Response, status: int, *fragments: str) -> None:
    assert response.status == status, response.body
    for fragment in fragments:
        assert fragment in response.body, response.body


@pytest.mark.parametrize("case", EDGE_CASES, ids=[c["name"] for c in EDGE_CASES])
def test_fixture_edge_cases(toolkit: Toolkit, case: dict[str, Any]) -> None:
    response = toolkit.invoke(case["body"], case["content_type"])
    check_answer(case, response.status, response.body)


def test_guide_example_has_the_documented_shape(toolkit: Toolkit) -> None:
    body = call(toolkit, GUIDE).json()
    assert body["station_code"] == "16107"
    assert list(body["predictions"]) == ["T+1h", "T+2h", "T+3h"]
    assert all(0 <= v <= GUIDE["capacity"] and math.isfinite(v) for v in body["predictions"].values())
    assert body["inference_time_ms"] > 0
    assert body["model_version"] == model_utils.artifacts_version(ARTIFACTS_DIR)
    assert body["station_known"] is True
    assert body["warnings"] == []


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "Application/JSON", None])
def test_json_content_types_are_accepted_as_str_or_bytes(toolkit: Toolkit,
                                                          content_type: str | None) -> None:
    assert call(toolkit, GUIDE, content_type=content_type).status == 200


@pytest.mark.parametrize("content_type", ["text/csv", "application/x-npy", "application/jsonl"])
def test_other_content_types_get_415(toolkit: Toolkit, content_type: str) -> None:
    assert_bad(toolkit.invoke("12,11", content_type), 415, "application/json", content_type)


@pytest.mark.parametrize("accept", ["text/csv", "application/x-npy"])
def test_unsupported_accept_gets_406(toolkit: Toolkit, accept: str) -> None:
    assert_bad(call(toolkit, GUIDE, accept=accept), 406, accept)


@pytest.mark.parametrize("accept", [None, "*/*", "application/json; charset=utf-8"])
def test_json_accepts_are_served(toolkit: Toolkit, accept: str | None) -> None:
    assert call(toolkit, GUIDE, accept=accept).status == 200


def test_same_input_same_output(toolkit: Toolkit) -> None:
    first, second = call(toolkit, GUIDE).json(), call(toolkit, GUIDE).json()
    assert first["predictions"] == second["predictions"]


def test_many_stations_stay_in_range(toolkit: Toolkit) -> None:
    codes = sorted(KNOWN_STATIONS)[:60]
    for i, code in enumerate(codes):
        capacity = 10 + i
        history = [(i * 7 + h * 3) % (capacity + 1) for h in range(24)]
        body = call(toolkit, request(station_code=code, capacity=capacity, historical_bikes=history,
                                    hour=i % 24, day_of_week=i % 7)).json()
        assert body["station_code"] == code and body["station_known"] is True
        assert all(0 <= v <= capacity for v in body["predictions"].values())


def test_batch_equals_singles_in_request_order(toolkit: Toolkit) -> None:
    instances = [request(station_code=code, hour=h) for h, code in enumerate(["16109", "99999", "16107", "16114"])]
    batch = call(toolkit, {"instances": instances}).json()
    assert isinstance(batch, list) and [b["station_code"] for b in batch] == ["16109", "99999", "16107", "16114"]
    for item, single in zip(batch, instances, strict=True):
        expected = call(toolkit, single).json()["predictions"]
        assert item["predictions"] == pytest.approx(expected, abs=1e-4)


def test_batch_at_the_limit_is_served_and_over_it_is_refused(toolkit: Toolkit) -> None:
    full = call(toolkit, {"instances": [GUIDE] * model_utils.MAX_BATCH})
    assert full.status == 200 and len(full.json()) == model_utils.MAX_BATCH
    assert_bad(call(toolkit, {"instances": [GUIDE] * (model_utils.MAX_BATCH + 1)}), 400, "instances", "2000")


def test_unknown_station_predicts_and_says_so(toolkit: Toolkit) -> None:
    body = call(toolkit, request(station_code="99999")).json()
    assert body["station_known"] is False
    assert any("99999" in w for w in body["warnings"])
    assert all(0 <= v <= GUIDE["capacity"] for v in body["predictions"].values())


def test_counts_above_capacity_are_clipped_not_rejected(toolkit: Toolkit) -> None:
    over = call(toolkit, request(historical_bikes=[25] * 24)).json()
    full = call(toolkit, request(historical_bikes=[20] * 24)).json()
    assert over["predictions"] == full["predictions"]
    assert any("24 counts above capacity" in w for w in over["warnings"])


def test_up_to_six_missing_hours_are_imputed(toolkit: Toolkit) -> None:
    history: list[int | None] = list(GUIDE["historical_bikes"])
    for hour in (0, 5, 6, 7, 8, 23):
        history[hour] = None
    body = call(toolkit, request(historical_bikes=history)).json()
    assert any("6 missing hours imputed" in w for w in body["warnings"])
    assert all(0 <= v <= GUIDE["capacity"] for v in body["predictions"].values())


def test_seven_missing_hours_are_refused(toolkit: Toolkit) -> None:
    history: list[int | None] = list(GUIDE["historical_bikes"])
    history[:7] = [None] * 7
    assert_bad(call(toolkit, request(historical_bikes=history)), 400, "historical_bikes", "7 missing")


@pytest.mark.parametrize("field", model_utils.REQUIRED_FIELDS)
def test_each_missing_field_is_named(toolkit: Toolkit, field: str) -> None:
    assert_bad(call(toolkit, request(**{field: ...})), 400, f"{field}: is required")


@pytest.mark.parametrize(("field", "value"), [
    ("hour", True), ("hour", 14.5), ("hour", "14"), ("hour", -1), ("hour", None),
    ("day_of_week", 1.5), ("day_of_week", -1), ("day_of_week", False),
    ("capacity", 0), ("capacity", 201), ("capacity", "20"), ("capacity", 20.5),
    ("latitude", "north"), ("latitude", 40.7), ("latitude", None), ("latitude", [48.8]),
    ("longitude", 2.9), ("longitude", -2.35), ("longitude", True),
    ("is_weekend", "no"), ("is_weekend", 0), ("is_weekend", None),
    ("station_code", ""), ("station_code", None), ("station_code", ["16107"]), ("station_code", "x" * 33),
    ("historical_bikes", "12,11"), ("historical_bikes", [1] * 25), ("historical_bikes", {"0": 1}),
    ("historical_bikes", [True] * 24), ("historical_bikes", [[1]] * 24),
])
def test_wrong_values_are_named(toolkit: Toolkit, field: str, value: Any) -> None:
    assert_bad(call(toolkit, request(**{field: value})), 400, field)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
@pytest.mark.parametrize("field", ["latitude", "longitude", "capacity", "hour"])
def test_non_finite_numbers_are_refused(toolkit: Toolkit, literal: str, field: str) -> None:
    text = json.dumps(request(**{field: 123456})).replace("123456", literal)
    assert_bad(toolkit.invoke(text), 400, field)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "1e999"])
def test_non_finite_history_is_named_with_its_index(toolkit: Toolkit, literal: str) -> None:
    text = json.dumps(request(historical_bikes=[1] * 23 + [123456])).replace("123456", literal)
    assert_bad(toolkit.invoke(text), 400, "historical_bikes[23]")


def test_integral_floats_and_numeric_station_codes_are_accepted(toolkit: Toolkit) -> None:
    body = call(toolkit, request(hour=14.0, capacity=20.0, station_code=16107)).json()
    assert body["station_code"] == "16107" and body["station_known"] is True
    assert body["predictions"] == call(toolkit, GUIDE).json()["predictions"]


@pytest.mark.parametrize("day", range(7))
def test_is_weekend_defaults_from_the_day(toolkit: Toolkit, day: int) -> None:
    """Saturday and Sunday (5, 6) default to the weekend; Monday to Friday do not."""
    default = call(toolkit, request(hour=8, day_of_week=day, is_weekend=...)).json()
    weekend = call(toolkit, request(hour=8, day_of_week=day, is_weekend=True)).json()
    weekday = call(toolkit, request(hour=8, day_of_week=day, is_weekend=False)).json()
    assert weekend["predictions"] != weekday["predictions"]  # the flag matters at 8:00 on every day
    assert default["predictions"] == (weekend if day >= 5 else weekday)["predictions"]


def test_holiday_flag_changes_the_forecast(toolkit: Toolkit) -> None:
    workday = call(toolkit, request(hour=7, day_of_week=2, is_weekend=False)).json()
    holiday = call(toolkit, request(hour=7, day_of_week=2, is_weekend=True)).json()
    assert workday["predictions"] != holiday["predictions"]


def test_unknown_fields_are_refused_to_catch_typos(toolkit: Toolkit) -> None:
    assert_bad(call(toolkit, request(is_wekend=True)), 400, "is_wekend: unknown field")


def test_every_problem_is_listed_up_to_a_bound(toolkit: Toolkit) -> None:
    response = call(toolkit, request(hour=99, day_of_week=9, capacity=0))
    assert_bad(response, 400, "hour:", "day_of_week:", "capacity:")
    many = call(toolkit, {"instances": [request(hour=99)] * 50})
    assert_bad(many, 400, "instances[0].hour", "instances[9].hour")
    assert "instances[10]" not in many.body


@pytest.mark.parametrize(("payload", "fragment"), [
    ({"instances": "x"}, "instances"),
    ({"instances": [1]}, "instances[0]: must be a JSON object"),
    ({"instances": [GUIDE], "extra": 1}, "extra"),
    ({"instances": [GUIDE, request(historical_bikes=[-3] * 24)]}, "instances[1].historical_bikes[0]"),
    ({"instances": [GUIDE, request(station_code=...)]}, "instances[1].station_code"),
    ("just a string", "object"),
    (None, "object"),
])
def test_batch_and_body_shapes(toolkit: Toolkit, payload: Any, fragment: str) -> None:
    assert_bad(call(toolkit, payload), 400, fragment)


def test_body_that_is_not_utf8_is_a_400(toolkit: Toolkit) -> None:
    assert_bad(toolkit.invoke(b"\xff\xfe{", "application/json; charset=utf-8"), 400, "UTF-8")


def test_whitespace_body_is_empty(toolkit: Toolkit) -> None:
    assert_bad(toolkit.invoke("  \n"), 400, "empty")
