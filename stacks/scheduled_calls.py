"""What the stack's EventBridge Scheduler schedules share: a role that only Scheduler, on behalf of this account,
may assume and that may do one thing, and a target that gives up on a late call rather than retry it.

Every schedule here fires again within minutes, so a call that could not go out in time is pointless: the
next one comes. The keep-warm pings and the collector both build theirs from these.
"""

from __future__ import annotations

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
    return scheduler.CfnSchedule.TargetProperty(
        arn=arn, role_arn=role.role_arn, input=target_input,
        retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
            maximum_retry_attempts=0, maximum_event_age_in_seconds=EVENT_MAX_AGE_SECONDS))
