"""The three serving modes in the template: warm hours by each strategy, and the real-time endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match
from model_utils import validate_input
from support.synth import ENDPOINT, Synthesized

from cdk_app.deployment.warm_hours import WarmHours, parse_windows

WARM = "Mon-Fri 07:00-10:00,16:30-20:00"
PING = {"warm_hours": WARM}
PROVISIONED = {"warm_hours": WARM, "warm_strategy": "provisioned", "provisioned_concurrency": "3"}
REALTIME = {"endpoint_type": "realtime"}
RESOURCE_ID = f"endpoint/{ENDPOINT}/variant/AllTraffic"


def warm(strategy: str) -> WarmHours:
    return WarmHours(parse_windows(WARM), "Europe/Paris", strategy)


def alarm_ids(app: Synthesized) -> dict[str, str]:
    """Alarm logical ids by metric name."""
    return {a["Properties"]["MetricName"]: k for k, a in app.of_type("AWS::CloudWatch::Alarm").items()}


# ---------------------------------------------------------------- warm hours: ping

def test_pings_run_on_scheduler_in_the_warm_hours_and_zone(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**PING)
    schedules = list(app.of_type("AWS::Scheduler::Schedule").values())
    assert sorted(s["Properties"]["ScheduleExpression"] for s in schedules) == sorted(warm("ping").ping_schedules())
    group_id, group = app.one("AWS::Scheduler::ScheduleGroup")
    for schedule in schedules:
        props = schedule["Properties"]
        assert props["ScheduleExpressionTimezone"] == "Europe/Paris"
        assert props["GroupName"] == group["Properties"]["Name"] and group_id in schedule["DependsOn"]
        assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
        target = props["Target"]
        assert target["Arn"] == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"},
                                                   ":scheduler:::aws-sdk:sagemakerruntime:invokeEndpoint"]]}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0


def test_a_ping_is_a_request_the_model_accepts(synth_app: Callable[..., Synthesized]) -> None:
    schedule = next(iter(synth_app(**PING).of_type("AWS::Scheduler::Schedule").values()))
    ping = json.loads(schedule["Properties"]["Target"]["Input"])
    assert ping["EndpointName"] == ENDPOINT and ping["ContentType"] == "application/json"
    validate_input(json.loads(ping["Body"]))  # raises on anything the endpoint would answer 4XX to


def test_the_ping_role_may_only_invoke_this_endpoint(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**PING)
    endpoint_id, _ = app.one("AWS::SageMaker::Endpoint")
    schedule = next(iter(app.of_type("AWS::Scheduler::Schedule").values()))
    role_id = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    trust = app.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [(s["Principal"], s["Condition"]) for s in trust] == [
        ({"Service": "scheduler.amazonaws.com"}, {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}})]
    statements = [s for p in app.of_type("AWS::IAM::Policy").values() if {"Ref": role_id} in p["Properties"]["Roles"]
                  for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert [(s["Action"], s["Resource"]) for s in statements] == [("sagemaker:InvokeEndpoint", {"Ref": endpoint_id})]


def test_failed_pings_raise_an_alarm(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**PING)
    alarm = app.resources[alarm_ids(app)["TargetErrorCount"]]["Properties"]
    _, group = app.one("AWS::Scheduler::ScheduleGroup")
    assert (alarm["Namespace"], alarm["Statistic"], alarm["Threshold"]) == ("AWS/Scheduler", "Sum", 0)
    assert alarm["Dimensions"] == [{"Name": "ScheduleGroup", "Value": group["Properties"]["Name"]}]
    topic_id, _ = app.one("AWS::SNS::Topic")
    assert alarm["AlarmActions"] == [{"Ref": topic_id}] == alarm["OKActions"]
    assert "AWS::ApplicationAutoScaling::ScalableTarget" not in {r["Type"] for r in app.resources.values()}


# ---------------------------------------------------------------- warm hours: provisioned

def test_provisioned_warm_hours_scale_the_concurrency_by_schedule(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**PROVISIONED)
    endpoint_id, _ = app.one("AWS::SageMaker::Endpoint")
    _, target = app.one("AWS::ApplicationAutoScaling::ScalableTarget")
    props = target["Properties"]
    assert (props["ServiceNamespace"], props["ResourceId"], props["ScalableDimension"]) == (
        "sagemaker", RESOURCE_ID, "sagemaker:variant:DesiredProvisionedConcurrency")
    assert (props["MinCapacity"], props["MaxCapacity"]) == (1, 3)  # 1 is the floor outside warm hours
    assert endpoint_id in target["DependsOn"]
    found = sorted((a["Schedule"], a["Timezone"], a["ScalableTargetAction"]["MinCapacity"],
                    a["ScalableTargetAction"]["MaxCapacity"]) for a in props["ScheduledActions"])
    assert found == sorted((cron, "Europe/Paris", *(2 * (3 if up else 1,)))
                           for cron, up in warm("provisioned").transitions())
    assert len({a["ScheduledActionName"] for a in props["ScheduledActions"]}) == 4
    _, config = app.one("AWS::SageMaker::EndpointConfig")
    assert config["Properties"]["ProductionVariants"][0]["ServerlessConfig"]["ProvisionedConcurrency"] == 3
    assert "ServerlessProvisionedConcurrencySpilloverInvocations" in alarm_ids(app)
    assert not app.of_type("AWS::Scheduler::Schedule") and not app.of_type("AWS::ApplicationAutoScaling::ScalingPolicy")


# ---------------------------------------------------------------- real-time

def test_realtime_variant_runs_on_instances_with_encrypted_volumes(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**REALTIME)
    _, config = app.one("AWS::SageMaker::EndpointConfig")
    (variant,) = config["Properties"]["ProductionVariants"]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.c5.large", 2)
    assert "ServerlessConfig" not in variant
    key_id, _ = app.one("AWS::KMS::Key")
    assert config["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    _, model = app.one("AWS::SageMaker::Model")
    assert model["Properties"]["EnableNetworkIsolation"] is True  # so no checkov skip is needed here
    assert "checkov" not in model.get("Metadata", {})


def test_realtime_updates_are_blue_green_with_a_canary_and_roll_back_on_alarms(
        synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**REALTIME)
    _, endpoint = app.one("AWS::SageMaker::Endpoint")
    deployment = endpoint["Properties"]["DeploymentConfig"]
    routing = deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "CANARY" and routing["CanarySize"] == {"Type": "INSTANCE_COUNT", "Value": 1}
    assert routing["WaitIntervalInSeconds"] > 0 and deployment["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] > 0
    ids = alarm_ids(app)
    assert deployment["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": {"Ref": ids["Invocation5XXErrors"]}}, {"AlarmName": {"Ref": ids["ModelLatency"]}}]


def test_a_single_instance_fleet_shifts_all_at_once_still_baked_and_guarded(
        synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**REALTIME, instance_count_min="1", instance_count_max="3")
    _, endpoint = app.one("AWS::SageMaker::Endpoint")
    deployment = endpoint["Properties"]["DeploymentConfig"]
    assert deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE"}
    assert len(deployment["AutoRollbackConfiguration"]["Alarms"]) == 2


def test_realtime_autoscaling_tracks_invocations_per_instance(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**REALTIME, instance_count_min="2", instance_count_max="5",
                    scaling_invocations_per_instance="450")
    target_id, target = app.one("AWS::ApplicationAutoScaling::ScalableTarget")
    props = target["Properties"]
    assert (props["ResourceId"], props["ScalableDimension"], props["MinCapacity"], props["MaxCapacity"]) == (
        RESOURCE_ID, "sagemaker:variant:DesiredInstanceCount", 2, 5)
    _, policy = app.one("AWS::ApplicationAutoScaling::ScalingPolicy")
    tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert policy["Properties"]["ScalingTargetId"] == {"Ref": target_id}
    metric = tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
    assert metric == "SageMakerVariantInvocationsPerInstance"
    assert tracking["TargetValue"] == 450


def test_a_fixed_fleet_has_no_autoscaling(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**REALTIME, instance_type="ml.t2.medium", instance_count_min="1", instance_count_max="1")
    assert not app.of_type("AWS::ApplicationAutoScaling::ScalableTarget")


def test_realtime_alarms_watch_instances_and_drop_the_serverless_ones(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**REALTIME, instance_type="ml.m5.xlarge")
    alarms = {a["Properties"]["MetricName"]: a["Properties"] for a in app.of_type("AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == {"Invocation5XXErrors", "Invocation4XXErrors", "ModelLatency", "CPUUtilization",
                           "MemoryUtilization"}
    assert alarms["CPUUtilization"]["Namespace"] == "/aws/sagemaker/Endpoints"
    assert alarms["CPUUtilization"]["Threshold"] == 80 * 4  # 4 vCPUs, up to 100% each
    assert alarms["MemoryUtilization"]["Threshold"] == 80


def test_a_type_the_table_lacks_is_deployed_as_given_with_a_warning(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**REALTIME, instance_type="ml.c7a.xlarge")
    _, config = app.one("AWS::SageMaker::EndpointConfig")
    assert config["Properties"]["ProductionVariants"][0]["InstanceType"] == "ml.c7a.xlarge"
    alarms = {a["Properties"]["MetricName"]: a["Properties"] for a in app.of_type("AWS::CloudWatch::Alarm").values()}
    assert alarms["CPUUtilization"]["Threshold"] == 80 * 4  # an xlarge's 4 vCPUs
    (warning,) = Annotations.from_stack(app.stack).find_warning("*", Match.string_like_regexp("ml.c7a.xlarge"))
    assert "--instance-price" in str(warning.entry.data)
    known = synth_app(**REALTIME, instance_type="ml.c7i.xlarge")
    assert Annotations.from_stack(known.stack).find_warning("*", Match.string_like_regexp("instance_types")) == []


def test_dashboard_and_role_follow_the_endpoint_type(synth_app: Callable[..., Synthesized]) -> None:
    def body(app: Synthesized) -> str:
        _, dashboard = app.one("AWS::CloudWatch::Dashboard")
        return json.dumps(dashboard["Properties"]["DashboardBody"])

    def role_description(app: Synthesized) -> str:
        return str(next(r["Properties"]["Description"] for r in app.of_type("AWS::IAM::Role").values()))

    realtime, serverless = synth_app(**REALTIME), synth_app()
    assert "CPUUtilization" in body(realtime) and "ServerlessConcurrentExecutionsUtilization" not in body(realtime)
    assert "ServerlessConcurrentExecutionsUtilization" in body(serverless) and "CPUUtilization" not in body(serverless)
    assert "realtime endpoint" in role_description(realtime) and "serverless endpoint" in role_description(serverless)


@pytest.mark.parametrize("mode", [PING, PROVISIONED, REALTIME], ids=["ping", "provisioned", "realtime"])
def test_every_mode_keeps_the_endpoint_its_logical_id_and_name(synth_app: Callable[..., Synthesized],
                                                               mode: dict[str, Any]) -> None:
    """A switch between modes is an update of the same Endpoint resource, never a second one."""
    default_id, _ = synth_app().one("AWS::SageMaker::Endpoint")
    endpoint_id, endpoint = synth_app(**mode).one("AWS::SageMaker::Endpoint")
    assert endpoint_id == default_id and endpoint["Properties"]["EndpointName"] == ENDPOINT


def test_serverless_has_no_guardrails_and_no_scaling(default_app: Synthesized) -> None:
    _, endpoint = default_app.one("AWS::SageMaker::Endpoint")
    assert "DeploymentConfig" not in endpoint["Properties"]
    assert not default_app.of_type("AWS::ApplicationAutoScaling::ScalableTarget")
    assert not default_app.of_type("AWS::Scheduler::Schedule")
