"""The page's tables from what the API answers: the map's colours and tooltips, the live chart's times, the
accuracy table's verdict, the A/B table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from cdk_app.web_page.api_calls import GREEN, GREY, RED
from cdk_app.web_page.frames import (
    accuracy_table,
    comparison_caption,
    comparison_table,
    live_chart,
    map_frame,
    reading_summary,
)


def station(code: str = "16107", **change: Any) -> dict[str, Any]:
    return {"station_code": code, "name": "Rivoli", "capacity": 20, "latitude": 48.86, "longitude": 2.34,
            "bikes": 14.0, "mechanical": 10, "ebikes": 4, "docks": 6, "installed": True, "renting": True,
            "last_reported": "2025-11-30T13:19+01:00", **change}


def rgb(colour: str) -> list[int]:
    return [int(colour[i:i + 2], 16) for i in (1, 3, 5)]


@pytest.mark.parametrize(("change", "summary"), [
    ({}, "14 bikes (10 mechanical, 4 e-bikes), 6 free docks"),
    ({"mechanical": None, "ebikes": None, "docks": None}, "14 bikes"),  # a feed that does not split them
    ({"renting": False}, "closed"),
    ({"bikes": None}, "no recent count"),
])
def test_a_reading_in_a_line(change: dict[str, Any], summary: str) -> None:
    assert reading_summary(station(**change)) == summary


def test_the_map_colours_counts_now_or_forecasts_and_greys_closed_stations() -> None:
    stations = [station("a"), station("b", renting=False), station("c", bikes=2.0)]
    now = map_frame(stations, None, "now")
    assert list(now["color"]) == [rgb(GREEN), rgb(GREY), rgb(RED)]
    forecast = {"a": {"predictions": {"T+2h": 3.0}}}  # b and c have none
    later = map_frame(stations, forecast, "T+2h")
    assert list(later["color"]) == [rgb(RED), rgb(GREY), rgb(GREY)]
    assert list(later["summary"]) == ["T+2h: 3.0 bikes", "not forecast", "not forecast"]


def test_the_live_chart_puts_the_forecast_at_its_hours_from_the_count_it_was_made_from() -> None:
    detail = {"last_hour": "2025-11-30T14:00+01:00", "history": [float(h) for h in range(24)],
              "forecast": {"hour": "2025-11-30T13:00+01:00", "predictions": {"T+1h": 30.0, "T+2h": 31.0,
                                                                              "T+3h": 32.0}}}
    chart = live_chart(detail)
    assert chart["observed"][datetime(2025, 11, 30, 14)] == 23.0
    forecast = chart["forecast"].dropna()
    assert list(forecast.index) == [datetime(2025, 11, 30, h) for h in (13, 14, 15, 16)]
    assert list(forecast) == [22.0, 30.0, 31.0, 32.0]


def test_the_accuracy_table_says_whether_the_model_beats_persistence() -> None:
    accuracy = {"by_model_version": {"v1": {
        "T+1h": {"n": 10, "mae": 1.5, "persistence_mae": 2.0},
        "T+2h": {"n": 10, "mae": 3.0, "persistence_mae": 2.5},
        "T+3h": {"n": 0, "mae": None, "persistence_mae": None}}}}
    table = accuracy_table(accuracy)
    assert list(table["beats persistence"]) == ["yes", "no", "no data yet"]
    assert list(table["MAE"]) == ["1.50", "3.00", "-"]


def test_the_comparison_table_puts_the_two_models_side_by_side() -> None:
    comparison = {"champion": "v1", "challenger": "v2", "first_hour": "2025-11-30T13:00+01:00",
                  "last_hour": "2025-12-01T12:00+01:00", "confidence_level": 0.95, "min_hours": 24, "by_horizon": {
                      "T+1h": {"n": 7200, "hours": 24, "champion_mae": 1.5, "challenger_mae": 1.25,
                               "difference": -0.25, "ci_low": -0.4, "ci_high": -0.1, "verdict": "challenger better"},
                      "T+2h": {"n": 300, "hours": 1, "champion_mae": 2.0, "challenger_mae": 2.0, "difference": 0.0,
                               "ci_low": None, "ci_high": None, "verdict": "not enough evidence yet (n = 300)"}}}
    table = comparison_table(comparison)
    assert table.to_dict("records") == [
        {"horizon": "T+1h", "n": 7200, "hours": 24, "champion MAE": "1.50", "challenger MAE": "1.25",
         "difference": "-0.25", "95% CI": "[-0.40, -0.10]", "verdict": "challenger better"},
        {"horizon": "T+2h", "n": 300, "hours": 1, "champion MAE": "2.00", "challenger MAE": "2.00",
         "difference": "+0.00", "95% CI": "-", "verdict": "not enough evidence yet (n = 300)"}]
    assert "from Sun 30 Nov 13:00 to Mon 01 Dec 12:00" in comparison_caption(comparison)
