"""`model_version` and `model_version_force`: synth serves the registry version build/model-version.json names, only
when that file answers this very request, and an unapproved version only when forced; each refusal names the key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.synth import ACCOUNT, DEFAULT_CONTEXT, MODEL_VERSION_FIXTURE

from cdk_app.deployment import registry_version
from cdk_app.deployment.config import ConfigError, DeploymentConfig, load_config
from cdk_app.deployment.registry_version import RegistryVersion, RegistryVersionError, read_version_file

RESOLVE_3 = "run `python -m cdk_app resolve-model --stage dev --version 3 --region eu-west-3` before synth"
MODEL_VERSION_ARN_5 = "arn:aws:sagemaker:eu-west-3:123456789012:model-package/velib-forecast-dev/5"


@pytest.fixture
def version_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Point synth at a file of the test's own: the fixture's fields with some replaced (None: no file at all)."""
    path = tmp_path / "model-version.json"
    monkeypatch.setattr(registry_version, "MODEL_VERSION_FILE", path)

    def write(**changes: Any) -> Path:
        path.write_text(json.dumps({**json.loads(MODEL_VERSION_FIXTURE.read_text()), **changes}))
        return path

    return write


def config_with(**overrides: Any) -> DeploymentConfig:
    return load_config({**DEFAULT_CONTEXT, **overrides}, ACCOUNT)


def refusal(key: str = "model_version", **overrides: Any) -> str:
    """The one-line message of a refusal, which must name `key`."""
    with pytest.raises(ConfigError) as error:
        config_with(**overrides)
    message = str(error.value)
    assert message.startswith(f"context key '{key}': ") and "\n" not in message
    return message


def test_without_model_version_the_artifacts_are_deployed_and_no_file_is_read(version_file: Callable[..., Path]
                                                                              ) -> None:
    assert config_with().registry_version is None
    assert config_with(model_version="", model_version_force="true").registry_version is None


@pytest.mark.parametrize("value", [3, "3", " 3 "])
def test_a_number_from_cdk_json_or_the_command_line_serves_that_version(version_file: Callable[..., Path],
                                                                        value: Any) -> None:
    version_file()
    version = config_with(model_version=value).registry_version
    assert version == read_version_file(MODEL_VERSION_FIXTURE)
    assert version is not None and version.version == 3 and version.status == "Approved"


def test_latest_approved_needs_a_file_resolved_for_latest_approved(version_file: Callable[..., Path]) -> None:
    version_file(requested="latest-approved")
    version = config_with(model_version="latest-approved").registry_version
    assert version is not None and version.version == 3
    assert config_with(model_version=3).registry_version == version  # it is version 3 all the same
    version_file()  # resolved for --version 3: the latest approved one may be another by now
    message = refusal(model_version="latest-approved")
    assert "model-version.json names version 3, resolved for 3, not latest-approved" in message
    assert message.endswith("run `python -m cdk_app resolve-model --stage dev --version latest-approved --region "
                            "eu-west-3` before synth")


@pytest.mark.parametrize(("value", "expected"), [
    ("abc", "must be a registry version number (1, 2, ...) or latest-approved, got 'abc'"),
    (0, "got 0"), ("-1", "got '-1'"), ("2.5", "got '2.5'"), (True, "got True"), ("latest", "got 'latest'"),
])
def test_a_bad_model_version_names_the_key(version_file: Callable[..., Path], value: Any, expected: str) -> None:
    version_file()
    assert expected in refusal(model_version=value)


def test_a_bad_force_flag_names_its_key() -> None:
    with pytest.raises(ConfigError, match="context key 'model_version_force': must be true or false, got 'yes'"):
        config_with(model_version_force="yes")


def test_a_missing_file_says_to_resolve_first(version_file: Callable[..., Path]) -> None:
    message = refusal(model_version=3)
    assert "model-version.json is missing (synth never calls AWS)" in message and message.endswith(RESOLVE_3)


@pytest.mark.parametrize(("changes", "expected"), [
    ({"version": 2, "requested": 2,
      "arn": "arn:aws:sagemaker:eu-west-3:123456789012:model-package/velib-forecast-dev/2"},
     "names version 2, resolved for 2, not 3"),
    ({"group": "velib-forecast-prod",
      "arn": "arn:aws:sagemaker:eu-west-3:123456789012:model-package/velib-forecast-prod/3"},
     "names version 3 of velib-forecast-prod in eu-west-3 (123456789012), not one of velib-forecast-dev in eu-west-3"),
    ({"arn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/velib-forecast-dev/3"},
     "names version 3 of velib-forecast-dev in eu-west-1"),
    ({"arn": "arn:aws:sagemaker:eu-west-3:210987654321:model-package/velib-forecast-dev/3"},
     "names version 3 of velib-forecast-dev in eu-west-3 (210987654321), not one of velib-forecast-dev in eu-west-3 "
     "(123456789012)"),
])
def test_a_file_for_another_version_stage_region_or_account_is_stale(
        version_file: Callable[..., Path], changes: dict[str, Any], expected: str) -> None:
    version_file(**changes)
    message = refusal(model_version=3)
    assert expected in message and message.endswith(RESOLVE_3)


@pytest.mark.parametrize(("changes", "expected"), [
    ({"model_data_url": "https://example.com/model.tar.gz"}, "is not an s3://bucket/key of one archive"),
    ({"image": "docker.io/library/python:3"}, "is not an ECR image URI"),
    ({"model_version": ""}, "has no model_version in its CustomerMetadataProperties"),
    ({"arn": "arn:aws:sagemaker:eu-west-3:123456789012:model-package/velib-forecast-dev/4"},
     "is not the ARN of version 3 of velib-forecast-dev"),
    ({"status": None, "image": None}, "is not what resolve-model writes"),
])
def test_a_file_the_stack_cannot_use_is_refused_before_any_deploy(
        version_file: Callable[..., Path], changes: dict[str, Any], expected: str) -> None:
    version_file(**changes)
    message = refusal(model_version=3)
    assert expected in message and message.endswith(RESOLVE_3)


def test_an_unparsable_file_is_refused(version_file: Callable[..., Path]) -> None:
    version_file().write_text("{not json")
    assert "model-version.json is not what resolve-model writes" in refusal(model_version=3)


@pytest.mark.parametrize("status", ["Rejected", "PendingManualApproval"])
def test_a_version_not_approved_is_refused_unless_forced(version_file: Callable[..., Path], status: str) -> None:
    version_file(status=status)
    assert refusal(model_version=3) == (
        f"context key 'model_version': version 3 of velib-forecast-dev is {status}, not Approved; deploy an approved "
        "version, or this one with -c model_version_force=true")
    forced = config_with(model_version=3, model_version_force="true").registry_version
    assert forced is not None and forced.status == status


def test_what_the_role_is_granted_comes_from_the_package() -> None:
    version = read_version_file(MODEL_VERSION_FIXTURE)
    assert version.object_arn == "arn:aws:s3:::velib-forecast-models-123456789012/velib-forecast-dev/3/model.tar.gz"
    assert version.repository_arn == "arn:aws:ecr:eu-west-3:763104351884:repository/pytorch-inference"


def test_the_dataclass_refuses_what_it_cannot_grant() -> None:
    fields = json.loads(MODEL_VERSION_FIXTURE.read_text())
    with pytest.raises(RegistryVersionError, match="not an ECR image URI"):
        RegistryVersion(**{**fields, "image": "public.ecr.aws/pytorch:latest"})


# ---------------------------------------------------------------- the A/B's challenger: build/challenger-version.json

RESOLVE_CHALLENGER_4 = ("run `python -m cdk_app resolve-model --stage dev --challenger --version 4 --region "
                        "eu-west-3` before synth")


@pytest.fixture
def challenger_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """The challenger's own file, as `resolve-model --challenger --version 4` writes it, with some fields replaced."""
    path = tmp_path / "challenger-version.json"
    monkeypatch.setattr(registry_version, "CHALLENGER_VERSION_FILE", path)
    fixture = json.loads(MODEL_VERSION_FIXTURE.read_text())
    version_4 = {**fixture, "version": 4, "requested": 4, "model_version": "4b8d0e2f6a13",
                 "arn": fixture["arn"].replace("/3", "/4")}

    def write(**changes: Any) -> Path:
        path.write_text(json.dumps({**version_4, **changes}))
        return path

    return write


def test_a_challenger_version_is_read_from_its_own_file(version_file: Callable[..., Path],
                                                        challenger_file: Callable[..., Path]) -> None:
    version_file()
    written = challenger_file()
    challenger = config_with(model_version=3, challenger_version="4").challenger
    assert challenger is not None and challenger.registry_version == read_version_file(written)
    assert (challenger.model_version, challenger.artifacts_dir, challenger.weight) == ("4b8d0e2f6a13", None, 0.1)
    champion = config_with(model_version=3, challenger_version="4").registry_version
    assert champion is not None and champion.version == 3  # each from its own file


def test_a_missing_or_stale_challenger_file_says_to_resolve_the_challenger(
        challenger_file: Callable[..., Path]) -> None:
    message = refusal("challenger_version", challenger_version=4)
    assert "challenger-version.json is missing (synth never calls AWS)" in message
    assert message.endswith(RESOLVE_CHALLENGER_4)
    challenger_file(version=5, requested=5, arn=MODEL_VERSION_ARN_5)
    message = refusal("challenger_version", challenger_version=4)
    assert "challenger-version.json names version 5, resolved for 5, not 4" in message
    assert message.endswith(RESOLVE_CHALLENGER_4)


def test_an_unapproved_challenger_is_refused_unless_forced(challenger_file: Callable[..., Path]) -> None:
    challenger_file(status="Rejected")
    assert refusal("challenger_version", challenger_version=4) == (
        "context key 'challenger_version': version 4 of velib-forecast-dev is Rejected, not Approved; deploy an "
        "approved version, or this one with -c model_version_force=true")
    forced = config_with(challenger_version=4, model_version_force="true").challenger
    assert forced is not None and forced.registry_version is not None and forced.registry_version.status == "Rejected"


def test_a_challenger_version_that_serves_the_champions_model_is_refused(
        version_file: Callable[..., Path], challenger_file: Callable[..., Path]) -> None:
    version_file()
    challenger_file(model_version="3f2a9c1b7e40")  # version 3's artifacts, registered again as version 4
    assert "is the champion's own model (model_version 3f2a9c1b7e40)" in refusal("challenger_version",
        model_version=3, challenger_version=4)
