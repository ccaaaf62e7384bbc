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
from cdk_app.deployment.registry_version import RegistryVersion
from cdk_app.lifecycle.registry import InService, Registry
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


def check_serves(serving: InService | None, endpoint_name: str, deployed: RegistryVersion) -> None:
    """The endpoint's Model names the registry version deployed: not the repository's archive, nor another version
    (a deploy without -c model_version, or a file resolved after the deploy)."""
    if serving is None or serving.package_arn != deployed.arn:
        serves = (serving.package_arn or "the repository's artifacts") if serving else "nothing"
        raise SmokeTestError(f"endpoint {endpoint_name} serves {serves}, not {deployed.describe()}, which "
                             "build/model-version.json names: deploy it with -c model_version, or delete that file")


def run_smoke_test(stack_name: str, endpoint_name: str, region: str | None = None,
                   deployed: RegistryVersion | None = None) -> None:
    """`deployed`: the registry version the stack was deployed with, whose model_version the endpoint must answer."""
    import boto3

    session = boto3.session.Session(region_name=region)
    config = check_new_config(session.client("sagemaker"), session.client("cloudformation"), stack_name,
                              endpoint_name)
    say(f"{endpoint_name} is InService on {config}")
    if deployed is not None:
        check_serves(Registry(deployed.group, session.region_name).in_service(endpoint_name), endpoint_name, deployed)
        say(f"its model is {deployed.describe()}")
    request = guide_request()
    forecast = ForecastClient(endpoint_name, region=session.region_name, cache_ttl_seconds=None).predict(request)
    capacity = request["capacity"]
    if list(forecast.predictions) != list(HORIZON_KEYS) or not all(
            0 <= v <= capacity for v in forecast.predictions.values()):
        raise SmokeTestError(f"unexpected forecast for the reference request: {forecast}")
    if deployed is not None and forecast.model_version != deployed.model_version:
        raise SmokeTestError(f"the endpoint answers model_version {forecast.model_version}, not "
                             f"{deployed.model_version} of {deployed.describe()}")
    say(f"reference request answered: {forecast.predictions} (model {forecast.model_version})")
