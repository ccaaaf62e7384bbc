"""The stack's one customer-managed KMS key, for the alert topic and the endpoint's logs (and the collector's
history, logs and environment, when it is deployed).

One key rather than one per resource: each key costs $1 a month, a real share of this bill.
The AWS-managed alias/aws/sns cannot be used: CloudWatch and Budgets messages sent to a topic
under it are silently dropped.
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

ALERT_PUBLISHERS = ("cloudwatch.amazonaws.com", "budgets.amazonaws.com")


class EncryptionKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, log_group_name: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(self, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY,
                           description="Encrypts the Velib' forecaster's alert topic and endpoint logs")
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid="LetAlarmsAndBudgetsPublishToTheTopic",
            principals=[iam.ServicePrincipal(p) for p in ALERT_PUBLISHERS],
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            resources=["*"],  # in a key policy, "*" means this key
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        ))
        self.let_logs_encrypt("LetCloudWatchLogsEncryptTheEndpointLogs", log_group_name)

    def let_logs_encrypt(self, sid: str, log_group_name: str) -> None:
        """CloudWatch Logs may use the key for this one log group, which must be named before it exists."""
        log_group_arn = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{log_group_name}"
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
            conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
        ))


def encrypted_log_group(scope: Construct, construct_id: str, *, name: str, retention_days: int, key: kms.IKey
                        ) -> logs.CfnLogGroup:
    """A log group the stack creates before its service would (which would keep it forever, unencrypted), with
    retention, under the key, and deleted on destroy. The key's policy must let Logs use it for this name."""
    log_group = logs.CfnLogGroup(scope, construct_id, log_group_name=name, retention_in_days=retention_days,
                                 kms_key_id=key.key_arn)
    log_group.apply_removal_policy(RemovalPolicy.DESTROY)
    return log_group
