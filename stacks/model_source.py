"""What the endpoint's Model serves: the repository's artifacts as an S3 asset, or a Model Registry version.

Either way the execution role may read that one archive and pull from that one repository, and the stack's
outputs and `model_version` tag say which model it is. A registry version is named by its package ARN, and
SageMaker takes the image and the archive from the package, so nothing is uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Annotations
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from cdk_app.deployment.config import DeploymentConfig
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
        return _registry_source(scope, config.registry_version)
    archive = build_archive(config.artifacts_dir, MODEL_CODE_DIR, BUILD_DIR / config.stage / "model.tar.gz")
    image = dlc_image(config.region, config.image_tag)
    asset = s3_assets.Asset(scope, "ModelArchive", path=str(archive.path))
    return ModelSource(image.uri, asset.s3_object_url, archive.model_version,
                       asset.bucket.arn_for_objects(asset.s3_object_key), image.repository_arn, None)


def _registry_source(scope: Construct, version: RegistryVersion) -> ModelSource:
    if version.status != APPROVED:  # the config let it through only with model_version_force=true
        Annotations.of(scope).add_warning_v2("velib:unapproved-model-version", unapproved_warning(version))
    return ModelSource(version.image, version.model_data_url, version.model_version, version.object_arn,
                       version.repository_arn, version.arn)
