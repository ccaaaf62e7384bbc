"""A registry version deployed with `model_version`: the Model names its package, nothing is uploaded, the role may
read that version's archive only, and the Endpoint is the same resource under the same name (a rollback is an
ordinary update). cdk-nag, cfn-lint and checkov run on this mode in test_nag_and_linters."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match
from support.synth import MODEL_VERSION_FIXTURE, Synthesized, synthesize

from cdk_app.deployment import registry_version
from cdk_app.deployment.registry_version import read_version_file
from stacks.forecast_endpoint import container_environment

VERSION = read_version_file(MODEL_VERSION_FIXTURE)


@pytest.fixture
def version_app(synth_app: Callable[..., Synthesized], monkeypatch: pytest.MonkeyPatch) -> Synthesized:
    monkeypatch.setattr(registry_version, "MODEL_VERSION_FILE", MODEL_VERSION_FIXTURE)
    return synth_app(model_version="3")


def test_the_model_names_the_version_and_keeps_the_serving_environment(version_app: Synthesized) -> None:
    _, model = version_app.one("AWS::SageMaker::Model")
    assert "PrimaryContainer" not in model["Properties"]
    assert model["Properties"]["Containers"] == [{"ModelPackageName": VERSION.arn,
                                                  "Environment": container_environment("eu-west-3", 60)}]


def test_the_endpoint_is_the_same_resource_under_the_same_name(version_app: Synthesized, default_app: Synthesized
                                                               ) -> None:
    (logical_id, endpoint), (default_id, default) = (app.one("AWS::SageMaker::Endpoint")
                                                     for app in (version_app, default_app))
    assert logical_id == default_id
    assert endpoint["Properties"]["EndpointName"] == default["Properties"]["EndpointName"] == "velib-forecast-dev"


def test_nothing_is_uploaded_and_the_role_reads_that_version_only(version_app: Synthesized) -> None:
    files = json.loads((version_app.outdir / "VelibForecast-dev.assets.json").read_text())["files"]
    assert not [f for f in files.values() if f["source"]["path"].endswith(".tar.gz")]
    _, policy = version_app.one("AWS::IAM::Policy")
    resources = {s["Sid"]: s["Resource"] for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert resources["ReadModelArchive"] == VERSION.object_arn
    assert resources["PullServingImage"] == VERSION.repository_arn


def test_the_outputs_and_tags_say_which_version_serves(version_app: Synthesized) -> None:
    outputs = {name: output["Value"] for name, output in version_app.template.to_json()["Outputs"].items()}
    assert (outputs["ModelPackageArn"], outputs["ModelVersion"], outputs["ModelDataUrl"], outputs["ImageUri"]) == (
        VERSION.arn, VERSION.model_version, VERSION.model_data_url, VERSION.image)
    _, model = version_app.one("AWS::SageMaker::Model")
    assert {"Key": "model_version", "Value": VERSION.model_version} in model["Properties"]["Tags"]
    Annotations.from_stack(version_app.stack).has_no_warning("*", Match.any_value())


def test_the_artifacts_mode_has_no_package(default_app: Synthesized) -> None:
    assert "ModelPackageArn" not in default_app.template.to_json()["Outputs"]
    _, model = default_app.one("AWS::SageMaker::Model")
    assert "Containers" not in model["Properties"]


def test_real_time_serves_a_version_with_network_isolation(synth_app: Callable[..., Synthesized],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_version, "MODEL_VERSION_FILE", MODEL_VERSION_FIXTURE)
    _, model = synth_app(model_version="3", endpoint_type="realtime").one("AWS::SageMaker::Model")
    assert model["Properties"]["EnableNetworkIsolation"] is True
    assert model["Properties"]["Containers"][0]["ModelPackageName"] == VERSION.arn


def test_a_forced_unapproved_version_is_deployed_with_a_one_line_warning(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    rejected = tmp_path / "model-version.json"
    rejected.write_text(json.dumps({**json.loads(MODEL_VERSION_FIXTURE.read_text()), "status": "Rejected"}))
    monkeypatch.setattr(registry_version, "MODEL_VERSION_FILE", rejected)
    app = synthesize(tmp_path / "cdk.out", model_version="3", model_version_force="true")
    warnings = Annotations.from_stack(app.stack).find_warning("*", Match.any_value())
    assert [w.entry.data for w in warnings] == [
        "model_version: deploying version 3 of velib-forecast-dev, which is Rejected, not Approved "
        "(model_version_force=true) [ack: velib:unapproved-model-version]"]
    assert app.one("AWS::SageMaker::Model")[1]["Properties"]["Containers"][0]["ModelPackageName"] == VERSION.arn
