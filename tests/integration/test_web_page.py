"""The predictions page: its logic through Streamlit's AppTest, then the real page served by `ui`, in Debian's
headless chromium, with the API and the local endpoint behind it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from streamlit.testing.v1 import AppTest
from support.browser import chromium
from support.http_peer import Answer, running
from support.web_servers import api_process, ui_process

from cdk_app.loopback import free_port, url
from cdk_app.paths import BUILD_DIR
from cdk_app.web_page.api_calls import availability_colour
from cdk_app.web_page.launcher import PAGE

pytestmark = pytest.mark.server
SCREENSHOT = BUILD_DIR / "page-screenshot.png"


def page_test(api_url: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("VELIB_API_URL", api_url)
    return AppTest.from_file(str(PAGE), default_timeout=90).run()


def api_get(api_url: str, path: str) -> Any:
    return requests.get(f"{api_url}{path}", timeout=60).json()


def rgb(colour: str) -> list[int]:
    return [int(colour[i:i + 2], 16) for i in (1, 3, 5)]


def map_colours(at: AppTest) -> dict[str, list[int]]:
    """Each station's colour as the page hands the map to deck.gl."""
    (chart,) = at.get("deck_gl_json_chart")
    (layer,) = json.loads(chart.proto.json)["layers"]
    return {row["station_code"]: row["color"][:3] for row in layer["data"]}


def test_the_page_shows_a_station_and_switches_to_predictions(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_test(api, monkeypatch)
    assert not at.exception
    assert [m.label for m in at.metric] == ["T+1h", "T+2h", "T+3h"]
    assert all(m.value.endswith(" bikes") for m in at.metric)
    options = at.selectbox[0].options
    assert len(options) == 300 and options[0].startswith("16107 · ")
    at.selectbox[0].select(options[1]).run()
    assert at.subheader[1].value == options[1].split(" · ", 1)[1]
    assert at.subheader[0].value == "Stations now"
    at.radio[0].set_value("Predictions").run()
    at.select_slider[0].set_value("T+3h").run()
    assert not at.exception and at.subheader[0].value == "Stations at T+3h"
    # the map is coloured by the API's forecast at T+3h, which is not the colouring of the counts now
    stations = api_get(api, "/stations")
    forecast = {f["station_code"]: f["predictions"]["T+3h"] for f in api_get(api, "/forecasts")}
    expected = {s["station_code"]: rgb(availability_colour(forecast[s["station_code"]], s["capacity"]))
                for s in stations}
    assert map_colours(at) == expected
    assert expected != {s["station_code"]: rgb(availability_colour(s["bikes"], s["capacity"])) for s in stations}
    # the metrics are the chosen station's forecast, with its change from the last count
    chosen = api_get(api, f"/stations/{options[1].split(' · ', 1)[0]}/forecast")
    now, predictions = chosen["history"][-1], chosen["forecast"]["predictions"]
    assert [(m.label, m.value, m.delta) for m in at.metric] == [
        (key, f"{predictions[key]:.1f} bikes", f"{predictions[key] - now:+.1f}") for key in ("T+1h", "T+2h", "T+3h")]


def test_an_unreachable_api_is_a_plain_message(monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_test(url(free_port()), monkeypatch)
    assert not at.exception and not at.error
    (warning,) = at.warning
    assert "cold or down" in warning.value and "Traceback" not in warning.value


def test_an_endpoint_that_is_down_is_a_plain_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with api_process(url(free_port()), tmp_path / "api.log") as api:  # the API is up, its endpoint is not
        at = page_test(api, monkeypatch)
    assert not at.exception and not at.error
    (warning,) = at.warning
    assert "cold or down" in warning.value and "Try again in 10 s" in warning.value
    assert "Traceback" not in warning.value and "127.0.0.1" not in warning.value


@pytest.fixture
def page_url(api: str, tmp_path: Path) -> Iterator[str]:
    with ui_process(api, tmp_path / "ui.log") as page:
        yield page


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened_browser:
        yield opened_browser


@contextmanager
def opened(browser: Browser, page_url: str) -> Iterator[Page]:
    """A tab on the page, closed after: the module's tests share one browser."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(page_url, timeout=60_000)
        yield page
    finally:
        page.close()


def choose_station(page: Page, code: str) -> None:
    page.locator('[data-testid="stSelectbox"] input').click()
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_the_served_page_in_a_real_browser(browser: Browser, page_url: str) -> None:
    with opened(browser, page_url) as page:
        page.wait_for_selector('[data-testid="stMetric"]', timeout=90_000)
        choose_station(page, "16109")
        page.get_by_text("Station 16109,").wait_for(timeout=60_000)
        # Retrying assertions: while Streamlit reruns for the new station it may show the old elements beside the new
        expect(page.locator('[data-testid="stMetricLabel"]')).to_have_text(["T+1h", "T+2h", "T+3h"], timeout=30_000)
        expect(page.locator('[data-testid="stDeckGlJsonChart"]')).to_have_count(1, timeout=30_000)
        assert page.get_by_text("Traceback").count() == 0
        page.wait_for_timeout(1000)  # let the map and the chart draw before the picture
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


def test_a_refusal_by_the_api_is_shown_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    """An API that refuses (here a 404 from a real HTTP peer standing in for a misrouted API)."""
    with running(Answer.json(404, {"detail": "Not Found"})) as api, ui_process(api.url, tmp_path / "ui.log") as ui, \
            opened(browser, ui) as page:
        page.get_by_text("The API refused the request: 404: Not Found").wait_for(timeout=90_000)
        assert page.get_by_text("Traceback").count() == 0


def test_the_rate_limit_is_shown_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    """The real API at 1 request an hour: the page's station list passes, its forecast gets the 429."""
    with api_process(url(free_port()), tmp_path / "api.log", "--rate-limit", "1/hour") as api, \
            ui_process(api, tmp_path / "ui.log") as ui, opened(browser, ui) as page:
        shown = page.get_by_text("rate limit of 1/hour per client reached")
        shown.wait_for(timeout=90_000)
        assert "Try again in" in shown.inner_text() and page.get_by_text("Traceback").count() == 0
        assert "Too many requests from this address" in shown.inner_text()  # not "the endpoint is down"
        assert "cold or down" not in shown.inner_text()
