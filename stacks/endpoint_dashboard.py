"""One CloudWatch dashboard: traffic, errors, latency in ms, then what the endpoint type has: cold starts,
concurrency and memory for serverless; overhead and instance CPU, memory and disk for real-time."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from stacks.alarm_specs import INSTANCE_NAMESPACE, NAMESPACE
from stacks.endpoint_metrics import endpoint_metric, in_milliseconds


class EndpointDashboard(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, endpoint_name: str, period_minutes: int,
                 instances: bool) -> None:
        super().__init__(scope, construct_id)

        def metric(name: str, statistic: str, label: str, namespace: str = NAMESPACE) -> cloudwatch.Metric:
            return endpoint_metric(endpoint_name, name, statistic, period_minutes, label, namespace)

        serverless_row: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(title="Cold starts (ms)", left=[
                in_milliseconds(metric("ModelSetupTime", "Maximum", "setup"), "model setup ms"),
                in_milliseconds(metric("OverheadLatency", "p99", "overhead"), "overhead p99 ms")]),
            cloudwatch.GraphWidget(title="Concurrency and memory (%)", left=[
                metric("ServerlessConcurrentExecutionsUtilization", "Maximum", "concurrency utilisation"),
                metric("MemoryUtilization", "Maximum", "memory utilisation")]),
        ]
        instance_row: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(title="Overhead latency (ms)", left=[
                in_milliseconds(metric("OverheadLatency", "p99", "overhead"), "overhead p99 ms")]),
            cloudwatch.GraphWidget(title="Instances (%, CPU up to 100 per vCPU)", left=[
                metric("CPUUtilization", "Average", "CPU", INSTANCE_NAMESPACE),
                metric("MemoryUtilization", "Average", "memory", INSTANCE_NAMESPACE),
                metric("DiskUtilization", "Average", "disk", INSTANCE_NAMESPACE)]),
        ]

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=endpoint_name, widgets=[[
            cloudwatch.GraphWidget(title="Invocations", left=[metric("Invocations", "Sum", "invocations")]),
            cloudwatch.GraphWidget(title="Error rates", left=[
                metric("Invocation4XXErrors", "Average", "4XX rate"),
                metric("Invocation5XXErrors", "Average", "5XX rate")]),
            cloudwatch.GraphWidget(title="Model latency (ms)", left=[
                in_milliseconds(metric("ModelLatency", "p50", "p50"), "p50 ms"),
                in_milliseconds(metric("ModelLatency", "p99", "p99"), "p99 ms")]),
        ], instance_row if instances else serverless_row])
