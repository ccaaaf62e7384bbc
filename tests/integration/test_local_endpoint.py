"""The exact model.tar.gz on the real serving stack (toolkit + TorchServe), through the container API,
the SageMaker Runtime API (boto3) and the product's client, on the tier's shared local endpoint."""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any

import boto3
import model_utils
import pytest
from botocore.config import Config
from support.fixtures import EDGE_CASES, GUIDE, check_answer

from cdk_app.client.forecast_client import BadRequestError, EndpointUnavailableError, ForecastClient
from cdk_app.local_serving.local_endpoint import LocalEndpoint
from cdk_app.paths import ARTIFACTS_DIR

pytestmark = pytest.mark.server


def container(endpoint: LocalEndpoint, method: str, path: str, body: str | bytes | None = None,
              content_type: str | None = "application/json") -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.server.ports.inference, timeout=30)
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def runtime(endpoint: LocalEndpoint, max_attempts: int = 1) -> Any:
    return boto3.client("sagemaker-runtime", endpoint_url=endpoint.url, region_name="eu-west-3",
                        aws_access_key_id="local", aws_secret_access_key="local",
                        config=Config(retries={"mode": "standard", "max_attempts": max_attempts}))


def test_ping_and_the_guide_example(endpoint: LocalEndpoint) -> None:
    assert container(endpoint, "GET", "/ping")[0] == 200
    status, body = container(endpoint, "POST", "/invocations", json.dumps(GUIDE))
    assert status == 200
    answer = json.loads(body)
    assert answer["model_version"] == model_utils.artifacts_version(ARTIFACTS_DIR)
    assert all(0 <= v <= 20 for v in answer["predictions"].values())


@pytest.mark.parametrize("case", EDGE_CASES, ids=[c["name"] for c in EDGE_CASES])
def test_cases_through_the_container_api(endpoint: LocalEndpoint, case: dict[str, Any]) -> None:
    status, body = container(endpoint, "POST", "/invocations", case["body"].encode(), case["content_type"])
    check_answer(case, status, body)


@pytest.mark.parametrize("case", EDGE_CASES, ids=[c["name"] for c in EDGE_CASES])
def test_cases_through_boto3(endpoint: LocalEndpoint, case: dict[str, Any]) -> None:
    client = runtime(endpoint)
    call = {"EndpointName": endpoint.endpoint_name, "Body": case["body"].encode(), "ContentType": case["content_type"]}
    if case["expect_status"] == 200:
        response = client.invoke_endpoint(**call)
        assert response["InvokedProductionVariant"] == "AllTraffic"
        check_answer(case, 200, response["Body"].read().decode())
        return
    with pytest.raises(client.exceptions.ModelError) as error:
        client.invoke_endpoint(**call)
    check_answer(case, error.value.response["OriginalStatusCode"], error.value.response["OriginalMessage"])
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424


def test_unknown_endpoint_is_a_validation_error(endpoint: LocalEndpoint) -> None:
    client = runtime(endpoint)
    with pytest.raises(client.exceptions.ValidationError, match=r"Endpoint nope of account .* not found"):
        client.invoke_endpoint(EndpointName="nope", Body=json.dumps(GUIDE), ContentType="application/json")


def test_guide_checks_consistency_range_and_many_stations(endpoint: LocalEndpoint) -> None:
    client = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url, cache_ttl_seconds=None)
    assert client.predict(GUIDE).predictions == client.predict(GUIDE).predictions  # same input, same output
    stations = sorted(json.loads((ARTIFACTS_DIR / "station_mappings.json").read_text())["stations"])[:40]
    for i, code in enumerate(stations):
        capacity = 15 + i
        forecast = client.predict({**GUIDE, "station_code": code, "capacity": capacity, "hour": i % 24})
        assert forecast.station_code == code and forecast.station_known
        assert all(0 <= v <= capacity for v in forecast.predictions.values())


def test_batch_equals_singles_and_keeps_order(endpoint: LocalEndpoint) -> None:
    client = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url, cache_ttl_seconds=None)
    requests = [{**GUIDE, "station_code": code, "hour": h} for h, code in enumerate(["16114", "99999", "16107"])]
    together = client.predict_many(requests)
    assert [f.station_code for f in together] == ["16114", "99999", "16107"]
    for forecast, request in zip(together, requests, strict=True):
        assert forecast.predictions == pytest.approx(client.predict(request).predictions, abs=1e-4)


def test_predict_many_splits_large_lists_and_keeps_order(endpoint: LocalEndpoint) -> None:
    sent: list[int] = []
    client = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url, cache_ttl_seconds=None)
    client.runtime.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint",
                                        lambda request, **_: sent.append(len(request.body)))
    requests = [{**GUIDE, "station_code": f"s{i}", "hour": i % 24} for i in range(4500)]
    forecasts = client.predict_many(requests)
    assert [f.station_code for f in forecasts] == [f"s{i}" for i in range(4500)]
    assert len(sent) == 3 and max(sent) < 4 * 1024 * 1024


def test_client_error_kinds_against_the_real_endpoint(endpoint: LocalEndpoint) -> None:
    client = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url)
    with pytest.raises(BadRequestError, match=r"^hour: must be an integer 0-23, got 99$") as error:
        client.predict({**GUIDE, "hour": 99})
    assert error.value.status == 400
    missing = ForecastClient("no-such-endpoint", endpoint_url=endpoint.url, max_attempts=2)
    with pytest.raises(EndpointUnavailableError, match="not found") as unavailable:
        missing.predict(GUIDE)
    assert unavailable.value.status == 503


def test_the_answering_variant_is_reported_and_a_target_variant_is_honoured(endpoint: LocalEndpoint) -> None:
    """As InvokeEndpoint does: the answer names its production variant, and TargetVariant picks one or fails."""
    assert ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url).predict(GUIDE).variant == "AllTraffic"
    targeted = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url, target_variant="AllTraffic")
    assert targeted.predict(GUIDE).variant == "AllTraffic"
    absent = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url, target_variant="Challenger")
    with pytest.raises(BadRequestError, match="no production variant Challenger"):
        absent.predict(GUIDE)


def test_cache_is_keyed_by_the_whole_request(endpoint: LocalEndpoint) -> None:
    sent: list[bytes] = []
    client = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url)
    client.runtime.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint",
                                        lambda request, **_: sent.append(request.body))
    first = client.predict(GUIDE)
    assert client.predict(dict(reversed(list(GUIDE.items())))) == first  # same request, other key order
    other_history = client.predict({**GUIDE, "historical_bikes": [5] * 24})  # same station and hour
    assert len(sent) == 2 and other_history.predictions != first.predictions


def test_load_2000_requests_at_concurrency_5_through_the_runtime_front(endpoint: LocalEndpoint) -> None:
    """boto3 clients keep their connections to the front, the front keeps one upstream per client thread."""
    assert endpoint.api is not None
    front = endpoint.api.server
    opened_before = front.connections_opened
    body = json.dumps(GUIDE).encode()
    failures: list[str] = []
    per_thread = 400

    def worker() -> None:
        client = runtime(endpoint)
        try:
            for _ in range(per_thread):
                response = client.invoke_endpoint(EndpointName=endpoint.endpoint_name, Body=body,
                                                  ContentType="application/json")
                answer = json.loads(response["Body"].read())
                if not all(0 <= v <= GUIDE["capacity"] for v in answer["predictions"].values()):
                    failures.append(f"out of range: {answer}")
        except Exception as exc:  # any error at all is a failure of this test
            failures.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    # keep-alive end to end: a handful of upstream connections for 2,000 requests, not one each
    assert front.connections_opened - opened_before <= 5 + front.stale_retries
