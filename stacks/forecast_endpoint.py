"""Model, EndpointConfig and Endpoint, as CloudFormation resources: serverless or real-time.

Model and EndpointConfig get generated names: every property of either forces a replacement,
which a fixed name would block. The Endpoint keeps its fixed name and is updated in place, also
when the endpoint type changes, so clients never see a new name.

Deployment guardrails exist for real-time endpoints only: a serverless endpoint is always updated
all at once. A real-time update is blue/green: SageMaker starts a new fleet, sends it a canary (one
instance's share of the traffic) and rolls back by itself if a rollback alarm fires while it bakes.

An A/B on a real-time endpoint is two production variants of it, Champion and Challenger, each with its own Model
and weight; on serverless, which has one variant only, the challenger is a second ForecastEndpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Annotations
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_app.deployment.config import RealtimeSettings, ServerlessSettings
from stacks.execution_role import ExecutionRole
from stacks.model_source import ModelSource

CANARY_BAKE_SECONDS = 300  # the canary takes traffic this long, watched by the rollback alarms
FINAL_BAKE_SECONDS = 300  # then all of it, with the old fleet kept for a rollback
DEPLOYMENT_TIMEOUT_SECONDS = 3600


def container_environment(region: str, model_server_timeout_seconds: int) -> dict[str, str]:
    """What the DLC's serving toolkit reads at start."""
    return {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": region,
        # A tiny LSTM: one thread per worker is ~10x faster than torch's default thread pool.
        "OMP_NUM_THREADS": "1",
        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
        # The toolkit (2.0.25) ignores SAGEMAKER_MODEL_SERVER_TIMEOUT; TorchServe reads this one.
        "TS_DEFAULT_RESPONSE_TIMEOUT": str(model_server_timeout_seconds),
    }


@dataclass(frozen=True)
class ServedModel:
    """One production variant: its name, the model it serves, its share of the requests, and its instances
    (None: serverless)."""

    variant_name: str
    source: ModelSource
    weight: float = 1.0
    fleet: RealtimeSettings | None = None


def deployment_config(fleets: list[RealtimeSettings], rollback_alarms: list[str]
                      ) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
    """Blue/green with a one-instance canary, when one instance is at most half of every variant's fleet: SageMaker
    wants a canary "less than or equal to 50% of the variant's total instance count" (AWS::SageMaker::Endpoint
    TrafficRoutingConfig, CanarySize). So a single-instance fleet, and an A/B whose challenger runs one instance (its
    10 % share), shift all at once instead, still baked and watched by the same alarms: each variant's, with an A/B.
    Blue/green is offered on multi-variant endpoints (only rolling updates exclude them: Deployment guardrails,
    Exclusions), but it wants the same variant names before and after: adding or removing a challenger renames the
    variants (AllTraffic, or Champion and Challenger), so that one update is outside the guardrails."""
    routing = (sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
        type="CANARY", canary_size=sagemaker.CfnEndpoint.CapacitySizeProperty(type="INSTANCE_COUNT", value=1),
        wait_interval_in_seconds=CANARY_BAKE_SECONDS)
        if min(fleet.count_min for fleet in fleets) >= 2
        else sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(type="ALL_AT_ONCE"))
    return sagemaker.CfnEndpoint.DeploymentConfigProperty(
        blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=routing, termination_wait_in_seconds=FINAL_BAKE_SECONDS,
            maximum_execution_timeout_in_seconds=DEPLOYMENT_TIMEOUT_SECONDS),
        auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
            alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=name) for name in rollback_alarms]))


def unknown_instance_warning(realtime: RealtimeSettings) -> str:
    """Deployed as given, since AWS may host it; what the stack had to assume is said at synth."""
    instance = realtime.instance
    return (f"instance_type {instance.name} is not in cdk_app/deployment/instance_types.py: deployed as given, "
            f"with {instance.vcpus} vCPUs (from its size) for the CPU alarm; `cost` needs --instance-price for it")


class ForecastEndpoint(Construct):
    """`variants`: real-time, one or (an A/B) two, each with its fleet; serverless, one, with `serverless`'s
    settings. The first variant's Model keeps the construct id "Model", so adding a challenger replaces nothing of
    the champion's but what its endpoint config must."""

    def __init__(self, scope: Construct, construct_id: str, *, endpoint_name: str, variants: list[ServedModel],
                 serverless: ServerlessSettings, environment: dict[str, str], role: ExecutionRole,
                 log_group: logs.CfnLogGroup, volume_key: kms.IKey, rollback_alarms: list[str]) -> None:
        super().__init__(scope, construct_id)
        fleets = [served.fleet for served in variants if served.fleet is not None]
        realtime = bool(fleets)
        self.models = [self._model(f"{served.variant_name if number else ''}Model", served.source, environment,
                                   role, realtime) for number, served in enumerate(variants)]
        self.model = self.models[0]
        instance = fleets[0].instance if fleets else None
        if instance and not instance.known:
            Annotations.of(self).add_warning_v2("velib:unknown-instance-type", unknown_instance_warning(fleets[0]))
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self, "EndpointConfig",
            production_variants=[_variant(model.attr_model_name, served, serverless)
                                 for model, served in zip(self.models, variants, strict=True)],
            # Encrypts the instances' storage volumes; not documented for serverless, so not set there.
            kms_key_id=volume_key.key_arn if realtime else None,
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self, "Endpoint", endpoint_name=endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            deployment_config=deployment_config(fleets, rollback_alarms) if realtime else None)
        # SageMaker would otherwise create the log group itself, outside the stack, and keep it forever.
        self.endpoint.node.add_dependency(log_group)

    def _model(self, construct_id: str, source: ModelSource, environment: dict[str, str], role: ExecutionRole,
               realtime: bool) -> sagemaker.CfnModel:
        container = _container(source, environment)
        model = sagemaker.CfnModel(
            self, construct_id,
            execution_role_arn=role.role.role_arn,
            # A registry version in the form the registry documents for a model package, serverless included.
            primary_container=None if source.package_arn else container,
            containers=[container] if source.package_arn else None,
            # The container needs no network: SageMaker downloads the archive, and it has no requirements.txt.
            enable_network_isolation=True if realtime else None,
        )
        # SageMaker checks the role's access when it creates the model, so the policy must exist first.
        model.node.add_dependency(role.policy)
        if not realtime:
            model.add_metadata("checkov", {"skip": [{
                "id": "CKV_AWS_370",
                "comment": "Serverless Inference does not support network isolation (EnableNetworkIsolation)"}]})
        return model


def _container(source: ModelSource, environment: dict[str, str]) -> sagemaker.CfnModel.ContainerDefinitionProperty:
    """The image and the archive, or a registry version, whose package gives both; the serving environment either
    way, as the package carries none."""
    if source.package_arn is None:
        return sagemaker.CfnModel.ContainerDefinitionProperty(
            image=source.image_uri, model_data_url=source.model_data_url, environment=environment)
    return sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=source.package_arn,
                                                          environment=environment)


def _variant(model_name: str, served: ServedModel, serverless: ServerlessSettings
             ) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
    if served.fleet:
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=served.variant_name, model_name=model_name, instance_type=served.fleet.instance.name,
            initial_instance_count=served.fleet.count_min, initial_variant_weight=served.weight)
    return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=served.variant_name, model_name=model_name,
        serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
            memory_size_in_mb=serverless.memory_mb, max_concurrency=serverless.max_concurrency,
            provisioned_concurrency=serverless.provisioned_concurrency))
