"""`python -m cdk_app predict` end to end against the local endpoint, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from support.fixtures import GUIDE
from support.http_peer import Answer, running

from cdk_app.client.example_requests import BATCH_REQUEST_FILE, GUIDE_REQUEST_FILE, load_request
from cdk_app.local_serving.local_endpoint import LocalEndpoint
from cdk_app.loopback import free_port, url
from cdk_app.paths import REPO_ROOT

pytestmark = pytest.mark.server


def predict_at(endpoint_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cdk_app", "predict", "--endpoint-url", endpoint_url, *args],
                          cwd=REPO_ROOT, input=stdin, capture_output=True, text=True, timeout=120)


def predict(endpoint: LocalEndpoint, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return predict_at(endpoint.url, *args, stdin=stdin)


def in_range(answer: dict[str, Any], capacity: int) -> bool:
    return list(answer["predictions"]) == ["T+1h", "T+2h", "T+3h"] and all(
        0 <= v <= capacity for v in answer["predictions"].values())


def test_a_payload_file(endpoint: LocalEndpoint) -> None:
    result = predict(endpoint, str(GUIDE_REQUEST_FILE))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["station_code"] == "16107" and in_range(answer, 20)


def test_standard_input(endpoint: LocalEndpoint) -> None:
    result = predict(endpoint, "-", stdin=json.dumps(GUIDE))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["predictions"] == json.loads(predict(endpoint, str(GUIDE_REQUEST_FILE)).stdout)[
        "predictions"]


def test_a_batch_file_answers_in_order(endpoint: LocalEndpoint) -> None:
    result = predict(endpoint, str(BATCH_REQUEST_FILE))
    assert result.returncode == 0, result.stderr
    sent = load_request(BATCH_REQUEST_FILE)["instances"]
    answers = json.loads(result.stdout)
    assert [a["station_code"] for a in answers] == [r["station_code"] for r in sent]
    assert all(in_range(a, r["capacity"]) for a, r in zip(answers, sent, strict=True))
    assert answers[2]["station_known"] is False
    assert answers[1]["warnings"] == ["historical_bikes: 1 missing hours imputed"]


def test_flags_with_a_missing_hour(endpoint: LocalEndpoint) -> None:
    history = ",".join(["null"] + [str(v) for v in GUIDE["historical_bikes"][1:]])
    result = predict(endpoint, "--station-code", "16107", "--history", history, "--hour", "14", "--day-of-week",
                     "1", "--capacity", "20", "--latitude", "48.8566", "--longitude", "2.3522", "--no-weekend")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert in_range(answer, 20) and answer["warnings"] == ["historical_bikes: 1 missing hours imputed"]


def test_a_refused_request_exits_2_and_names_each_bad_field(endpoint: LocalEndpoint) -> None:
    result = predict(endpoint, "-", stdin=json.dumps({"instances": [GUIDE, {**GUIDE, "hour": 24, "capacity": 0}]}))
    assert result.returncode == 2, result.stderr
    assert "instances[1].hour: must be an integer 0-23, got 24" in result.stderr
    assert "instances[1].capacity: must be an integer 1-200, got 0" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_bad_history_flag_is_named(endpoint: LocalEndpoint) -> None:
    result = predict(endpoint, "--station-code", "1", "--history", "1,x", "--hour", "1", "--day-of-week", "1",
                     "--capacity", "20", "--latitude", "48.85", "--longitude", "2.35")
    assert result.returncode == 1 and "--history: 'x' is neither a number nor null" in result.stderr


def test_an_unreachable_endpoint_exits_1_without_a_traceback() -> None:
    result = predict_at(url(free_port()), "--max-attempts", "1", str(GUIDE_REQUEST_FILE))
    assert result.returncode == 1 and result.stdout == ""
    assert "error (EndpointUnavailableError, HTTP 503): endpoint velib-forecast-local unreachable" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("attempts", [1, 3])
def test_max_attempts_is_how_often_a_busy_endpoint_is_asked(attempts: int) -> None:
    with running(Answer.aws_error(503, "ServiceUnavailable", "busy")) as busy:
        result = predict_at(busy.url, "--max-attempts", str(attempts), str(GUIDE_REQUEST_FILE))
        assert busy.calls == attempts
    assert result.returncode == 1 and "error (EndpointUnavailableError, HTTP 503): ServiceUnavailable" in result.stderr


def test_the_shipped_examples_are_valid_requests() -> None:
    assert load_request(GUIDE_REQUEST_FILE) == GUIDE
