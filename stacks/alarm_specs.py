"""What each endpoint alarm watches, as plain data: the stack builds its alarms from these specs and
`cost` counts them, so the bill and the template cannot disagree. No CDK import, on purpose.

Latencies are in microseconds, the unit SageMaker publishes them in.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdk_app.deployment.config import AlarmThresholds

MICROSECONDS_PER_MS = 1000


@dataclass(frozen=True)
class AlarmSpec:
    construct_id: str
    metric_name: str
    statistic: str
    threshold: float
    description: str


def alarm_specs(thresholds: AlarmThresholds, provisioned: bool) -> list[AlarmSpec]:
    """What each alarm watches; the README's alarm table describes the same list."""
    specs = [
        AlarmSpec("ServerErrorRate", "Invocation5XXErrors", "Average", thresholds.error_5xx_rate,
                  f"More than {thresholds.error_5xx_rate:.2%} of requests failed inside the model (5XX)."),
        AlarmSpec("ClientErrorRate", "Invocation4XXErrors", "Average", thresholds.error_4xx_rate,
                  f"More than {thresholds.error_4xx_rate:.2%} of requests were rejected as bad input (4XX)."),
        AlarmSpec("ModelLatencyP99", "ModelLatency", "p99", thresholds.latency_p99_ms * MICROSECONDS_PER_MS,
                  f"99th-percentile model latency above {thresholds.latency_p99_ms:g} ms."),
        AlarmSpec("ColdStart", "ModelSetupTime", "Maximum", thresholds.cold_start_ms * MICROSECONDS_PER_MS,
                  f"A cold start took longer than {thresholds.cold_start_ms:g} ms to set up the model."),
    ]
    if provisioned:
        specs.append(AlarmSpec("ProvisionedSpillover", "ServerlessProvisionedConcurrencySpilloverInvocations",
                               "Sum", thresholds.spillover_invocations,
                               "Requests spilled over provisioned concurrency onto cold, on-demand capacity."))
    return specs
