"""The whole stack: its inventory, outputs, tags and names, and a deterministic synth."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import model_utils
from support.synth import Synthesized


def test_resource_inventory(default_app: Synthesized) -> None:
    counts = {kind: len(default_app.of_type(kind)) for kind in {r["Type"] for r in default_app.resources.values()}}
    assert counts == {
        "AWS::Logs::LogGroup": 1, "AWS::IAM::Role": 1, "AWS::IAM::Policy": 1, "AWS::SageMaker::Model": 1,
        "AWS::SageMaker::EndpointConfig": 1, "AWS::SageMaker::Endpoint": 1, "AWS::KMS::Key": 1,
        "AWS::SNS::Topic": 1, "AWS::SNS::TopicPolicy": 1, "AWS::CloudWatch::Alarm": 4,
        "AWS::CloudWatch::Dashboard": 1, "AWS::Budgets::Budget": 1, "AWS::SageMaker::ModelPackageGroup": 1,
    }


def test_no_helper_lambdas_or_managed_policies(default_app: Synthesized) -> None:
    text = json.dumps(default_app.resources)
    assert "AWS::Lambda::Function" not in text and "Custom::" not in text
    assert "ManagedPolicyArns" not in text and "AmazonSageMakerFullAccess" not in text


def test_outputs_and_tags(default_app: Synthesized) -> None:
    outputs = default_app.template.to_json()["Outputs"]
    assert {"EndpointName", "EndpointArn", "ModelDataUrl", "ImageUri", "ModelVersion", "AlertTopicArn",
            "DashboardUrl"} <= set(outputs)
    version = model_utils.artifacts_version(default_app.config.artifacts_dir)
    assert outputs["ModelVersion"]["Value"] == version
    _, endpoint = default_app.one("AWS::SageMaker::Endpoint")
    tags = {t["Key"]: t["Value"] for t in endpoint["Properties"]["Tags"]}
    assert tags == {"project": "velib-forecast", "stage": "dev", "model_version": version}


def test_stage_names_the_stack_and_the_endpoint(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(stage="prod")
    assert app.stack.stack_name == "VelibForecast-prod"
    _, endpoint = app.one("AWS::SageMaker::Endpoint")
    assert endpoint["Properties"]["EndpointName"] == "velib-forecast-prod"


def test_synthesizing_twice_gives_the_same_template_and_asset(default_app: Synthesized, tmp_path: Any) -> None:
    from support.synth import synthesize

    again = synthesize(tmp_path)
    assert again.template.to_json() == default_app.template.to_json()
    first = json.loads((default_app.outdir / "VelibForecast-dev.assets.json").read_text())["files"]
    second = json.loads((again.outdir / "VelibForecast-dev.assets.json").read_text())["files"]
    assert first.keys() == second.keys()
