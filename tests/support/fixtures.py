"""The suite's own request fixtures (tests/fixtures/), so the repository needs nothing beside it, and what each
edge case promises of its answer, checked the same way whichever path (handlers, container, boto3) carried it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from forecast_contract import HORIZON_KEYS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GUIDE: dict[str, Any] = json.loads((FIXTURES / "guide-example.json").read_text())
EDGE_CASES: list[dict[str, Any]] = [
    json.loads(line) for line in (FIXTURES / "edge-cases.jsonl").read_text().splitlines() if line.strip()]
STATION_FILE_HISTORY: list[float | None] = [5] * 23 + [None]


def station_file(directory: Path, **change: Any) -> Path:
    """A user's own stations file for `api --stations` (README's format): one station, its last hour missing."""
    station = {"station_code": "42", "name": "Rue de Rivoli", "capacity": 30, "latitude": 48.86,
               "longitude": 2.34, "last_hour": "2026-11-25T14:00", "hourly_bikes": STATION_FILE_HISTORY, **change}
    path = directory / "stations.json"
    path.write_text(json.dumps({"stations": [station]}))
    return path


def check_answer(case: dict[str, Any], status: int, body: str) -> None:
    """A 200 forecasts every request sent (three horizons in [0, capacity], station_known, the warnings
    expected and no others); a 4xx is the JSON error body naming the case's field."""
    assert status == case["expect_status"], f"{case['name']}: {status} {body[:500]}"
    answer = json.loads(body)
    if status != 200:
        error = answer["error"]
        assert error["status"] == status, body
        assert case["expect_field"] in [f["field"] for f in error["fields"]], body
        assert case["expect_in_message"] in error["message"], body
        return
    sent = json.loads(case["body"])
    requests = sent.get("instances", [sent])
    answers = answer if isinstance(answer, list) else [answer]
    assert len(answers) == len(requests), body
    for got, request, expected in zip(answers, requests, case["expect_answers"], strict=True):
        assert list(got["predictions"]) == list(HORIZON_KEYS), got
        assert all(0 <= v <= request["capacity"] for v in got["predictions"].values()), got
        assert got["station_known"] is expected["station_known"], got
        assert len(got["warnings"]) == len(expected["warnings"]), got
        assert all(f in w for f, w in zip(expected["warnings"], got["warnings"], strict=True)), got
