"""What the page asks the web API, as plain functions: testable without Streamlit, and no trace reaches a user."""

from __future__ import annotations

from typing import Any

import requests

TIMEOUT_SECONDS = 35.0  # past the API's own endpoint timeout, so its 503 arrives rather than ours
GREEN, ORANGE, RED, GREY = "#2e9e44", "#f28c1c", "#d7263d", "#9e9e9e"


class ApiUnavailable(Exception):
    """The API or the endpoint behind it is down, cold or busy: worth a plain message and a retry."""


class RateLimited(ApiUnavailable):
    """This address has used up the API's rate limit: a retry helps only after Retry-After."""


class ApiError(Exception):
    """Any other refusal, with the API's own message."""


def get(api_url: str, path: str) -> Any:
    try:
        response = requests.get(f"{api_url.rstrip('/')}{path}", timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise ApiUnavailable(f"the API at {api_url} does not answer ({type(exc).__name__})") from None
    if response.status_code in (502, 503, 504, 429):
        wait = response.headers.get("Retry-After")
        kind = RateLimited if response.status_code == 429 else ApiUnavailable
        raise kind(_detail(response) + (f" Try again in {wait} s." if wait else ""))
    if response.status_code != 200:
        raise ApiError(f"{response.status_code}: {_detail(response)}")
    return response.json()


def _detail(response: requests.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return str(detail or response.reason)


def availability_colour(bikes: float | None, capacity: int) -> str:
    """Green above 60 % of capacity, orange from 30 to 60 %, red below 30 %; grey when unknown."""
    if bikes is None:
        return GREY
    share = bikes / capacity
    return GREEN if share > 0.6 else ORANGE if share >= 0.3 else RED


def stations(api_url: str) -> list[dict[str, Any]]:
    return list(get(api_url, "/stations"))


def forecasts_by_station(api_url: str) -> dict[str, dict[str, Any]]:
    return {f["station_code"]: f for f in get(api_url, "/forecasts")}


def station_forecast(api_url: str, code: str) -> dict[str, Any]:
    return dict(get(api_url, f"/stations/{code}/forecast"))


def past_forecasts(api_url: str, code: str) -> dict[str, Any]:
    return dict(get(api_url, f"/stations/{code}/past-forecasts"))


def accuracy(api_url: str) -> dict[str, Any]:
    return dict(get(api_url, "/accuracy"))


def from_history(all_stations: list[dict[str, Any]]) -> bool:
    """An API started with --history gives each station its latest reading (`last_reported` among others)."""
    return any("last_reported" in s for s in all_stations)
