"""The SNS topic that alarms and the budget notify.

It is encrypted with a customer-managed key: CloudWatch and Budgets cannot use the AWS-managed
alias/aws/sns key, and messages sent to a topic under it are silently dropped.
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

PUBLISHERS = ("cloudwatch.amazonaws.com", "budgets.amazonaws.com")


class AlertTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(self, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY,
                           pending_window=None, description="Encrypts the Velib' forecaster's alert topic")
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid="LetAlarmsAndBudgetsEncrypt",
            principals=[iam.ServicePrincipal(p) for p in PUBLISHERS],
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            resources=["*"],  # in a key policy, "*" means this key
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        ))
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True,
                               display_name="Velib forecaster alerts")
        self.topic.add_to_resource_policy(iam.PolicyStatement(
            sid="LetBudgetsPublish",
            principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
            actions=["SNS:Publish"],
            resources=[self.topic.topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                        "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:budgets::{Aws.ACCOUNT_ID}:*"}},
        ))
        self.topic.add_to_resource_policy(iam.PolicyStatement(
            sid="LetAlarmsPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["SNS:Publish"],
            resources=[self.topic.topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        ))
        self.policy = self.topic.node.find_child("Policy")
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
