"""EndpointAlarms: each alarm's metric, unit, dimensions, thresholds and actions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.synth import DIMENSIONS, Synthesized

EXPECTED_ALARMS = {
    # metric: (statistic key, statistic, threshold in the metric's own unit)
    "Invocation5XXErrors": ("Statistic", "Average", 0.001),
    "Invocation4XXErrors": ("Statistic", "Average", 0.01),
    "ModelLatency": ("ExtendedStatistic", "p99", 1_000_000),  # 1 s in microseconds
    "ModelSetupTime": ("Statistic", "Maximum", 10_000_000),  # 10 s
}


@pytest.mark.parametrize("metric", sorted(EXPECTED_ALARMS))
def test_alarm_metric_unit_dimensions_and_actions(default_app: Synthesized, metric: str) -> None:
    alarms = [a["Properties"] for a in default_app.of_type("AWS::CloudWatch::Alarm").values()
              if a["Properties"]["MetricName"] == metric]
    assert len(alarms) == 1
    alarm = alarms[0]
    key, statistic, threshold = EXPECTED_ALARMS[metric]
    topic_id, _ = default_app.one("AWS::SNS::Topic")
    assert alarm[key] == statistic and alarm["Threshold"] == threshold
    assert alarm["Namespace"] == "AWS/SageMaker" and alarm["Dimensions"] == DIMENSIONS
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Period"] == 300
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": topic_id}] and alarm["OKActions"] == [{"Ref": topic_id}]


def test_alarm_thresholds_follow_the_context(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(alarm_latency_p99_ms="250", alarm_cold_start_ms="5000", alarm_period_minutes="1")
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in app.of_type("AWS::CloudWatch::Alarm").values()}
    assert by_metric["ModelLatency"]["Threshold"] == 250_000
    assert by_metric["ModelSetupTime"]["Threshold"] == 5_000_000
    assert {a["Period"] for a in by_metric.values()} == {60}
