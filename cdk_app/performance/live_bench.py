"""Live-data benchmarks on a synthetic 1,500-station Vélib' feed on loopback: one poll (fetched and parsed, then
stored), the hourly city forecast through the local endpoint, and a station's forecast served by the API from
the history with the endpoint stopped."""

from __future__ import annotations

import http.client
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cdk_app.child_process import ChildServer
from cdk_app.client.forecast_client import ForecastClient
from cdk_app.live_data.blobs import LocalBlobs
from cdk_app.live_data.city_forecast import forecast_city
from cdk_app.live_data.collector import Collector
from cdk_app.live_data.gbfs import GbfsReader
from cdk_app.live_data.history import HOUR, History
from cdk_app.local_serving.local_endpoint import LocalEndpoint
from cdk_app.loopback import free_port
from cdk_app.paths import REPO_ROOT
from cdk_app.performance.bench_rows import (
    API_FROM_HISTORY,
    BATCH_STATIONS,
    CITY_FORECAST,
    POLL_FETCH,
    POLL_STORE,
    Row,
)
from cdk_app.performance.synthetic_feed import GbfsFeedServer, daily_cycle, paris_stations

START = 1_764_417_600  # an hour boundary; the feed's clock, not this machine's


def _row(row_id: str, name: str, samples: list[float]) -> Row:
    from cdk_app.performance.bench import percentile

    return Row(row_id, name, percentile(samples, 50), percentile(samples, 99), len(samples))


@contextmanager
def city_history(polls_per_hour: int = 1) -> Iterator[tuple[GbfsFeedServer, History, Collector]]:
    """A 1,500-station feed and a history that holds its last 25 hours (enough to forecast every station)."""
    with GbfsFeedServer("velib", paris_stations(BATCH_STATIONS), daily_cycle, START) as feed, \
            tempfile.TemporaryDirectory(prefix="velib-bench-history-") as folder:
        history = History(LocalBlobs(Path(folder)))
        collector = Collector(GbfsReader(feed.url), history)
        for _ in range(25 * polls_per_hour):
            feed.clock += HOUR // polls_per_hour
            collector.poll()
        yield feed, history, collector


def poll_rows(repeat: int) -> list[Row]:
    """A poll split in two: fetching and parsing (loopback HTTP included), then storing (network aside)."""
    fetched: list[float] = []
    stored: list[float] = []
    with city_history() as (feed, _, collector):
        for _ in range(repeat):
            feed.clock += 60
            started = time.perf_counter()
            snapshot = collector.reader.poll()
            parsed = time.perf_counter()
            collector.store(snapshot)
            fetched.append((parsed - started) * 1000)
            stored.append((time.perf_counter() - parsed) * 1000)
    return [_row(POLL_FETCH, f"one poll, {BATCH_STATIONS} stations: fetched over loopback and parsed", fetched),
            _row(POLL_STORE, f"one poll, {BATCH_STATIONS} stations: stored (its hour and latest.json)", stored)]


def city_forecast_row(endpoint: LocalEndpoint, repeat: int) -> Row:
    client = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url, cache_ttl_seconds=None)
    samples = []
    with city_history() as (_, history, _):
        latest = history.latest()
        assert latest is not None
        counts = history.counts(latest.tasks_through)
        for _ in range(repeat):
            started = time.perf_counter()
            forecast = forecast_city(client, latest.tasks_through, counts, latest.stations)
            samples.append((time.perf_counter() - started) * 1000)
    assert forecast is not None and len(forecast.forecasts) == BATCH_STATIONS, "not every station was forecast"
    return _row(CITY_FORECAST, f"hourly city forecast, {BATCH_STATIONS} stations, one invocation through boto3",
                samples)


def api_from_history_row(endpoint: LocalEndpoint, repeat: int) -> Row:
    """The forecasts are made with the endpoint up; then it is stopped and the API serves them from the history."""
    client = ForecastClient(endpoint.endpoint_name, endpoint_url=endpoint.url, cache_ttl_seconds=None)
    with city_history() as (_, history, _):
        latest = history.latest()
        assert latest is not None
        forecast = forecast_city(client, latest.tasks_through, history.counts(latest.tasks_through), latest.stations)
        assert forecast is not None
        history.put_forecast(forecast)
        endpoint.stop()
        api = ChildServer([sys.executable, "-m", "cdk_app", "api", "--port", str(free_port()), "--history",
                           history.location, "--endpoint-url", endpoint.url, "--rate-limit", "1000000000/hour"],
                          "api-url: ", cwd=REPO_ROOT,
                          log=Path(tempfile.gettempdir()) / "velib-bench-api-history.log")
        with api:
            connection = http.client.HTTPConnection("127.0.0.1", int(api.url.rsplit(":", 1)[1]), timeout=60)
            path = f"/stations/{next(iter(forecast.forecasts))}/forecast"
            samples = []
            for i in range(repeat + 20):
                started = time.perf_counter()
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET {path} from the history answered {response.status}")
                if i >= 20:  # the first ones warm the API's cache of the history
                    samples.append((time.perf_counter() - started) * 1000)
    return _row(API_FROM_HISTORY, "a station's forecast through the API, from the history, endpoint stopped",
                samples)
