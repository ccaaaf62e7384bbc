"""The collector against a real GBFS server on loopback and the real local endpoint, through 30 feed-hours:
hourly counts, missing and stale hours, the hourly city forecast and its scores, each checked against values
this test computes itself from the feed it serves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.endpoint_owner import EndpointOwner

from cdk_app.client.forecast_client import ForecastClient
from cdk_app.live_data.blobs import LocalBlobs
from cdk_app.live_data.collector import Collector
from cdk_app.live_data.gbfs import FeedError, GbfsReader
from cdk_app.live_data.history import History, accuracy
from cdk_app.local_serving.local_endpoint import LocalEndpoint
from cdk_app.performance.synthetic_feed import FakeStation, FakeStatus, Fault, GbfsFeedServer, paris_stations

START = 1_764_417_600  # 2025-11-29 12:00 UTC, an hour boundary
HOUR = 3600
HOURS = 30
POLL_EVERY = 600
OUTAGE = range(START + 10 * HOUR, START + 13 * HOUR)  # the feed answers 500: hours 11 and 12 see no poll
STALE_STATION, STALE_HOURS = 0, range(START + 4 * HOUR, START + 9 * HOUR)  # reports 2 h old readings then
GONE_STATION, GONE_HOURS = 1, range(START + 15 * HOUR, START + 18 * HOUR)  # absent from station_status then
STATIONS = paris_stations(30, seed=3)
HORIZONS = ("T+1h", "T+2h", "T+3h")


def bikes(index: int, feed_time: int) -> int:
    return (index * 7 + feed_time // POLL_EVERY * 3) % (STATIONS[index].capacity + 1)


def status(station: FakeStation, feed_time: int) -> FakeStatus | None:
    index = STATIONS.index(station)
    if index == GONE_STATION and feed_time in GONE_HOURS:
        return None
    reported = feed_time - (2 * HOUR if index == STALE_STATION and feed_time in STALE_HOURS else 30)
    count = bikes(index, reported)
    return FakeStatus(mechanical=count // 2, ebikes=count - count // 2, docks=station.capacity - count,
                      last_reported=reported)


def expected_count(index: int, hour: int) -> int | None:
    """The latest fresh reading among the polls in (hour - 1 h, hour], worked out from the feed's own rules."""
    polls = [t for t in range(max(START, hour - HOUR + 1), min(hour, START + HOURS * HOUR) + 1)
             if (t - START) % POLL_EVERY == 0 and t not in OUTAGE]
    for t in reversed(polls):
        answer = status(STATIONS[index], t)
        if answer is not None and t - answer.last_reported <= HOUR:
            return answer.mechanical + answer.ebikes
    return None


@dataclass
class Run:
    history: History
    lines: list[str]
    failures: list[str]


@pytest.fixture(scope="module")
def thirty_hours(tmp_path_factory: pytest.TempPathFactory, endpoint_owner: EndpointOwner) -> Iterator[Run]:
    endpoint = endpoint_owner.running()
    history = History(LocalBlobs(tmp_path_factory.mktemp("history")))
    client = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url, cache_ttl_seconds=None)
    run = Run(history, [], [])
    with GbfsFeedServer("velib", STATIONS, status, START) as feed:
        collector = Collector(GbfsReader(feed.url, backoff_seconds=0), history, client)
        for t in range(START, START + HOURS * HOUR + 1, POLL_EVERY):
            feed.clock = t
            feed.fault = Fault("http_500", "station_status") if t in OUTAGE else None
            try:
                run.lines.append(collector.poll().line())
            except FeedError as error:
                run.failures.append(str(error))
        run.lines.append(collector.poll().line())  # the same feed state again
    yield run


def test_hourly_counts_are_the_latest_fresh_reading_of_each_hour(thirty_hours: Run) -> None:
    history = thirty_hours.history
    for hour in range(START, START + HOURS * HOUR + 1, HOUR):
        stored = history.hour_readings(hour)
        for index, station in enumerate(STATIONS):
            expected = expected_count(index, hour)
            found = stored.get(station.code)
            assert (None if found is None else found.bikes) == expected, (hour, index)
            if found is not None and expected is not None:
                assert (found.mechanical, found.ebikes) == (expected // 2, expected - expected // 2)


def test_an_outage_leaves_missing_hours_and_stale_readings_count_as_missing(thirty_hours: Run) -> None:
    history = thirty_hours.history
    assert len(thirty_hours.failures) == len(OUTAGE) // POLL_EVERY
    assert all("station_status" in f and "HTTP 500" in f for f in thirty_hours.failures)
    missing = [h for h in range(START + 10 * HOUR, START + 14 * HOUR, HOUR) if h not in history.hours()]
    assert missing == [START + 11 * HOUR, START + 12 * HOUR]
    stale = STATIONS[STALE_STATION].code
    assert all(stale not in history.hour_readings(h) for h in range(START + 5 * HOUR, START + 9 * HOUR, HOUR))


def test_each_poll_says_what_it_did_and_the_same_state_is_stored_once(thirty_hours: Run) -> None:
    assert "30 stations read, 0 skipped, 0 stale" in thirty_hours.lines[0]
    assert any("30 stations read, 0 skipped, 1 stale" in line for line in thirty_hours.lines)  # the stale hours
    assert any("29 stations read, 0 skipped, 0 stale" in line for line in thirty_hours.lines)  # one station gone
    observed = [h for h in range(START, START + HOURS * HOUR, HOUR)
                if any(expected_count(i, h) is not None for i in range(len(STATIONS)))]
    assert f"; {len(observed)} hours complete" in thirty_hours.lines[-2]
    assert thirty_hours.lines[-1].endswith("unchanged since the last poll, nothing stored")


def _window(index: int, hour: int) -> list[float | None]:
    counts = [expected_count(index, hour - HOUR * (23 - i)) for i in range(24)]
    return [None if c is None else float(c) for c in counts]


def test_forecasts_cover_exactly_the_stations_with_18_of_24_hours(thirty_hours: Run) -> None:
    history = thirty_hours.history
    hours = history.forecast_hours()
    assert hours, thirty_hours.lines
    first = next(h for h in range(START, START + HOURS * HOUR, HOUR)
                 if any(sum(c is not None for c in _window(i, h)) >= 18 for i in range(len(STATIONS))))
    assert min(hours) == first
    assert hours == list(range(first, START + HOURS * HOUR, HOUR))  # then every hour, the last complete one included
    for hour in hours:
        (forecast,) = history.forecasts(hour)
        eligible = {s.code for i, s in enumerate(STATIONS) if sum(c is not None for c in _window(i, hour)) >= 18}
        assert set(forecast.forecasts) == eligible, hour
        assert forecast.last_counts == {s.code: next(c for c in reversed(_window(i, hour)) if c is not None)
                                        for i, s in enumerate(STATIONS) if s.code in eligible}


def test_stored_forecasts_are_the_endpoints_answers(thirty_hours: Run, endpoint: LocalEndpoint) -> None:
    history = thirty_hours.history
    client = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url, cache_ttl_seconds=None)
    hour = history.forecast_hours()[-1]
    (forecast,) = history.forecasts(hour)
    local = datetime.fromtimestamp(hour, ZoneInfo("Europe/Paris"))
    mine = [{"station_code": s.code, "historical_bikes": _window(i, hour), "hour": local.hour,
             "day_of_week": local.weekday(), "capacity": s.capacity, "latitude": s.latitude,
             "longitude": s.longitude} for i, s in enumerate(STATIONS) if s.code in forecast.forecasts]
    answers = client.predict_many(mine)
    assert {a.station_code: a.predictions for a in answers} == forecast.forecasts
    assert forecast.model_version == answers[0].model_version


def test_live_accuracy_scores_every_observed_horizon_beside_persistence(thirty_hours: Run) -> None:
    history = thirty_hours.history
    last_complete = START + HOURS * HOUR - HOUR
    totals = {h: [0, 0.0, 0.0] for h in HORIZONS}
    version = ""
    for hour in history.forecast_hours():
        if hour + 3 * HOUR > last_complete:
            continue  # its last horizon is not observed yet
        (forecast,) = history.forecasts(hour)
        version = forecast.model_version
        for code, predicted in forecast.forecasts.items():
            index = next(i for i, s in enumerate(STATIONS) if s.code == code)
            for step, horizon in enumerate(HORIZONS, start=1):
                actual = expected_count(index, hour + step * HOUR)
                if actual is not None:
                    totals[horizon][0] += 1
                    totals[horizon][1] += abs(predicted[horizon] - actual)
                    totals[horizon][2] += abs(forecast.last_counts[code] - actual)
    assert version and totals["T+1h"][0] > 0
    scores = history.scores()
    assert scores and all(s.case_errors is None for s in scores)  # one model an hour: nothing to pair, only sums kept
    summary = accuracy(scores)["by_model_version"]
    assert list(summary) == [version]
    for horizon, (n, error, persistence) in totals.items():
        assert summary[version][horizon]["n"] == n
        assert summary[version][horizon]["mae"] == pytest.approx(error / n, abs=1e-4)
        assert summary[version][horizon]["persistence_mae"] == pytest.approx(persistence / n, abs=1e-4)


def test_a_malformed_station_is_skipped_and_counted(tmp_path: Path) -> None:
    with GbfsFeedServer("velib", STATIONS, status, START) as feed:
        feed.fault = Fault("malformed_station", "station_status")
        report = Collector(GbfsReader(feed.url), History(LocalBlobs(tmp_path))).poll()
    assert "29 stations read, 1 skipped" in report.line()
    assert len(History(LocalBlobs(tmp_path)).hour_readings(START)) == 29
