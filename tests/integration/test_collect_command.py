"""`python -m cdk_app collect` as a user runs it: one line per poll, one-line errors on bad feeds, a store that
survives SIGKILL mid-write, a second collector refused, and the same code as the Lambda function on moto's S3,
with a challenger too."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.s3_server import s3_bucket

from cdk_app.cli import main
from cdk_app.live_data import lambda_handler
from cdk_app.live_data.blobs import LocalBlobs, S3Blobs
from cdk_app.live_data.history import CHAMPION, History, hour_end, hour_key
from cdk_app.local_serving.local_endpoint import LocalEndpoint
from cdk_app.loopback import free_port
from cdk_app.paths import REPO_ROOT
from cdk_app.performance.synthetic_feed import (
    FakeStation,
    FakeStatus,
    Fault,
    GbfsFeedServer,
    daily_cycle,
    paris_stations,
)

START = 1_764_417_600
CITY = paris_stations(1500, seed=5)
SMALL = CITY[:20]


def collect(*options: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cdk_app", "collect", *options], cwd=REPO_ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def feed() -> Iterator[GbfsFeedServer]:
    with GbfsFeedServer("velib", SMALL, daily_cycle, START) as server:
        yield server


def test_once_stores_a_poll_and_says_so(feed: GbfsFeedServer, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "cdk_app", "collect", "--once", "--feed", feed.url, "--history",
                           str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "20 stations read, 0 skipped, 0 stale; 0 hours complete" in done.stdout
    latest = History(LocalBlobs(tmp_path)).latest()
    assert latest is not None and latest.feed_time == START and len(latest.readings) == 20


@pytest.mark.parametrize(("fault", "says"), [
    (Fault("html", "gbfs"), "gbfs.json"),
    (Fault("truncated", "station_status"), "station_status"),
    (Fault("http_500", "station_status"), "HTTP 500"),
    (Fault("not_found", "station_information"), "station_information"),
])
def test_a_bad_feed_is_one_line_naming_the_file(feed: GbfsFeedServer, tmp_path: Path, fault: Fault, says: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    feed.fault = fault
    assert main(["collect", "--once", "--feed", feed.url, "--history", str(tmp_path)]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: ") and says in error and "Traceback" not in error
    assert History(LocalBlobs(tmp_path)).latest() is None  # nothing half-stored


def test_an_unreachable_feed_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/gbfs.json"
    assert main(["collect", "--once", "--feed", url, "--history", str(tmp_path)]) == 1
    assert url in capsys.readouterr().err


def _advance(feed: GbfsFeedServer, stop: threading.Event) -> None:
    while not stop.wait(0.02):
        feed.clock += 120


def test_sigkill_mid_write_leaves_every_earlier_reading_intact(tmp_path: Path) -> None:
    """A 1,500-station city polled as fast as it can, its clock racing; killed at a different moment each time."""
    statuses: dict[tuple[str, int], FakeStatus | None] = {}

    def remembered(station: FakeStation, feed_time: int) -> FakeStatus | None:
        statuses[station.code, feed_time] = answer = daily_cycle(station, feed_time)
        return answer

    with GbfsFeedServer("velib", CITY, remembered, START) as feed:
        stop = threading.Event()
        clock = threading.Thread(target=_advance, args=(feed, stop))
        clock.start()
        try:
            for delay in (1.5, 2.3, 3.1):
                collector = collect("--feed", feed.url, "--history", str(tmp_path), "--interval", "0.01")
                time.sleep(delay)
                collector.send_signal(signal.SIGKILL)
                collector.communicate(timeout=30)
        finally:
            stop.set()
            clock.join()
    history = History(LocalBlobs(tmp_path))
    latest = history.latest()
    assert latest is not None and len(latest.readings) == len(CITY)
    assert len(history.hours()) >= 2
    for hour in history.hours():
        raw = json.loads((tmp_path / "hours" / f"{hour_key(hour)}.json").read_bytes())
        for code, reading in raw["readings"].items():
            assert hour_end(reading["feed_time"]) == hour
            served = statuses[code, reading["feed_time"]]
            assert served is not None and reading["bikes"] == served.mechanical + served.ebikes


def test_a_second_collector_on_the_same_history_is_refused(feed: GbfsFeedServer, tmp_path: Path) -> None:
    first = collect("--feed", feed.url, "--history", str(tmp_path), "--interval", "0.2")
    try:
        assert first.stdout is not None
        assert "stations read" in first.stdout.readline()  # it holds the history now
        second = subprocess.run([sys.executable, "-m", "cdk_app", "collect", "--once", "--feed", feed.url,
                                 "--history", str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 1
        assert "another collector writes this history" in second.stderr
        assert f"pid {first.pid}" in second.stderr
    finally:
        first.terminate()
        first.communicate(timeout=30)
    assert first.returncode == 0  # SIGTERM stops it cleanly


def lambda_environment(monkeypatch: pytest.MonkeyPatch, feed: GbfsFeedServer, s3: Any, bucket: str,
                       endpoint: LocalEndpoint, **more: str) -> None:
    """The function's environment as the stack sets it, its AWS calls sent to moto's S3 and the local endpoint."""
    for name, value in {"FEED_URL": feed.url, "HISTORY_URL": f"s3://{bucket}/history",
                        "ENDPOINT_NAME": endpoint.endpoint_name, "AWS_ENDPOINT_URL_S3": s3.meta.endpoint_url,
                        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": endpoint.url, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-3", **more}.items():
        monkeypatch.setenv(name, value)


def test_the_lambda_function_collects_into_s3_and_forecasts(monkeypatch: pytest.MonkeyPatch,
                                                           endpoint: LocalEndpoint) -> None:
    with s3_bucket() as (client, bucket), GbfsFeedServer("velib", SMALL, daily_cycle, START) as feed:
        lambda_environment(monkeypatch, feed, client, bucket, endpoint)
        for step in range(0, 20 * 3600, 1200):
            feed.clock = START + step
            assert lambda_handler.handler({}, None)["stored"]
        history = History(S3Blobs(bucket, "history", client))
        (forecast,) = history.forecasts(history.forecast_hours()[0])
        assert set(forecast.forecasts) == {s.code for s in SMALL}
        assert history.latest() is not None


def test_the_lambda_function_sends_each_role_to_its_variant(monkeypatch: pytest.MonkeyPatch,
                                                           endpoint: LocalEndpoint) -> None:
    """A real-time endpoint with a challenger, as the stack configures the function: one endpoint, a variant per
    role. The local endpoint's one variant is AllTraffic, so the champion's forecast is stored and the
    challenger's is refused: the poll raises, naming it, for the Errors alarm."""
    with s3_bucket() as (client, bucket), GbfsFeedServer("velib", SMALL, daily_cycle, START) as feed:
        lambda_environment(monkeypatch, feed, client, bucket, endpoint, ENDPOINT_VARIANT="AllTraffic",
                           CHALLENGER_ENDPOINT_NAME=endpoint.endpoint_name, CHALLENGER_VARIANT="Challenger")
        history = History(S3Blobs(bucket, "history", client))
        for step in range(0, 20 * 3600, 1200):
            feed.clock = START + step
            try:
                lambda_handler.handler({}, None)
            except lambda_handler.CollectorError as error:
                assert "challenger forecast" in str(error) and "no production variant Challenger" in str(error)
                break
        else:
            pytest.fail("no forecast was made in 20 hours")
        (forecast,) = history.forecasts(history.forecast_hours()[0])
        assert forecast.role == CHAMPION and set(forecast.forecasts) == {s.code for s in SMALL}
