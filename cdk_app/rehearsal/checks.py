"""What each rehearsal step must have left in the emulated account, checked with boto3.

Every expected value comes from the DeploymentConfig the step deployed (loaded from cdk.json with the
step's overrides), never from a literal, so a changed default in cdk.json is checked as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from cdk_app.deployment.config import VARIANT_NAME, DeploymentConfig
from cdk_app.deployment.dlc_image import dlc_image
from cdk_app.rehearsal.emulator import ACCOUNT, Emulator
from stacks.alarm_specs import alarm_specs
from stacks.cost_budget import THRESHOLDS

OUTPUTS = ("EndpointName", "EndpointArn", "ModelDataUrl", "ImageUri", "ModelVersion", "AlertTopicArn", "DashboardUrl")
ROLE_STATEMENTS = {"ReadModelArchive", "PullServingImage", "AuthenticateToRegistry", "WriteEndpointLogs",
                   "PublishMetrics"}


class RehearsalError(RuntimeError):
    """A step did not leave the account as it should have; the message says what differed."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise RehearsalError(message)


@dataclass(frozen=True)
class Deployed:
    """What one deploy left behind, for the steps after it to compare with."""

    outputs: dict[str, str]
    endpoint_config: str
    model: str


def serverless_label(config: DeploymentConfig) -> str:
    return f"{config.serverless.memory_mb} MB x {config.serverless.max_concurrency}"


def check_endpoint(emulator: Emulator, config: DeploymentConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """InService, on a serverless config with the settings `config` asks for."""
    sagemaker = emulator.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=config.endpoint_name)
    check(endpoint["EndpointStatus"] == "InService", f"endpoint is {endpoint['EndpointStatus']}")
    described = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    (variant,) = described["ProductionVariants"]
    expected = {"MemorySizeInMB": config.serverless.memory_mb, "MaxConcurrency": config.serverless.max_concurrency}
    if config.serverless.provisioned_concurrency is not None:
        expected["ProvisionedConcurrency"] = config.serverless.provisioned_concurrency
    check(variant["ServerlessConfig"] == expected, f"serverless config is {variant['ServerlessConfig']}")
    return endpoint, described


def deployed(emulator: Emulator, config: DeploymentConfig, outputs: dict[str, str]) -> Deployed:
    endpoint, described = check_endpoint(emulator, config)
    return Deployed(outputs, endpoint["EndpointConfigName"], described["ProductionVariants"][0]["ModelName"])


def check_deployment(emulator: Emulator, config: DeploymentConfig, outputs: dict[str, str]) -> list[str]:
    check(set(OUTPUTS) <= set(outputs), f"stack outputs are {sorted(outputs)}")
    check(outputs["EndpointName"] == config.endpoint_name, f"EndpointName output is {outputs['EndpointName']}")
    _, described = check_endpoint(emulator, config)
    sagemaker = emulator.client("sagemaker")
    model = sagemaker.describe_model(ModelName=described["ProductionVariants"][0]["ModelName"])
    container = model["PrimaryContainer"]
    image = dlc_image(config.region, config.image_tag).uri
    check(container["Image"] == image, f"model image is {container['Image']}, not {image}")
    check(container["ModelDataUrl"] == outputs["ModelDataUrl"], "model data URL differs from the output")
    bucket, key = outputs["ModelDataUrl"].removeprefix("s3://").split("/", 1)
    emulator.client("s3").head_object(Bucket=bucket, Key=key)
    return [f"endpoint InService, serverless {serverless_label(config)}", "model image and data URL",
            *check_role(emulator, model["ExecutionRoleArn"]), *check_alarms(emulator, config, outputs),
            *check_alerts_and_budget(emulator, config, outputs), *check_log_group(emulator, config),
            f"{len(OUTPUTS)} stack outputs"]


def check_role(emulator: Emulator, role_arn: str) -> list[str]:
    iam = emulator.client("iam")
    role_name = role_arn.rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    check([s["Principal"] for s in trust["Statement"]] == [{"Service": "sagemaker.amazonaws.com"}],
          f"role trust is {trust}")
    check(iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == [],
          "the role has managed policies")
    sids = {s["Sid"] for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
            for s in iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]["Statement"]}
    check(sids == ROLE_STATEMENTS, f"role statements are {sorted(sids)}")
    return [f"role trust and {len(ROLE_STATEMENTS)} statements"]


def check_alarms(emulator: Emulator, config: DeploymentConfig, outputs: dict[str, str]) -> list[str]:
    """The alarms the stack's own specs call for, at the thresholds the config sets."""
    specs = alarm_specs(config.alarms, config.serverless.provisioned_concurrency is not None)
    alarms = emulator.client("cloudwatch").describe_alarms()["MetricAlarms"]
    by_metric = {a["MetricName"]: a for a in alarms}
    expected = {s.metric_name: s.threshold for s in specs}
    check(len(alarms) == len(specs) and {m: by_metric[m]["Threshold"] for m in expected if m in by_metric} == expected,
          f"alarms are {[(a['MetricName'], a['Threshold']) for a in alarms]}, expected {expected}")
    for alarm in by_metric.values():
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        check(dimensions == {"EndpointName": config.endpoint_name, "VariantName": VARIANT_NAME},
              f"dimensions {dimensions}")
        check(alarm["AlarmActions"] == [outputs["AlertTopicArn"]] == alarm["OKActions"], "alarm actions")
        check(alarm["TreatMissingData"] == "notBreaching" and alarm["Namespace"] == "AWS/SageMaker",
              "alarm missing-data treatment or namespace")
        check(alarm["Period"] == config.alarms.period_minutes * 60, f"alarm period {alarm['Period']}")
    return [f"{len(alarms)} alarms (metric, threshold, dimensions, period, actions)"]


def check_alerts_and_budget(emulator: Emulator, config: DeploymentConfig, outputs: dict[str, str]) -> list[str]:
    attributes = emulator.client("sns").get_topic_attributes(TopicArn=outputs["AlertTopicArn"])
    check(bool(attributes["Attributes"].get("KmsMasterKeyId")), "the alert topic is not encrypted")
    budgets_client = emulator.client("budgets")
    budgets = budgets_client.describe_budgets(AccountId=ACCOUNT).get("Budgets", [])
    if config.budget_usd is None:
        check(budgets == [], f"budget_usd=0, yet budgets are {budgets}")
        return ["topic encrypted", "no budget (budget_usd=0)"]
    amount = f"{config.budget_usd:g}"
    check(len(budgets) == 1 and budgets[0]["BudgetLimit"] == {"Amount": amount, "Unit": "USD"}
          and budgets[0]["TimeUnit"] == "MONTHLY", f"budgets are {budgets}")
    notifications = budgets_client.describe_notifications_for_budget(
        AccountId=ACCOUNT, BudgetName=budgets[0]["BudgetName"])["Notifications"]
    found = sorted((n["NotificationType"], n["Threshold"]) for n in notifications)
    check(found == sorted((kind, float(percent)) for kind, percent in THRESHOLDS),
          f"budget notifications are {notifications}")
    shown = " / ".join(f"{percent}% {kind.lower()}" for kind, percent in THRESHOLDS)
    return ["topic encrypted", f"budget {amount} USD, {shown}"]


def check_log_group(emulator: Emulator, config: DeploymentConfig) -> list[str]:
    groups = emulator.client("logs").describe_log_groups(logGroupNamePrefix=config.log_group_name)["logGroups"]
    check(len(groups) == 1 and groups[0].get("retentionInDays") == config.log_retention_days,
          f"log groups are {groups}")
    return [f"log group retention {config.log_retention_days} d"]


def check_update(emulator: Emulator, config: DeploymentConfig, before: Deployed, outputs: dict[str, str]
                 ) -> list[str]:
    endpoint, described = check_endpoint(emulator, config)
    check(endpoint["EndpointName"] == config.endpoint_name, "the endpoint was renamed")
    check(endpoint["EndpointConfigName"] != before.endpoint_config, "the endpoint config was not replaced")
    check(outputs["ModelVersion"] != before.outputs["ModelVersion"]
          and outputs["ModelDataUrl"] != before.outputs["ModelDataUrl"], "the model did not change")
    sagemaker = emulator.client("sagemaker")
    check(_missing(lambda: sagemaker.describe_endpoint_config(EndpointConfigName=before.endpoint_config)),
          f"the old endpoint config {before.endpoint_config} still exists")
    check(_missing(lambda: sagemaker.describe_model(ModelName=before.model)),
          f"the old model {before.model} still exists")
    new_model = sagemaker.describe_model(ModelName=described["ProductionVariants"][0]["ModelName"])
    check(new_model["PrimaryContainer"]["ModelDataUrl"] == outputs["ModelDataUrl"], "new model data URL")
    return ["same endpoint name", f"new config {serverless_label(config)}", "old config and model gone",
            f"model {before.outputs['ModelVersion']} -> {outputs['ModelVersion']}"]


def check_destroyed(emulator: Emulator, config: DeploymentConfig) -> list[str]:
    sagemaker = emulator.client("sagemaker")
    leftovers = {
        "endpoints": sagemaker.list_endpoints()["Endpoints"],
        "endpoint configs": sagemaker.list_endpoint_configs()["EndpointConfigs"],
        "models": sagemaker.list_models()["Models"],
        "alarms": emulator.client("cloudwatch").describe_alarms()["MetricAlarms"],
        "topics": emulator.client("sns").list_topics()["Topics"],
        "budgets": emulator.client("budgets").describe_budgets(AccountId=ACCOUNT).get("Budgets", []),
        "log groups": emulator.client("logs").describe_log_groups(logGroupNamePrefix=config.log_group_name)[
            "logGroups"],
        "dashboards": emulator.client("cloudwatch").list_dashboards()["DashboardEntries"],
    }
    check(not any(leftovers.values()), f"left behind: { {k: v for k, v in leftovers.items() if v} }")
    stacks = emulator.client("cloudformation").list_stacks()["StackSummaries"]
    check(all(s["StackStatus"] == "DELETE_COMPLETE" for s in stacks if s["StackName"] == config.stack_name),
          "the stack is not deleted")
    return [f"no {name}" for name in leftovers]


def _missing(call: Callable[[], object]) -> bool:
    try:
        call()
    except ClientError:
        return True
    return False
