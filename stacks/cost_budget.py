"""A monthly AWS Budget in USD that warns at 80 % actual and 100 % forecasted spend.

Scope ("budget_scope"): "service" counts the account's Amazon SageMaker spend in the stack's
region, which works at once; "tag" counts only resources tagged project=velib-forecast, which is
exact but needs the `project` cost allocation tag activated in the Billing console first (until
then a tag budget silently sees $0).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_budgets as budgets
from constructs import Construct

from cdk_app.deployment.config import PROJECT
from stacks.alert_topic import AlertTopic

THRESHOLDS = (("ACTUAL", 80), ("FORECASTED", 100))


def cost_filters(scope: str, region: str) -> dict[str, Any]:
    if scope == "tag":
        return {"TagKeyValue": [f"user:project${PROJECT}"]}
    return {"Service": ["Amazon SageMaker"], "Region": [region]}


class CostBudget(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, amount_usd: float, filters: dict[str, Any],
                 topic: AlertTopic, email: str | None) -> None:
        super().__init__(scope, construct_id)
        subscribers = [budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic.topic.topic_arn)]
        if email:
            subscribers.append(budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=email))
        self.budget = budgets.CfnBudget(
            self, "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_type="COST", time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=amount_usd, unit="USD"),
                cost_filters=filters),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind, comparison_operator="GREATER_THAN", threshold=percent,
                        threshold_type="PERCENTAGE"),
                    subscribers=subscribers)
                for kind, percent in THRESHOLDS],
        )
        if topic.budgets_may_publish is not None:
            self.budget.node.add_dependency(topic.budgets_may_publish)
