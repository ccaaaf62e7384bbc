"""What each rehearsal step must have left in the emulated account, checked with boto3.

Every expected value comes from the DeploymentConfig the step deployed (loaded from cdk.json with the
step's overrides), never from a literal, so a changed default in cdk.json is checked as it is. With an A/B these
check both models' variants, alarms and log groups; ab_checks.py checks what is the A/B's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from cdk_app.deployment.config import DeploymentConfig, ServerlessSettings, log_group_name_for
from cdk_app.deployment.dlc_image import dlc_image
from cdk_app.rehearsal.emulator import ACCOUNT, Emulator
from stacks.alarm_specs import NAMESPACE, ROLLBACK_ALARMS, AlarmSpec, variant_alarm_specs
from stacks.cost_budget import THRESHOLDS
from stacks.endpoint_scaling import INSTANCE_COUNT, PROVISIONED_CONCURRENCY, PROVISIONED_FLOOR
from stacks.warm_pings import ping_group_name

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


def endpoint_label(config: DeploymentConfig) -> str:
    if config.realtime:
        return (f"realtime {config.realtime.count_min}-{config.realtime.count_max} x "
                f"{config.realtime.instance.name}")
    return f"serverless {config.serverless.memory_mb} MB x {config.serverless.max_concurrency}"


def check_endpoint(emulator: Emulator, config: DeploymentConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """InService, on an endpoint config of the type and with the settings `config` asks for: real-time, each
    variant's name, weight, instance type and count (a real-time A/B has two)."""
    if config.realtime is None:
        return check_serverless_endpoint(emulator, config.endpoint_name, config.serverless)
    endpoint, described = _in_service(emulator, config.endpoint_name)
    found = [(v["VariantName"], v.get("InitialVariantWeight"), v.get("InstanceType"), v.get("InitialInstanceCount"),
              "ServerlessConfig" in v) for v in described["ProductionVariants"]]
    wanted = [(variant.name, weight, fleet.instance.name, fleet.count_min, False)
              for variant, weight, fleet in config.endpoint_variants if fleet is not None]
    check(found == wanted, f"variants (name, weight, instance type and count, serverless) are {found}, not {wanted}")
    return endpoint, described


def check_serverless_endpoint(emulator: Emulator, name: str, settings: ServerlessSettings
                              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """InService, with one variant whose ServerlessConfig is `settings`' (the champion's, or a challenger's)."""
    endpoint, described = _in_service(emulator, name)
    (variant,) = described["ProductionVariants"]
    expected = {"MemorySizeInMB": settings.memory_mb, "MaxConcurrency": settings.max_concurrency}
    if settings.provisioned_concurrency is not None:
        expected["ProvisionedConcurrency"] = settings.provisioned_concurrency
    found = variant.get("ServerlessConfig")
    check(found == expected, f"{name}'s serverless config is {found}, not {expected}")
    return endpoint, described


def _in_service(emulator: Emulator, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    sagemaker = emulator.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=name)
    check(endpoint["EndpointStatus"] == "InService", f"endpoint {name} is {endpoint['EndpointStatus']}")
    return endpoint, sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])


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
    return [f"endpoint InService, {endpoint_label(config)}", "model image and data URL",
            *check_role(emulator, model["ExecutionRoleArn"]), *check_alarms(emulator, config, outputs),
            *check_guardrails(emulator, config), *check_scaling(emulator, config),
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
    sids = {s["Sid"] for s in inline_statements(emulator, role_name)}
    check(sids == ROLE_STATEMENTS, f"role statements are {sorted(sids)}")
    return [f"role trust and {len(ROLE_STATEMENTS)} statements"]


def inline_statements(emulator: Emulator, role_name: str) -> list[dict[str, Any]]:
    """Every statement of the role's inline policies."""
    iam = emulator.client("iam")
    return [statement for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
            for statement in iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]["Statement"]]


def endpoint_alarms(emulator: Emulator) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The account's alarms on endpoint metrics, by (endpoint, variant, metric name)."""
    found = {}
    for alarm in emulator.client("cloudwatch").describe_alarms()["MetricAlarms"]:
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        if "EndpointName" in dimensions:
            found[dimensions["EndpointName"], dimensions.get("VariantName", ""), alarm["MetricName"]] = alarm
    return found


def check_alarms(emulator: Emulator, config: DeploymentConfig, outputs: dict[str, str]) -> list[str]:
    """The alarms the stack's own specs call for, on each model's variant, at the thresholds the config sets."""
    by_variant = variant_alarm_specs(config)
    expected = {(variant.endpoint_name, variant.name, s.metric_name): s for variant, specs in by_variant
                for s in specs}
    found = endpoint_alarms(emulator)
    check({k: a["Threshold"] for k, a in found.items()} == {k: s.threshold for k, s in expected.items()},
          f"alarms are {[(k, a['Threshold']) for k, a in found.items()]}, expected {list(expected)}")
    for key, alarm in found.items():
        check(alarm["AlarmActions"] == [outputs["AlertTopicArn"]] == alarm["OKActions"],
              f"{key} alarm actions are {alarm['AlarmActions']} and {alarm['OKActions']}")
        check(alarm["TreatMissingData"] == "notBreaching" and alarm["Namespace"] == expected[key].namespace,
              "alarm missing-data treatment or namespace")
        check(alarm["Period"] == config.alarms.period_minutes * 60, f"alarm period {alarm['Period']}")
    if len(by_variant) == 1:
        return [f"{len(found)} endpoint alarms ({', '.join(sorted(_short(s) for s in by_variant[0][1]))})"]
    return [f"{len(specs)} {variant.role} alarms on {variant.endpoint_name} {variant.name} "
            f"({', '.join(sorted(_short(s) for s in specs))})" for variant, specs in by_variant]


def _short(spec: AlarmSpec) -> str:
    return spec.construct_id if spec.namespace == NAMESPACE else f"instance {spec.metric_name}"


def check_guardrails(emulator: Emulator, config: DeploymentConfig) -> list[str]:
    """Real-time: blue/green with a canary, rolled back by the 5XX and latency alarms; serverless: none."""
    found = emulator.client("sagemaker").describe_endpoint(EndpointName=config.endpoint_name).get(
        "LastDeploymentConfig")
    if config.realtime is None:
        check(found is None, f"a serverless endpoint has a deployment config: {found}")
        return ["no deployment guardrails (serverless)"]
    check(found is not None, "the real-time endpoint has no deployment config")
    assert found is not None
    routing = found["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    alarms = endpoint_alarms(emulator)
    rollback = sorted(alarms[variant.endpoint_name, variant.name, s.metric_name]["AlarmName"]
                      for variant, specs in variant_alarm_specs(config) for s in specs
                      if s.construct_id in ROLLBACK_ALARMS)
    check(sorted(a["AlarmName"] for a in found["AutoRollbackConfiguration"]["Alarms"]) == rollback,
          f"rollback alarms are {found['AutoRollbackConfiguration']}, expected {rollback}")
    fleets = [fleet for _, _, fleet in config.endpoint_variants if fleet is not None]
    wanted = "CANARY" if min(fleet.count_min for fleet in fleets) >= 2 else "ALL_AT_ONCE"
    check(routing["Type"] == wanted, f"traffic routing is {routing}, expected {wanted}")
    return [f"blue/green {wanted.lower().replace('_', '-')}, rollback on {' and '.join(ROLLBACK_ALARMS)}"
            + (" of either variant" if len(fleets) > 1 else "")]


def check_scaling(emulator: Emulator, config: DeploymentConfig) -> list[str]:
    """The scalable target, its policy or scheduled actions, and the ping schedules the mode calls for."""
    scaling = emulator.client("application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    policies = scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    actions = scaling.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"]
    pings = check_pings(emulator, config)
    warm = config.serverless.warm
    champion = config.champion_variant
    resource = f"endpoint/{champion.endpoint_name}/variant/{champion.name}"
    found = [(t["ResourceId"], t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"]) for t in targets]
    scaled = [(variant, fleet) for variant, _, fleet in config.endpoint_variants if fleet and fleet.autoscaled]
    if scaled:
        check(sorted(found) == sorted((f"endpoint/{variant.endpoint_name}/variant/{variant.name}", INSTANCE_COUNT,
                                       fleet.count_min, fleet.count_max) for variant, fleet in scaled),
              f"scalable targets are {found}")
        check(len(policies) == len(scaled), f"scaling policies are {policies}")
        for policy in policies:  # every variant's fleet tracks the same load per instance
            tracking = policy["TargetTrackingScalingPolicyConfiguration"]
            check(tracking["TargetValue"] == scaled[0][1].invocations_per_instance and tracking[
                "PredefinedMetricSpecification"]["PredefinedMetricType"] == "SageMakerVariantInvocationsPerInstance",
                f"scaling policy is {tracking}")
        check(actions == [], f"scheduled actions on a real-time endpoint: {actions}")
        return [f"autoscaling {fleet.count_min}-{fleet.count_max} instances"
                f"{f' ({variant.name})' if len(config.endpoint_variants) > 1 else ''} at "
                f"{fleet.invocations_per_instance} invocations/instance/min" for variant, fleet in scaled] + pings
    check(policies == [], f"scaling policies are {policies}")
    if warm is None or warm.strategy != "provisioned":
        check(targets == [] and actions == [], f"scalable targets {targets}, scheduled actions {actions}")
        return ["no scalable target", *pings]
    high = config.serverless.provisioned_concurrency
    check(found == [(resource, PROVISIONED_CONCURRENCY, PROVISIONED_FLOOR, high)], f"scalable targets are {found}")
    scheduled = sorted((a["Schedule"], a.get("Timezone"), a["ScalableTargetAction"]["MinCapacity"],
                        a["ScalableTargetAction"]["MaxCapacity"]) for a in actions)
    expected = sorted((cron, warm.timezone, *(2 * (high if up else PROVISIONED_FLOOR,)))
                      for cron, up in warm.transitions())
    check(scheduled == expected, f"scheduled actions are {scheduled}, expected {expected}")
    return [f"provisioned concurrency {PROVISIONED_FLOOR}-{high}", f"{len(actions)} scheduled actions in "
            f"{warm.timezone}", *pings]


def check_pings(emulator: Emulator, config: DeploymentConfig) -> list[str]:
    """With warm_strategy=ping: the schedules, their target and role, and the alarm on failed pings."""
    scheduler = emulator.client("scheduler")
    warm = config.serverless.warm
    listed = [s for s in scheduler.list_schedules()["Schedules"]
              if s["GroupName"] == ping_group_name(config.endpoint_name)]  # not the collector's
    if warm is None or warm.strategy != "ping":
        check(listed == [], f"ping schedules exist: {listed}")
        return []
    schedules = [scheduler.get_schedule(Name=s["Name"], GroupName=s["GroupName"]) for s in listed]
    check(sorted(s["ScheduleExpression"] for s in schedules) == sorted(warm.ping_schedules())
          and {s["ScheduleExpressionTimezone"] for s in schedules} == {warm.timezone},
          f"ping schedules are {[(s['ScheduleExpression'], s['ScheduleExpressionTimezone']) for s in schedules]}")
    targets = [s["Target"] for s in schedules]
    check(all(t["Arn"].endswith(":aws-sdk:sagemakerruntime:invokeEndpoint") for t in targets),
          f"ping targets are {[t['Arn'] for t in targets]}")
    check(all(json.loads(t["Input"])["EndpointName"] == config.endpoint_name for t in targets), "ping input")
    statements = inline_statements(emulator, targets[0]["RoleArn"].rsplit("/", 1)[1])
    endpoint_arn = emulator.client("sagemaker").describe_endpoint(EndpointName=config.endpoint_name)["EndpointArn"]
    check([(st["Action"], st["Resource"]) for st in statements] == [("sagemaker:InvokeEndpoint", endpoint_arn)],
          f"the ping role may {statements}")
    alarms = [a for a in emulator.client("cloudwatch").describe_alarms()["MetricAlarms"]
              if a["Namespace"] == "AWS/Scheduler"]
    check([(a["MetricName"], a["Dimensions"][0]["Value"]) for a in alarms]
          == [("TargetErrorCount", schedules[0]["GroupName"])], f"ping alarms are {alarms}")
    return [f"{len(schedules)} ping schedules in {warm.timezone}", "ping role: InvokeEndpoint on this endpoint only",
            "alarm on failed pings"]


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
    """The endpoint's log group, and serverless mode's challenger endpoint's (the prefix finds both)."""
    groups = emulator.client("logs").describe_log_groups(logGroupNamePrefix=config.log_group_name)["logGroups"]
    challenger = config.challenger_variant
    names = {config.log_group_name, *([log_group_name_for(challenger.endpoint_name)]
                                      if challenger and challenger.endpoint_name != config.endpoint_name else [])}
    check({g["logGroupName"]: g.get("retentionInDays") for g in groups} == dict.fromkeys(
        names, config.log_retention_days), f"log groups are {groups}")
    return [f"{'log group' if len(names) == 1 else f'{len(names)} log groups'} retention "
            f"{config.log_retention_days} d"]


def check_update(emulator: Emulator, config: DeploymentConfig, before: Deployed, outputs: dict[str, str]
                 ) -> list[str]:
    endpoint, described = check_endpoint(emulator, config)
    check(endpoint["EndpointName"] == config.endpoint_name, "the endpoint was renamed")
    check(endpoint["EndpointConfigName"] != before.endpoint_config, "the endpoint config was not replaced")
    check(outputs["ModelVersion"] != before.outputs["ModelVersion"]
          and outputs["ModelDataUrl"] != before.outputs["ModelDataUrl"], "the model did not change")
    sagemaker = emulator.client("sagemaker")
    check(missing(lambda: sagemaker.describe_endpoint_config(EndpointConfigName=before.endpoint_config)),
          f"the old endpoint config {before.endpoint_config} still exists")
    check(missing(lambda: sagemaker.describe_model(ModelName=before.model)),
          f"the old model {before.model} still exists")
    new_model = sagemaker.describe_model(ModelName=described["ProductionVariants"][0]["ModelName"])
    check(new_model["PrimaryContainer"]["ModelDataUrl"] == outputs["ModelDataUrl"], "new model data URL")
    return ["same endpoint name", f"new config {endpoint_label(config)}", "old config and model gone",
            f"model {before.outputs['ModelVersion']} -> {outputs['ModelVersion']}"]


def check_destroyed(emulator: Emulator, config: DeploymentConfig, retained: frozenset[str] = frozenset()
                    ) -> list[str]:
    """Nothing of the stack is left but the `retained` buckets (the collector's history), which must be."""
    sagemaker = emulator.client("sagemaker")
    toolkit = emulator.client("cloudformation").describe_stacks(StackName="CDKToolkit")["Stacks"][0]["Outputs"]
    buckets = {b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]} - {
        o["OutputValue"] for o in toolkit if o["OutputKey"] == "BucketName"}
    check(retained <= buckets, f"retained buckets {sorted(retained - buckets)} are gone")
    leftovers = {
        "endpoints": sagemaker.list_endpoints()["Endpoints"],
        "endpoint configs": sagemaker.list_endpoint_configs()["EndpointConfigs"],
        "models": sagemaker.list_models()["Models"],
        "pipelines": sagemaker.list_pipelines()["PipelineSummaries"],
        "model package groups": sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"],
        "alarms": emulator.client("cloudwatch").describe_alarms()["MetricAlarms"],
        "topics": emulator.client("sns").list_topics()["Topics"],
        "budgets": emulator.client("budgets").describe_budgets(AccountId=ACCOUNT).get("Budgets", []),
        "log groups": emulator.client("logs").describe_log_groups()["logGroups"],  # the endpoint's, the collector's
        "dashboards": emulator.client("cloudwatch").list_dashboards()["DashboardEntries"],
        "scalable targets": emulator.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="sagemaker")["ScalableTargets"],
        "schedules": emulator.client("scheduler").list_schedules()["Schedules"],
        "schedule groups": [g for g in emulator.client("scheduler").list_schedule_groups()["ScheduleGroups"]
                            if g["Name"] != "default"],
        "functions": emulator.client("lambda").list_functions()["Functions"],
        "roles": [r["RoleName"] for r in emulator.client("iam").list_roles()["Roles"]
                  if not r["RoleName"].startswith("cdk-")],  # the bootstrap's stay
        "buckets": sorted(buckets - retained),
    }
    check(not any(leftovers.values()), f"left behind: { {k: v for k, v in leftovers.items() if v} }")
    stacks = emulator.client("cloudformation").list_stacks()["StackSummaries"]
    check(all(s["StackStatus"] == "DELETE_COMPLETE" for s in stacks if s["StackName"] == config.stack_name),
          "the stack is not deleted")
    return [f"no {name}" for name in leftovers] + [f"only the retained history bucket {name} left"
                                                   for name in sorted(retained)]


def missing(call: Callable[[], object]) -> bool:
    """The describe call fails: what it describes is gone."""
    try:
        call()
    except ClientError:
        return True
    return False
