"""`resolve-model` against moto's Model Registry on loopback: it picks the version asked for, or the highest Approved
one, writes what synth reads, and says in one line when the group, the version or an approved one is missing."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.s3_server import moto_server
from support.synth import ACCOUNT, DEFAULT_CONTEXT

from cdk_app.cli import main
from cdk_app.deployment import registry_version
from cdk_app.deployment.config import ConfigError, endpoint_name_for, load_config
from cdk_app.deployment.registry_version import read_version_file
from cdk_app.lifecycle.model_choice import resolve_model
from cdk_app.lifecycle.registry import RegistryError

REGION = "eu-west-3"
IMAGE = "763104351884.dkr.ecr.eu-west-3.amazonaws.com/pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-sagemaker"
_STAGES = (f"resolve{n}" for n in itertools.count())


@pytest.fixture(scope="module")
def registry_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's credentials, never a profile of this machine; the file written where the test looks."""
    nowhere = str(tmp_path / "none")
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_CONFIG_FILE", nowhere), ("AWS_SHARED_CREDENTIALS_FILE", nowhere)):
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr(registry_version, "MODEL_VERSION_FILE", tmp_path / "model-version.json")
    monkeypatch.setattr(registry_version, "CHALLENGER_VERSION_FILE", tmp_path / "challenger-version.json")


def sagemaker(url: str) -> Any:
    return boto3.client("sagemaker", endpoint_url=url, region_name=REGION)


def stage_with(url: str, *statuses: str) -> str:
    """A stage of its own (moto's registry is shared by the module), its group holding a version per status."""
    stage = next(_STAGES)
    client = sagemaker(url)
    client.create_model_package_group(ModelPackageGroupName=endpoint_name_for(stage))
    for number, status in enumerate(statuses, start=1):
        client.create_model_package(
            ModelPackageGroupName=endpoint_name_for(stage), ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://models/{stage}/{number}.tar.gz"}],
                "SupportedContentTypes": ["application/json"], "SupportedResponseMIMETypes": ["application/json"]},
            CustomerMetadataProperties={"model_version": f"{number:012x}"})
    return stage


def test_a_version_number_is_resolved_and_written_for_synth(registry_url: str) -> None:
    stage = stage_with(registry_url, "Approved", "Approved", "Approved")
    version = resolve_model(stage, 2, REGION, registry_url)
    assert (version.group, version.version, version.status, version.requested) == (
        endpoint_name_for(stage), 2, "Approved", 2)
    assert version.arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{endpoint_name_for(stage)}/2"
    assert (version.model_data_url, version.model_version, version.image) == (
        f"s3://models/{stage}/2.tar.gz", "000000000002", IMAGE)
    assert read_version_file() == version
    served = load_config({**DEFAULT_CONTEXT, "stage": stage, "model_version": "2"}, ACCOUNT).registry_version
    assert served == version


def test_latest_approved_is_the_highest_approved_version(registry_url: str) -> None:
    stage = stage_with(registry_url, "Approved", "Approved", "Rejected", "PendingManualApproval")
    version = resolve_model(stage, "latest-approved", REGION, registry_url)
    assert (version.version, version.requested) == (2, "latest-approved")
    context = {**DEFAULT_CONTEXT, "stage": stage}
    assert load_config({**context, "model_version": "latest-approved"}, ACCOUNT).registry_version == version
    assert load_config({**context, "model_version": "2"}, ACCOUNT).registry_version == version


def test_a_rejected_version_is_written_but_synth_refuses_it_unless_forced(registry_url: str) -> None:
    stage = stage_with(registry_url, "Approved", "Rejected")
    assert resolve_model(stage, 2, REGION, registry_url).status == "Rejected"
    context = {**DEFAULT_CONTEXT, "stage": stage, "model_version": "2"}
    with pytest.raises(ConfigError, match="is Rejected, not Approved; deploy an approved version, or this one with "
                                          "-c model_version_force=true"):
        load_config(context, ACCOUNT)
    assert load_config({**context, "model_version_force": "true"}, ACCOUNT).registry_version is not None


@pytest.mark.parametrize(("statuses", "request_", "expected"), [
    (("Approved",), 3, "has no version 3 (it has versions 1-1)"),
    ((), 1, "has no version 1 (it has no version yet)"),
    (("Rejected", "PendingManualApproval"), "latest-approved", "has no Approved version (2 registered)"),
    ((), "latest-approved", "has no Approved version (0 registered)"),
])
def test_a_version_that_is_not_there_is_said_in_one_line(registry_url: str, statuses: tuple[str, ...],
                                                          request_: int | str, expected: str) -> None:
    stage = stage_with(registry_url, *statuses)
    with pytest.raises(RegistryError, match=f"^{re.escape(f'{endpoint_name_for(stage)} {expected}')}"):
        resolve_model(stage, request_, REGION, registry_url)
    assert not registry_version.MODEL_VERSION_FILE.exists()


def test_a_missing_group_says_to_deploy_the_stack_first(registry_url: str) -> None:
    with pytest.raises(RegistryError, match=r"^model package group velib-forecast-nowhere does not exist in "
                                            r"eu-west-3: deploy the stage's stack \(it declares the group\)"):
        resolve_model("nowhere", "latest-approved", REGION, registry_url)


def test_the_command_prints_the_version_and_how_to_deploy_it(registry_url: str, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    stage = stage_with(registry_url, "Approved", "Rejected")
    assert main(["resolve-model", "--stage", stage, "--version", "2", "--endpoint-url", registry_url]) == 0
    out, err = capsys.readouterr()
    assert out == (f"{endpoint_name_for(stage)} version 2: Rejected, model_version 000000000002, "
                   f"s3://models/{stage}/2.tar.gz; written to build/model-version.json: deploy it with "
                   "-c model_version=2\n")
    assert err == "version 2 is Rejected: synth refuses it unless -c model_version_force=true\n"
    assert main(["resolve-model", "--stage", stage, "--endpoint-url", registry_url]) == 0  # latest-approved
    assert read_version_file().version == 1


def test_the_command_fails_in_one_line(registry_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    stage = stage_with(registry_url, "Approved")
    assert main(["resolve-model", "--stage", stage, "--version", "7", "--endpoint-url", registry_url]) == 1
    assert capsys.readouterr().err == f"error: {endpoint_name_for(stage)} has no version 7 (it has versions 1-1)\n"
    with pytest.raises(SystemExit) as exit_:
        main(["resolve-model", "--version", "seven"])
    assert exit_.value.code == 2
    assert ("argument --version: must be a registry version number (1, 2, ...) or latest-approved, got 'seven'"
            in capsys.readouterr().err)


def test_the_challenger_is_resolved_into_its_own_file_and_synth_serves_both(
        registry_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    stage = stage_with(registry_url, "Approved", "Approved")
    assert main(["resolve-model", "--stage", stage, "--version", "1", "--endpoint-url", registry_url]) == 0
    assert main(["resolve-model", "--stage", stage, "--challenger", "--version", "2",
                 "--endpoint-url", registry_url]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"{endpoint_name_for(stage)} version 2: Approved, model_version 000000000002, s3://models/{stage}/2.tar.gz; "
        "written to build/challenger-version.json: deploy it with -c challenger_version=2")
    assert (read_version_file().version, read_version_file(registry_version.CHALLENGER_VERSION_FILE).version) == (1, 2)
    config = load_config({**DEFAULT_CONTEXT, "stage": stage, "model_version": "1", "challenger_version": "2"}, ACCOUNT)
    assert config.registry_version is not None and config.registry_version.model_version == "000000000001"
    assert config.challenger is not None and config.challenger.registry_version == read_version_file(
        registry_version.CHALLENGER_VERSION_FILE)
    # promoted: the challenger's version is the champion now, resolved as such, and the challenger cleared
    resolve_model(stage, 2, REGION, registry_url)
    promoted = load_config({**DEFAULT_CONTEXT, "stage": stage, "model_version": "2", "challenger_version": ""},
                           ACCOUNT)
    assert promoted.challenger is None and promoted.registry_version == config.challenger.registry_version
