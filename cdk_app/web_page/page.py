"""The predictions page: live availability or forecasts on a map of Paris, and one station in detail.

Run by `python -m cdk_app ui`, which passes the API's address in VELIB_API_URL. Data comes from
web_page/api_calls.py, cached for a minute so that a page of many users stays within the API's rate limit.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st
from forecast_contract import HORIZON_KEYS

from cdk_app.web_page import api_calls
from cdk_app.web_page.api_calls import ApiError, ApiUnavailable, availability_colour

API_URL = os.environ.get("VELIB_API_URL", "http://127.0.0.1:8000")
LIVE, PREDICTIONS = "Live availability", "Predictions"


@st.cache_data(ttl=60, show_spinner=False)
def stations(api_url: str) -> list[dict[str, Any]]:
    return api_calls.stations(api_url)


@st.cache_data(ttl=60, show_spinner=False)
def forecasts(api_url: str) -> dict[str, dict[str, Any]]:
    return api_calls.forecasts_by_station(api_url)


@st.cache_data(ttl=60, show_spinner=False)
def detail(api_url: str, code: str) -> dict[str, Any]:
    return api_calls.station_forecast(api_url, code)


def map_frame(all_stations: list[dict[str, Any]], predicted: dict[str, dict[str, Any]] | None,
              horizon: str) -> pd.DataFrame:
    rows = []
    for s in all_stations:
        bikes = predicted[s["station_code"]]["predictions"][horizon] if predicted else s["bikes"]
        rows.append({"latitude": s["latitude"], "longitude": s["longitude"], "name": s["name"],
                     "color": availability_colour(bikes, s["capacity"])})
    return pd.DataFrame(rows)


def history_chart(station_detail: dict[str, Any]) -> pd.DataFrame:
    """The last 24 hours, then the three forecasts, against hours from now."""
    history = station_detail["history"]
    predictions = station_detail["forecast"]["predictions"]
    frame = pd.DataFrame(index=pd.Index(range(-len(history) + 1, len(HORIZON_KEYS) + 1), name="hours from now"))
    frame["observed"] = [*history, *([None] * len(HORIZON_KEYS))]
    frame["forecast"] = [*([None] * (len(history) - 1)), history[-1], *(predictions[h] for h in HORIZON_KEYS)]
    return frame


def page() -> None:
    st.set_page_config(page_title="Velib' forecasts", page_icon="🚲", layout="wide")
    st.title("Vélib' availability forecasts")
    mode = st.radio("Mode", [LIVE, PREDICTIONS], horizontal=True)
    horizon = st.select_slider("Horizon", HORIZON_KEYS, value="T+1h") if mode == PREDICTIONS else "now"
    try:
        with st.spinner("Loading stations and forecasts..."):
            all_stations = stations(API_URL)
            predicted = forecasts(API_URL) if mode == PREDICTIONS else None
        labels = {f"{s['station_code']} · {s['name']}": s["station_code"] for s in all_stations}
        label = st.selectbox("Station (type a code or a name)", list(labels))
        code = labels[label] if label else all_stations[0]["station_code"]
        with st.spinner("Forecasting..."):
            chosen = detail(API_URL, code)
    except ApiUnavailable as exc:
        st.warning(f"The forecast endpoint is cold or down right now: {exc} A serverless endpoint wakes up in a "
                   "few seconds; reload the page to try again.")
        return
    except ApiError as exc:
        st.error(f"The API refused the request: {exc}")
        return
    left, right = st.columns([3, 2])
    with left:
        st.subheader(f"Stations {'now' if mode == LIVE else 'at ' + horizon}")
        st.caption("Green: over 60 % of capacity; orange: 30-60 %; red: under 30 %.")
        st.map(map_frame(all_stations, predicted, horizon), latitude="latitude", longitude="longitude",
               color="color", size=40, zoom=11)
    with right:
        station = chosen["station"]
        now = chosen["history"][-1]
        st.subheader(station["name"])
        last_hour = datetime.fromisoformat(chosen["last_hour"]).strftime("%a %H:%M")
        st.caption(f"Station {station['station_code']}, {station['capacity']} docks; last count ({last_hour}): "
                   f"{'missing' if now is None else f'{now:g} bikes'}")
        for column, key in zip(st.columns(len(HORIZON_KEYS)), HORIZON_KEYS, strict=True):
            value = chosen["forecast"]["predictions"][key]
            column.metric(key, f"{value:.1f} bikes", delta=None if now is None else f"{value - now:+.1f}")
        st.line_chart(history_chart(chosen), x_label="hours from now", y_label="bikes")
        for warning in chosen["forecast"]["warnings"]:
            st.caption(f"Note: {warning}")


page()
