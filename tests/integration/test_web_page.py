"""The predictions page: its logic through Streamlit's AppTest, then the real page served by `ui`, in Debian's
headless chromium, with the API and the local endpoint behind it."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from streamlit.testing.v1 import AppTest
from support.web_servers import api_process

from cdk_app.child_process import ChildServer
from cdk_app.loopback import free_port, url
from cdk_app.paths import BUILD_DIR, REPO_ROOT
from cdk_app.web_page.launcher import PAGE

pytestmark = pytest.mark.server
SCREENSHOT = BUILD_DIR / "page-screenshot.png"
# Debian's chromium (make test installs it); a GitHub runner's Ubuntu ships Google Chrome instead.
CHROMIUM = shutil.which("chromium") or shutil.which("google-chrome") or "/usr/bin/chromium"
# As root, in a closed network: no sandbox, and none of the background traffic that would be refused.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def page_test(api_url: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("VELIB_API_URL", api_url)
    return AppTest.from_file(str(PAGE), default_timeout=90).run()


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
    assert len(at.metric) == 3


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
    server = ChildServer([sys.executable, "-m", "cdk_app", "ui", "--port", str(free_port()), "--api-url", api],
                         "ui-url: ", cwd=REPO_ROOT, log=tmp_path / "ui.log")
    with server:
        yield server.url


def choose_station(page: Page, code: str) -> None:
    page.locator('[data-testid="stSelectbox"] input').click()
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_the_served_page_in_a_real_browser(page_url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(page_url, timeout=60_000)
            page.wait_for_selector('[data-testid="stMetric"]', timeout=90_000)
            choose_station(page, "16109")
            page.get_by_text("Station 16109,").wait_for(timeout=60_000)
            assert page.locator('[data-testid="stMetric"]').count() == 3
            assert page.locator('[data-testid="stMetricLabel"]').all_inner_texts() == ["T+1h", "T+2h", "T+3h"]
            assert page.locator('[data-testid="stDeckGlJsonChart"]').count() == 1
            assert page.get_by_text("Traceback").count() == 0
            page.wait_for_timeout(1000)  # let the map and the chart draw before the picture
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
