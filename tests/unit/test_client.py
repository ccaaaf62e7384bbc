"""The client without a server: error kinds from botocore's Stubber, retries over real HTTP, batching."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from cdk_app.client.forecast_client import (
    BadRequestError,
    EndpointUnavailableError,
    ForecastClient,
    ModelFailureError,
    batches,
)

REQUEST = {"station_code": "16107", "historical_bikes": [1] * 24, "hour": 1, "day_of_week": 1, "capacity": 20,
           "latitude": 48.85, "longitude": 2.35}
ANSWER = {"station_code": "16107", "predictions": {"T+1h": 1.0, "T+2h": 2.0, "T+3h": 3.0},
          "inference_time_ms": 0.5, "model_version": "abc", "station_known": True, "warnings": []}


def stubbed(code: str, status: int, **extra: Any) -> ForecastClient:
    runtime = boto3.client("sagemaker-runtime", region_name="eu-west-3", aws_access_key_id="x",
                           aws_secret_access_key="y")
    stubber = Stubber(runtime)
    stubber.add_client_error("invoke_endpoint", service_error_code=code, service_message=f"{code} happened",
                             http_status_code=status, response_meta=extra)
    stubber.activate()
    return ForecastClient("e", runtime_client=runtime, cache_ttl_seconds=None)


@pytest.mark.parametrize(("code", "status", "kind"), [
    ("ThrottlingException", 400, EndpointUnavailableError),
    ("ModelNotReadyException", 429, EndpointUnavailableError),
    ("ServiceUnavailable", 503, EndpointUnavailableError),
    ("InternalFailure", 500, EndpointUnavailableError),
    ("ValidationError", 400, BadRequestError),
])
def test_error_kinds(code: str, status: int, kind: type[Exception]) -> None:
    with pytest.raises(kind, match=code if kind is EndpointUnavailableError else "happened"):
        stubbed(code, status).predict(REQUEST)


def test_model_errors_split_by_original_status() -> None:
    for status, kind in ((400, BadRequestError), (500, ModelFailureError)):
        runtime = boto3.client("sagemaker-runtime", region_name="eu-west-3", aws_access_key_id="x",
                               aws_secret_access_key="y")
        stubber = Stubber(runtime)
        stubber.add_client_error("invoke_endpoint", service_error_code="ModelError", http_status_code=424,
                                 modeled_fields={"OriginalStatusCode": status,
                                                 "OriginalMessage": "hour: bad\nTraceback ..."})
        stubber.activate()
        with pytest.raises(kind, match="hour: bad") as error:
            ForecastClient("e", runtime_client=runtime).predict(REQUEST)
        assert "Traceback" not in str(error.value)


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 ServiceUnavailable until `failures` run out, then a forecast: a real HTTP peer."""

    failures = 0
    calls = 0

    def log_message(self, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).calls += 1
        if type(self).failures > 0:
            type(self).failures -= 1
            status, body, headers = 503, b'{"message": "busy"}', {"x-amzn-ErrorType": "ServiceUnavailable:"}
        else:
            status, body, headers = 200, json.dumps(ANSWER).encode(), {}
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def flaky() -> Iterator[tuple[str, type[_Flaky]]]:
    handler = type("Flaky", (_Flaky,), {"failures": 2, "calls": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_botocore_retries_transient_errors(flaky: tuple[str, type[_Flaky]], mode: str) -> None:
    url, handler = flaky
    forecast = ForecastClient("e", endpoint_url=url, retry_mode=mode, max_attempts=3).predict(REQUEST)
    assert forecast.predictions["T+3h"] == 3.0 and handler.calls == 3


def test_retries_give_up_as_unavailable(flaky: tuple[str, type[_Flaky]]) -> None:
    url, handler = flaky
    with pytest.raises(EndpointUnavailableError):
        ForecastClient("e", endpoint_url=url, max_attempts=2).predict(REQUEST)
    assert handler.calls == 2


def test_unreachable_endpoint_is_unavailable() -> None:
    client = ForecastClient("e", endpoint_url="http://127.0.0.1:9", max_attempts=1, connect_timeout=1)
    with pytest.raises(EndpointUnavailableError, match="unreachable"):
        client.predict(REQUEST)


def test_bad_retry_mode_is_named() -> None:
    with pytest.raises(ValueError, match="retry_mode"):
        ForecastClient("e", endpoint_url="http://127.0.0.1:9", retry_mode="legacy")


def test_batches_respect_count_and_size_and_order() -> None:
    requests = [{**REQUEST, "station_code": str(i)} for i in range(4100)]
    split = batches(requests)
    assert [len(b) for b in split] == [2000, 2000, 100]
    assert [r["station_code"] for b in split for r in b] == [str(i) for i in range(4100)]
    small = batches(requests[:50], max_bytes=4000)
    assert all(len(json.dumps({"instances": b})) <= 4000 for b in small)
    assert sum(len(b) for b in small) == 50
    with pytest.raises(BadRequestError, match="payload cap"):
        batches([{**REQUEST, "station_code": "x" * 5000}], max_bytes=4000)


def test_retry_config_reaches_botocore() -> None:
    client = ForecastClient("e", endpoint_url="http://127.0.0.1:9", retry_mode="adaptive", max_attempts=7,
                            connect_timeout=2, read_timeout=9)
    config: Config = client.runtime.meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 7}
    assert (config.connect_timeout, config.read_timeout) == (2, 9)
