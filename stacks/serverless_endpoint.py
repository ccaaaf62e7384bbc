"""Model, serverless EndpointConfig and Endpoint, as CloudFormation resources.

Model and EndpointConfig get generated names: every property of either forces a replacement,
which a fixed name would block. The Endpoint keeps its fixed name and is updated in place.
"""

from __future__ import annotations

from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_app.deployment.config import VARIANT_NAME, ServerlessSettings
from stacks.execution_role import ExecutionRole


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


class ServerlessEndpoint(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, endpoint_name: str, serverless: ServerlessSettings,
                 image_uri: str, model_data_url: str, environment: dict[str, str], role: ExecutionRole,
                 log_group: logs.CfnLogGroup) -> None:
        super().__init__(scope, construct_id)
        self.model = sagemaker.CfnModel(
            self, "Model",
            execution_role_arn=role.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image_uri, model_data_url=model_data_url, environment=environment),
        )
        # SageMaker checks the role's access when it creates the model, so the policy must exist first.
        self.model.node.add_dependency(role.policy)
        self.model.add_metadata("checkov", {"skip": [{
            "id": "CKV_AWS_370",
            "comment": "Serverless Inference does not support network isolation (EnableNetworkIsolation)"}]})
        config = sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
            memory_size_in_mb=serverless.memory_mb, max_concurrency=serverless.max_concurrency,
            provisioned_concurrency=serverless.provisioned_concurrency)
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self, "EndpointConfig",
            production_variants=[sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=VARIANT_NAME, model_name=self.model.attr_model_name, serverless_config=config)],
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self, "Endpoint", endpoint_name=endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name)
        # SageMaker would otherwise create the log group itself, outside the stack, and keep it forever.
        self.endpoint.node.add_dependency(log_group)
