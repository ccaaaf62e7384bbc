"""The endpoint's CloudWatch metrics, with the dimensions SageMaker actually publishes them under.

Alarms and the dashboard both read from here, so a dimension or unit is right in one place:
AWS/SageMaker (or /aws/sagemaker/Endpoints for instances), EndpointName + VariantName, latencies in microseconds.
With an A/B, each model's metrics are its variant's: the Champion or Challenger variant of the one real-time
endpoint, or the one variant of each of serverless mode's two endpoints.
"""

from __future__ import annotations

import re

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from cdk_app.deployment.config import Variant
from stacks.alarm_specs import MICROSECONDS_PER_MS, NAMESPACE


def endpoint_metric(variant: Variant, metric_name: str, statistic: str, period_minutes: int,
                    label: str | None = None, namespace: str = NAMESPACE) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=metric_name,
        dimensions_map={"EndpointName": variant.endpoint_name, "VariantName": variant.name},
        statistic=statistic,
        period=Duration.minutes(period_minutes),
        label=label,
    )


def in_milliseconds(metric: cloudwatch.Metric, label: str) -> cloudwatch.MathExpression:
    """SageMaker reports latencies in microseconds; people read milliseconds."""
    metric_id = "us_" + re.sub(r"[^a-z0-9]+", "_", label.lower())  # ids must be unique within a graph
    return cloudwatch.MathExpression(expression=f"{metric_id} / {MICROSECONDS_PER_MS}",
                                     using_metrics={metric_id: metric}, label=label, period=metric.period)
