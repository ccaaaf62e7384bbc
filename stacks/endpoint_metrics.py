"""The endpoint's CloudWatch metrics, with the dimensions SageMaker actually publishes them under.

Alarms and the dashboard both read from here, so a dimension or unit is right in one place:
AWS/SageMaker (or /aws/sagemaker/Endpoints for instances), EndpointName + VariantName, latencies in microseconds.
"""

from __future__ import annotations

import re

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from cdk_app.deployment.config import VARIANT_NAME
from stacks.alarm_specs import MICROSECONDS_PER_MS, NAMESPACE


def endpoint_metric(endpoint_name: str, metric_name: str, statistic: str, period_minutes: int,
                    label: str | None = None, namespace: str = NAMESPACE) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=metric_name,
        dimensions_map={"EndpointName": endpoint_name, "VariantName": VARIANT_NAME},
        statistic=statistic,
        period=Duration.minutes(period_minutes),
        label=label,
    )


def in_milliseconds(metric: cloudwatch.Metric, label: str) -> cloudwatch.MathExpression:
    """SageMaker reports latencies in microseconds; people read milliseconds."""
    metric_id = "us_" + re.sub(r"[^a-z0-9]+", "_", label.lower())  # ids must be unique within a graph
    return cloudwatch.MathExpression(expression=f"{metric_id} / {MICROSECONDS_PER_MS}",
                                     using_metrics={metric_id: metric}, label=label, period=metric.period)
