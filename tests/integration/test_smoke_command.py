"""`python -m cdk_app smoke` against the emulator: it catches what a green `cdk deploy` can hide.

A stack with a Model, an EndpointConfig and the Endpoint is created in moto; then the endpoint is moved to
another config behind the stack's back (SageMaker's silent rollback), or the endpoint answers a forecast
out of range. Each time smoke must exit non-zero and say why.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from cdk_app.deployment.config import VARIANT_NAME, load_project_config
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


def create_stack(emulator: Emulator, *, with_endpoint: bool) -> None:
    config = load_project_config(ACCOUNT, stage=STAGE)
    template = json.loads(json.dumps(TEMPLATE))
    if with_endpoint:
        template["Resources"]["Endpoint"]["Properties"]["EndpointName"] = config.endpoint_name
    else:
        del template["Resources"]["Endpoint"]
    emulator.client("cloudformation").create_stack(StackName=config.stack_name, TemplateBody=json.dumps(template))


@pytest.fixture
def deployed(emulator: Emulator) -> Emulator:
    create_stack(emulator, with_endpoint=True)
    return emulator


def answers(emulator: Emulator, predictions: dict[str, float]) -> None:
    """What the emulated endpoint will answer to InvokeEndpoint (moto's own API for it)."""
    body = {"station_code": "16107", "predictions": predictions, "inference_time_ms": 1.0, "model_version": "x",
            "station_known": True, "warnings": []}
    results = {"account_id": ACCOUNT, "region": emulator.region,
               "results": [{"Body": json.dumps(body), "ContentType": "application/json"}]}
    request = urllib.request.Request(f"{emulator.url}/moto-api/static/sagemaker/endpoint-results",
                                     data=json.dumps(results).encode(), method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def smoke(emulator: Emulator) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cdk_app", "smoke", "--stage", STAGE], cwd=REPO_ROOT,
                          env=emulator.environment(), capture_output=True, text=True, timeout=180)


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
