"""AlertTopic: encrypted, TLS only, open to Budgets and CloudWatch, with an optional e-mail."""

from __future__ import annotations

from collections.abc import Callable

from support.synth import Synthesized


def test_topic_is_encrypted_tls_only_and_open_to_budgets(default_app: Synthesized) -> None:
    key_id, _ = default_app.one("AWS::KMS::Key")
    _, topic = default_app.one("AWS::SNS::Topic")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    _, policy = default_app.one("AWS::SNS::TopicPolicy")
    found = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert found["AllowPublishThroughSSLOnly"]["Effect"] == "Deny"
    assert found["AllowPublishThroughSSLOnly"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    budgets = found["LetBudgetsPublish"]
    assert budgets["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert budgets["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "aws:SourceArn" in budgets["Condition"]["ArnLike"]
    assert default_app.of_type("AWS::SNS::Subscription") == {}


def test_email_subscribes_to_the_topic_and_the_budget(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(alarm_email="ops@example.com")
    _, subscription = app.one("AWS::SNS::Subscription")
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "ops@example.com"
    _, budget = app.one("AWS::Budgets::Budget")
    for notification in budget["Properties"]["NotificationsWithSubscribers"]:
        assert {"SubscriptionType": "EMAIL", "Address": "ops@example.com"} in notification["Subscribers"]
