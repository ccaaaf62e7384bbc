"""The SNS topic that alarms and the budget notify: encrypted, TLS only, Budgets allowed in."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class AlertTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", master_key=key, enforce_ssl=True,
                               display_name="Velib forecaster alerts")
        budgets_allowed = self.topic.add_to_resource_policy(iam.PolicyStatement(
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
        # What a budget must wait for: Budgets checks that it may publish when the budget is created.
        self.budgets_may_publish = budgets_allowed.policy_dependable
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
