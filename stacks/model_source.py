"""What a Model serves: an artifacts folder as an S3 asset, or a Model Registry version; the champion's, and an A/B's
challenger's.

Either way the execution role may read that one archive and pull from that one repository, and the stack's
outputs and `model_version` tag say which model it is. A registry version is named by its package ARN, and
SageMaker takes the image and the archive from the package, so nothing is uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Annotations
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from cdk_app.deployment.config import ChallengerSettings, DeploymentConfig
from cdk_app.deployment.dlc_image import dlc_image
from cdk_app.deployment.model_archive import build_archive
from cdk_app.deployment.registry_version import APPROVED, RegistryVersion, unapproved_warning
from cdk_app.paths import BUILD_DIR, MODEL_CODE_DIR


@dataclass(frozen=True)
class ModelSource:
    image_uri: str
    model_data_url: str
    model_version: str
    object_arn: str  # the archive, the one object the execution role may read
    repository_arn: str  # the image's repository, the one it may pull from
    package_arn: str | None  # a registry version, which the Model names instead of the image and the archive


def model_source(scope: Construct, config: DeploymentConfig) -> ModelSource:
    """The registry version `model_version` chose, else the repository's artifacts."""
    if config.registry_version is not None:
        return _registry_source(scope, config.registry_version, "model_version")
    return _artifacts_source(scope, "ModelArchive", config, config.artifacts_dir, "model.tar.gz")


def challenger_source(scope: Construct, config: DeploymentConfig, challenger: ChallengerSettings) -> ModelSource:
    """The challenger's registry version, or its artifacts folder, packaged like the champion's."""
    if challenger.registry_version is not None:
        return _registry_source(scope, challenger.registry_version, "challenger_version")
    assert challenger.artifacts_dir is not None  # the config gives one or the other
    return _artifacts_source(scope, "ChallengerArchive", config, challenger.artifacts_dir, "challenger.tar.gz")


def _artifacts_source(scope: Construct, construct_id: str, config: DeploymentConfig, artifacts_dir: Path,
                      archive_name: str) -> ModelSource:
    archive = build_archive(artifacts_dir, MODEL_CODE_DIR, BUILD_DIR / config.stage / archive_name)
    image = dlc_image(config.region, config.image_tag)
    asset = s3_assets.Asset(scope, construct_id, path=str(archive.path))
    return ModelSource(image.uri, asset.s3_object_url, archive.model_version,
                       asset.bucket.arn_for_objects(asset.s3_object_key), image.repository_arn, None)


def _registry_source(scope: Construct, version: RegistryVersion, key: str) -> ModelSource:
    """`key`: the context key that chose it, which the warning names."""
    if version.status != APPROVED:  # the config let it through only with model_version_force=true
        Annotations.of(scope).add_warning_v2(f"velib:unapproved-{key.replace('_', '-')}",
                                             unapproved_warning(version, key))
    return ModelSource(version.image, version.model_data_url, version.model_version, version.object_arn,
                       version.repository_arn, version.arn)
