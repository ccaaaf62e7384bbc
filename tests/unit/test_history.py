"""The history store: hours named by their end, latest fresh reading per hour, stale as missing, one writer,
the same layout on disk and in S3 (moto on loopback), and scores summed into accuracy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support.s3_server import s3_bucket

from cdk_app.live_data.blobs import HistoryInUseError, LocalBlobs, S3Blobs, open_blobs
from cdk_app.live_data.history import (
    CHALLENGER,
    CHAMPION,
    CityForecast,
    History,
    Score,
    accuracy,
    hour_end,
    hour_key,
    hour_of_key,
    score_forecast,
)
from cdk_app.live_data.snapshot import Reading, Snapshot, Station

H = 1_764_504_000  # 2025-11-30 12:00 UTC, an hour boundary
STATION = Station("16107", "Rivoli", 20, 48.8566, 2.3522)


def snapshot(feed_time: int, **bikes_by_code: tuple[int, int]) -> Snapshot:
    """Stations by code with (bikes, seconds since their last report)."""
    return Snapshot(feed_time, {c: Station(c, c, 20, 48.86, 2.35) for c in bikes_by_code},
                    {c: Reading(c, b, b, 0, 20 - b, True, True, feed_time - age)
                     for c, (b, age) in bikes_by_code.items()})


@pytest.fixture(params=["local", "s3"])
def history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[History]:
    if request.param == "local":
        yield History(LocalBlobs(tmp_path / "history"))
        return
    with s3_bucket() as (client, bucket):
        yield History(S3Blobs(bucket, "history", client))


def test_an_hour_is_named_by_its_end() -> None:
    assert hour_end(H) == H
    assert hour_end(H + 1) == H + 3600
    assert hour_end(H - 1) == H
    assert hour_key(H) == "2025-11-30T1200Z"
    assert hour_of_key("2025-11-30T1200Z") == H


def test_latest_fresh_reading_of_the_hour_wins_and_stale_ones_are_missing(history: History) -> None:
    history.record_hour(snapshot(H - 3000, a=(3, 0), b=(4, 0)))
    history.record_hour(snapshot(H - 600, a=(7, 10), b=(9, 3601)))  # b is stale now: its earlier count stays
    history.record_hour(snapshot(H + 60, a=(1, 0)))  # the next hour
    readings = history.hour_readings(H)
    assert {c: r.bikes for c, r in readings.items()} == {"a": 7, "b": 4}
    assert history.hours() == [H, H + 3600]


def test_counts_window_leaves_missing_hours_missing(history: History) -> None:
    for hour in (H - 7200, H):  # H - 3600 saw no poll: an outage
        history.record_hour(snapshot(hour - 60, a=(hour % 7, 0)))
    counts = history.counts(H, hours=4)
    assert counts == {"a": [None, float((H - 7200) % 7), None, float(H % 7)]}


def test_latest_round_trips(history: History) -> None:
    snap = snapshot(H + 5, a=(2, 30))
    history.put_latest(snap, tasks_through=H, hours_complete=3)
    latest = history.latest()
    assert latest is not None
    assert (latest.feed_time, latest.tasks_through, latest.hours_complete) == (H + 5, H, 3)
    assert latest.readings == snap.readings
    assert latest.stations == snap.stations


def test_forecasts_and_scores_by_hour_and_model(history: History) -> None:
    for version in ("v1", "v2"):
        history.put_forecast(CityForecast(H, version, {"a": {"T+1h": 5.0, "T+2h": 6.0, "T+3h": 7.0}}, {"a": 4.0}))
    assert sorted(f.model_version for f in history.forecasts(H)) == ["v1", "v2"]
    assert history.forecast_hours() == [H]
    history.put_score(Score(H, "v1", {"T+1h": 1}, {"T+1h": 1.0}, {"T+1h": 2.0}))
    assert history.scored(H) == {"v1"}


def test_scoring_against_what_happened() -> None:
    forecast = CityForecast(H, "v1", {"a": {"T+1h": 5.0, "T+2h": 6.0, "T+3h": 7.0},
                                      "b": {"T+1h": 1.0, "T+2h": 1.0, "T+3h": 1.0}}, {"a": 4.0, "b": 2.0})
    seen = {c: Reading(c, n, None, None, None, True, True, 0) for c, n in (("a", 6), ("b", 0))}
    observed = {"T+1h": seen, "T+2h": {"a": seen["a"]}, "T+3h": {}}
    score = score_forecast(forecast, observed)
    assert score.n == {"T+1h": 2, "T+2h": 1, "T+3h": 0}
    assert score.abs_error == {"T+1h": 1.0 + 1.0, "T+2h": 0.0, "T+3h": 0.0}
    assert score.persistence_abs_error == {"T+1h": 2.0 + 2.0, "T+2h": 2.0, "T+3h": 0.0}
    assert score.case_errors == {"T+1h": {"a": 1.0, "b": 1.0}, "T+2h": {"a": 0.0}, "T+3h": {}}  # to pair on
    assert score.role == "champion"
    summary = accuracy([score, score])["by_model_version"]["v1"]
    assert summary["T+1h"] == {"n": 4, "mae": 1.0, "persistence_mae": 2.0}
    assert summary["T+3h"] == {"n": 0, "mae": None, "persistence_mae": None}


def test_each_forecast_and_score_names_its_role(history: History) -> None:
    assert history.forecast_roles(H) == {}  # nothing listed: nothing read
    forecast = CityForecast(H, "v2", {"a": {"T+1h": 5.0, "T+2h": 6.0, "T+3h": 7.0}}, {"a": 4.0}, CHALLENGER)
    history.put_forecast(forecast)
    history.put_forecast(replace(forecast, model_version="v1", role=CHAMPION))
    assert history.forecast_roles(H) == {CHAMPION: "v1", CHALLENGER: "v2"}
    seen = {"a": Reading("a", 6, None, None, None, True, True, 0)}
    history.put_score(score_forecast(forecast, dict.fromkeys(("T+1h", "T+2h", "T+3h"), seen)))
    (key,) = history.blobs.keys("scores/")
    assert history.score(key).role == CHALLENGER and history.score(key).case_errors == {
        "T+1h": {"a": 1.0}, "T+2h": {"a": 0.0}, "T+3h": {"a": 1.0}}


def test_files_written_before_ab_are_the_champions_and_cannot_be_paired(history: History) -> None:
    """Forecasts and scores as the collector wrote them before A/B: no role, no cases."""
    key = hour_key(H)
    history.blobs.write(f"forecasts/{key}/v0.json", json.dumps({
        "hour": H, "model_version": "v0", "forecasts": {"a": {"T+1h": 5.0, "T+2h": 6.0, "T+3h": 7.0}},
        "last_counts": {"a": 4.0}}).encode())
    history.blobs.write(f"scores/{key}/v0.json", json.dumps({
        "hour": H, "model_version": "v0", "n": {"T+1h": 1}, "abs_error": {"T+1h": 1.0},
        "persistence_abs_error": {"T+1h": 2.0}}).encode())
    assert history.forecast_roles(H) == {CHAMPION: "v0"}
    (score,) = history.scores()
    assert (score.role, score.case_errors, score.n) == (CHAMPION, None, {"T+1h": 1})


def test_a_second_local_collector_is_refused(tmp_path: Path) -> None:
    first, second = LocalBlobs(tmp_path), LocalBlobs(tmp_path)
    with first.exclusive(), pytest.raises(HistoryInUseError, match="another collector"), second.exclusive():
        pass
    with second.exclusive():  # free again once the first let go
        pass


def test_s3_collectors_take_turns_and_a_stuck_one_is_named() -> None:
    with s3_bucket() as (client, bucket):
        first, second = (S3Blobs(bucket, "h", client, lock_wait_seconds=0.5) for _ in range(2))
        with first.exclusive(), pytest.raises(HistoryInUseError, match=f"s3://{bucket}/h"), second.exclusive():
            pass
        with second.exclusive():
            assert client.get_object(Bucket=bucket, Key="h/collector.lock")["Body"].read()
        assert "h/collector.lock" not in _keys(client, bucket)


def test_s3_layout_matches_the_local_one(tmp_path: Path) -> None:
    with s3_bucket() as (client, bucket):
        stores = [History(LocalBlobs(tmp_path)), History(S3Blobs(bucket, "history", client))]
        for store in stores:
            snap = snapshot(H - 30, a=(2, 0))
            store.record_hour(snap)
            store.put_latest(snap, H - 3600, 0)
            store.put_forecast(CityForecast(H, "v1", {}, {}))
        local = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()
                       and p.name != "collector.lock")
        assert [k.removeprefix("history/") for k in _keys(client, bucket)] == local
        assert local == ["forecasts/2025-11-30T1200Z/v1.json", "hours/2025-11-30T1200Z.json", "latest.json"]


def test_open_blobs_names_a_bad_location() -> None:
    with pytest.raises(ValueError, match="names no bucket"):
        open_blobs("s3:///prefix")


def _keys(client: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))
