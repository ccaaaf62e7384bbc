"""What an A/B deploy (`challenger_version`) must leave in the emulated account, and what promoting or dropping the
challenger must, checked with boto3. checks.py checks both models' variants, alarms and log groups with the rest of
a deployment; these check what is the A/B's own: the second endpoint or variant, the model each serves, the role's
archives, the outputs, and that the champion's endpoint keeps its name and ARN throughout.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cdk_app.deployment.config import ChallengerSettings, DeploymentConfig, log_group_name_for
from cdk_app.deployment.dlc_image import partition_of
from cdk_app.deployment.model_archive import archive_bytes
from cdk_app.paths import MODEL_CODE_DIR
from cdk_app.rehearsal.checks import (
    check,
    check_endpoint,
    check_serverless_endpoint,
    endpoint_alarms,
    inline_statements,
    missing,
)
from cdk_app.rehearsal.emulator import Emulator


def endpoint_arn(emulator: Emulator, config: DeploymentConfig) -> str:
    """The champion's endpoint's ARN, which no A/B transition may change."""
    return str(emulator.client("sagemaker").describe_endpoint(EndpointName=config.endpoint_name)["EndpointArn"])


def check_challenger(emulator: Emulator, config: DeploymentConfig, outputs: dict[str, str], arn_before: str
                     ) -> list[str]:
    """The challenger serves beside the champion: serverless, on a second endpoint under the derived name, without
    the champion's provisioned concurrency; real-time, as the Challenger variant (check_endpoint has checked the two
    variants' weights and fleets). Its model serves its own source, the role reads both archives, the outputs name it,
    and the champion's endpoint is the one it was (`arn_before`), updated in place."""
    challenger, variant = config.challenger, config.challenger_variant
    check(challenger is not None and variant is not None, "the step deployed no challenger")
    assert challenger is not None and variant is not None
    check(endpoint_arn(emulator, config) == arn_before, "the champion's endpoint was replaced, not updated")
    _, described = check_endpoint(emulator, config)
    if config.realtime is None:
        _, second_config = check_serverless_endpoint(emulator, variant.endpoint_name, config.challenger_serverless)
        check(outputs.get("ChallengerEndpointName") == variant.endpoint_name,
              f"ChallengerEndpointName output is {outputs.get('ChallengerEndpointName')}")
        model = _model(emulator, second_config["ProductionVariants"][0])
        where = [f"second endpoint {variant.endpoint_name} InService, serverless {config.serverless.memory_mb} MB x "
                 f"{config.serverless.max_concurrency}, no provisioned concurrency",
                 f"{config.endpoint_name} kept its name and ARN"]
    else:
        check(outputs.get("ChallengerVariantName") == variant.name,
              f"ChallengerVariantName output is {outputs.get('ChallengerVariantName')}")
        champion, second_variant = described["ProductionVariants"]
        model = _model(emulator, second_variant)
        where = [f"variants {champion['VariantName']} {champion['InitialVariantWeight']:g} x "
                 f"{champion['InitialInstanceCount']} and {second_variant['VariantName']} "
                 f"{second_variant['InitialVariantWeight']:g} x {second_variant['InitialInstanceCount']}",
                 "same endpoint and ARN, updated in place"]
    check(outputs.get("ChallengerModelVersion") == challenger.model_version,
          f"ChallengerModelVersion output is {outputs.get('ChallengerModelVersion')}")
    champion_model = _model(emulator, described["ProductionVariants"][0])
    partition = partition_of(config.region)
    archives = {f"arn:{partition}:s3:::{_archive_url(emulator, m).removeprefix('s3://')}"
                for m in (champion_model, model)}
    role = model["ExecutionRoleArn"].rsplit("/", 1)[1]
    granted = {s["Sid"]: s["Resource"] for s in inline_statements(emulator, role)}["ReadModelArchive"]
    check(set(granted if isinstance(granted, list) else [granted]) == archives,
          f"the role reads {granted}, not the two archives {sorted(archives)}")
    return [*where, check_serves(emulator, model, challenger, "challenger"), "role reads both archives, no other",
            "ChallengerModelVersion output"]


def check_challenger_gone(emulator: Emulator, config: DeploymentConfig, previous: DeploymentConfig, arn_before: str
                          ) -> list[str]:
    """After a promote or a drop (`previous` had the challenger, `config` has none): serverless, the second
    endpoint, its config, model, log group and alarms are gone; real-time, one variant is left (check_endpoint);
    either way the champion's endpoint kept its name and ARN."""
    variant = previous.challenger_variant
    check(config.challenger is None and variant is not None, "the step did not end an A/B")
    assert variant is not None
    check(endpoint_arn(emulator, config) == arn_before, "the champion's endpoint was replaced, not updated")
    _, described = check_endpoint(emulator, config)
    sagemaker = emulator.client("sagemaker")
    if variant.endpoint_name == config.endpoint_name:
        return [f"one variant left, {described['ProductionVariants'][0]['VariantName']}",
                "same endpoint and ARN, updated in place"]
    check(missing(lambda: sagemaker.describe_endpoint(EndpointName=variant.endpoint_name)),
          f"{variant.endpoint_name} still exists")
    left = {"endpoint configs": sagemaker.list_endpoint_configs()["EndpointConfigs"],
            "models": sagemaker.list_models()["Models"]}
    check(all(len(found) == 1 for found in left.values()), f"the champion's should be alone: {left}")
    check(emulator.client("logs").describe_log_groups(
        logGroupNamePrefix=log_group_name_for(variant.endpoint_name))["logGroups"] == [],
        f"{variant.endpoint_name}'s log group is left")
    check(not [key for key in endpoint_alarms(emulator) if key[0] == variant.endpoint_name],
          f"{variant.endpoint_name}'s alarms are left")
    return [f"{variant.endpoint_name}, its config, model, log group and alarms deleted",
            f"{config.endpoint_name} kept its name and ARN"]


def check_serves(emulator: Emulator, model: dict[str, Any], source: ChallengerSettings, role: str) -> str:
    """The Model serves `source`: its registry version's package, or its folder's archive, byte for byte as the
    stack packs it (`role`: whose model this is, for the message)."""
    if source.registry_version is not None:
        version = source.registry_version
        packages = [container.get("ModelPackageName") for container in model.get("Containers", [])]
        check(packages == [version.arn], f"the {role}'s model names {packages}, not [{version.arn}]")
        return f"the {role}'s model names version {version.version} of {version.group}"
    assert source.artifacts_dir is not None  # the config gives one or the other
    bucket, key = _archive_url(emulator, model).removeprefix("s3://").split("/", 1)
    served = hashlib.sha256(emulator.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
    check(served == hashlib.sha256(archive_bytes(source.artifacts_dir, MODEL_CODE_DIR)).hexdigest(),
          f"the {role}'s model serves {bucket}/{key}, not {source.artifacts_dir}'s archive")
    return f"the {role}'s model serves its folder's archive (model_version {source.model_version})"


def _model(emulator: Emulator, variant: dict[str, Any]) -> dict[str, Any]:
    return dict(emulator.client("sagemaker").describe_model(ModelName=variant["ModelName"]))


def _archive_url(emulator: Emulator, model: dict[str, Any]) -> str:
    """The archive a Model serves: its container's, or its registry version's."""
    container = model.get("PrimaryContainer") or model["Containers"][0]
    if "ModelPackageName" not in container:
        return str(container["ModelDataUrl"])
    package = emulator.client("sagemaker").describe_model_package(ModelPackageName=container["ModelPackageName"])
    return str(package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"])
