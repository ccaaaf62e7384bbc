"""`python -m cdk_app smoke` against the emulator: it catches what a green `cdk deploy` can hide.

A stack with a Model, an EndpointConfig and the Endpoint is created in moto; then the endpoint is moved to
another config behind the stack's back (SageMaker's silent rollback), or the endpoint answers a forecast
out of range, or, after a registry version was deployed, serves another model than the version
build/model-version.json names. Each time smoke must exit non-zero and say why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from forecast_contract import artifacts_version

from cdk_app.deployment.config import VARIANT_NAME, challenger_endpoint_name_for, load_project_config
from cdk_app.deployment.registry_version import RegistryVersion
from cdk_app.paths import ARTIFACTS_DIR, REPO_ROOT
from cdk_app.rehearsal.emulator import ACCOUNT, Emulator

pytestmark = pytest.mark.emulator
STAGE = "smoke"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/smoke"


def endpoint_config(model: Any) -> dict[str, Any]:
    return {"ProductionVariants": [{"VariantName": VARIANT_NAME, "ModelName": model,
                                    "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1}}]}


TEMPLATE = {"Resources": {
    "Model": {"Type": "AWS::SageMaker::Model",
              "Properties": {"ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": "image"}}},
    "Config": {"Type": "AWS::SageMaker::EndpointConfig",
               "Properties": endpoint_config({"Fn::GetAtt": ["Model", "ModelName"]})},
    "Endpoint": {"Type": "AWS::SageMaker::Endpoint",
                 "Properties": {"EndpointName": "", "EndpointConfigName": {"Fn::GetAtt": ["Config",
                                                                                          "EndpointConfigName"]}}},
}}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(load_project_config(ACCOUNT, stage=STAGE).region) as running:
        yield running


def create_stack(emulator: Emulator, *, package_arn: str | None = None, challenger_endpoint: bool = False) -> None:
    """The stack's Model serves an image, or the registry version `package_arn` names; with `challenger_endpoint`, a
    second Model, config and endpoint, as a serverless A/B deploys them."""
    config = load_project_config(ACCOUNT, stage=STAGE)
    template = json.loads(json.dumps(TEMPLATE))
    resources = template["Resources"]
    if package_arn is not None:
        model = resources["Model"]["Properties"]
        del model["PrimaryContainer"]
        model["Containers"] = [{"ModelPackageName": package_arn}]
    resources["Endpoint"]["Properties"]["EndpointName"] = config.endpoint_name
    if challenger_endpoint:
        second = json.loads(json.dumps(TEMPLATE).replace('"Model"', '"ChallengerModel"').replace(
            '"Config"', '"ChallengerConfig"'))["Resources"]
        second["Endpoint"]["Properties"]["EndpointName"] = challenger_endpoint_name_for(STAGE)
        resources.update({f"Challenger{name}" if name == "Endpoint" else name: value for name, value in second.items()})
    emulator.client("cloudformation").create_stack(StackName=config.stack_name, TemplateBody=json.dumps(template))


@pytest.fixture
def deployed(emulator: Emulator) -> Emulator:
    create_stack(emulator)
    return emulator


def answers(emulator: Emulator, predictions: dict[str, float], model_version: str = "x",
            *more: tuple[dict[str, float], str]) -> None:
    """What the emulated endpoints will answer to InvokeEndpoint (moto's own API for it), in the order asked:
    (predictions, model_version), then each of `more`."""
    results = [{"Body": json.dumps({"station_code": "16107", "predictions": p, "inference_time_ms": 1.0,
                                    "model_version": v, "station_known": True, "warnings": []}),
                "ContentType": "application/json"} for p, v in ((predictions, model_version), *more)]
    request = urllib.request.Request(f"{emulator.url}/moto-api/static/sagemaker/endpoint-results",
                                     data=json.dumps({"account_id": ACCOUNT, "region": emulator.region,
                                                      "results": results}).encode(), method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def smoke(emulator: Emulator, version_file: Path | None = None, *context: str) -> subprocess.CompletedProcess[str]:
    """`version_file`: build/model-version.json as resolve-model wrote it (default: none); `context`: -c values."""
    file = version_file or Path("/nonexistent/model-version.json")
    return subprocess.run([sys.executable, "-m", "cdk_app", "smoke", "--stage", STAGE, "--model-version-file",
                           str(file), *(f"--context={c}" for c in context)], cwd=REPO_ROOT,
                          env=emulator.environment(), capture_output=True, text=True, timeout=180)


def registered(emulator: Emulator, tmp_path: Path) -> tuple[str, Path]:
    """A version in the stage's group, and the file resolve-model writes for it: its ARN and the file's path."""
    sagemaker = emulator.client("sagemaker")
    group = load_project_config(ACCOUNT, stage=STAGE).endpoint_name
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    image = "763104351884.dkr.ecr.eu-west-3.amazonaws.com/pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-sagemaker"
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": image, "ModelDataUrl": "s3://models/1/model.tar.gz"}],
                                "SupportedContentTypes": ["application/json"],
                                "SupportedResponseMIMETypes": ["application/json"]},
        CustomerMetadataProperties={"model_version": "3f2a9c1b7e40"})["ModelPackageArn"]
    path = tmp_path / "model-version.json"
    path.write_text(json.dumps(asdict(RegistryVersion(group, 1, arn, "Approved", "s3://models/1/model.tar.gz",
                                                      "3f2a9c1b7e40", image, 1))))
    return arn, path


def test_a_healthy_deploy_passes(deployed: Emulator) -> None:
    answers(deployed, {"T+1h": 10.0, "T+2h": 9.5, "T+3h": 9.0})
    result = smoke(deployed)
    assert result.returncode == 0, result.stderr
    assert "InService" in result.stderr and "reference request answered" in result.stderr


def test_a_silent_rollback_is_caught(emulator: Emulator) -> None:
    # The stack holds the new config, but the endpoint still runs on the old one, as after SageMaker rolled
    # a failed update back while CloudFormation reported success (moto has no UpdateEndpoint: the endpoint is made
    # again under its name, on the old config).
    create_stack(emulator)
    sagemaker = emulator.client("sagemaker")
    sagemaker.create_model(ModelName="old", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "old"})
    sagemaker.create_endpoint_config(EndpointConfigName="old-config", **endpoint_config("old"))
    name = load_project_config(ACCOUNT, stage=STAGE).endpoint_name
    sagemaker.delete_endpoint(EndpointName=name)
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName="old-config")
    result = smoke(emulator)
    assert result.returncode == 1
    assert "serves old-config, not the new" in result.stderr and "rolled the update back" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_forecast_out_of_range_is_caught(deployed: Emulator) -> None:
    answers(deployed, {"T+1h": 10.0, "T+2h": 99.0, "T+3h": 9.0})
    result = smoke(deployed)
    assert result.returncode == 1
    assert "unexpected forecast for the reference request" in result.stderr and "99.0" in result.stderr


def test_a_deployed_version_is_served_and_answers_its_model_version(emulator: Emulator, tmp_path: Path) -> None:
    arn, version_file = registered(emulator, tmp_path)
    create_stack(emulator, package_arn=arn)
    answers(emulator, {"T+1h": 10.0, "T+2h": 9.5, "T+3h": 9.0}, model_version="3f2a9c1b7e40")
    result = smoke(emulator, version_file)
    assert result.returncode == 0, result.stderr
    assert "its model is version 1 of velib-forecast-smoke" in result.stderr


def test_another_model_version_in_the_answers_is_caught(emulator: Emulator, tmp_path: Path) -> None:
    arn, version_file = registered(emulator, tmp_path)
    create_stack(emulator, package_arn=arn)
    answers(emulator, {"T+1h": 10.0, "T+2h": 9.5, "T+3h": 9.0}, model_version="0123456789ab")
    result = smoke(emulator, version_file)
    assert result.returncode == 1
    assert "the champion answers model_version 0123456789ab, not 3f2a9c1b7e40 of version 1" in result.stderr


def test_a_deploy_that_did_not_take_the_version_is_caught(deployed: Emulator, tmp_path: Path) -> None:
    _, version_file = registered(deployed, tmp_path)
    result = smoke(deployed, version_file)
    assert result.returncode == 1
    assert ("endpoint velib-forecast-smoke serves the repository's artifacts, not version 1 of velib-forecast-smoke"
            in result.stderr) and "Traceback" not in result.stderr


# ---------------------------------------------------------------- an A/B

FORECAST = {"T+1h": 10.0, "T+2h": 9.5, "T+3h": 9.0}


@pytest.fixture
def challenger(tmp_path: Path) -> tuple[Path, str]:
    """Another artifacts folder (its config.json differs by a byte, so its hash does) and that hash."""
    folder = tmp_path / "challenger"
    shutil.copytree(ARTIFACTS_DIR, folder)
    (folder / "config.json").write_text((ARTIFACTS_DIR / "config.json").read_text() + " ")
    return folder, artifacts_version(folder)


def test_a_serverless_ab_checks_the_challengers_own_endpoint_and_model(emulator: Emulator,
                                                                        challenger: tuple[Path, str]) -> None:
    """moto keys its answers by the request's headers and body, not by endpoint (it reads EndpointName from the
    query, where boto3 does not put it), so both endpoints get this one answer; the champion's model_version is
    not checked without a registry version, the challenger's always is."""
    folder, version = challenger
    create_stack(emulator, challenger_endpoint=True)
    answers(emulator, FORECAST, version)
    result = smoke(emulator, None, f"challenger_version={folder}")
    assert result.returncode == 0, result.stderr
    assert f"{challenger_endpoint_name_for(STAGE)} is InService" in result.stderr
    assert f"reference request answered by the challenger: {FORECAST} (model {version})" in result.stderr


def test_a_challenger_answering_another_model_is_caught(emulator: Emulator, challenger: tuple[Path, str]) -> None:
    folder, version = challenger
    create_stack(emulator, challenger_endpoint=True)
    answers(emulator, FORECAST, "0123456789ab")
    result = smoke(emulator, None, f"challenger_version={folder}")
    assert result.returncode == 1
    assert (f"the challenger answers model_version 0123456789ab, not {version} of challenger_version {folder}"
            in result.stderr)


def test_a_serverless_ab_whose_challenger_endpoint_was_not_deployed_is_caught(
        deployed: Emulator, challenger: tuple[Path, str]) -> None:
    result = smoke(deployed, None, f"challenger_version={challenger[0]}")
    assert result.returncode == 1
    assert f"the stack has no endpoint {challenger_endpoint_name_for(STAGE)}" in result.stderr


def test_a_realtime_ab_asks_each_variant_by_name(deployed: Emulator, challenger: tuple[Path, str]) -> None:
    """One endpoint: the weights would pick the variant at random, so each is asked with TargetVariant (moto keys
    its answers by that header too, so a request without it would get neither of these)."""
    folder, version = challenger
    answers(deployed, FORECAST, "x", (FORECAST, version))
    result = smoke(deployed, None, "endpoint_type=realtime", f"challenger_version={folder}")
    assert result.returncode == 0, result.stderr
    assert "answered by the champion" in result.stderr and f"answered by the challenger: {FORECAST} (model {version})" \
        in result.stderr
