"""Warm hours by pings: EventBridge Scheduler invokes the endpoint every few minutes inside the windows.

No Lambda function: Scheduler's universal target calls SageMaker Runtime's InvokeEndpoint itself (it
refuses only read-only actions such as get*, list*, describe* and invokeModel). Best effort, with no
standing charge: a ping keeps one instance warm, not a given concurrency. Its role may invoke this
endpoint and nothing else; an alarm fires when pings fail.
"""

from __future__ import annotations

import json

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_app.deployment.warm_hours import PING_EVERY_MINUTES, WarmHours

PING_EVENT_MAX_AGE_SECONDS = 60  # a ping that cannot go out within a minute is pointless: the next one comes


class WarmPings(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, endpoint_name: str, endpoint_arn: str,
                 warm: WarmHours, request_body: str, period_minutes: int, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        self.group = scheduler.ScheduleGroup(self, "Group", schedule_group_name=f"{endpoint_name}-warm-pings",
                                             removal_policy=RemovalPolicy.DESTROY)
        self.role = iam.Role(self, "Role", description=f"EventBridge Scheduler pings {endpoint_name} in warm hours",
                             assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com", conditions={
                                 "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}))
        self.role.add_to_policy(iam.PolicyStatement(sid="InvokeThisEndpointOnly", actions=["sagemaker:InvokeEndpoint"],
                                                    resources=[endpoint_arn]))
        target_input = {"EndpointName": endpoint_name, "ContentType": "application/json",
                        "Accept": "application/json", "Body": request_body}
        self.schedules = [scheduler.CfnSchedule(
            self, f"Ping{number}", group_name=self.group.schedule_group_name,
            description=f"Keeps {endpoint_name} warm: one request every {PING_EVERY_MINUTES} minutes in warm hours",
            schedule_expression=expression, schedule_expression_timezone=warm.timezone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=f"arn:{Aws.PARTITION}:scheduler:::aws-sdk:sagemakerruntime:invokeEndpoint",
                role_arn=self.role.role_arn, input=json.dumps(target_input, sort_keys=True),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=0, maximum_event_age_in_seconds=PING_EVENT_MAX_AGE_SECONDS)))
            for number, expression in enumerate(warm.ping_schedules(), start=1)]
        for schedule in self.schedules:  # the group is named, not referenced: without this, no ordering
            schedule.node.add_dependency(self.group)
        self.alarm = cloudwatch.Alarm(
            self, "PingsFailing", alarm_description=f"{endpoint_name}: keep-warm pings failed; the endpoint may be "
                                                    "cold in warm hours.",
            metric=self.group.metric_target_errors(period=Duration.minutes(period_minutes), statistic="Sum"),
            threshold=0, comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1, treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        notify = actions.SnsAction(topic)
        self.alarm.add_alarm_action(notify)
        self.alarm.add_ok_action(notify)

