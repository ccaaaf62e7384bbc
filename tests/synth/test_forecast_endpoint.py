"""ForecastEndpoint, serverless: the Model on the DLC, the serverless EndpointConfig and the fixed-name Endpoint."""

from __future__ import annotations

from collections.abc import Callable

from support.synth import ENDPOINT, Synthesized


def test_model_uses_the_dlc_the_asset_and_the_serving_environment(default_app: Synthesized) -> None:
    _, model = default_app.one("AWS::SageMaker::Model")
    props = model["Properties"]
    assert "ModelName" not in props  # generated, so a replacement is never blocked by its own name
    container = props["PrimaryContainer"]
    assert container["Image"] == ("763104351884.dkr.ecr.eu-west-3.amazonaws.com/"
                                  "pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-sagemaker")
    assert container["ModelDataUrl"] == default_app.template.to_json()["Outputs"]["ModelDataUrl"]["Value"]
    env = container["Environment"]
    assert env["SAGEMAKER_PROGRAM"] == "inference.py" and env["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert env["OMP_NUM_THREADS"] == "1" and env["TS_DEFAULT_RESPONSE_TIMEOUT"] == "60"
    assert env["SAGEMAKER_REGION"] == "eu-west-3"
    role_id, _ = default_app.one("AWS::IAM::Role")
    policy_id, _ = default_app.one("AWS::IAM::Policy")
    assert props["ExecutionRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert policy_id in model["DependsOn"]


def test_serverless_config_and_names(default_app: Synthesized) -> None:
    model_id, _ = default_app.one("AWS::SageMaker::Model")
    config_id, config = default_app.one("AWS::SageMaker::EndpointConfig")
    assert "EndpointConfigName" not in config["Properties"] and "KmsKeyId" not in config["Properties"]
    assert config["Properties"]["ProductionVariants"] == [{
        "VariantName": "AllTraffic", "ModelName": {"Fn::GetAtt": [model_id, "ModelName"]},
        "ServerlessConfig": {"MemorySizeInMB": 4096, "MaxConcurrency": 5}}]
    _, endpoint = default_app.one("AWS::SageMaker::Endpoint")
    assert endpoint["Properties"]["EndpointName"] == ENDPOINT
    assert endpoint["Properties"]["EndpointConfigName"] == {"Fn::GetAtt": [config_id, "EndpointConfigName"]}


def test_memory_concurrency_and_provisioned_concurrency_are_configurable(
        synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(memory_mb="2048", max_concurrency="20", provisioned_concurrency="2")
    _, config = app.one("AWS::SageMaker::EndpointConfig")
    assert config["Properties"]["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 2048, "MaxConcurrency": 20, "ProvisionedConcurrency": 2}
    spill = [a for a in app.of_type("AWS::CloudWatch::Alarm").values()
             if a["Properties"]["MetricName"] == "ServerlessProvisionedConcurrencySpilloverInvocations"]
    assert len(spill) == 1 and spill[0]["Properties"]["Statistic"] == "Sum"
    assert spill[0]["Properties"]["Threshold"] == 0
