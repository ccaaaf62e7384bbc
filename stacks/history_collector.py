"""The collector in AWS, deployed with `collector=true`: a Lambda function that EventBridge Scheduler runs every
few minutes, polling the GBFS feed into an S3 history and, once an hour, forecasting every station.

Reserved concurrency 1: two polls never write the history at once, and a tick that finds the last poll still
running waits in Lambda's queue for at most one interval, then is dropped (the next tick comes), never retried.
The bucket is RETAINed: `cdk destroy` keeps the history, since emptying a bucket on delete takes a Lambda-backed
custom resource, which the offline rehearsal cannot run, and a history is worth keeping anyway. So it is
encrypted with S3's own keys, not the stack's KMS key, which destroy deletes: a kept history stays readable.
The function's role reads and writes under `history/` only, uses the stack's key, and invokes this one
endpoint (with a serverless A/B, the challenger's endpoint too); the schedule's role may invoke this one function.
Any failed poll fires an alarm.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_app.deployment.collector_asset import HANDLER
from cdk_app.deployment.config import COLLECTOR_MEMORY_MB, NONCURRENT_VERSION_DAYS, CollectorSettings, Variant
from stacks.alarm_specs import AlarmSpec
from stacks.encryption_key import EncryptionKey, encrypted_log_group
from stacks.endpoint_alarms import spec_alarm
from stacks.scheduled_calls import ON_TIME, no_retry_target, scheduler_role

HISTORY_PREFIX = "history"
RUNTIME = lambda_.Runtime.PYTHON_3_14  # the newest CDK knows: cdk-nag's L1 accepts no other


def endpoint_environment(champion: Variant, challenger: Variant | None) -> dict[str, str]:
    """Where the handler (cdk_app/live_data/lambda_handler.py) sends each role's hourly forecast: ENDPOINT_NAME;
    with a challenger, CHALLENGER_ENDPOINT_NAME (serverless: its own endpoint), and on a real-time endpoint, the one
    endpoint twice, ENDPOINT_VARIANT and CHALLENGER_VARIANT for InvokeEndpoint's TargetVariant."""
    environment = {"ENDPOINT_NAME": champion.endpoint_name}
    if challenger is None:
        return environment
    environment["CHALLENGER_ENDPOINT_NAME"] = challenger.endpoint_name
    if challenger.endpoint_name == champion.endpoint_name:
        environment.update(ENDPOINT_VARIANT=champion.name, CHALLENGER_VARIANT=challenger.name)
    return environment


class HistoryCollector(Construct):
    """`endpoints`: the environment that names what the hourly forecasts invoke (endpoint_environment), and those
    endpoints' ARNs, which the function's role may invoke and nothing else."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: CollectorSettings, function_name: str,
                 code: Path, endpoints: dict[str, str], endpoint_arns: list[str], encryption: EncryptionKey,
                 log_retention_days: int, timeout_seconds: int, alarm: AlarmSpec, period_minutes: int,
                 topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        key = encryption.key
        self.bucket = s3.Bucket(
            self, "History", encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL, versioned=True,
            removal_policy=RemovalPolicy.RETAIN, lifecycle_rules=[
                s3.LifecycleRule(id="ExpireHistory", expiration=Duration.days(settings.history_retention_days),
                                 noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                                 abort_incomplete_multipart_upload_after=Duration.days(1)),
                s3.LifecycleRule(id="DropExpiredDeleteMarkers", expired_object_delete_marker=True)])
        _skip_access_logs(self.bucket)
        self.history_url = f"s3://{self.bucket.bucket_name}/{HISTORY_PREFIX}"

        log_group_name = f"/aws/lambda/{function_name}"
        encryption.let_logs_encrypt("LetCloudWatchLogsEncryptTheCollectorLogs", log_group_name)
        log_group = encrypted_log_group(self, "Logs", name=log_group_name, retention_days=log_retention_days,
                                        key=key)
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description=f"Runs {function_name}: the history under {HISTORY_PREFIX}/, "
                                    f"{endpoints['ENDPOINT_NAME']}")
        policy = iam.Policy(self, "Policy", roles=[role], statements=[
            # DeleteObject: a poll's lease on the history is an object it deletes when done.
            iam.PolicyStatement(sid="ReadWriteHistory", actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                                resources=[self.bucket.arn_for_objects(f"{HISTORY_PREFIX}/*")]),
            iam.PolicyStatement(sid="ListHistory", actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn],
                                conditions={"StringLike": {"s3:prefix": [f"{HISTORY_PREFIX}/*"]}}),
            iam.PolicyStatement(sid="DecryptItsEnvironment", actions=["kms:Decrypt"], resources=[key.key_arn]),
            iam.PolicyStatement(sid="InvokeThisEndpointOnly" if len(endpoint_arns) == 1 else "InvokeTheseEndpointsOnly",
                                actions=["sagemaker:InvokeEndpoint"], resources=endpoint_arns),
            iam.PolicyStatement(sid="WriteOwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                resources=[log_group.attr_arn]),
        ])
        Validations.of(policy).acknowledge(Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::<{logical_id(self.bucket)}.Arn>/{HISTORY_PREFIX}/*]",
            reason=f"the history is many objects, named by hour, all under {HISTORY_PREFIX}/ in this one bucket"))

        # By ARN and immutable: the Function then adds no statement to the role, nor a DependsOn on it that
        # its GetAtt already implies (cfn-lint W3005); the dependency on the policy below is the one that matters.
        immutable_role = iam.Role.from_role_arn(self, "FunctionRole", role.role_arn, mutable=False)
        self.function = lambda_.Function(
            self, "Function", function_name=function_name, description="Polls the GBFS feed into the history; "
            "hourly, forecasts every station", runtime=RUNTIME, architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(str(code)), handler=HANDLER,
            environment={"FEED_URL": settings.feed_url, "HISTORY_URL": self.history_url, **endpoints},
            environment_encryption=key, role=immutable_role, reserved_concurrent_executions=1,
            memory_size=COLLECTOR_MEMORY_MB, timeout=Duration.seconds(timeout_seconds),
            retry_attempts=0, max_event_age=Duration.minutes(settings.interval_minutes),
            log_group=logs.LogGroup.from_log_group_name(self, "LogGroup", log_group.ref))
        self.function.node.add_dependency(policy)  # the first poll must find its permissions in place
        self.function.node.default_child.add_metadata("checkov", {"skip": [  # type: ignore[union-attr]
            {"id": "CKV_AWS_116", "comment": "no dead-letter queue: a failed poll's event carries nothing to replay, "
                                             "the next poll supersedes it, and the Errors alarm reports the failure"},
            {"id": "CKV_AWS_117", "comment": "no VPC: it reads a public feed and AWS APIs, and a VPC would need a NAT "
                                             "gateway, which costs more than everything else in this stack"},
        ]})

        schedule_role = scheduler_role(
            self, "ScheduleRole", description=f"EventBridge Scheduler runs {function_name}",
            statement=iam.PolicyStatement(sid="InvokeThisFunctionOnly", actions=["lambda:InvokeFunction"],
                                          resources=[self.function.function_arn]))
        scheduler.CfnSchedule(
            self, "Schedule", description=f"Polls the Velib' feed every {settings.interval_minutes} minute(s)",
            schedule_expression=rate_expression(settings.interval_minutes), flexible_time_window=ON_TIME,
            target=no_retry_target(self.function.function_arn, schedule_role))

        spec_alarm(self, alarm, subject=function_name, dimensions={"FunctionName": function_name},
                   period_minutes=period_minutes, topic=topic)

    def widget(self) -> cloudwatch.IWidget:
        """The dashboard's view of the collector: polls and failures, and how long a poll takes."""
        return cloudwatch.GraphWidget(
            title="Collector", left=[self.function.metric_invocations(label="polls"),
                                     self.function.metric_errors(label="failed polls")],
            right=[self.function.metric_duration(statistic="p99", label="duration p99 ms")])


def logical_id(construct: Construct) -> str:
    """How cdk-nag names the resource in a finding."""
    return Stack.of(construct).get_logical_id(construct.node.default_child)  # type: ignore[arg-type]


def rate_expression(minutes: int) -> str:
    """Scheduler wants the singular for one: rate(1 minute), rate(5 minutes)."""
    return f"rate({minutes} minute{'s' if minutes > 1 else ''})"


def _skip_access_logs(bucket: s3.Bucket) -> None:
    reason = ("no server access logs: the only writer is the collector's role, and a log bucket would have to be "
              "retained as well (destroy cannot empty one without a Lambda-backed custom resource)")
    Validations.of(bucket).acknowledge(Acknowledgment(id="AwsSolutions-S1", reason=reason))
    bucket.node.default_child.add_metadata("checkov", {  # type: ignore[union-attr]
        "skip": [{"id": "CKV_AWS_18", "comment": reason},
                 {"id": "CKV_AWS_145", "comment": "SSE-S3, not the stack's KMS key: the bucket outlives the stack "
                                                  "and its key, and a history must stay readable after destroy"}]})
