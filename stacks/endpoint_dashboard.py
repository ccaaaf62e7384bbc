"""One CloudWatch dashboard: traffic, errors, latency in ms, then what the endpoint type has: cold starts,
concurrency and memory for serverless; overhead and instance CPU, memory and disk for real-time.

With an A/B every graph shows the champion and the challenger side by side, a line each, labelled by role: the
two variants of the real-time endpoint, or serverless mode's two endpoints."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from cdk_app.deployment.config import Variant
from stacks.alarm_specs import INSTANCE_NAMESPACE, NAMESPACE
from stacks.endpoint_metrics import endpoint_metric, in_milliseconds


class EndpointDashboard(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, dashboard_name: str, variants: list[Variant],
                 period_minutes: int, instances: bool) -> None:
        super().__init__(scope, construct_id)

        def labelled(variant: Variant, label: str) -> str:
            return label if len(variants) == 1 else f"{variant.role} {label}"

        def metrics(name: str, statistic: str, label: str, namespace: str = NAMESPACE) -> list[cloudwatch.IMetric]:
            return [endpoint_metric(variant, name, statistic, period_minutes, labelled(variant, label), namespace)
                    for variant in variants]

        def milliseconds(name: str, statistic: str, label: str, shown: str) -> list[cloudwatch.IMetric]:
            """A latency in microseconds (`label`), shown in ms (`shown`), per variant; the labels make the
            expressions' ids, which must be unique within a graph."""
            return [in_milliseconds(endpoint_metric(variant, name, statistic, period_minutes, labelled(variant, label)),
                                    labelled(variant, shown)) for variant in variants]

        serverless_row: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(title="Cold starts (ms)", left=[
                *milliseconds("ModelSetupTime", "Maximum", "setup", "model setup ms"),
                *milliseconds("OverheadLatency", "p99", "overhead", "overhead p99 ms")]),
            cloudwatch.GraphWidget(title="Concurrency and memory (%)", left=[
                *metrics("ServerlessConcurrentExecutionsUtilization", "Maximum", "concurrency utilisation"),
                *metrics("MemoryUtilization", "Maximum", "memory utilisation")]),
        ]
        instance_row: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(title="Overhead latency (ms)", left=milliseconds("OverheadLatency", "p99",
                                                                                    "overhead", "overhead p99 ms")),
            cloudwatch.GraphWidget(title="Instances (%, CPU up to 100 per vCPU)", left=[
                *metrics("CPUUtilization", "Average", "CPU", INSTANCE_NAMESPACE),
                *metrics("MemoryUtilization", "Average", "memory", INSTANCE_NAMESPACE),
                *metrics("DiskUtilization", "Average", "disk", INSTANCE_NAMESPACE)]),
        ]

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=dashboard_name, widgets=[[
            cloudwatch.GraphWidget(title="Invocations", left=metrics("Invocations", "Sum", "invocations")),
            cloudwatch.GraphWidget(title="Error rates", left=[
                *metrics("Invocation4XXErrors", "Average", "4XX rate"),
                *metrics("Invocation5XXErrors", "Average", "5XX rate")]),
            cloudwatch.GraphWidget(title="Model latency (ms)", left=[
                *milliseconds("ModelLatency", "p50", "p50", "p50 ms"),
                *milliseconds("ModelLatency", "p99", "p99", "p99 ms")]),
        ], instance_row if instances else serverless_row])
