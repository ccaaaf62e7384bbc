"""The page's tables, as plain functions of what the API answered: the map's stations with their colour and
tooltip, the charts' series, the accuracy table and the A/B comparison (which `accuracy` prints too). Testable
without Streamlit or a browser.

Times come from the API in Paris time with their offset; charts get them as naive wall-clock times, so the browser
draws them as Paris shows them, wherever it is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from forecast_contract import HORIZON_HOURS, HORIZON_KEYS

from cdk_app.web_page.api_calls import availability_colour

NOTHING_SCORED = "No forecast has been scored yet: the first is, three hours after the first forecast."
NO_CHALLENGER = ("No challenger: with one, both models forecast every hour, and they are compared here on the "
                 "station-hours both forecast.")


def wall_clock(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=None)


def _rgb(colour: str) -> list[int]:
    """'#2e9e44' as deck.gl's [46, 158, 68]."""
    return [int(colour[i:i + 2], 16) for i in (1, 3, 5)]


def is_open(station: dict[str, Any]) -> bool:
    """Without --history nothing says otherwise; with it, a station not installed or not renting is closed."""
    return station.get("installed") is not False and station.get("renting") is not False


def reading_summary(station: dict[str, Any]) -> str:
    """'12 bikes (8 mechanical, 4 e-bikes), 8 free docks': what a rider reads in the tooltip and the detail."""
    if not is_open(station):
        return "closed"
    if station["bikes"] is None:
        return "no recent count"
    text = f"{station['bikes']:g} bikes"
    if station.get("mechanical") is not None and station.get("ebikes") is not None:
        text += f" ({station['mechanical']} mechanical, {station['ebikes']} e-bikes)"
    if station.get("docks") is not None:
        text += f", {station['docks']} free docks"
    return text


def map_frame(all_stations: list[dict[str, Any]], predicted: dict[str, dict[str, Any]] | None,
              horizon: str) -> pd.DataFrame:
    """One row per station: where, its colour (now, or at `horizon` when `predicted`), and its tooltip line.
    A closed station, or one without a count or a forecast, is grey."""
    rows = []
    for s in all_stations:
        if predicted is None:
            bikes, summary = s["bikes"], reading_summary(s)
        else:
            forecast = predicted.get(s["station_code"])
            bikes = forecast["predictions"][horizon] if forecast else None
            summary = "not forecast" if bikes is None else f"{horizon}: {bikes:.1f} bikes"
        colour = availability_colour(bikes if is_open(s) else None, s["capacity"])
        rows.append({"station_code": s["station_code"], "name": s["name"], "latitude": s["latitude"],
                     "longitude": s["longitude"], "color": _rgb(colour), "summary": summary})
    return pd.DataFrame(rows)


def history_chart(station_detail: dict[str, Any]) -> pd.DataFrame:
    """The last 24 hours, then the three forecasts, against hours from now."""
    history = station_detail["history"]
    predictions = station_detail["forecast"]["predictions"]
    frame = pd.DataFrame(index=pd.Index(range(-len(history) + 1, len(HORIZON_KEYS) + 1), name="hours from now"))
    frame["observed"] = [*history, *([None] * len(HORIZON_KEYS))]
    frame["forecast"] = [*([None] * (len(history) - 1)), history[-1], *(predictions[h] for h in HORIZON_KEYS)]
    return frame


def live_chart(station_detail: dict[str, Any]) -> pd.DataFrame:
    """With --history: the last 24 hourly counts, then the stored forecast from the hour it was made, in Paris
    time. The forecast line starts from the count it was made from."""
    last = wall_clock(station_detail["last_hour"])
    history = station_detail["history"]
    hours = [last - timedelta(hours=back) for back in range(len(history) - 1, -1, -1)]
    series: dict[str, dict[datetime, float | None]] = {"observed": dict(zip(hours, history, strict=True))}
    forecast = station_detail["forecast"]
    if forecast is not None:
        made = wall_clock(forecast["hour"])
        series["forecast"] = {made: series["observed"].get(made)} | {
            made + timedelta(hours=ahead): forecast["predictions"][key]
            for key, ahead in zip(HORIZON_KEYS, HORIZON_HOURS, strict=True)}
    return pd.DataFrame(series).sort_index().rename_axis("Paris time")


def past_chart(past: dict[str, Any]) -> pd.DataFrame:
    """Each completed hour: what happened, and what was forecast for it 1, 2 and 3 hours before."""
    return pd.DataFrame(
        [{"observed": h["observed"], **{f"{key} forecast": h["forecasts"][key] for key in HORIZON_KEYS}}
         for h in past["hours"]],
        index=pd.Index([wall_clock(h["hour"]) for h in past["hours"]], name="Paris time"))


def accuracy_table(accuracy: dict[str, Any]) -> pd.DataFrame:
    """One row per model version and horizon; the model beats persistence where its MAE is the lower."""
    rows = []
    for version, horizons in accuracy["by_model_version"].items():
        for horizon, score in horizons.items():
            mae, persistence = score["mae"], score["persistence_mae"]
            beats = "no data yet" if mae is None else "yes" if mae < persistence else "no"
            rows.append({"model version": version, "horizon": horizon, "n": score["n"],
                         "MAE": "-" if mae is None else f"{mae:.2f}",
                         "persistence MAE": "-" if persistence is None else f"{persistence:.2f}",
                         "beats persistence": beats})
    return pd.DataFrame(rows, columns=["model version", "horizon", "n", "MAE", "persistence MAE",
                                       "beats persistence"])


def _bikes(value: float | None, sign: str = "") -> str:
    return "-" if value is None else f"{value:{sign}.2f}"


def comparison_table(comparison: dict[str, Any]) -> pd.DataFrame:
    """One row per horizon: the champion and the challenger side by side on the station-hours both were scored
    on, the difference (challenger minus champion), its interval and the verdict."""
    rows = [{"horizon": horizon, "n": h["n"], "hours": h["hours"], "champion MAE": _bikes(h["champion_mae"]),
             "challenger MAE": _bikes(h["challenger_mae"]), "difference": _bikes(h["difference"], "+"),
             f"{comparison['confidence_level']:.0%} CI": "-" if h["ci_low"] is None else
             f"[{h['ci_low']:+.2f}, {h['ci_high']:+.2f}]", "verdict": h["verdict"]}
            for horizon, h in comparison["by_horizon"].items()]
    return pd.DataFrame(rows)


def comparison_caption(comparison: dict[str, Any]) -> str:
    return (f"Champion {comparison['champion']} against challenger {comparison['challenger']}, on the forecasts "
            f"made from {_short(comparison['first_hour'])} to {_short(comparison['last_hour'])} (Paris time). "
            "Difference: the challenger's MAE minus the champion's, in bikes (negative: the challenger is better). "
            f"The interval resamples whole hours; no interval and no verdict before {comparison['min_hours']} "
            "paired hours.")


def _short(time: str) -> str:
    return wall_clock(time).strftime("%a %d %b %H:%M")


def accuracy_text(accuracy: dict[str, Any]) -> str:
    """What `python -m cdk_app accuracy` prints: the page's two tables as text."""
    table = accuracy_table(accuracy)
    if table.empty:
        return NOTHING_SCORED
    lines = ["Live accuracy per model version (MAE in bikes):", table.to_string(index=False), ""]
    comparison = accuracy["comparison"]
    if comparison is None:
        return "\n".join([*lines, NO_CHALLENGER])
    return "\n".join([*lines, "A/B: " + comparison_caption(comparison), comparison_table(comparison).to_string(
        index=False)])
