"""`python -m cdk_app smoke` against the emulator: it catches what a green `cdk deploy` can hide.

A stack with a Model, an EndpointConfig and the Endpoint is created in moto; then the endpoint is moved to
another config behind the stack's back (SageMaker's silent rollback), or the endpoint answers a forecast
out of range, or, after a registry version was deployed, serves another model than the version
build/model-version.json names. Each time smoke must exit non-zero and say why.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from cdk_app.deployment.config import VARIANT_NAME, load_project_config
from cdk_app.deployment.registry_version import RegistryVersion
from cdk_app.paths import REPO_ROOT
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


def create_stack(emulator: Emulator, *, with_endpoint: bool, package_arn: str | None = None) -> None:
    """The stack's Model serves an image, or the registry version `package_arn` names."""
    config = load_project_config(ACCOUNT, stage=STAGE)
    template = json.loads(json.dumps(TEMPLATE))
    if package_arn is not None:
        model = template["Resources"]["Model"]["Properties"]
        del model["PrimaryContainer"]
        model["Containers"] = [{"ModelPackageName": package_arn}]
    if with_endpoint:
        template["Resources"]["Endpoint"]["Properties"]["EndpointName"] = config.endpoint_name
    else:
        del template["Resources"]["Endpoint"]
    emulator.client("cloudformation").create_stack(StackName=config.stack_name, TemplateBody=json.dumps(template))


@pytest.fixture
def deployed(emulator: Emulator) -> Emulator:
    create_stack(emulator, with_endpoint=True)
    return emulator


def answers(emulator: Emulator, predictions: dict[str, float], model_version: str = "x") -> None:
    """What the emulated endpoint will answer to InvokeEndpoint (moto's own API for it)."""
    body = {"station_code": "16107", "predictions": predictions, "inference_time_ms": 1.0,
            "model_version": model_version, "station_known": True, "warnings": []}
    results = {"account_id": ACCOUNT, "region": emulator.region,
               "results": [{"Body": json.dumps(body), "ContentType": "application/json"}]}
    request = urllib.request.Request(f"{emulator.url}/moto-api/static/sagemaker/endpoint-results",
                                     data=json.dumps(results).encode(), method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def smoke(emulator: Emulator, version_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`version_file`: build/model-version.json as resolve-model wrote it (default: none)."""
    file = version_file or Path("/nonexistent/model-version.json")
    return subprocess.run([sys.executable, "-m", "cdk_app", "smoke", "--stage", STAGE, "--model-version-file",
                           str(file)], cwd=REPO_ROOT, env=emulator.environment(), capture_output=True, text=True,
                          timeout=180)


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
    # a failed update back while CloudFormation reported success.
    create_stack(emulator, with_endpoint=False)
    sagemaker = emulator.client("sagemaker")
    sagemaker.create_model(ModelName="old", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "old"})
    sagemaker.create_endpoint_config(EndpointConfigName="old-config", **endpoint_config("old"))
    sagemaker.create_endpoint(EndpointName=load_project_config(ACCOUNT, stage=STAGE).endpoint_name,
                              EndpointConfigName="old-config")
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
    create_stack(emulator, with_endpoint=True, package_arn=arn)
    answers(emulator, {"T+1h": 10.0, "T+2h": 9.5, "T+3h": 9.0}, model_version="3f2a9c1b7e40")
    result = smoke(emulator, version_file)
    assert result.returncode == 0, result.stderr
    assert "its model is version 1 of velib-forecast-smoke" in result.stderr


def test_another_model_version_in_the_answers_is_caught(emulator: Emulator, tmp_path: Path) -> None:
    arn, version_file = registered(emulator, tmp_path)
    create_stack(emulator, with_endpoint=True, package_arn=arn)
    answers(emulator, {"T+1h": 10.0, "T+2h": 9.5, "T+3h": 9.0}, model_version="0123456789ab")
    result = smoke(emulator, version_file)
    assert result.returncode == 1
    assert "the endpoint answers model_version 0123456789ab, not 3f2a9c1b7e40 of version 1" in result.stderr


def test_a_deploy_that_did_not_take_the_version_is_caught(deployed: Emulator, tmp_path: Path) -> None:
    _, version_file = registered(deployed, tmp_path)
    result = smoke(deployed, version_file)
    assert result.returncode == 1
    assert ("endpoint velib-forecast-smoke serves the repository's artifacts, not version 1 of velib-forecast-smoke"
            in result.stderr) and "Traceback" not in result.stderr
