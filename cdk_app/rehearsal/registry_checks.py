"""Model Registry versions in the rehearsal: registered as `retrain` registers them (the archive uploaded, then an
Approved package in the stage's group), and what a deploy with `model_version` must leave in the emulated account."""

from __future__ import annotations

import hashlib

from cdk_app.deployment.config import DeploymentConfig
from cdk_app.deployment.model_archive import Archive
from cdk_app.deployment.registry_version import APPROVED
from cdk_app.rehearsal.checks import check, check_endpoint, endpoint_label, inline_statements
from cdk_app.rehearsal.emulator import Emulator

CONTENT_TYPES = ["application/json"]


def register_version(emulator: Emulator, group: str, archive: Archive, bucket: str, image: str) -> int:
    """Upload the archive and register it as an Approved version of `group`; the version's number."""
    key = f"registry/{group}/{archive.model_version}/model.tar.gz"
    emulator.client("s3").put_object(Bucket=bucket, Key=key, Body=archive.path.read_bytes())
    arn = emulator.client("sagemaker").create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus=APPROVED,
        InferenceSpecification={"Containers": [{"Image": image, "ModelDataUrl": f"s3://{bucket}/{key}"}],
                                "SupportedContentTypes": CONTENT_TYPES, "SupportedResponseMIMETypes": CONTENT_TYPES},
        CustomerMetadataProperties={"model_version": archive.model_version})["ModelPackageArn"]
    return int(str(arn).rsplit("/", 1)[1])


def check_registry_deploy(emulator: Emulator, config: DeploymentConfig, outputs: dict[str, str],
                          archive_sha256: str) -> list[str]:
    """The Model names the version `config` deploys, the role may read its archive and pull its image only, and the
    package's archive is the one registered (`archive_sha256`)."""
    version = config.registry_version
    check(version is not None, "the step deployed no registry version")
    assert version is not None
    _, described = check_endpoint(emulator, config)
    sagemaker = emulator.client("sagemaker")
    model = sagemaker.describe_model(ModelName=described["ProductionVariants"][0]["ModelName"])
    packages = [container.get("ModelPackageName") for container in model.get("Containers", [])]
    check(packages == [version.arn], f"the model's containers name {packages}, not [{version.arn}]")
    found = (outputs.get("ModelPackageArn"), outputs["ModelVersion"], outputs["ModelDataUrl"])
    check(found == (version.arn, version.model_version, version.model_data_url), f"the stack's outputs are {found}")
    role = model["ExecutionRoleArn"].rsplit("/")[-1]
    resources = {s["Sid"]: s["Resource"] for s in inline_statements(emulator, role)}
    granted = (resources["ReadModelArchive"], resources["PullServingImage"])
    if config.challenger is None:  # with one, the challenger's are there too: ab_checks.py checks both
        check(granted == (version.object_arn, version.repository_arn), f"the role reads and pulls from {granted}")
    else:
        check(version.object_arn in granted[0], f"the role reads {granted[0]}, not {version.object_arn}")
    package = sagemaker.describe_model_package(ModelPackageName=version.arn)
    (container,) = package["InferenceSpecification"]["Containers"]
    bucket, key = container["ModelDataUrl"].removeprefix("s3://").split("/", 1)
    served = hashlib.sha256(emulator.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
    check(served == archive_sha256, f"version {version.version}'s archive is {served}, not {archive_sha256}")
    return [f"endpoint InService, {endpoint_label(config)}",
            f"model names version {version.version} of {version.group} (Containers: ModelPackageName)",
            "role reads that version's archive and pulls its image, nothing else" if config.challenger is None
            else "role reads that version's archive",
            f"its archive is the one registered (model_version {version.model_version})"]
