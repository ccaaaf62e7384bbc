"""The web API and the page on a collected history (`api --history`), each a real process: the latest readings,
forecasts served from the store with no endpoint running, why a station has none, past forecasts against what
happened, accuracy and the A/B comparison; a history that changes, one in S3 (moto on loopback); then the page,
through Streamlit's AppTest and in Debian's headless chromium.

What each test expects is computed here from tests/support/live_history.py's plain functions, not by the code
under test; the A/B's figures are checked that way in tests/unit/test_comparison.py, and here the API must serve
what `accuracy` prints.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from forecast_contract import HISTORY_HOURS, HORIZON_HOURS, HORIZON_KEYS
from playwright.sync_api import Page, expect
from streamlit.testing.v1 import AppTest
from support import ab_history
from support.ab_history import CHALLENGER_VERSION, CHAMPION_VERSION
from support.browser import browser_page
from support.fixtures import GUIDE
from support.live_history import (
    CAPACITY,
    CLOSED,
    CURRENT,
    FEED_TIME,
    FORECAST,
    LAST_COMPLETE,
    MODEL_B,
    NEW,
    OPEN,
    OUTAGE,
    STALE,
    STATIONS,
    WAITING,
    bikes,
    ebikes,
    forecast_hours,
    model_of,
    poll,
    predicted,
    write_history,
)
from support.s3_server import s3_bucket
from support.web_servers import api_process, logged, ui_process

from cdk_app.child_process import ChildServer
from cdk_app.live_data.blobs import LocalBlobs, S3Blobs
from cdk_app.live_data.history import HOUR, History
from cdk_app.loopback import free_port, url
from cdk_app.paths import BUILD_DIR, REPO_ROOT
from cdk_app.web_page.frames import NO_CHALLENGER
from cdk_app.web_page.launcher import PAGE

pytestmark = pytest.mark.server
TIMEOUT = 30
SCREENSHOT = BUILD_DIR / "page-live-screenshot.png"
AB_SCREENSHOT = BUILD_DIR / "page-ab-screenshot.png"
PARIS = ZoneInfo("Europe/Paris")


def paris(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, PARIS).isoformat(timespec="minutes")


def get(api: str, path: str, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    response = requests.get(f"{api}{path}", headers=headers, timeout=TIMEOUT)
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def history_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("live") / "history"
    write_history(History(LocalBlobs(root)))
    return root


@pytest.fixture(scope="module")
def api_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-api") / "api.log"


@pytest.fixture(scope="module")
def live_api(history_root: Path, api_log: Path) -> Iterator[str]:
    """The API on the history, its endpoint a closed port: nothing it serves from the history may need it."""
    with api_process(url(free_port()), api_log, "--history", str(history_root)) as api:
        yield api


def expected_accuracy() -> dict[str, Any]:
    """Every forecast whose three hours were observed, against the counts then, and persistence beside it."""
    sums: dict[str, dict[str, list[float]]] = {}
    for made in forecast_hours():
        if made + HORIZON_HOURS[-1] * HOUR > LAST_COMPLETE:
            continue
        for code in FORECAST:
            for key, ahead in zip(HORIZON_KEYS, HORIZON_HOURS, strict=True):
                actual = bikes(code, made + ahead * HOUR)
                total = sums.setdefault(model_of(made), {}).setdefault(key, [0, 0.0, 0.0])
                total[0] += 1
                total[1] += abs(predicted(code, made, ahead) - actual)
                total[2] += abs(bikes(code, made) - actual)
    return {"by_model_version": {version: {key: {"n": n, "mae": error / n, "persistence_mae": persistence / n}
                                           for key, (n, error, persistence) in by_horizon.items()}
                                 for version, by_horizon in sums.items()}}


# ------------------------------------------------------------------------------------------------------ the API
def test_stations_carry_their_latest_reading(live_api: str) -> None:
    stations = {s["station_code"]: s for s in get(live_api, "/stations")}
    assert set(stations) == set(STATIONS)
    count = bikes(OPEN, CURRENT)
    assert stations[OPEN] == {
        "station_code": OPEN, "name": "Rivoli - Louvre", "capacity": CAPACITY, "latitude": 48.8606,
        "longitude": 2.3376, "bikes": count, "mechanical": count - ebikes(OPEN, CURRENT),
        "ebikes": ebikes(OPEN, CURRENT), "docks": CAPACITY - count, "installed": True, "renting": True,
        "last_reported": "2025-11-30T13:19+01:00"}  # a minute before the feed's 12:20 UTC
    assert stations[CLOSED]["renting"] is False and stations[CLOSED]["installed"] is True
    # a reading two hours old is stale: its counts are missing, and when it was reported stays
    assert [stations[STALE][k] for k in ("bikes", "mechanical", "ebikes", "docks")] == [None] * 4
    assert stations[STALE]["last_reported"] == "2025-11-30T11:20+01:00"


def test_a_forecast_is_served_from_the_store_without_the_endpoint(live_api: str, api_log: Path) -> None:
    detail = get(live_api, f"/stations/{OPEN}/forecast", headers={"X-Request-ID": "from-the-store"})
    assert detail["status"] == "forecast" and detail["hours_needed"] == 0 and detail["message"] is None
    assert detail["forecast"] == {"station_code": OPEN, "model_version": MODEL_B, "hour": "2025-11-30T13:00+01:00",
                                  "predictions": {k: predicted(OPEN, LAST_COMPLETE, h)
                                                  for k, h in zip(HORIZON_KEYS, HORIZON_HOURS, strict=True)}}
    hours = range(CURRENT - (HISTORY_HOURS - 1) * HOUR, CURRENT + HOUR, HOUR)
    assert detail["history"] == [bikes(OPEN, h) for h in hours]
    assert detail["last_hour"] == "2025-11-30T14:00+01:00" and detail["station"]["station_code"] == OPEN
    (line,) = logged(api_log, "from-the-store")
    assert line["status"] == 200 and line["endpoint_ms"] is None and line["stations"] == [OPEN]


def test_a_station_short_of_hours_says_how_many_more_it_needs(live_api: str) -> None:
    detail = get(live_api, f"/stations/{NEW}/forecast")
    assert (detail["status"], detail["forecast"], detail["hours_needed"]) == ("collecting", None, 13)  # 18 - 5
    assert "13 more hours" in detail["message"]
    assert sum(c is not None for c in detail["history"]) == 5


def test_a_closed_station_says_so_and_is_not_forecast(live_api: str) -> None:
    detail = get(live_api, f"/stations/{CLOSED}/forecast")  # a forecast of it is stored, and not served
    assert (detail["status"], detail["forecast"]) == ("closed", None)
    assert "not renting" in detail["message"]
    assert CLOSED not in {f["station_code"] for f in get(live_api, "/forecasts")}


def test_a_forecastable_station_missing_from_the_stored_forecast_waits_for_the_next(live_api: str) -> None:
    detail = get(live_api, f"/stations/{WAITING}/forecast")
    assert (detail["status"], detail["forecast"], detail["hours_needed"]) == ("waiting", None, 0)
    assert "after 14:00" in detail["message"]


def test_an_unknown_station_is_a_404(live_api: str) -> None:
    assert "no station 00000" in get(live_api, "/stations/00000/forecast", 404)["detail"]
    get(live_api, "/stations/00000/past-forecasts", 404)


def test_the_map_gets_the_latest_stored_forecasts(live_api: str) -> None:
    forecasts = get(live_api, "/forecasts")
    assert [f["station_code"] for f in forecasts] == sorted(set(FORECAST) - {CLOSED})
    for f in forecasts:
        assert f["predictions"] == {k: predicted(f["station_code"], LAST_COMPLETE, h)
                                    for k, h in zip(HORIZON_KEYS, HORIZON_HOURS, strict=True)}
        assert (f["model_version"], f["hour"]) == (MODEL_B, "2025-11-30T13:00+01:00")


def test_accuracy_per_model_version_and_horizon(live_api: str) -> None:
    accuracy = get(live_api, "/accuracy")
    expected = expected_accuracy()
    assert set(accuracy) == {"by_model_version", "comparison"} and accuracy["comparison"] is None  # no challenger
    assert set(accuracy["by_model_version"]) == {"model-a", "model-b"}
    for version, by_horizon in expected["by_model_version"].items():
        assert list(accuracy["by_model_version"][version]) == list(HORIZON_KEYS)
        for key, numbers in by_horizon.items():
            served = accuracy["by_model_version"][version][key]
            assert set(served) == {"n", "mae", "persistence_mae"} and served["n"] == numbers["n"]
            assert served["mae"] == pytest.approx(numbers["mae"], abs=1e-4)
            assert served["persistence_mae"] == pytest.approx(numbers["persistence_mae"], abs=1e-4)


@pytest.fixture(scope="module")
def ab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ab") / "history"
    ab_history.write_history(History(LocalBlobs(root)))
    return root


@pytest.fixture(scope="module")
def ab_api(ab_root: Path) -> Iterator[str]:
    """The API on a history with a champion and a challenger (tests/support/ab_history.py)."""
    with api_process(url(free_port()), ab_root.parent / "api.log", "--history", str(ab_root)) as api:
        yield api


def test_accuracy_compares_the_champion_and_the_challenger(ab_api: str, ab_root: Path) -> None:
    """What `accuracy` prints, from the same history (tests/unit/test_comparison.py checks its figures)."""
    served = get(ab_api, "/accuracy")
    assert served == ab_history.report(History(LocalBlobs(ab_root)).scores())
    comparison = served["comparison"]
    assert (comparison["champion"], comparison["challenger"]) == (CHAMPION_VERSION, CHALLENGER_VERSION)
    assert [comparison["by_horizon"][k]["verdict"].split(" (")[0] for k in HORIZON_KEYS] == [
        "challenger better", "not enough evidence yet", "champion better"]


def test_past_forecasts_against_what_happened(live_api: str) -> None:
    past = get(live_api, f"/stations/{OPEN}/past-forecasts")
    targets = range(CURRENT - HISTORY_HOURS * HOUR, CURRENT, HOUR)  # the 24 completed hours
    assert past["station_code"] == OPEN and [h["hour"] for h in past["hours"]] == [paris(t) for t in targets]
    assert [h["observed"] for h in past["hours"]] == [bikes(OPEN, t) for t in targets]
    for row, target in zip(past["hours"], targets, strict=True):
        assert row["forecasts"] == {
            key: None if target - ahead * HOUR == OUTAGE else predicted(OPEN, target - ahead * HOUR, ahead)
            for key, ahead in zip(HORIZON_KEYS, HORIZON_HOURS, strict=True)}
    assert any(None in row["forecasts"].values() for row in past["hours"])  # the outage shows
    assert len(get(live_api, f"/stations/{OPEN}/past-forecasts?hours=3")["hours"]) == 3
    get(live_api, f"/stations/{OPEN}/past-forecasts?hours=25", 422)


def test_a_users_own_request_still_goes_to_the_endpoint(live_api: str) -> None:
    response = requests.post(f"{live_api}/predict", json=GUIDE, timeout=TIMEOUT)
    assert response.status_code == 503 and "unavailable" in response.json()["detail"]  # called, and down


def test_without_a_history_accuracy_and_past_forecasts_say_what_they_need(tmp_path: Path) -> None:
    with api_process(url(free_port()), tmp_path / "api.log") as api:
        for path in ("/accuracy", "/stations/16107/past-forecasts"):
            assert "--history" in get(api, path, 409)["detail"]


def test_the_api_follows_the_history_as_it_grows(tmp_path: Path) -> None:
    root = tmp_path / "history"
    with api_process(url(free_port()), tmp_path / "api.log", "--history", str(root)) as api:
        assert get(api, "/stations") == [] and get(api, "/forecasts") == []
        assert get(api, "/accuracy") == {"by_model_version": {}, "comparison": None}
        assert "no poll" in get(api, f"/stations/{OPEN}/forecast", 404)["detail"]
        history = History(LocalBlobs(root))
        write_history(history)
        assert len(get(api, "/stations")) == len(STATIONS)
        assert set(get(api, "/accuracy")["by_model_version"]) == {"model-a", "model-b"}
        # a new poll a minute later: Rivoli has been emptied of mechanical bikes
        later = poll(FEED_TIME + 60)
        emptied = replace(later.readings[OPEN], bikes=1, mechanical=0, ebikes=1, docks=CAPACITY - 1)
        later = replace(later, readings={**later.readings, OPEN: emptied})
        history.record_hour(later)
        history.put_latest(later, LAST_COMPLETE)
        (station,) = [s for s in get(api, "/stations") if s["station_code"] == OPEN]
        assert (station["bikes"], station["mechanical"], station["last_reported"]) == (1, 0, "2025-11-30T13:20+01:00")
        assert get(api, f"/stations/{OPEN}/forecast")["history"][-1] == 1


def test_a_history_in_s3_is_served_the_same(live_api: str, tmp_path: Path) -> None:
    with s3_bucket() as (client, bucket):
        write_history(History(S3Blobs(bucket, "velib/history", client)))
        env = {"AWS_ENDPOINT_URL_S3": client.meta.endpoint_url, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-3"}
        command = [sys.executable, "-m", "cdk_app", "api", "--port", str(free_port()), "--endpoint-url",
                   url(free_port()), "--history", f"s3://{bucket}/velib/history"]
        with ChildServer(command, "api-url: ", cwd=REPO_ROOT, env=env, log=tmp_path / "api.log") as api:
            for path in (f"/stations/{OPEN}/forecast", "/stations", "/forecasts", "/accuracy"):
                assert get(api.url, path) == get(live_api, path), path


# ----------------------------------------------------------------------------------------------------- the page
def page_test(api_url: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("VELIB_API_URL", api_url)
    return AppTest.from_file(str(PAGE), default_timeout=90).run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def choose(at: AppTest, code: str) -> None:
    (label,) = [o for o in at.selectbox[0].options if o.startswith(f"{code} · ")]
    at.selectbox[0].select(label).run()
    assert not at.exception


def test_the_page_shows_real_counts_forecasts_and_why_not(live_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_test(live_api, monkeypatch)
    assert not at.exception and at.radio[0].options == ["Live availability", "Predictions", "Accuracy"]
    choose(at, OPEN)
    count, electric = bikes(OPEN, CURRENT), ebikes(OPEN, CURRENT)
    assert metrics(at) == {"Bikes": f"{count}", "Mechanical": f"{count - electric}", "E-bikes": f"{electric}",
                           "Free docks": f"{CAPACITY - count}",
                           **{k: f"{predicted(OPEN, LAST_COMPLETE, h):.1f} bikes"
                              for k, h in zip(HORIZON_KEYS, HORIZON_HOURS, strict=True)}}
    assert any(f"by model {MODEL_B}" in c.value for c in at.caption)
    assert [s.value for s in at.subheader] == ["Stations now", "Rivoli - Louvre",
                                               "Past forecasts against what happened"]
    choose(at, NEW)
    assert not any(label.startswith("T+") for label in metrics(at))
    assert "13 more hours" in at.info[0].value
    choose(at, CLOSED)
    assert "not renting" in at.info[0].value


def test_the_page_shows_accuracy_per_model_version(live_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_test(live_api, monkeypatch)
    at.radio[0].set_value("Accuracy").run()
    assert not at.exception
    table = at.table[0].value.reset_index()
    expected = expected_accuracy()["by_model_version"]
    assert [(r["model version"], r["horizon"], r["n"], r["beats persistence"]) for _, r in table.iterrows()] == [
        (version, key, numbers["n"], "yes" if numbers["mae"] < numbers["persistence_mae"] else "no")
        for version, by_horizon in sorted(expected.items()) for key, numbers in by_horizon.items()]
    assert set(table["beats persistence"]) == {"yes", "no"}  # model-a loses somewhere, model-b wins


def test_the_page_shows_the_champion_and_the_challenger_side_by_side(ab_api: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_test(ab_api, monkeypatch)
    at.radio[0].set_value("Accuracy").run()
    assert not at.exception
    comparison = get(ab_api, "/accuracy")["comparison"]
    assert [s.value for s in at.subheader] == ["Accuracy of the stored forecasts", "Champion against challenger"]
    assert any(f"Champion {CHAMPION_VERSION} against challenger {CHALLENGER_VERSION}" in c.value for c in at.caption)
    table = at.table[1].value
    assert list(table.index) == list(HORIZON_KEYS)
    for key, served in comparison["by_horizon"].items():
        row = table.loc[key]
        assert (row["champion MAE"], row["challenger MAE"], row["95% CI"], row["verdict"]) == (
            f"{served['champion_mae']:.2f}", f"{served['challenger_mae']:.2f}",
            f"[{served['ci_low']:+.2f}, {served['ci_high']:+.2f}]", served["verdict"])


def test_a_page_without_a_challenger_says_so(live_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_test(live_api, monkeypatch)
    at.radio[0].set_value("Accuracy").run()
    assert at.info[0].value == NO_CHALLENGER and len(at.table) == 1


def map_pixel(page: Page, code: str, zoom: int = 11) -> tuple[float, float]:
    """Where deck.gl draws a station: Web Mercator (512-pixel world at zoom 0) around the map's centre, the
    middle of the stations' bounds, as the page sets it."""
    def mercator(latitude: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(latitude) / 2))

    box = page.locator('[data-testid="stDeckGlJsonChart"]').bounding_box()
    assert box is not None
    lats, lons = [s.latitude for s in STATIONS.values()], [s.longitude for s in STATIONS.values()]
    centre_lat, centre_lon, scale = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2, 512 * 2 ** zoom
    station = STATIONS[code]
    return (box["x"] + box["width"] / 2 + (station.longitude - centre_lon) / 360 * scale,
            box["y"] + box["height"] / 2 - (mercator(station.latitude) - mercator(centre_lat)) / (2 * math.pi) * scale)


def test_the_live_page_in_a_real_browser(live_api: str, tmp_path: Path) -> None:
    with ui_process(live_api, tmp_path / "ui.log") as ui, browser_page() as page:
        page.goto(ui, timeout=60_000)
        page.wait_for_selector('[data-testid="stMetric"]', timeout=90_000)
        page.wait_for_timeout(1000)  # the map draws after the page settles
        x, y = map_pixel(page, OPEN)
        page.mouse.move(x, y)
        count, electric = bikes(OPEN, CURRENT), ebikes(OPEN, CURRENT)
        tooltip = page.locator(".deck-tooltip")
        tooltip.get_by_text(f"{count} bikes ({count - electric} mechanical, {electric} e-bikes)").wait_for(
            timeout=30_000)
        assert "Rivoli - Louvre" in tooltip.inner_text()
        page.mouse.click(x, y)  # picks the station
        page.get_by_text(f"Station {OPEN},").wait_for(timeout=60_000)
        # Retrying assertions: while Streamlit reruns for the new station it may show the old elements beside the new
        expect(page.locator('[data-testid="stMetricLabel"]')).to_have_text(
            ["Bikes", "Mechanical", "E-bikes", "Free docks", *HORIZON_KEYS], timeout=30_000)
        values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        assert values[:4] == [f"{count}", f"{count - electric}", f"{electric}", f"{CAPACITY - count}"]
        page.get_by_text("Past forecasts against what happened").wait_for(timeout=30_000)
        expect(page.locator('[data-testid="stVegaLiteChart"]')).to_have_count(2, timeout=30_000)
        # the picker still chooses, though the map keeps its selection
        page.locator('[data-testid="stSelectbox"] input').click()
        page.keyboard.type(NEW)
        page.keyboard.press("Enter")
        page.get_by_text("13 more hours").wait_for(timeout=60_000)
        page.wait_for_timeout(1000)  # let the map and the charts draw before the picture
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        page.get_by_text("Accuracy", exact=True).click()
        table = page.locator('[data-testid="stTable"]')
        table.get_by_text(MODEL_B).first.wait_for(timeout=60_000)
        assert "yes" in table.inner_text() and page.get_by_text("Traceback").count() == 0


def test_the_ab_verdicts_in_a_real_browser(ab_api: str, tmp_path: Path) -> None:
    with ui_process(ab_api, tmp_path / "ui.log") as ui, browser_page() as page:
        page.goto(ui, timeout=60_000)
        page.get_by_text("Accuracy", exact=True).click()
        tables = page.locator('[data-testid="stTable"]')
        tables.nth(1).get_by_text("champion better").wait_for(timeout=60_000)
        text = tables.nth(1).inner_text()
        for needed in ("champion MAE", "challenger MAE", "95% CI", "challenger better", "not enough evidence yet (n = ",
                       "champion better"):
            assert needed in text
        assert CHALLENGER_VERSION in tables.nth(0).inner_text() and CHAMPION_VERSION in tables.nth(0).inner_text()
        page.get_by_text(f"Champion {CHAMPION_VERSION} against challenger {CHALLENGER_VERSION}").wait_for(
            timeout=30_000)
        AB_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(AB_SCREENSHOT), full_page=True)
        assert page.get_by_text("Traceback").count() == 0
