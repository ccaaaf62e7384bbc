"""`python -m cdk_app up` (what `make run` starts): the endpoint, the API and the page, stopped together by Ctrl-C;
with `--stations velib`, the collector too, or the simulated stations when the feed does not answer."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from support.fixtures import GUIDE

from cdk_app.child_process import terminate
from cdk_app.deployment.model_archive import Archive
from cdk_app.live_data.blobs import LocalBlobs
from cdk_app.local_serving.model_server import namespaces_available, running_model_servers
from cdk_app.loopback import free_port, url
from cdk_app.paths import REPO_ROOT
from cdk_app.performance.synthetic_feed import GbfsFeedServer, daily_cycle, paris_stations

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("machine_without_endpoint")]
FEED_TIME = 1_764_505_200  # 2025-11-30 12:20 UTC


@contextmanager
def up(archive: Path, log: Path, *options: str) -> Iterator[dict[str, str]]:
    """`up`, its three URLs once printed; stopped by Ctrl-C (SIGINT) at the end, which must exit 0 and leave no
    server behind. Its stderr goes to `log`."""
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "cdk_app", "up", "--archive", str(archive), *options],
                                   cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        assert process.stdout is not None
        urls = dict(process.stdout.readline().strip().split(": ", 1) for _ in range(3))
        assert set(urls) == {"endpoint-url", "api-url", "ui-url"}, (urls, log.read_text())
        yield urls
        # its own model servers: with a PID namespace each, other tests' may run on the machine at the same time
        servers = {child.pid for child in psutil.Process(process.pid).children(recursive=True)} & set(
            running_model_servers())
        assert servers
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=90) == 0
    finally:
        terminate(process)
    for address in (urls["api-url"], urls["ui-url"]):
        with pytest.raises(requests.ConnectionError):
            requests.get(address, timeout=5)
    assert not servers & set(running_model_servers())


@pytest.mark.timeout(300)
def test_up_starts_all_three_and_ctrl_c_stops_them(archive: Path, tmp_path: Path) -> None:
    with up(archive, tmp_path / "up.log") as urls:
        guide = (REPO_ROOT / "examples" / "guide-request.json").read_text()
        answer = requests.post(f"{urls['api-url']}/predict", data=guide, timeout=60,
                               headers={"Content-Type": "application/json"})
        assert answer.status_code == 200 and json.loads(answer.text)["station_code"] == "16107"
        assert requests.get(f"{urls['ui-url']}/_stcore/health", timeout=30).text == "ok"


@pytest.mark.timeout(300)
def test_up_with_a_challenger_serves_two_models_and_splits_the_stations(archive: Path, challenger_archive: Archive,
                                                                        tmp_path: Path) -> None:
    assert namespaces_available(), "two model servers at once need a PID namespace each (root or CAP_SYS_ADMIN)"
    with up(archive, tmp_path / "up.log", "--challenger-archive", str(challenger_archive.path),
            "--challenger-weight", "0.5") as urls:
        answers = [requests.post(f"{urls['api-url']}/predict", json={**GUIDE, "station_code": f"UP{i}"},
                                 timeout=60).json() for i in range(20)]
        ab = requests.get(f"{urls['api-url']}/health", timeout=30).json()["ab"]
    versions = {a["variant"]: a["model_version"] for a in answers}
    assert set(versions) == {"champion", "challenger"} and versions["challenger"] == challenger_archive.model_version
    assert versions["champion"] != challenger_archive.model_version
    assert (ab["challenger"]["weight"], ab["champion"]["forecasts"] + ab["challenger"]["forecasts"]) == (0.5, 20)


@pytest.mark.timeout(300)
def test_an_unreachable_feed_falls_back_to_the_simulated_stations(archive: Path, tmp_path: Path) -> None:
    closed = f"{url(free_port())}/gbfs.json"
    with up(archive, tmp_path / "up.log", "--stations", "velib", "--feed", closed,
            "--history", str(tmp_path / "history")) as urls:
        assert len(requests.get(f"{urls['api-url']}/stations", timeout=60).json()) == 300
    (said,) = [line for line in (tmp_path / "up.log").read_text().splitlines() if "unreachable" in line]
    assert closed in said and "serving the simulator's 300 stations instead" in said
    assert not (tmp_path / "history").exists()  # no collector ran


def stations_served(api: str, deadline: float) -> list[dict[str, Any]]:
    """The API's stations once the collector has stored its first poll (it polls as it starts)."""
    while time.monotonic() < deadline:
        stations: list[dict[str, Any]] = requests.get(f"{api}/stations", timeout=30).json()
        if stations:
            return stations
        time.sleep(0.5)
    raise AssertionError("the collector stored no poll")


@pytest.mark.timeout(300)
def test_up_with_the_live_feed_collects_and_serves_its_history(archive: Path, tmp_path: Path) -> None:
    city = paris_stations(12)
    history = tmp_path / "history"
    with GbfsFeedServer("velib", city, daily_cycle, FEED_TIME) as feed, \
            up(archive, tmp_path / "up.log", "--stations", "velib", "--feed", feed.url,
               "--history", str(history)) as urls:
        stations = stations_served(urls["api-url"], time.monotonic() + 120)
        assert sorted(s["station_code"] for s in stations) == sorted(s.code for s in city)
        first = city[0]
        status = daily_cycle(first, FEED_TIME)
        (served,) = [s for s in stations if s["station_code"] == first.code]
        assert (served["mechanical"], served["ebikes"], served["docks"]) == (status.mechanical, status.ebikes,
                                                                             status.docks)
    with LocalBlobs(history).exclusive():  # the collector is gone with the rest: its lock is free
        pass
