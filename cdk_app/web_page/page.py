"""The predictions page: live availability or forecasts on a map of Paris, and one station in detail; with an API
serving a collected history (`api --history`), real counts, past forecasts against what happened, and accuracy.

Run by `python -m cdk_app ui`, which passes the API's address in VELIB_API_URL. Data comes from
web_page/api_calls.py, cached for a minute so that a page of many users stays within the API's rate limit.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import pydeck as pdk
import streamlit as st
from forecast_contract import HORIZON_KEYS

from cdk_app.web_page import api_calls, frames
from cdk_app.web_page.api_calls import ApiError, ApiUnavailable, RateLimited

API_URL = os.environ.get("VELIB_API_URL", "http://127.0.0.1:8000")
LIVE, PREDICTIONS, ACCURACY = "Live availability", "Predictions", "Accuracy"
PICKER_KEY, MAP_GENERATION_KEY, LAYER_ID = "station", "map-generation", "stations"


@st.cache_data(ttl=60, show_spinner=False)
def stations(api_url: str) -> list[dict[str, Any]]:
    return api_calls.stations(api_url)


@st.cache_data(ttl=60, show_spinner=False)
def forecasts(api_url: str) -> dict[str, dict[str, Any]]:
    return api_calls.forecasts_by_station(api_url)


@st.cache_data(ttl=60, show_spinner=False)
def detail(api_url: str, code: str) -> dict[str, Any]:
    return api_calls.station_forecast(api_url, code)


@st.cache_data(ttl=60, show_spinner=False)
def past(api_url: str, code: str) -> dict[str, Any]:
    return api_calls.past_forecasts(api_url, code)


@st.cache_data(ttl=60, show_spinner=False)
def accuracy(api_url: str) -> dict[str, Any]:
    return api_calls.accuracy(api_url)


def map_key() -> str:
    """A map's selection cannot be cleared; a map under a new key starts with none. The picker moves to a new one,
    so the map never keeps highlighting, or choosing again, a station the picker has left."""
    return f"map-{st.session_state.get(MAP_GENERATION_KEY, 0)}"


def forget_click() -> None:
    st.session_state[MAP_GENERATION_KEY] = st.session_state.get(MAP_GENERATION_KEY, 0) + 1


def clicked_station() -> str | None:
    """The station selected on the map: its state is known at the start of the run, before the picker is drawn."""
    state = st.session_state.get(map_key())
    objects = state["selection"]["objects"].get(LAYER_ID, []) if state else []
    return objects[0]["station_code"] if objects else None


def pick_station(all_stations: list[dict[str, Any]]) -> str:
    labels = {f"{s['station_code']} · {s['name']}": s["station_code"] for s in all_stations}
    on_map = clicked_station()
    clicked = [label for label, code in labels.items() if code == on_map]
    if clicked:  # a station gone from the list since it was clicked is simply not picked
        st.session_state[PICKER_KEY] = clicked[0]
    label = st.selectbox("Station (type a code or a name, or click one on the map)", list(labels), key=PICKER_KEY,
                         on_change=forget_click)
    return labels[label] if label else all_stations[0]["station_code"]


def station_map(all_stations: list[dict[str, Any]], predicted: dict[str, dict[str, Any]] | None,
                horizon: str) -> None:
    """Hovering shows a station's name and counts; clicking one picks it (the page runs again)."""
    frame = frames.map_frame(all_stations, predicted, horizon)
    view = pdk.ViewState(latitude=(frame.latitude.min() + frame.latitude.max()) / 2,
                         longitude=(frame.longitude.min() + frame.longitude.max()) / 2, zoom=11)
    layer = pdk.Layer("ScatterplotLayer", data=frame, id=LAYER_ID, get_position=["longitude", "latitude"],
                      get_fill_color="color", get_radius=40, radius_min_pixels=4, pickable=True, auto_highlight=True)
    st.pydeck_chart(pdk.Deck(layers=[layer], initial_view_state=view, map_style=None,
                             tooltip={"text": "{name}\n{summary}"}),
                    on_select="rerun", selection_mode="single-object", key=map_key())


def simulated_detail(chosen: dict[str, Any]) -> None:
    station = chosen["station"]
    now = chosen["history"][-1]
    st.subheader(station["name"])
    last_hour = datetime.fromisoformat(chosen["last_hour"]).strftime("%a %H:%M")
    st.caption(f"Station {station['station_code']}, {station['capacity']} docks; last count ({last_hour}): "
               f"{'missing' if now is None else f'{now:g} bikes'}")
    for column, key in zip(st.columns(len(HORIZON_KEYS)), HORIZON_KEYS, strict=True):
        value = chosen["forecast"]["predictions"][key]
        column.metric(key, f"{value:.1f} bikes", delta=None if now is None else f"{value - now:+.1f}")
    st.line_chart(frames.history_chart(chosen), x_label="hours from now", y_label="bikes")
    for warning in chosen["forecast"]["warnings"]:
        st.caption(f"Note: {warning}")


def live_detail(chosen: dict[str, Any], past_hours: dict[str, Any]) -> None:
    """The station's latest reading, its stored forecast (or why there is none), then its past forecasts."""
    station = chosen["station"]
    st.subheader(station["name"])
    reported = station["last_reported"] and datetime.fromisoformat(station["last_reported"]).strftime("%a %H:%M")
    st.caption(f"Station {station['station_code']}, {station['capacity']} docks; last reported {reported or 'never'}: "
               f"{frames.reading_summary(station)}")
    counts = (("Bikes", station["bikes"]), ("Mechanical", station["mechanical"]), ("E-bikes", station["ebikes"]),
              ("Free docks", station["docks"]))
    for column, (label, value) in zip(st.columns(len(counts)), counts, strict=True):
        column.metric(label, "-" if value is None else f"{value:g}")
    forecast = chosen["forecast"]
    if forecast is None:
        st.info(chosen["message"])
    else:
        now = station["bikes"]
        for column, key in zip(st.columns(len(HORIZON_KEYS)), HORIZON_KEYS, strict=True):
            value = forecast["predictions"][key]
            column.metric(key, f"{value:.1f} bikes", delta=None if now is None else f"{value - now:+.1f}")
        made = datetime.fromisoformat(forecast["hour"]).strftime("%H:%M")
        st.caption(f"Forecast from the 24 hours up to {made}, by model {forecast['model_version']}.")
    st.line_chart(frames.live_chart(chosen), x_label="Paris time", y_label="bikes")
    st.subheader("Past forecasts against what happened")
    st.line_chart(frames.past_chart(past_hours), x_label="Paris time", y_label="bikes")


def accuracy_view() -> None:
    """Per model version beside persistence, then the champion and the challenger side by side with the verdict."""
    st.subheader("Accuracy of the stored forecasts")
    st.caption("Each hourly forecast is scored once its three hours have been observed. MAE in bikes; persistence "
               "forecasts that the count will not change.")
    scores = accuracy(API_URL)
    table = frames.accuracy_table(scores)
    if table.empty:
        st.info(frames.NOTHING_SCORED)
        return
    st.table(table.set_index(["model version", "horizon"]))
    st.subheader("Champion against challenger")
    comparison = scores["comparison"]
    if comparison is None:
        st.info(frames.NO_CHALLENGER)
        return
    st.caption(frames.comparison_caption(comparison))
    st.table(frames.comparison_table(comparison).set_index("horizon"))


def page() -> None:
    st.set_page_config(page_title="Velib' forecasts", page_icon="🚲", layout="wide")
    st.title("Vélib' availability forecasts")
    try:
        with st.spinner("Loading stations..."):
            all_stations = stations(API_URL)
        if not all_stations:
            st.info("No station yet: the collector stores its first reading within a minute. Reload the page then.")
            return
        live = api_calls.from_history(all_stations)
        mode = st.radio("Mode", [LIVE, PREDICTIONS, ACCURACY] if live else [LIVE, PREDICTIONS], horizontal=True)
        if mode == ACCURACY:
            accuracy_view()
            return
        horizon = st.select_slider("Horizon", HORIZON_KEYS, value="T+1h") if mode == PREDICTIONS else "now"
        with st.spinner("Loading forecasts..."):
            predicted = forecasts(API_URL) if mode == PREDICTIONS else None
        code = pick_station(all_stations)
        with st.spinner("Forecasting..."):
            chosen = detail(API_URL, code)
            past_hours = past(API_URL, code) if live else None
    except RateLimited as exc:
        st.warning(f"Too many requests from this address: {exc}")
        return
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
        st.caption("Green: over 60 % of capacity; orange: 30-60 %; red: under 30 %; grey: closed or unknown.")
        station_map(all_stations, predicted, horizon)
    with right:
        if past_hours is None:
            simulated_detail(chosen)
        else:
            live_detail(chosen, past_hours)


page()
