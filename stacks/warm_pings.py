"""Warm hours by pings: EventBridge Scheduler invokes the endpoint every few minutes inside the windows.

No Lambda function: Scheduler's universal target calls SageMaker Runtime's InvokeEndpoint itself (it
refuses only read-only actions such as get*, list*, describe* and invokeModel). Best effort, with no
standing charge: a ping keeps one instance warm, not a given concurrency. Its role may invoke this
endpoint and nothing else; an alarm fires when pings fail.
"""

from __future__ import annotations

import json

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_app.deployment.warm_hours import PING_EVERY_MINUTES, WarmHours
from stacks.endpoint_alarms import notifying_alarm
from stacks.scheduled_calls import ON_TIME, no_retry_target, scheduler_role


def ping_group_name(endpoint_name: str) -> str:
    """The pings' own schedule group, which tells them from the stack's other schedules."""
    return f"{endpoint_name}-warm-pings"


class WarmPings(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, endpoint_name: str, endpoint_arn: str,
                 warm: WarmHours, request_body: str, period_minutes: int, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        self.group = scheduler.ScheduleGroup(self, "Group", schedule_group_name=ping_group_name(endpoint_name),
                                             removal_policy=RemovalPolicy.DESTROY)
        self.role = scheduler_role(
            self, "Role", description=f"EventBridge Scheduler pings {endpoint_name} in warm hours",
            statement=iam.PolicyStatement(sid="InvokeThisEndpointOnly", actions=["sagemaker:InvokeEndpoint"],
                                          resources=[endpoint_arn]))
        target_input = {"EndpointName": endpoint_name, "ContentType": "application/json",
                        "Accept": "application/json", "Body": request_body}
        self.schedules = [scheduler.CfnSchedule(
            self, f"Ping{number}", group_name=self.group.schedule_group_name,
            description=f"Keeps {endpoint_name} warm: one request every {PING_EVERY_MINUTES} minutes in warm hours",
            schedule_expression=expression, schedule_expression_timezone=warm.timezone,
            flexible_time_window=ON_TIME,
            target=no_retry_target(f"arn:{Aws.PARTITION}:scheduler:::aws-sdk:sagemakerruntime:invokeEndpoint",
                                   self.role, json.dumps(target_input, sort_keys=True)))
            for number, expression in enumerate(warm.ping_schedules(), start=1)]
        for schedule in self.schedules:  # the group is named, not referenced: without this, no ordering
            schedule.node.add_dependency(self.group)
        self.alarm = notifying_alarm(
            self, "PingsFailing", description=f"{endpoint_name}: keep-warm pings failed; the endpoint may be "
                                              "cold in warm hours.",
            metric=self.group.metric_target_errors(period=Duration.minutes(period_minutes), statistic="Sum"),
            threshold=0, topic=topic)
