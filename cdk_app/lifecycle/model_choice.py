"""Which registry version to deploy, asked of the Model Registry before synth (`python -m cdk_app resolve-model`).

`cdk synth` never calls AWS, so this step (CI runs it before `cdk deploy -c model_version=...`) turns a version
number or `latest-approved` into build/model-version.json, which the stack reads; with `--challenger`, into
build/challenger-version.json, which `-c challenger_version=...` reads.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from cdk_app.deployment.config import endpoint_name_for
from cdk_app.deployment.registry_version import (
    APPROVED,
    LATEST_APPROVED,
    RegistryVersion,
    RegistryVersionError,
    VersionRequest,
    write_version_file,
)
from cdk_app.lifecycle.registry import Registry, RegistryError


def resolve_version(registry: Registry, request: VersionRequest) -> RegistryVersion:
    """Version `request` of the registry's group, or its highest Approved one, with the image its package names."""
    _require_group(registry)
    if request == LATEST_APPROVED:
        versions = registry.versions()
        approved = [v for v in versions if v.status == APPROVED]
        if not approved:
            raise RegistryError(f"{registry.group} has no {APPROVED} version ({len(versions)} registered)")
        chosen = max(approved, key=lambda v: v.number)
    else:
        chosen = registry.version(int(request))
    containers = registry.sagemaker.describe_model_package(ModelPackageName=chosen.arn)["InferenceSpecification"][
        "Containers"]
    if len(containers) != 1:
        raise RegistryError(f"version {chosen.number} of {registry.group} has {len(containers)} containers; the "
                            "endpoint serves one")
    try:
        return RegistryVersion(group=registry.group, version=chosen.number, arn=chosen.arn, status=chosen.status,
                               model_data_url=chosen.model_data_url,
                               model_version=chosen.properties.get("model_version", ""),
                               image=containers[0]["Image"], requested=request)
    except RegistryVersionError as problem:
        raise RegistryError(f"{registry.group}: {problem}") from None


def _require_group(registry: Registry) -> None:
    """A missing group is said to be missing, not taken for an empty one."""
    try:
        registry.sagemaker.describe_model_package_group(ModelPackageGroupName=registry.group)
    except ClientError as error:
        if "does not exist" not in error.response["Error"].get("Message", ""):
            raise
        raise RegistryError(f"model package group {registry.group} does not exist in {registry.region}: deploy the "
                            "stage's stack (it declares the group), then register a version") from None


def resolve_model(stage: str, request: VersionRequest, region: str, endpoint_url: str | None = None,
                  challenger: bool = False) -> RegistryVersion:
    """Resolve `request` in the stage's group and write it where synth reads it (the champion's file, or the
    challenger's); any AWS failure in one line."""
    registry = Registry(endpoint_name_for(stage), region, endpoint_url)
    try:
        version = resolve_version(registry, request)
    except (ClientError, BotoCoreError) as error:
        raise RegistryError(f"the registry in {region} did not answer: {error}") from None
    write_version_file(version, challenger)
    return version
