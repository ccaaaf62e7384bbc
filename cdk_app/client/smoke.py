"""Post-deploy smoke test: the endpoint serves the *new* config, and answers the reference request.

SageMaker can silently roll an endpoint back to its previous config after a failed update while
CloudFormation reports success, so "the deploy passed" is not enough: compare the endpoint's
config with the one the stack just created.
"""

from __future__ import annotations

from typing import Any

from forecast_contract import HORIZON_KEYS

from cdk_app.client.example_requests import guide_request
from cdk_app.client.forecast_client import ForecastClient
from cdk_app.progress import say

WAIT_DELAY_SECONDS = 30
WAIT_MAX_ATTEMPTS = 60  # 30 minutes: a serverless endpoint update takes a few


class SmokeTestError(RuntimeError):
    """The deployed endpoint is not what the stack says it should be."""


def stack_endpoint_config(cloudformation: Any, stack_name: str) -> str:
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    names = [r["PhysicalResourceId"] for r in resources if r.get("ResourceType") == "AWS::SageMaker::EndpointConfig"]
    if len(names) != 1:
        raise SmokeTestError(f"stack {stack_name} has {len(names)} endpoint configs, expected 1")
    return str(names[0]).rsplit("/", 1)[-1]  # the physical id of an EndpointConfig is its ARN


def check_new_config(sagemaker: Any, cloudformation: Any, stack_name: str, endpoint_name: str) -> str:
    """Wait until the endpoint settles, then require InService on the stack's own EndpointConfig."""
    expected = stack_endpoint_config(cloudformation, stack_name)
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName=endpoint_name, WaiterConfig={"Delay": WAIT_DELAY_SECONDS, "MaxAttempts": WAIT_MAX_ATTEMPTS})
    endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    if endpoint["EndpointConfigName"] != expected:
        raise SmokeTestError(f"endpoint {endpoint_name} serves {endpoint['EndpointConfigName']}, not the new "
                             f"{expected}: SageMaker rolled the update back ({endpoint.get('FailureReason', '')})")
    return expected


def run_smoke_test(stack_name: str, endpoint_name: str, region: str | None = None) -> None:
    import boto3

    session = boto3.session.Session(region_name=region)
    config = check_new_config(session.client("sagemaker"), session.client("cloudformation"), stack_name,
                              endpoint_name)
    say(f"{endpoint_name} is InService on {config}")
    request = guide_request()
    forecast = ForecastClient(endpoint_name, region=session.region_name, cache_ttl_seconds=None).predict(request)
    capacity = request["capacity"]
    if list(forecast.predictions) != list(HORIZON_KEYS) or not all(
            0 <= v <= capacity for v in forecast.predictions.values()):
        raise SmokeTestError(f"unexpected forecast for the reference request: {forecast}")
    say(f"reference request answered: {forecast.predictions} (model {forecast.model_version})")
