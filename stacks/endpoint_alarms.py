"""Alarms on the endpoint, in the units SageMaker publishes (latencies in microseconds).

An idle serverless endpoint publishes nothing, so missing data never breaches: silence is not
an outage. Each alarm notifies the topic when it fires and when it clears.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_app.config import AlarmThresholds
from stacks.endpoint_metrics import MICROSECONDS_PER_MS, endpoint_metric


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


class EndpointAlarms(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, endpoint_name: str, thresholds: AlarmThresholds,
                 provisioned: bool, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        notify = actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []
        for spec in alarm_specs(thresholds, provisioned):
            alarm = cloudwatch.Alarm(
                self, spec.construct_id,
                alarm_description=f"{endpoint_name}: {spec.description}",
                metric=endpoint_metric(endpoint_name, spec.metric_name, spec.statistic, thresholds.period_minutes),
                threshold=spec.threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(notify)
            alarm.add_ok_action(notify)
            self.alarms.append(alarm)
