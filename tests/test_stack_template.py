"""The synthesized template is the specification of the deployment: these tests pin it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import Synthesized

from cdk_app.serving_code import model_utils

ENDPOINT = "velib-forecast-dev"
DIMENSIONS = [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "AllTraffic"}]


def statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def asset_object_key(app: Synthesized) -> str:
    files = json.loads((app.outdir / f"{app.stack.stack_name}.assets.json").read_text())["files"]
    (asset,) = [f for f in files.values() if f["source"]["path"].endswith(".tar.gz")]
    (destination,) = asset["destinations"].values()
    return str(destination["objectKey"])


def test_resource_inventory(default_app: Synthesized) -> None:
    counts = {kind: len(default_app.of_type(kind)) for kind in {r["Type"] for r in default_app.resources.values()}}
    assert counts == {
        "AWS::Logs::LogGroup": 1, "AWS::IAM::Role": 1, "AWS::IAM::Policy": 1, "AWS::SageMaker::Model": 1,
        "AWS::SageMaker::EndpointConfig": 1, "AWS::SageMaker::Endpoint": 1, "AWS::KMS::Key": 1,
        "AWS::SNS::Topic": 1, "AWS::SNS::TopicPolicy": 1, "AWS::CloudWatch::Alarm": 4,
        "AWS::CloudWatch::Dashboard": 1, "AWS::Budgets::Budget": 1,
    }


def test_no_helper_lambdas_or_managed_policies(default_app: Synthesized) -> None:
    text = json.dumps(default_app.resources)
    assert "AWS::Lambda::Function" not in text and "Custom::" not in text
    assert "ManagedPolicyArns" not in text and "AmazonSageMakerFullAccess" not in text


def test_role_trusts_only_sagemaker(default_app: Synthesized) -> None:
    _, role = default_app.one("AWS::IAM::Role")
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}]


def test_role_statements_are_exactly_the_least_needed(default_app: Synthesized) -> None:
    _, policy = default_app.one("AWS::IAM::Policy")
    found = statements(policy)
    assert set(found) == {"ReadModelArchive", "PullServingImage", "AuthenticateToRegistry", "WriteEndpointLogs",
                          "PublishMetrics"}
    assert all(s["Effect"] == "Allow" for s in found.values())
    archive = found["ReadModelArchive"]
    assert archive["Action"] == "s3:GetObject"
    assert json.dumps(archive["Resource"]).endswith(f'/{asset_object_key(default_app)}"')  # one object only
    assert found["PullServingImage"] == {
        "Sid": "PullServingImage", "Effect": "Allow",
        "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        "Resource": "arn:aws:ecr:eu-west-3:763104351884:repository/pytorch-inference"}
    assert found["AuthenticateToRegistry"]["Action"] == "ecr:GetAuthorizationToken"
    log_group_id, _ = default_app.one("AWS::Logs::LogGroup")
    assert found["WriteEndpointLogs"]["Action"] == ["logs:CreateLogStream", "logs:DescribeLogStreams",
                                                    "logs:PutLogEvents"]
    assert found["WriteEndpointLogs"]["Resource"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    assert found["PublishMetrics"]["Action"] == "cloudwatch:PutMetricData"


def test_model_uses_the_dlc_the_asset_and_the_serving_environment(default_app: Synthesized) -> None:
    _, model = default_app.one("AWS::SageMaker::Model")
    props = model["Properties"]
    assert "ModelName" not in props  # generated, so a replacement is never blocked by its own name
    container = props["PrimaryContainer"]
    assert container["Image"] == ("763104351884.dkr.ecr.eu-west-3.amazonaws.com/"
                                  "pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-sagemaker")
    assert container["ModelDataUrl"] == default_app.template.to_json()["Outputs"]["ModelDataUrl"]["Value"]
    env = container["Environment"]
    assert env["SAGEMAKER_PROGRAM"] == "inference.py" and env["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert env["OMP_NUM_THREADS"] == "1" and env["TS_DEFAULT_RESPONSE_TIMEOUT"] == "60"
    assert env["SAGEMAKER_REGION"] == "eu-west-3"
    role_id, _ = default_app.one("AWS::IAM::Role")
    policy_id, _ = default_app.one("AWS::IAM::Policy")
    assert props["ExecutionRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert policy_id in model["DependsOn"]


def test_serverless_config_and_names(default_app: Synthesized) -> None:
    model_id, _ = default_app.one("AWS::SageMaker::Model")
    config_id, config = default_app.one("AWS::SageMaker::EndpointConfig")
    assert "EndpointConfigName" not in config["Properties"] and "KmsKeyId" not in config["Properties"]
    assert config["Properties"]["ProductionVariants"] == [{
        "VariantName": "AllTraffic", "ModelName": {"Fn::GetAtt": [model_id, "ModelName"]},
        "ServerlessConfig": {"MemorySizeInMB": 4096, "MaxConcurrency": 5}}]
    _, endpoint = default_app.one("AWS::SageMaker::Endpoint")
    assert endpoint["Properties"]["EndpointName"] == ENDPOINT
    assert endpoint["Properties"]["EndpointConfigName"] == {"Fn::GetAtt": [config_id, "EndpointConfigName"]}


def test_memory_concurrency_and_provisioned_concurrency_are_configurable(
        synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(memory_mb="2048", max_concurrency="20", provisioned_concurrency="2")
    _, config = app.one("AWS::SageMaker::EndpointConfig")
    assert config["Properties"]["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 2048, "MaxConcurrency": 20, "ProvisionedConcurrency": 2}
    spill = [a for a in app.of_type("AWS::CloudWatch::Alarm").values()
             if a["Properties"]["MetricName"] == "ServerlessProvisionedConcurrencySpilloverInvocations"]
    assert len(spill) == 1 and spill[0]["Properties"]["Statistic"] == "Sum"
    assert spill[0]["Properties"]["Threshold"] == 0


def test_log_group_is_the_endpoints_own_with_retention_and_destroy(default_app: Synthesized) -> None:
    log_group_id, log_group = default_app.one("AWS::Logs::LogGroup")
    key_id, _ = default_app.one("AWS::KMS::Key")
    props = log_group["Properties"]
    assert props["LogGroupName"] == f"/aws/sagemaker/Endpoints/{ENDPOINT}"
    assert props["RetentionInDays"] == 30 and props["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert log_group["DeletionPolicy"] == "Delete" and log_group["UpdateReplacePolicy"] == "Delete"
    _, endpoint = default_app.one("AWS::SageMaker::Endpoint")
    assert log_group_id in endpoint["DependsOn"]


def test_key_rotates_and_lets_alarms_budgets_and_logs_use_it(default_app: Synthesized) -> None:
    _, key = default_app.one("AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    found = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    publishers = found["LetAlarmsAndBudgetsPublishToTheTopic"]
    assert sorted(publishers["Principal"]["Service"]) == ["budgets.amazonaws.com", "cloudwatch.amazonaws.com"]
    assert publishers["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    logs = found["LetCloudWatchLogsEncryptTheEndpointLogs"]
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnEquals"]


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


EXPECTED_ALARMS = {
    # metric: (statistic key, statistic, threshold in the metric's own unit)
    "Invocation5XXErrors": ("Statistic", "Average", 0.001),
    "Invocation4XXErrors": ("Statistic", "Average", 0.01),
    "ModelLatency": ("ExtendedStatistic", "p99", 1_000_000),  # 1 s in microseconds
    "ModelSetupTime": ("Statistic", "Maximum", 10_000_000),  # 10 s
}


@pytest.mark.parametrize("metric", sorted(EXPECTED_ALARMS))
def test_alarm_metric_unit_dimensions_and_actions(default_app: Synthesized, metric: str) -> None:
    alarms = [a["Properties"] for a in default_app.of_type("AWS::CloudWatch::Alarm").values()
              if a["Properties"]["MetricName"] == metric]
    assert len(alarms) == 1
    alarm = alarms[0]
    key, statistic, threshold = EXPECTED_ALARMS[metric]
    topic_id, _ = default_app.one("AWS::SNS::Topic")
    assert alarm[key] == statistic and alarm["Threshold"] == threshold
    assert alarm["Namespace"] == "AWS/SageMaker" and alarm["Dimensions"] == DIMENSIONS
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Period"] == 300
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": topic_id}] and alarm["OKActions"] == [{"Ref": topic_id}]


def test_alarm_thresholds_follow_the_context(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(alarm_latency_p99_ms="250", alarm_cold_start_ms="5000", alarm_period_minutes="1")
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in app.of_type("AWS::CloudWatch::Alarm").values()}
    assert by_metric["ModelLatency"]["Threshold"] == 250_000
    assert by_metric["ModelSetupTime"]["Threshold"] == 5_000_000
    assert {a["Period"] for a in by_metric.values()} == {60}


def test_dashboard_shows_traffic_errors_latency_cold_starts_and_utilisation(default_app: Synthesized) -> None:
    _, dashboard = default_app.one("AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency", "ModelSetupTime",
                   "OverheadLatency", "ServerlessConcurrentExecutionsUtilization", "MemoryUtilization"):
        assert metric in body
    assert "/ 1000" in body  # microseconds shown as milliseconds
    assert dashboard["Properties"]["DashboardName"] == ENDPOINT


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


def test_outputs_and_tags(default_app: Synthesized) -> None:
    outputs = default_app.template.to_json()["Outputs"]
    assert {"EndpointName", "EndpointArn", "ModelDataUrl", "ImageUri", "ModelVersion", "AlertTopicArn",
            "DashboardUrl"} <= set(outputs)
    version = model_utils.artifacts_version(default_app.config.artifacts_dir)
    assert outputs["ModelVersion"]["Value"] == version
    _, endpoint = default_app.one("AWS::SageMaker::Endpoint")
    tags = {t["Key"]: t["Value"] for t in endpoint["Properties"]["Tags"]}
    assert tags == {"project": "velib-forecast", "stage": "dev", "model_version": version}


def test_stage_names_the_stack_and_the_endpoint(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(stage="prod")
    assert app.stack.stack_name == "VelibForecast-prod"
    _, endpoint = app.one("AWS::SageMaker::Endpoint")
    assert endpoint["Properties"]["EndpointName"] == "velib-forecast-prod"


def test_synthesizing_twice_gives_the_same_template_and_asset(default_app: Synthesized, tmp_path: Any) -> None:
    from conftest import synthesize

    again = synthesize(tmp_path)
    assert again.template.to_json() == default_app.template.to_json()
    first = json.loads((default_app.outdir / "VelibForecast-dev.assets.json").read_text())["files"]
    second = json.loads((again.outdir / "VelibForecast-dev.assets.json").read_text())["files"]
    assert first.keys() == second.keys()
