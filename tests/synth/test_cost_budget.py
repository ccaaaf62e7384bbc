"""CostBudget: monthly, in USD, scoped by service or tag, notifying the topic."""

from __future__ import annotations

from collections.abc import Callable

from support.synth import Synthesized


def test_budget_is_monthly_usd_at_80_actual_and_100_forecast(default_app: Synthesized) -> None:
    _, budget = default_app.one("AWS::Budgets::Budget")
    data = budget["Properties"]["Budget"]
    assert data["BudgetLimit"] == {"Amount": 5, "Unit": "USD"} and data["TimeUnit"] == "MONTHLY"
    assert data["CostFilters"] == {"Service": ["Amazon SageMaker"], "Region": ["eu-west-3"]}
    notes = [(n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
             for n in budget["Properties"]["NotificationsWithSubscribers"]]
    assert notes == [("ACTUAL", 80), ("FORECASTED", 100)]
    policy_id, _ = default_app.one("AWS::SNS::TopicPolicy")
    assert policy_id in budget["DependsOn"]


def test_budget_can_be_scoped_by_tag(synth_app: Callable[..., Synthesized]) -> None:
    _, budget = synth_app(budget_scope="tag", budget_usd="3.5").one("AWS::Budgets::Budget")
    assert budget["Properties"]["Budget"]["CostFilters"] == {"TagKeyValue": ["user:project$velib-forecast"]}
    assert budget["Properties"]["Budget"]["BudgetLimit"]["Amount"] == 3.5


def test_budget_zero_means_no_budget(synth_app: Callable[..., Synthesized]) -> None:
    assert synth_app(budget_usd="0").of_type("AWS::Budgets::Budget") == {}
