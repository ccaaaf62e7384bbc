"""The web API under uvicorn, in its own process, in front of the real local endpoint; Redis is Debian's own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from support.endpoint_owner import EndpointOwner
from support.fixtures import GUIDE, STATION_FILE_HISTORY, station_file
from support.http_peer import Answer, Peer, running
from support.web_servers import api_process, logged, redis_server

from cdk_app.client.forecast_client import ForecastClient
from cdk_app.local_serving.local_endpoint import LocalEndpoint

pytestmark = pytest.mark.server
TIMEOUT = 60
# Rate-limit windows of an hour: no test runs that long (pytest's timeout is 10 minutes), so a hit can never leave
# the window before the test's last request, however slow the machine.
RATE_LIMIT = "5/hour"


def post(api: str, body: Any, path: str = "/predict", **headers: str) -> requests.Response:
    return requests.post(f"{api}{path}", data=body if isinstance(body, (str, bytes)) else json.dumps(body),
                         headers={"Content-Type": "application/json", **headers}, timeout=TIMEOUT)


def test_the_guides_request_is_answered(api: str) -> None:
    response = post(api, GUIDE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"station_code", "predictions", "inference_time_ms", "model_version"}
    assert all(0 <= v <= GUIDE["capacity"] for v in body["predictions"].values())
    assert response.headers["X-Cache"] == "miss" and response.headers["X-Request-ID"]


@pytest.mark.parametrize(("change", "loc"), [
    ({"historical_bikes": [1] * 23}, ["body", "historical_bikes"]),
    ({"historical_bikes": [1] * 23 + [-2]}, ["body", "historical_bikes", 23]),
    ({"historical_bikes": [None] * 7 + [1] * 17}, ["body", "historical_bikes"]),
    ({"hour": 24}, ["body", "hour"]),
    ({"hour": "14"}, ["body", "hour"]),
    ({"day_of_week": 7}, ["body", "day_of_week"]),
    ({"capacity": 0}, ["body", "capacity"]),
    ({"latitude": 45.7}, ["body", "latitude"]),
    ({"longitude": "east"}, ["body", "longitude"]),
    ({"is_weekend": "no"}, ["body", "is_weekend"]),
    ({"station_code": ""}, ["body", "station_code"]),
    ({"station_code": None}, ["body", "station_code"]),
    ({"is_wekend": True}, ["body", "is_wekend"]),
])
def test_each_invalid_field_is_a_422_naming_it(api: str, change: dict[str, Any], loc: list[Any]) -> None:
    response = post(api, {**GUIDE, **change})
    assert response.status_code == 422, response.text
    assert loc in [error["loc"] for error in response.json()["detail"]]


def test_a_field_only_the_endpoint_rejects_is_a_422_from_its_field_list(api: str) -> None:
    blank = {**GUIDE, "station_code": "   "}  # long enough for the schema; the endpoint strips it to nothing
    response = post(api, blank)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "station_code"] and error["type"] == "endpoint_rejected"
    assert "must be a non-empty string" in error["msg"]
    batch = post(api, {"instances": [GUIDE, {**GUIDE, "hour": 3}, blank]}, "/predict/batch")
    assert [e["loc"] for e in batch.json()["detail"]] == [["body", "instances", 2, "station_code"]]


def test_a_lone_surrogate_is_a_422_not_a_500(api: str) -> None:
    text = json.dumps({**GUIDE, "station_code": "@"}).replace('"@"', '"16\\ud800"')
    response = post(api, text)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "station_code"]


@pytest.mark.parametrize("field", ["historical_bikes", "hour", "day_of_week", "is_weekend", "capacity", "latitude",
                                   "longitude", "station_code"])
def test_a_repeat_is_a_cache_hit_and_any_change_a_miss(api: str, field: str) -> None:
    first = post(api, GUIDE)
    again = post(api, dict(reversed(GUIDE.items())))  # the same request in another key order
    assert again.headers["X-Cache"] == "hit" and again.json() == first.json()
    changed = {"historical_bikes": [3] * 24, "hour": 15, "day_of_week": 2, "is_weekend": True, "capacity": 21,
               "latitude": 48.8567, "longitude": 2.3523, "station_code": "16109"}[field]
    assert post(api, {**GUIDE, field: changed}).headers["X-Cache"] == "miss"


def test_batch_answers_in_order_and_mixes_cached_answers(api: str) -> None:
    rows = [{**GUIDE, "station_code": code, "hour": h} for h, code in enumerate(["16114", "99999", "16107"])]
    post(api, rows[1])  # one of the three is cached
    response = post(api, {"instances": rows}, "/predict/batch")
    assert response.status_code == 200 and response.headers["X-Cache"] == "miss"
    assert [a["station_code"] for a in response.json()] == ["16114", "99999", "16107"]
    assert post(api, {"instances": rows}, "/predict/batch").headers["X-Cache"] == "hit"
    assert post(api, {"instances": []}, "/predict/batch").status_code == 422


def test_stations_and_a_stations_forecast(api: str) -> None:
    stations = requests.get(f"{api}/stations", timeout=TIMEOUT).json()
    assert len(stations) == 300 and len({s["name"] for s in stations}) == 300
    assert set(stations[0]) == {"station_code", "name", "capacity", "latitude", "longitude", "bikes"}
    code = stations[5]["station_code"]
    forecast = requests.get(f"{api}/stations/{code}/forecast", timeout=TIMEOUT)
    assert forecast.status_code == 200 and forecast.json()["forecast"]["station_code"] == code
    assert len(forecast.json()["history"]) == 24
    assert requests.get(f"{api}/stations/00000/forecast", timeout=TIMEOUT).status_code == 404
    everything = requests.get(f"{api}/forecasts", timeout=TIMEOUT).json()
    assert [f["station_code"] for f in everything] == [s["station_code"] for s in stations]


def test_health_costs_no_inference_and_reports_the_last_outcome(api: str) -> None:
    before = requests.get(f"{api}/health", timeout=TIMEOUT).json()
    assert before["endpoint"]["state"] == "unknown" and before["cache"] == "memory"
    post(api, GUIDE)
    assert requests.get(f"{api}/health", timeout=TIMEOUT).json()["endpoint"]["state"] == "ok"
    assert requests.get(f"{api}/docs", timeout=TIMEOUT).status_code == 200
    assert "/predict/batch" in requests.get(f"{api}/openapi.json", timeout=TIMEOUT).json()["paths"]
    root = requests.get(f"{api}/", timeout=TIMEOUT, allow_redirects=False)
    assert root.status_code == 307 and root.headers["Location"] == "/docs"


def test_a_stations_file_is_served_and_forecast_end_to_end(endpoint: LocalEndpoint, tmp_path: Path) -> None:
    with api_process(endpoint.url, tmp_path / "api.log", "--stations", str(station_file(tmp_path))) as api:
        stations = requests.get(f"{api}/stations", timeout=TIMEOUT).json()
        detail = requests.get(f"{api}/stations/42/forecast", timeout=TIMEOUT).json()
        everything = requests.get(f"{api}/forecasts", timeout=TIMEOUT).json()
    assert stations == [{"station_code": "42", "name": "Rue de Rivoli", "capacity": 30, "latitude": 48.86,
                         "longitude": 2.34, "bikes": None}]
    assert detail["history"] == STATION_FILE_HISTORY and detail["last_hour"] == "2026-11-25T14:00"
    # the request the file describes: 2026-11-25 14:00 is a Wednesday (day 2)
    request = {"station_code": "42", "historical_bikes": STATION_FILE_HISTORY, "hour": 14, "day_of_week": 2,
               "capacity": 30, "latitude": 48.86, "longitude": 2.34}
    client = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url, cache_ttl_seconds=None)
    expected = client.predict(request)
    assert detail["forecast"]["predictions"] == expected.predictions
    assert detail["forecast"]["warnings"] == expected.warnings
    assert "historical_bikes: 1 missing hours imputed" in expected.warnings  # the file's null reached the endpoint
    assert [f["predictions"] for f in everything] == [expected.predictions]


@pytest.fixture(scope="module")
def scripted_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Peer, str]]:
    """An endpoint that answers from a script (a real HTTP peer on loopback), with the API in front of it,
    waiting 1 s for each answer; each test asks for a request of its own, so none is a cache hit."""
    log = tmp_path_factory.mktemp("scripted") / "api.log"
    with running(Answer.json(200, {})) as peer, api_process(peer.url, log, "--endpoint-timeout", "1") as api:
        yield peer, api


def test_a_model_failure_is_a_502(scripted_endpoint: tuple[Peer, str]) -> None:
    peer, api = scripted_endpoint
    failed = {"error": {"status": 500, "message": "the model failed: RuntimeError: boom", "fields": []}}
    peer.answers = [Answer.aws_error(424, "ModelError", "Received server error (500) from primary",
                                     OriginalStatusCode=500, OriginalMessage=json.dumps(failed))]
    response = post(api, {**GUIDE, "hour": 1})
    assert response.status_code == 502, response.text
    assert "the model failed: RuntimeError: boom" in response.json()["detail"] and "Traceback" not in response.text
    assert requests.get(f"{api}/health", timeout=TIMEOUT).json()["endpoint"]["state"] == "failing"


def test_a_cold_start_past_the_endpoint_timeout_is_a_503_with_retry_after(
        scripted_endpoint: tuple[Peer, str]) -> None:
    peer, api = scripted_endpoint
    answer = {"station_code": "16107", "predictions": {"T+1h": 1.0, "T+2h": 2.0, "T+3h": 3.0},
              "inference_time_ms": 1.0, "model_version": "v", "station_known": True, "warnings": []}
    peer.answers = [Answer.json(200, answer, delay_seconds=5)]  # still "starting" when the API stops waiting
    response = post(api, {**GUIDE, "hour": 2})
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0 and "unavailable" in response.json()["detail"]
    assert requests.get(f"{api}/health", timeout=TIMEOUT).json()["endpoint"]["state"] == "unavailable"
    peer.answers = [Answer.json(200, answer)]  # warm now: the same request is answered
    assert post(api, {**GUIDE, "hour": 2}).status_code == 200


def test_a_stopped_endpoint_is_a_503_with_retry_after(endpoint_owner: EndpointOwner, tmp_path: Path) -> None:
    endpoint = endpoint_owner.running()
    with api_process(endpoint.url, tmp_path / "api.log") as api:
        assert post(api, GUIDE).status_code == 200
        endpoint_owner.stopped()
        response = post(api, {**GUIDE, "hour": 3})
        assert response.status_code == 503, response.text
        assert int(response.headers["Retry-After"]) > 0 and "unavailable" in response.json()["detail"]
        assert "Traceback" not in response.text
        assert requests.get(f"{api}/health", timeout=TIMEOUT).json()["endpoint"]["state"] == "unavailable"


def test_the_rate_limit_holds_across_two_processes_sharing_redis(endpoint: LocalEndpoint, tmp_path: Path) -> None:
    with redis_server() as store, \
            api_process(endpoint.url, tmp_path / "a.log", "--redis-url", store.url, "--rate-limit", RATE_LIMIT) as a, \
            api_process(endpoint.url, tmp_path / "b.log", "--redis-url", store.url, "--rate-limit", RATE_LIMIT) as b:
        statuses = [post(api, GUIDE).status_code for api in (a, b, a, b, a)]
        assert statuses == [200] * 5
        refused = post(b, GUIDE)
        assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 3600
        assert post(a, GUIDE).status_code == 429
        assert requests.get(f"{a}/health", timeout=TIMEOUT).json()["rate_limit"] == "redis"


def test_the_cache_is_shared_through_redis_and_expires_at_its_ttl(endpoint: LocalEndpoint, tmp_path: Path) -> None:
    with redis_server() as store, api_process(endpoint.url, tmp_path / "a.log", "--redis-url", store.url) as a, \
            api_process(endpoint.url, tmp_path / "b.log", "--redis-url", store.url) as b:
        first = post(a, GUIDE)
        assert first.headers["X-Cache"] == "miss"
        shared = post(b, GUIDE)
        assert shared.headers["X-Cache"] == "hit" and shared.json() == first.json()
        client = redis.Redis.from_url(store.url)
        (key,) = client.keys("velib-forecast:forecast:*")
        assert 240_000 < client.pttl(key) <= 300_000  # Redis expires it 5 minutes after it was stored
        client.pexpireat(key, 1)  # those 5 minutes, passed: Redis expires the key now, as it would then
        assert not client.exists(key)
        assert post(b, GUIDE).headers["X-Cache"] == "miss"
        assert post(a, GUIDE).headers["X-Cache"] == "hit"  # b's fresh answer, shared again


def test_a_forged_forwarded_for_does_not_reset_the_limit(endpoint: LocalEndpoint, tmp_path: Path) -> None:
    with api_process(endpoint.url, tmp_path / "api.log", "--rate-limit", "3/hour") as api:
        statuses = [post(api, GUIDE, **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    # behind a trusted proxy, the forwarded address is the client, each with a limit of its own
    with api_process(endpoint.url, tmp_path / "proxied.log", "--rate-limit", "3/hour",
                     "--trusted-proxies", "127.0.0.1/32") as api:
        clients = [post(api, GUIDE, **{"X-Forwarded-For": f"203.0.113.{i % 2}"}).status_code for i in range(6)]
        forged = post(api, GUIDE, **{"X-Forwarded-For": "198.51.100.7, 203.0.113.0"}).status_code
    assert clients == [200] * 6 and forged == 429  # the rightmost untrusted hop counts, not a prepended one


def test_requests_are_answered_while_redis_is_down_and_redis_is_used_again(endpoint: LocalEndpoint,
                                                                          tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    with redis_server() as store, api_process(endpoint.url, log, "--redis-url", store.url) as api:
        assert post(api, GUIDE).status_code == 200
        assert post(api, GUIDE).headers["X-Cache"] == "hit"
        store.stop()
        during = [post(api, {**GUIDE, "hour": h}) for h in range(4)]
        assert [r.status_code for r in during] == [200] * 4
        assert {r.headers["X-Cache"] for r in during} == {"miss"}
        store.start()
        post(api, {**GUIDE, "hour": 5})
        assert post(api, {**GUIDE, "hour": 5}).headers["X-Cache"] == "hit"
    text = log.read_text()
    assert text.count('"event": "redis cache unavailable"') == 1
    assert text.count('"event": "rate-limit storage unavailable"') == 1
    assert '"event": "redis cache available again"' in text


def test_one_json_log_line_per_request_without_bodies(api: str, tmp_path: Path) -> None:
    post(api, GUIDE, **{"X-Request-ID": "trace-me"})
    lines = logged(tmp_path / "api.log", "trace-me")
    assert len(lines) == 1
    assert lines[0]["status"] == 200 and lines[0]["stations"] == ["16107"] and lines[0]["cache"] == "miss"
    assert lines[0]["endpoint_ms"] > 0 and lines[0]["latency_ms"] >= lines[0]["endpoint_ms"]
    assert "historical_bikes" not in (tmp_path / "api.log").read_text()
