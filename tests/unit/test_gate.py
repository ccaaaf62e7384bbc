"""The gate: persistence beaten at every horizon, and the champion improved on by the configured margins; a first
model needs only the first; the reason names each failed bound, in characters the registry stores as written."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_app.deployment.config import GateMargins
from cdk_app.lifecycle.gate import decide
from cdk_app.lifecycle.registry import metadata_value

MARGINS = GateMargins(min_improvement_t1h_percent=2, max_regression_percent=1)
PERSISTENCE = {"T+1h": {"mae": 2.0, "r2": 0.8}, "T+2h": {"mae": 3.0, "r2": 0.6}, "T+3h": {"mae": 4.0, "r2": 0.4}}
CHAMPION = {"model_version": "aaaaaaaaaaaa", "T+1h": {"mae": 1.0, "r2": 0.9}, "T+2h": {"mae": 2.0, "r2": 0.8},
            "T+3h": {"mae": 3.0, "r2": 0.7}}


def contender(t1h: float, t2h: float, t3h: float) -> dict[str, Any]:
    return {"model_version": "bbbbbbbbbbbb", "T+1h": {"mae": t1h, "r2": 0.5}, "T+2h": {"mae": t2h, "r2": 0.5},
            "T+3h": {"mae": t3h, "r2": 0.5}}


def test_a_first_model_needs_only_to_beat_persistence_at_every_horizon() -> None:
    passed = decide(contender(1.9, 2.9, 3.9), None, PERSISTENCE, MARGINS)
    assert passed.passed and passed.reason == "beats persistence at every horizon - a first model with no champion"
    failed = decide(contender(1.9, 3.0, 3.9), None, PERSISTENCE, MARGINS)
    assert not failed.passed and failed.reason == "T+2h MAE 3.000 not below persistence 3.000"


def test_the_champion_must_be_beaten_by_the_margin_at_t1h() -> None:
    assert decide(contender(0.98, 2.0, 3.0), CHAMPION, PERSISTENCE, MARGINS).passed  # exactly 2 % better
    failed = decide(contender(0.981, 2.0, 3.0), CHAMPION, PERSISTENCE, MARGINS)
    assert not failed.passed
    assert failed.reason == "T+1h MAE 0.981 not 2 percent below champion 1.000 - needs 0.980 or less"


def test_no_later_horizon_may_regress_by_more_than_the_margin() -> None:
    assert decide(contender(0.9, 2.02, 3.03), CHAMPION, PERSISTENCE, MARGINS).passed  # exactly 1 % worse
    failed = decide(contender(0.9, 2.0, 3.04), CHAMPION, PERSISTENCE, MARGINS)
    assert failed.reason == "T+3h MAE 3.040 more than 1 percent above champion 3.000 - limit 3.030"
    passed = decide(contender(0.9, 2.0, 3.0), CHAMPION, PERSISTENCE, MARGINS)
    assert passed.reason == "beats persistence at every horizon and the champion T+1h MAE by 10.0 percent"


def test_every_failure_is_named_and_the_margins_are_the_configured_ones() -> None:
    lenient = GateMargins(min_improvement_t1h_percent=0, max_regression_percent=50)
    assert decide(contender(1.0, 2.9, 3.9), CHAMPION, PERSISTENCE, lenient).passed
    failed = decide(contender(2.5, 3.5, 3.9), CHAMPION, PERSISTENCE, lenient)
    assert failed.reason.split(" / ") == [
        "T+1h MAE 2.500 not below persistence 2.000", "T+2h MAE 3.500 not below persistence 3.000",
        "T+1h MAE 2.500 not 0 percent below champion 1.000 - needs 1.000 or less",
        "T+2h MAE 3.500 more than 50 percent above champion 2.000 - limit 3.000"]
    assert failed.to_dict() == {"passed": False, "reason": failed.reason,
                                "rule": {"min_improvement_t1h_percent": 0, "max_regression_percent": 50}}


@pytest.mark.parametrize("candidate", [contender(0.5, 1.0, 1.5), contender(2.5, 3.5, 4.5), contender(0.99, 2.5, 3.5),
                                       contender(12.5, 13.5, 14.5)])
def test_the_reason_is_stored_by_the_registry_as_written(candidate: dict[str, Any]) -> None:
    for champion in (None, CHAMPION):
        reason = decide(candidate, champion, PERSISTENCE, MARGINS).reason
        assert metadata_value(reason) == reason and len(reason) <= 256


def test_a_reason_too_long_for_the_registry_counts_the_bounds_it_leaves_out() -> None:
    reason = decide(contender(12.5, 13.5, 14.5), CHAMPION, PERSISTENCE, MARGINS).reason
    assert reason.split(" / ")[:3] == ["T+1h MAE 12.500 not below persistence 2.000",
                                       "T+2h MAE 13.500 not below persistence 3.000",
                                       "T+3h MAE 14.500 not below persistence 4.000"]
    assert reason.endswith(" / 2 more missed")  # of 6: the T+1h margin and the T+2h and T+3h regressions


def test_metadata_values_lose_refused_characters_and_keep_256() -> None:
    assert metadata_value("a, b; (c) 2 % <d>\n e") == "a b c 2 d e"
    assert len(metadata_value("x" * 300)) == 256
