"""The client against a real HTTP peer: error kinds, retries, timeouts, the cache and batching.

No botocore stubbing: each request is real HTTP on loopback, through botocore's retry loop.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from support.http_peer import Answer, running

from cdk_app.client.forecast_client import (
    BadRequestError,
    EndpointUnavailableError,
    FieldProblem,
    ForecastClient,
    ModelFailureError,
    batches,
)

REQUEST = {"station_code": "16107", "historical_bikes": [1] * 24, "hour": 1, "day_of_week": 1, "capacity": 20,
           "latitude": 48.85, "longitude": 2.35}
ANSWER = {"station_code": "16107", "predictions": {"T+1h": 1.0, "T+2h": 2.0, "T+3h": 3.0},
          "inference_time_ms": 0.5, "model_version": "abc", "station_known": True, "warnings": []}


def answer_for(request: dict[str, Any]) -> dict[str, Any]:
    return {**ANSWER, "station_code": request["station_code"]}


def client(url: str, **kwargs: Any) -> ForecastClient:
    return ForecastClient("e", endpoint_url=url, **{"max_attempts": 1, "cache_ttl_seconds": None, **kwargs})


@pytest.mark.parametrize(("code", "status", "kind"), [
    ("ThrottlingException", 400, EndpointUnavailableError),
    ("ModelNotReadyException", 429, EndpointUnavailableError),
    ("ServiceUnavailable", 503, EndpointUnavailableError),
    ("InternalFailure", 500, EndpointUnavailableError),
    ("ValidationError", 400, BadRequestError),
])
def test_error_kinds(code: str, status: int, kind: type[Exception]) -> None:
    with running(Answer.aws_error(status, code, f"{code} happened")) as peer, \
            pytest.raises(kind, match=code if kind is EndpointUnavailableError else "happened"):
        client(peer.url).predict(REQUEST)


def test_model_errors_split_by_original_status_and_carry_the_fields() -> None:
    body = {"error": {"status": 400, "message": "hour: bad", "fields": [{"field": "hour", "problem": "bad"}]}}
    bad = Answer.aws_error(424, "ModelError", "Received client error (400)", OriginalStatusCode=400,
                           OriginalMessage=json.dumps(body))
    with running(bad) as peer, pytest.raises(BadRequestError, match=r"^hour: bad$") as error:
        client(peer.url).predict(REQUEST)
    assert error.value.fields == [FieldProblem("hour", "bad")]
    failed = Answer.aws_error(424, "ModelError", "Received server error (500)", OriginalStatusCode=500,
                              OriginalMessage="hour: bad\nTraceback ...")
    with running(failed) as peer, pytest.raises(ModelFailureError, match="hour: bad") as failure:
        client(peer.url).predict(REQUEST)
    assert "Traceback" not in str(failure.value)


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_botocore_retries_transient_errors(mode: str) -> None:
    busy = Answer.aws_error(503, "ServiceUnavailable", "busy")
    with running(busy, busy, Answer.json(200, ANSWER)) as peer:
        forecast = client(peer.url, retry_mode=mode, max_attempts=3).predict(REQUEST)
    assert forecast.predictions["T+3h"] == 3.0 and peer.calls == 3


def test_retries_give_up_as_unavailable() -> None:
    with running(Answer.aws_error(503, "ServiceUnavailable", "busy")) as peer:
        with pytest.raises(EndpointUnavailableError):
            client(peer.url, max_attempts=2).predict(REQUEST)
        assert peer.calls == 2


def test_a_read_timeout_really_fires() -> None:
    with running(Answer.json(200, ANSWER, delay_seconds=3)) as peer, \
            pytest.raises(EndpointUnavailableError, match="unreachable"):
        client(peer.url, read_timeout=0.5).predict(REQUEST)


def test_an_answer_list_that_is_too_short_is_a_model_failure() -> None:
    with running(Answer.json(200, [ANSWER])) as peer, pytest.raises(ModelFailureError, match="asked for 2"):
        client(peer.url).predict_many([REQUEST, {**REQUEST, "station_code": "2"}])


def test_predict_many_mixes_cached_and_new_answers_in_order() -> None:
    requests = [{**REQUEST, "station_code": str(i)} for i in range(5)]
    with running(Answer.json(200, [answer_for(requests[1]), answer_for(requests[3])]),
                 Answer.json(200, [answer_for(r) for r in requests])) as peer:
        forecasts = client(peer.url, cache_ttl_seconds=300)
        forecasts.predict_many([requests[1], requests[3]])
        peer.answers = [Answer.json(200, [answer_for(requests[i]) for i in (0, 2, 4)])]
        mixed = forecasts.predict_many(requests)
    assert [f.station_code for f in mixed] == ["0", "1", "2", "3", "4"]
    sent = json.loads(peer.bodies[-1])["instances"]
    assert [r["station_code"] for r in sent] == ["0", "2", "4"]  # the cached two were not asked again


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cached_answers_expire_after_their_ttl() -> None:
    clock = Clock()
    with running(Answer.json(200, ANSWER)) as peer:
        cached = client(peer.url, cache_ttl_seconds=300, clock=clock)
        cached.predict(REQUEST)
        clock.now += 300  # the last instant of the entry's life
        cached.predict(REQUEST)
        assert peer.calls == 1
        clock.now += 0.001
        cached.predict(REQUEST)
        assert peer.calls == 2


def test_a_full_cache_evicts_the_least_recently_used_answer() -> None:
    a, b, c = ({**REQUEST, "station_code": code} for code in "abc")
    with running(Answer.json(200, ANSWER)) as peer:
        cached = client(peer.url, cache_ttl_seconds=300, cache_entries=2)
        cached.predict(a)
        cached.predict(b)
        cached.predict(a)  # a hit: a is now the most recently used
        cached.predict(c)  # the third entry evicts b, not a
        assert peer.calls == 3
        cached.predict(a)
        assert peer.calls == 3
        cached.predict(b)
        assert peer.calls == 4


def test_no_region_for_aws_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))  # no region in any AWS configuration
    with pytest.raises(EndpointUnavailableError, match="no AWS region: pass region=, or set AWS_REGION"):
        ForecastClient("velib-forecast-dev")
    assert ForecastClient("velib-forecast-dev", region="eu-west-3").runtime.meta.region_name == "eu-west-3"


def test_an_error_code_it_does_not_know_is_a_model_failure() -> None:
    with running(Answer.aws_error(400, "BrandNewException", "something new")) as peer, \
            pytest.raises(ModelFailureError, match="BrandNewException: something new") as failure:
        client(peer.url).predict(REQUEST)
    assert failure.value.status == 500


def test_unreachable_endpoint_is_unavailable() -> None:
    unreachable = ForecastClient("e", endpoint_url="http://127.0.0.1:9", max_attempts=1, connect_timeout=1)
    with pytest.raises(EndpointUnavailableError, match="unreachable"):
        unreachable.predict(REQUEST)


def test_bad_retry_mode_is_named() -> None:
    with pytest.raises(ValueError, match="retry_mode"):
        ForecastClient("e", endpoint_url="http://127.0.0.1:9", retry_mode="legacy")


def test_batches_respect_count_and_size_and_order() -> None:
    requests = [{**REQUEST, "station_code": str(i)} for i in range(4100)]
    split = batches(requests)
    assert [len(b) for b in split] == [2000, 2000, 100]
    assert [r["station_code"] for b in split for r in b] == [str(i) for i in range(4100)]
    small = batches(requests[:50], max_bytes=4000)
    assert all(len(json.dumps({"instances": b}, separators=(",", ":"))) <= 4000 for b in small)  # the body as sent
    assert sum(len(b) for b in small) == 50
    with pytest.raises(BadRequestError, match="payload cap"):
        batches([{**REQUEST, "station_code": "x" * 5000}], max_bytes=4000)


def test_retry_config_reaches_botocore() -> None:
    configured = ForecastClient("e", endpoint_url="http://127.0.0.1:9", retry_mode="adaptive", max_attempts=7,
                                connect_timeout=2, read_timeout=9)
    config: Config = configured.runtime.meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 7}
    assert (config.connect_timeout, config.read_timeout) == (2, 9)
