"""The SageMaker Model Registry as the lifecycle uses it: a model package group per stage, named like the stage's
endpoint, and one numbered version per candidate, Approved or Rejected by the gate.

A version carries what a deploy and a later audit need: the inference DLC image and the deterministic archive
(InferenceSpecification), the evaluation.json it was judged on (ModelMetrics.ModelQuality.Statistics), and the
figures and the verdict as CustomerMetadataProperties, so `models` lists them without reading S3. The archive and
the evaluation are uploaded first, under `<prefix><group>/<model_version>/`, named by their content, so a
re-registration rewrites nothing another version points to. Every AWS failure is a RegistryError, one line naming
the group, bucket or endpoint.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from forecast_contract import HORIZON_KEYS

from cdk_app.atomic_files import write_bytes

APPROVED, REJECTED = "Approved", "Rejected"
CONTENT_TYPES = ["application/json"]
# Types a real-time endpoint may serve a version on (this product's serverless endpoint needs none): CPU ones,
# as the pytorch-inference image is the CPU build.
REALTIME_INSTANCE_TYPES = ["ml.c5.large", "ml.c5.xlarge", "ml.m5.large", "ml.m5.xlarge"]
# A CustomerMetadataProperties value: at most 256 of letters, digits, spaces and these (CreateModelPackage's pattern).
_REFUSED_IN_METADATA = re.compile(r"[^\w .:/=+\-@]")
METADATA_VALUE_CHARS = 256
TABLE_COLUMNS = (("version", 7), ("status", 21), ("created (UTC)", 19), ("model_version", 13), ("gate", 6),
                 *((f"MAE {key}", 8) for key in HORIZON_KEYS), ("persistence T+1h", 16))
GROUP_DESCRIPTION = ("Velib' forecaster versions: each retrained candidate, Approved when it passed the gate "
                     "against persistence and the model in service, Rejected when not")


class RegistryError(RuntimeError):
    """An AWS call failed, or the registry lacks what was asked for; the message names which."""


@dataclass(frozen=True)
class Version:
    number: int
    arn: str
    status: str  # ModelApprovalStatus
    created: datetime
    model_data_url: str
    properties: Mapping[str, str]  # CustomerMetadataProperties

    @classmethod
    def described(cls, package: Mapping[str, Any]) -> Version:
        """From DescribeModelPackage; a version registered by other means may lack any optional part."""
        container = package.get("InferenceSpecification", {}).get("Containers", [{}])[0]
        return cls(int(package["ModelPackageVersion"]), package["ModelPackageArn"],
                   package.get("ModelApprovalStatus", ""), package["CreationTime"],
                   container.get("ModelDataUrl", ""), package.get("CustomerMetadataProperties", {}))


@dataclass(frozen=True)
class InService:
    """What the stage's endpoint serves: a model package version, or an archive deployed without one."""

    package_arn: str | None
    model_data_url: str

    def serves(self, version: Version) -> bool:
        return version.arn == self.package_arn or (self.package_arn is None
                                                   and version.model_data_url == self.model_data_url)


@contextmanager
def _calling(what: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise RegistryError(f"{what}: {exc}") from None


def _not_found(exc: ClientError, words: str) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") == "ValidationException" and words in error.get("Message", "")


def metadata_value(text: str) -> str:
    """Text as the registry accepts it in a CustomerMetadataProperties value."""
    return " ".join(_REFUSED_IN_METADATA.sub(" ", text).split())[:METADATA_VALUE_CHARS]


def package_properties(evaluation: Mapping[str, Any]) -> dict[str, str]:
    """The contract's CustomerMetadataProperties: the verdict and every contender's figures, as strings."""
    contenders, gate = evaluation["contenders"], evaluation["gate"]
    candidate, champion, persistence = contenders["candidate"], contenders["champion"], contenders["persistence"]
    properties = {"model_version": candidate["model_version"], "gate": "passed" if gate["passed"] else "failed",
                  "gate_reason": metadata_value(gate["reason"])}  # cut at 256: evaluation.json has it whole
    if champion is not None:
        properties["champion_model_version"] = champion["model_version"]
    for key in HORIZON_KEYS:
        suffix = _suffix(key)
        properties |= {f"mae_{suffix}": str(candidate[key]["mae"]), f"r2_{suffix}": str(candidate[key]["r2"]),
                       f"persistence_mae_{suffix}": str(persistence[key]["mae"])}
        if champion is not None:
            properties[f"champion_mae_{suffix}"] = str(champion[key]["mae"])
    return properties


def _split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise RegistryError(f"{uri!r} is not an s3://bucket/key URI")
    return bucket, key


class Registry:
    """One stage's model package group, with the S3 its versions' files live in; `endpoint_url` points both APIs
    at a local AWS emulator (moto)."""

    def __init__(self, group: str, region: str | None = None, endpoint_url: str | None = None) -> None:
        self.group = group
        with _calling("connecting to SageMaker and S3"):  # no region configured, for one
            session = boto3.session.Session(region_name=region)
            self.sagemaker = session.client("sagemaker", endpoint_url=endpoint_url)
            self.s3 = session.client("s3", endpoint_url=endpoint_url)
            self.sts = session.client("sts", endpoint_url=endpoint_url)

    @property
    def region(self) -> str:
        return str(self.sagemaker.meta.region_name)

    def ensure_group(self) -> None:
        """In AWS the stack declares the group; a local registry, or one not yet deployed, gets it here."""
        with _calling(f"model package group {self.group}"):
            try:
                self.sagemaker.describe_model_package_group(ModelPackageGroupName=self.group)
            except ClientError as exc:
                if not _not_found(exc, "does not exist"):
                    raise
                self.sagemaker.create_model_package_group(ModelPackageGroupName=self.group,
                                                          ModelPackageGroupDescription=GROUP_DESCRIPTION)

    def default_location(self) -> str:
        """The SageMaker Python SDK's default bucket, sagemaker-<region>-<account>: where SageMaker users keep
        such files already."""
        with _calling("the default bucket (sts get-caller-identity)"):
            account = self.sts.get_caller_identity()["Account"]
        return f"sagemaker-{self.region}-{account}"

    def register(self, archive: Path, evaluation: Mapping[str, Any], image: str, location: str | None = None
                 ) -> Version:
        """Upload the archive and evaluation.json to `location` (bucket[/prefix], default `default_location()`),
        then create the version, Approved if the evaluation's gate passed, Rejected if not."""
        bucket, _, prefix = (location or self.default_location()).partition("/")
        model_version = evaluation["contenders"]["candidate"]["model_version"]
        folder = "/".join(part for part in (prefix.strip("/"), self.group, model_version) if part)
        report = (json.dumps(evaluation, indent=2, sort_keys=True) + "\n").encode()
        model_data_url = self._upload(bucket, f"{folder}/model.tar.gz", archive.read_bytes())
        report_url = self._upload(bucket, f"{folder}/evaluation-{hashlib.sha256(report).hexdigest()[:12]}.json",
                                  report)
        with _calling(f"registering a version in {self.group}"):
            arn = self.sagemaker.create_model_package(
                ModelPackageGroupName=self.group,
                InferenceSpecification={"Containers": [{"Image": image, "ModelDataUrl": model_data_url}],
                                        "SupportedContentTypes": CONTENT_TYPES,
                                        "SupportedResponseMIMETypes": CONTENT_TYPES,
                                        "SupportedRealtimeInferenceInstanceTypes": REALTIME_INSTANCE_TYPES},
                ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json",
                                                              "S3Uri": report_url}}},
                CustomerMetadataProperties=package_properties(evaluation),
                ModelApprovalStatus=APPROVED if evaluation["gate"]["passed"] else REJECTED,
            )["ModelPackageArn"]
            return Version.described(self.sagemaker.describe_model_package(ModelPackageName=arn))

    def _upload(self, bucket: str, key: str, data: bytes) -> str:
        with _calling(f"uploading s3://{bucket}/{key}"):
            self.s3.put_object(Bucket=bucket, Key=key, Body=data)
        return f"s3://{bucket}/{key}"

    def versions(self) -> list[Version]:
        """Every version of the group, oldest first (none when the group does not exist yet)."""
        with _calling(f"listing {self.group}"):
            pages = self.sagemaker.get_paginator("list_model_packages").paginate(ModelPackageGroupName=self.group)
            arns = [summary["ModelPackageArn"] for page in pages for summary in page["ModelPackageSummaryList"]]
            found = [Version.described(self.sagemaker.describe_model_package(ModelPackageName=arn)) for arn in arns]
        return sorted(found, key=lambda v: v.number)

    def version(self, number: int) -> Version:
        found = {v.number: v for v in self.versions()}
        if number not in found:
            held = f"versions {min(found)}-{max(found)}" if found else "no version yet"
            raise RegistryError(f"{self.group} has no version {number} (it has {held})")
        return found[number]

    def in_service(self, endpoint: str) -> InService | None:
        """Endpoint -> its endpoint config -> the model of its one variant -> that model's container; None when
        the endpoint does not exist."""
        with _calling(f"what endpoint {endpoint} serves"):
            try:
                config_name = self.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
            except ClientError as exc:
                if _not_found(exc, "Could not find endpoint"):
                    return None
                raise
            variant = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"][0]
            model = self.sagemaker.describe_model(ModelName=variant["ModelName"])
            container = model.get("PrimaryContainer") or model["Containers"][0]
            package_arn = container.get("ModelPackageName")
            if package_arn is None:
                return InService(None, container.get("ModelDataUrl", ""))
            package = Version.described(self.sagemaker.describe_model_package(ModelPackageName=package_arn))
            return InService(package.arn, package.model_data_url)

    def download(self, uri: str, output: Path) -> Path:
        bucket, key = _split_s3_uri(uri)
        with _calling(f"downloading {uri}"):
            data = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        write_bytes(output, data)
        return output


def versions_table(group: str, endpoint: str, versions: list[Version], serving: InService | None) -> str:
    """`models`: a line per version, the one in service starred, and what the endpoint serves."""
    def row(mark: str, cells: list[str]) -> str:
        return (mark + "".join(f"  {cell:<{width}}" for cell, (_, width) in zip(cells, TABLE_COLUMNS, strict=True))
                ).rstrip()

    lines = [f"{group}:", row(" ", [title for title, _ in TABLE_COLUMNS])]
    for v in versions:
        figures = [*(f"mae_{_suffix(key)}" for key in HORIZON_KEYS), "persistence_mae_t1h"]
        lines.append(row("*" if serving and serving.serves(v) else " ", [
            str(v.number), v.status, f"{v.created.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
            v.properties.get("model_version", "-"), v.properties.get("gate", "-"),
            *(_figure(v.properties.get(name)) for name in figures)]))
    if not versions:
        lines.append("  (no version yet: `python -m cdk_app retrain` registers one)")
    if serving is None:
        lines.append(f"in service: nothing (no endpoint {endpoint})")
    else:
        served = next((v for v in versions if serving.serves(v)), None)
        lines.append(f"in service on {endpoint}: " + (f"* version {served.number}" if served else
                                                              f"{serving.package_arn or serving.model_data_url}, "
                                                              f"not a version of {group}"))
    return "\n".join(lines)


def _suffix(horizon: str) -> str:
    """A horizon as the metadata keys name it: T+1h -> t1h."""
    return horizon.replace("+", "").lower()


def _figure(text: str | None) -> str:
    try:
        return f"{float(text or ''):.3f}"
    except ValueError:
        return "-"
