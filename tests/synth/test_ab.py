"""The A/B in the template (`challenger_version`): serverless, a second endpoint under a derived name, with its own
config, log group and alarms, the champion's endpoint untouched; real-time, two weighted variants of the one
endpoint, each with its own alarms and, when it has room to scale, its own scalable target; either way one role
that reads both archives, a dashboard that shows both, and a collector that forecasts with both."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match
from forecast_contract import artifacts_version
from support.synth import ENDPOINT, MODEL_VERSION_FIXTURE, Synthesized

from cdk_app.deployment.config import COLLECTOR_TIMEOUT_SECONDS
from cdk_app.deployment.registry_version import RegistryVersion, read_version_file

CHALLENGER_ENDPOINT = f"{ENDPOINT}-challenger"
REALTIME = {"endpoint_type": "realtime"}
PROVISIONED = {"warm_hours": "Mon-Fri 07:00-10:00", "warm_strategy": "provisioned", "provisioned_concurrency": "3"}
SyntheAB = Callable[..., Synthesized]


@pytest.fixture
def ab_app(synth_app: SyntheAB, challenger_dir: str) -> SyntheAB:
    """The app with the artifacts challenger and more overrides."""
    return lambda **overrides: synth_app(challenger_version=challenger_dir, **overrides)


def by_name(app: Synthesized, kind: str, name_property: str) -> dict[str, tuple[str, dict[str, Any]]]:
    return {r["Properties"][name_property]: (k, r) for k, r in app.of_type(kind).items()}


def config_of(app: Synthesized, endpoint: dict[str, Any]) -> dict[str, Any]:
    return dict(app.resources[endpoint["Properties"]["EndpointConfigName"]["Fn::GetAtt"][0]]["Properties"])


def model_of(app: Synthesized, variant: dict[str, Any]) -> dict[str, Any]:
    return dict(app.resources[variant["ModelName"]["Fn::GetAtt"][0]]["Properties"])


def alarm_dimensions(app: Synthesized) -> dict[tuple[str, str], set[str]]:
    """(endpoint, variant) -> the metric names of its alarms."""
    found: dict[tuple[str, str], set[str]] = {}
    for alarm in app.of_type("AWS::CloudWatch::Alarm").values():
        dimensions = {d["Name"]: d["Value"] for d in alarm["Properties"]["Dimensions"]}
        found.setdefault((dimensions["EndpointName"], dimensions["VariantName"]), set()).add(
            alarm["Properties"]["MetricName"])
    return found


def outputs(app: Synthesized) -> dict[str, Any]:
    return {name: output["Value"] for name, output in app.template.to_json()["Outputs"].items()}


def policy_statements(app: Synthesized, role_id: str) -> dict[str, dict[str, Any]]:
    """The role's statements, by Sid."""
    policies = [p["Properties"] for p in app.of_type("AWS::IAM::Policy").values()]
    return {s["Sid"]: s for p in policies if {"Ref": role_id} in p["Roles"] for s in p["PolicyDocument"]["Statement"]}


def test_without_a_challenger_the_weight_changes_nothing(synth_app: SyntheAB, default_app: Synthesized) -> None:
    assert synth_app(challenger_version="", challenger_weight="0.5").template.to_json() == \
        default_app.template.to_json()


# ---------------------------------------------------------------- serverless: a second endpoint

def test_serverless_challenger_is_a_second_endpoint_under_the_derived_name(
        ab_app: SyntheAB, default_app: Synthesized, challenger_dir: str) -> None:
    app = ab_app()
    endpoints = by_name(app, "AWS::SageMaker::Endpoint", "EndpointName")
    assert set(endpoints) == {ENDPOINT, CHALLENGER_ENDPOINT}
    assert app.config.challenger_endpoint_name == CHALLENGER_ENDPOINT
    (variant,) = config_of(app, endpoints[CHALLENGER_ENDPOINT][1])["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 4096, "MaxConcurrency": 5}
    champion_url = model_of(app, config_of(app, endpoints[ENDPOINT][1])["ProductionVariants"][0])
    challenger_model = model_of(app, variant)
    assert challenger_model["PrimaryContainer"]["ModelDataUrl"] != champion_url["PrimaryContainer"]["ModelDataUrl"]
    assert {"Key": "model_version", "Value": artifacts_version(challenger_dir)} in challenger_model["Tags"]
    assert {"Key": "model_version", "Value": artifacts_version(challenger_dir)} in \
        endpoints[CHALLENGER_ENDPOINT][1]["Properties"]["Tags"]
    assert outputs(app)["ChallengerModelVersion"] == artifacts_version(challenger_dir)
    assert outputs(app)["ChallengerEndpointName"] == {
        "Fn::GetAtt": [endpoints[CHALLENGER_ENDPOINT][0], "EndpointName"]}
    assert "ChallengerVariantName" not in outputs(app)


def test_the_champions_endpoint_config_and_model_are_untouched(ab_app: SyntheAB, default_app: Synthesized) -> None:
    """Same logical ids, same properties: a challenger comes and goes without replacing or updating them."""
    app = ab_app()
    for kind in ("AWS::SageMaker::Endpoint", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Model"):
        (champion_id, champion), = default_app.of_type(kind).items()
        assert app.resources[champion_id] == champion


def test_the_challengers_logs_have_their_own_encrypted_group(ab_app: SyntheAB) -> None:
    app = ab_app()
    groups = by_name(app, "AWS::Logs::LogGroup", "LogGroupName")
    log_id, group = groups[f"/aws/sagemaker/Endpoints/{CHALLENGER_ENDPOINT}"]
    key_id, key = app.one("AWS::KMS::Key")
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert group["Properties"]["RetentionInDays"] == 30 and group["DeletionPolicy"] == "Delete"
    (condition,) = [s["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
                    for s in key["Properties"]["KeyPolicy"]["Statement"]
                    if s.get("Sid") == "LetCloudWatchLogsEncryptTheChallengerLogs"]
    assert condition["Fn::Join"][1][-1] == f":log-group:/aws/sagemaker/Endpoints/{CHALLENGER_ENDPOINT}"
    endpoint_id, _ = by_name(app, "AWS::SageMaker::Endpoint", "EndpointName")[CHALLENGER_ENDPOINT]
    assert log_id in app.resources[endpoint_id]["DependsOn"]


def test_each_serverless_endpoint_has_its_own_alarms(ab_app: SyntheAB) -> None:
    found = alarm_dimensions(ab_app())
    specs = {"Invocation5XXErrors", "Invocation4XXErrors", "ModelLatency", "ModelSetupTime"}
    assert found == {(ENDPOINT, "AllTraffic"): specs, (CHALLENGER_ENDPOINT, "AllTraffic"): specs}


def test_warm_hours_and_provisioned_concurrency_are_the_champions_only(ab_app: SyntheAB) -> None:
    app = ab_app(**PROVISIONED)
    endpoints = by_name(app, "AWS::SageMaker::Endpoint", "EndpointName")
    (champion,) = config_of(app, endpoints[ENDPOINT][1])["ProductionVariants"]
    (challenger,) = config_of(app, endpoints[CHALLENGER_ENDPOINT][1])["ProductionVariants"]
    assert champion["ServerlessConfig"]["ProvisionedConcurrency"] == 3
    assert "ProvisionedConcurrency" not in challenger["ServerlessConfig"]
    _, target = app.one("AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["ResourceId"] == f"endpoint/{ENDPOINT}/variant/AllTraffic"
    found = alarm_dimensions(app)
    assert "ServerlessProvisionedConcurrencySpilloverInvocations" in found[(ENDPOINT, "AllTraffic")]
    assert "ServerlessProvisionedConcurrencySpilloverInvocations" not in found[(CHALLENGER_ENDPOINT, "AllTraffic")]


def test_one_role_reads_both_archives_and_writes_both_log_groups(ab_app: SyntheAB) -> None:
    app = ab_app()
    files = json.loads((app.outdir / "VelibForecast-dev.assets.json").read_text())["files"]
    keys = {d["objectKey"] for f in files.values() if f["source"]["path"].endswith(".tar.gz")
            for d in f["destinations"].values()}
    assert len(keys) == 2  # the champion's archive and the challenger's
    role_id, _ = next((k, r) for k, r in app.of_type("AWS::IAM::Role").items()
                      if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
                      == "sagemaker.amazonaws.com")
    statements = policy_statements(app, role_id)
    assert {arn.rsplit("/", 1)[1] for arn in statements["ReadModelArchive"]["Resource"]} == keys
    assert statements["PullServingImage"]["Resource"] == \
        "arn:aws:ecr:eu-west-3:763104351884:repository/pytorch-inference"  # both use the DLC: named once
    logs = by_name(app, "AWS::Logs::LogGroup", "LogGroupName")
    assert sorted(r["Fn::GetAtt"][0] for r in statements["WriteEndpointLogs"]["Resource"]) == sorted(
        logs[f"/aws/sagemaker/Endpoints/{name}"][0] for name in (ENDPOINT, CHALLENGER_ENDPOINT))


def test_the_dashboard_shows_both_side_by_side(ab_app: SyntheAB) -> None:
    for app, challenger in ((ab_app(), [CHALLENGER_ENDPOINT, "AllTraffic"]),
                            (ab_app(**REALTIME), [ENDPOINT, "Challenger"])):
        _, dashboard = app.one("AWS::CloudWatch::Dashboard")
        body = json.loads("".join(str(part) for part in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]))
        invocations = next(w for w in body["widgets"] if w["properties"].get("title") == "Invocations")
        lines = invocations["properties"]["metrics"]
        assert [line[-1]["label"] for line in lines] == ["champion invocations", "challenger invocations"]
        assert lines[1][2:6] == ["EndpointName", challenger[0], "VariantName", challenger[1]]
        assert "challenger p99 ms" in json.dumps(body) and dashboard["Properties"]["DashboardName"] == ENDPOINT


# ---------------------------------------------------------------- real-time: two variants

def test_realtime_challenger_is_a_second_weighted_variant_of_the_one_endpoint(
        ab_app: SyntheAB, synth_app: SyntheAB, challenger_dir: str) -> None:
    app = ab_app(**REALTIME)
    (endpoint_id, endpoint), = app.of_type("AWS::SageMaker::Endpoint").items()
    assert endpoint_id == synth_app(**REALTIME).one("AWS::SageMaker::Endpoint")[0]
    assert endpoint["Properties"]["EndpointName"] == ENDPOINT
    variants = config_of(app, endpoint)["ProductionVariants"]
    assert [(v["VariantName"], v["InitialVariantWeight"], v["InitialInstanceCount"], v["InstanceType"])
            for v in variants] == [("Champion", 0.9, 2, "ml.c5.large"), ("Challenger", 0.1, 1, "ml.c5.large")]
    champion, challenger = (model_of(app, v) for v in variants)
    assert champion["EnableNetworkIsolation"] is challenger["EnableNetworkIsolation"] is True
    assert champion["PrimaryContainer"]["ModelDataUrl"] != challenger["PrimaryContainer"]["ModelDataUrl"]
    assert {"Key": "model_version", "Value": artifacts_version(challenger_dir)} in challenger["Tags"]
    assert outputs(app)["ChallengerVariantName"] == "Challenger"
    assert outputs(app)["ChallengerModelVersion"] == artifacts_version(challenger_dir)
    assert "ChallengerEndpointName" not in outputs(app)


def test_each_variant_has_its_own_alarms_and_either_rolls_back_a_deployment(ab_app: SyntheAB) -> None:
    app = ab_app(**REALTIME)
    specs = {"Invocation5XXErrors", "Invocation4XXErrors", "ModelLatency", "CPUUtilization", "MemoryUtilization"}
    assert alarm_dimensions(app) == {(ENDPOINT, "Champion"): specs, (ENDPOINT, "Challenger"): specs}
    _, endpoint = app.one("AWS::SageMaker::Endpoint")
    deployment = endpoint["Properties"]["DeploymentConfig"]
    # a canary of one instance would be all of the challenger's one-instance fleet: SageMaker caps it at half
    assert deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE"}
    assert deployment["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] > 0
    rollback = {a["AlarmName"]["Ref"] for a in deployment["AutoRollbackConfiguration"]["Alarms"]}
    alarms = {k: a["Properties"] for k, a in app.of_type("AWS::CloudWatch::Alarm").items()}
    assert sorted((alarms[k]["MetricName"], alarms[k]["Dimensions"][1]["Value"]) for k in rollback) == [
        ("Invocation5XXErrors", "Challenger"), ("Invocation5XXErrors", "Champion"),
        ("ModelLatency", "Challenger"), ("ModelLatency", "Champion")]
    descriptions = {a["AlarmDescription"].split(":")[0] for a in alarms.values()}
    assert descriptions == {f"{ENDPOINT}, variant Champion", f"{ENDPOINT}, variant Challenger"}


def test_a_challenger_fleet_of_two_or_more_keeps_the_canary(ab_app: SyntheAB) -> None:
    app = ab_app(**REALTIME, challenger_weight="0.5", instance_count_min="4", instance_count_max="4")
    _, endpoint = app.one("AWS::SageMaker::Endpoint")
    assert [v["InitialInstanceCount"] for v in config_of(app, endpoint)["ProductionVariants"]] == [4, 2]
    routing = endpoint["Properties"]["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "CANARY" and routing["CanarySize"] == {"Type": "INSTANCE_COUNT", "Value": 1}


def test_each_variant_with_room_to_scale_has_its_own_scalable_target(ab_app: SyntheAB) -> None:
    def targets(app: Synthesized) -> list[tuple[str, int, int]]:
        return sorted((t["Properties"]["ResourceId"], t["Properties"]["MinCapacity"], t["Properties"]["MaxCapacity"])
                      for t in app.of_type("AWS::ApplicationAutoScaling::ScalableTarget").values())

    # 10 % of a 2-4 fleet is one instance at its peak too: nothing to scale
    assert targets(ab_app(**REALTIME)) == [(f"endpoint/{ENDPOINT}/variant/Champion", 2, 4)]
    app = ab_app(**REALTIME, challenger_weight="0.3")
    assert targets(app) == [(f"endpoint/{ENDPOINT}/variant/Challenger", 1, 2),
                            (f"endpoint/{ENDPOINT}/variant/Champion", 2, 4)]
    policies = [p["Properties"] for p in app.of_type("AWS::ApplicationAutoScaling::ScalingPolicy").values()]
    assert len(policies) == 2 and {p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
                                   for p in policies} == {600}
    assert {p["ScalingTargetId"]["Ref"] for p in policies} == set(
        app.of_type("AWS::ApplicationAutoScaling::ScalableTarget"))


# ---------------------------------------------------------------- the collector forecasts with both

@pytest.mark.parametrize(("mode", "environment", "invoked"), [
    ({}, {"ENDPOINT_NAME": ENDPOINT, "CHALLENGER_ENDPOINT_NAME": CHALLENGER_ENDPOINT}, [ENDPOINT, CHALLENGER_ENDPOINT]),
    (REALTIME, {"ENDPOINT_NAME": ENDPOINT, "ENDPOINT_VARIANT": "Champion", "CHALLENGER_ENDPOINT_NAME": ENDPOINT,
                "CHALLENGER_VARIANT": "Challenger"}, [ENDPOINT]),
], ids=["serverless", "realtime"])
def test_the_collector_is_told_both_and_may_invoke_them(ab_app: SyntheAB, mode: dict[str, str],
                                                        environment: dict[str, str], invoked: list[str]) -> None:
    app = ab_app(collector="true", **mode)
    _, function = app.one("AWS::Lambda::Function")
    variables = function["Properties"]["Environment"]["Variables"]
    assert {k: v for k, v in variables.items() if k not in ("FEED_URL", "HISTORY_URL")} == environment
    assert function["Properties"]["Timeout"] == COLLECTOR_TIMEOUT_SECONDS + 60  # a second forecast of up to 60 s
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = policy_statements(app, role_id)
    (invoke,) = [s for s in statements.values() if s["Action"] == "sagemaker:InvokeEndpoint"]
    endpoints = by_name(app, "AWS::SageMaker::Endpoint", "EndpointName")
    resources = invoke["Resource"] if isinstance(invoke["Resource"], list) else [invoke["Resource"]]
    assert sorted(r["Ref"] for r in resources) == sorted(endpoints[name][0] for name in invoked)


# ---------------------------------------------------------------- a registry challenger

@pytest.mark.parametrize("mode", [{}, REALTIME], ids=["serverless", "realtime"])
def test_a_registry_challenger_is_named_by_its_package_and_its_archive_is_readable(
        synth_app: SyntheAB, registry_challenger: RegistryVersion, mode: dict[str, str]) -> None:
    app = synth_app(model_version="3", challenger_version=str(registry_challenger.version), **mode)
    champion = read_version_file(MODEL_VERSION_FIXTURE)
    assert app.config.challenger is not None and app.config.challenger.registry_version == registry_challenger
    packages = sorted(c["ModelPackageName"] for m in app.of_type("AWS::SageMaker::Model").values()
                      for c in m["Properties"]["Containers"])
    assert packages == [champion.arn, registry_challenger.arn]
    (policy,) = [p for p in app.of_type("AWS::IAM::Policy").values()
                 if p["Properties"]["PolicyDocument"]["Statement"][0]["Sid"] == "ReadModelArchive"]
    assert policy["Properties"]["PolicyDocument"]["Statement"][0]["Resource"] == [
        champion.object_arn, registry_challenger.object_arn]
    assert outputs(app)["ChallengerModelVersion"] == registry_challenger.model_version
    files = json.loads((app.outdir / "VelibForecast-dev.assets.json").read_text())["files"]
    assert not [f for f in files.values() if f["source"]["path"].endswith(".tar.gz")]  # nothing uploaded
    Annotations.from_stack(app.stack).has_no_warning("*", Match.any_value())
