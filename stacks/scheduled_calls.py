"""What the stack's EventBridge Scheduler schedules share: a role that only Scheduler, on behalf of this account,
may assume and that may do one thing, and a target with an explicit retry policy.

The pings and the collector fire again within minutes, so a call that could not go out in time is pointless: the
next one comes, and their targets give up at once. The weekly retraining comes once a week, so its start is
retried for an hour (a throttled StartPipelineExecution must not cost a week).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

EVENT_MAX_AGE_SECONDS = 60
ON_TIME = scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF")


def scheduler_role(scope: Construct, construct_id: str, *, description: str, statement: iam.PolicyStatement
                   ) -> iam.Role:
    role = iam.Role(scope, construct_id, description=description,
                    assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com", conditions={
                        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}))
    role.add_to_policy(statement)
    return role


def no_retry_target(arn: str, role: iam.IRole, target_input: str | None = None
                    ) -> scheduler.CfnSchedule.TargetProperty:
    return retried_target(arn, role, attempts=0, within_seconds=EVENT_MAX_AGE_SECONDS, input=target_input)


def retried_target(arn: str, role: iam.IRole, *, attempts: int, within_seconds: int, **properties: Any
                   ) -> scheduler.CfnSchedule.TargetProperty:
    """Up to `attempts` retries while the call is younger than `within_seconds`; `properties` are the target's
    other fields (its input, a templated target's parameters)."""
    return scheduler.CfnSchedule.TargetProperty(
        arn=arn, role_arn=role.role_arn, **properties,
        retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
            maximum_retry_attempts=attempts, maximum_event_age_in_seconds=within_seconds))
