"""EndpointDashboard: traffic, errors, latency in ms, cold starts and utilisation."""

from __future__ import annotations

import json

from support.synth import ENDPOINT, Synthesized


def test_dashboard_shows_traffic_errors_latency_cold_starts_and_utilisation(default_app: Synthesized) -> None:
    _, dashboard = default_app.one("AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency", "ModelSetupTime",
                   "OverheadLatency", "ServerlessConcurrentExecutionsUtilization", "MemoryUtilization"):
        assert metric in body
    assert "/ 1000" in body  # microseconds shown as milliseconds
    assert dashboard["Properties"]["DashboardName"] == ENDPOINT
