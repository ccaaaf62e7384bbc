"""Alarms on the endpoint, built from stacks/alarm_specs.py in the units SageMaker publishes.

An idle serverless endpoint publishes nothing, so missing data never breaches: silence is not
an outage. Each alarm notifies the topic when it fires and when it clears.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_app.deployment.config import VARIANT_NAME, Variant
from stacks.alarm_specs import ROLLBACK_ALARMS, AlarmSpec
from stacks.endpoint_metrics import endpoint_metric


def notifying_alarm(scope: Construct, construct_id: str, *, description: str, metric: cloudwatch.IMetric,
                    threshold: float, topic: sns.ITopic) -> cloudwatch.Alarm:
    """Above `threshold` in one period fires it, silence never does, and the topic hears both ways.
    Every alarm of the stack is one of these (the endpoint's, the pings', the collector's)."""
    alarm = cloudwatch.Alarm(
        scope, construct_id,
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    notify = actions.SnsAction(topic)
    alarm.add_alarm_action(notify)
    alarm.add_ok_action(notify)
    return alarm


def spec_alarm(scope: Construct, spec: AlarmSpec, *, subject: str, dimensions: dict[str, str], period_minutes: int,
               topic: sns.ITopic) -> cloudwatch.Alarm:
    """An alarm as its spec describes it, on the one resource `dimensions` name (the collector, the pipeline)."""
    return notifying_alarm(
        scope, spec.construct_id, description=f"{subject}: {spec.description}",
        metric=cloudwatch.Metric(namespace=spec.namespace, metric_name=spec.metric_name, dimensions_map=dimensions,
                                 statistic=spec.statistic, period=Duration.minutes(period_minutes)),
        threshold=spec.threshold, topic=topic)


class EndpointAlarms(Construct):
    """The alarms of one variant: with an A/B, the champion and the challenger each have their own set, under their
    own construct ids, so CloudFormation gives every alarm its own generated name."""

    def __init__(self, scope: Construct, construct_id: str, *, variant: Variant, specs: list[AlarmSpec],
                 period_minutes: int, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        self.variant = variant
        subject = variant.endpoint_name if variant.name == VARIANT_NAME else (
            f"{variant.endpoint_name}, variant {variant.name}")
        self.alarms = {spec.construct_id: notifying_alarm(
            self, spec.construct_id, description=f"{subject}: {spec.description}",
            metric=endpoint_metric(variant, spec.metric_name, spec.statistic, period_minutes,
                                   namespace=spec.namespace),
            threshold=spec.threshold, topic=topic) for spec in specs}

    @property
    def rollback_alarm_names(self) -> list[str]:
        """The alarms whose firing rolls a real-time deployment back."""
        return [self.alarms[name].alarm_name for name in ROLLBACK_ALARMS]
