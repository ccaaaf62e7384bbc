"""Post-deploy smoke test: the endpoint serves the *new* config, and answers the reference request.

SageMaker can silently roll an endpoint back to its previous config after a failed update while
CloudFormation reports success, so "the deploy passed" is not enough: compare the endpoint's
config with the one the stack just created.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from forecast_contract import HORIZON_KEYS

from cdk_app.client.example_requests import guide_request
from cdk_app.client.forecast_client import ForecastClient
from cdk_app.deployment.config import CHALLENGER, CHAMPION, DeploymentConfig
from cdk_app.deployment.registry_version import RegistryVersion
from cdk_app.lifecycle.registry import InService, Registry
from cdk_app.progress import say

WAIT_DELAY_SECONDS = 30
WAIT_MAX_ATTEMPTS = 60  # 30 minutes: a serverless endpoint update takes a few


class SmokeTestError(RuntimeError):
    """The deployed endpoint is not what the stack says it should be."""


def stack_endpoint_configs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """Each endpoint of the stack, by name, with the EndpointConfig the stack just gave it (an A/B on serverless has
    two endpoints), read from the template's references and the stack's physical ids."""
    physical = {r["LogicalResourceId"]: str(r["PhysicalResourceId"]).rsplit("/", 1)[-1]  # ids of both are ARNs
                for r in cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]}
    body = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    resources = (json.loads(body) if isinstance(body, str) else body)["Resources"]
    configs = {physical[logical]: physical[resource["Properties"]["EndpointConfigName"]["Fn::GetAtt"][0]]
               for logical, resource in resources.items() if resource["Type"] == "AWS::SageMaker::Endpoint"}
    if not configs:
        raise SmokeTestError(f"stack {stack_name} has no endpoint")
    return configs


def check_new_config(sagemaker: Any, expected: dict[str, str], endpoint_name: str) -> str:
    """Wait until the endpoint settles, then require InService on the stack's own EndpointConfig."""
    if endpoint_name not in expected:
        raise SmokeTestError(f"the stack has no endpoint {endpoint_name} (it has {', '.join(sorted(expected))})")
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName=endpoint_name, WaiterConfig={"Delay": WAIT_DELAY_SECONDS, "MaxAttempts": WAIT_MAX_ATTEMPTS})
    endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    if endpoint["EndpointConfigName"] != expected[endpoint_name]:
        raise SmokeTestError(f"endpoint {endpoint_name} serves {endpoint['EndpointConfigName']}, not the new "
                             f"{expected[endpoint_name]}: SageMaker rolled the update back "
                             f"({endpoint.get('FailureReason', '')})")
    return expected[endpoint_name]


def check_serves(serving: InService | None, endpoint_name: str, deployed: RegistryVersion) -> None:
    """The endpoint's Model names the registry version deployed: not the repository's archive, nor another version
    (a deploy without -c model_version, or a file resolved after the deploy)."""
    if serving is None or serving.package_arn != deployed.arn:
        serves = (serving.package_arn or "the repository's artifacts") if serving else "nothing"
        raise SmokeTestError(f"endpoint {endpoint_name} serves {serves}, not {deployed.describe()}, which "
                             "build/model-version.json names: deploy it with -c model_version, or delete that file")


@dataclass(frozen=True)
class Served:
    """One model the deploy serves: the champion, or an A/B's challenger (its own endpoint on serverless, a variant
    of the same endpoint on real-time, asked with TargetVariant since the weights would pick at random)."""

    role: str
    endpoint_name: str
    target_variant: str | None = None
    model_version: str | None = None  # what it must answer, when known before the request
    source: str = ""  # where that model_version comes from, for the message


def run_smoke_test(stack_name: str, served: list[Served], region: str | None = None,
                   deployed: RegistryVersion | None = None) -> None:
    """`served[0]` is the champion; `deployed`: the registry version it was deployed with."""
    import boto3

    session = boto3.session.Session(region_name=region)
    sagemaker = session.client("sagemaker")
    expected = stack_endpoint_configs(session.client("cloudformation"), stack_name)
    for endpoint_name in dict.fromkeys(s.endpoint_name for s in served):
        say(f"{endpoint_name} is InService on {check_new_config(sagemaker, expected, endpoint_name)}")
    champion = served[0]
    if deployed is not None:
        check_serves(Registry(deployed.group, session.region_name).in_service(champion.endpoint_name),
                     champion.endpoint_name, deployed)
        say(f"its model is {deployed.describe()}")
    for model in served:
        _check_answer(ForecastClient(model.endpoint_name, region=session.region_name, cache_ttl_seconds=None,
                                     target_variant=model.target_variant), model)


def _check_answer(client: ForecastClient, model: Served) -> None:
    request = guide_request()
    forecast = client.predict(request)
    capacity = request["capacity"]
    if list(forecast.predictions) != list(HORIZON_KEYS) or not all(
            0 <= v <= capacity for v in forecast.predictions.values()):
        raise SmokeTestError(f"unexpected forecast for the reference request from the {model.role}: {forecast}")
    if model.model_version is not None and forecast.model_version != model.model_version:
        raise SmokeTestError(f"the {model.role} answers model_version {forecast.model_version}, not "
                             f"{model.model_version} of {model.source}")
    say(f"reference request answered by the {model.role}: {forecast.predictions} (model {forecast.model_version})")


def served_models(config: DeploymentConfig, deployed: RegistryVersion | None) -> list[Served]:
    """The champion, then the challenger, where the config deploys them."""
    ab_on_one_endpoint = config.realtime is not None and config.challenger is not None
    champion = config.champion_variant
    models = [Served(CHAMPION, champion.endpoint_name, champion.name if ab_on_one_endpoint else None,
                     deployed.model_version if deployed is not None else None,
                     deployed.describe() if deployed is not None else "")]
    challenger, settings = config.challenger_variant, config.challenger
    if challenger is not None and settings is not None:
        source = (settings.registry_version.describe() if settings.registry_version is not None
                  else f"challenger_version {settings.artifacts_dir}")
        models.append(Served(CHALLENGER, challenger.endpoint_name, challenger.name if ab_on_one_endpoint else None,
                             settings.model_version, source))
    return models
