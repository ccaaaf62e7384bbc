"""The Model Registry versions a deploy serves, as `cdk synth` sees them: build/model-version.json for the champion
(`model_version`), build/challenger-version.json for an A/B challenger (`challenger_version`).

Synth never calls AWS, so `python -m cdk_app resolve-model [--challenger]` asks the registry first and writes its
answer there; synth reads only these files, and refuses one that answers another question (another stage, region,
account or version), or that names a version which is not Approved unless forced. Nothing here imports boto3, which
synth must never load.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from cdk_app.atomic_files import write_json
from cdk_app.paths import BUILD_DIR, REPO_ROOT

LATEST_APPROVED = "latest-approved"
APPROVED = "Approved"
MODEL_VERSION_FILE = BUILD_DIR / "model-version.json"
CHALLENGER_VERSION_FILE = BUILD_DIR / "challenger-version.json"
_PACKAGE_ARN = re.compile(r"^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):(\d{12}):model-package/([\w-]+)/(\d+)$")
_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([a-z0-9._/-]+)(?::[\w.-]+|@sha256:"
                    r"[0-9a-f]{64})$")
_S3_OBJECT = re.compile(r"^s3://([a-z0-9.-]{3,63})/(\S+)$")

VersionRequest = int | str  # a version number, or LATEST_APPROVED


class RegistryVersionError(ValueError):
    """The file cannot stand for the version asked for; the message says what to run."""


@dataclass(frozen=True)
class RegistryVersion:
    """One model package version as resolve-model found it, and what the stack derives from it."""

    group: str
    version: int
    arn: str
    status: str
    model_data_url: str
    model_version: str  # the artifacts' hash, which the endpoint answers in every response
    image: str
    requested: VersionRequest  # what resolve-model was asked for: this version's number, or latest-approved

    def __post_init__(self) -> None:
        """A package whose ARN, archive or image the stack cannot grant access to is refused before any deploy."""
        arn = _PACKAGE_ARN.fullmatch(self.arn)
        if not arn or (arn.group(4), int(arn.group(5))) != (self.group, self.version):
            raise RegistryVersionError(f"{self.arn!r} is not the ARN of version {self.version} of {self.group}")
        if not _S3_OBJECT.fullmatch(self.model_data_url):
            raise RegistryVersionError(f"version {self.version}'s ModelDataUrl {self.model_data_url!r} is not an "
                                       "s3://bucket/key of one archive")
        if not _IMAGE.fullmatch(self.image):
            raise RegistryVersionError(f"version {self.version}'s image {self.image!r} is not an ECR image URI")
        if not self.model_version:
            raise RegistryVersionError(f"version {self.version} has no model_version in its "
                                       "CustomerMetadataProperties")

    @property
    def partition(self) -> str:
        return self.arn.split(":")[1]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def object_arn(self) -> str:
        """The archive: the one object the execution role may read."""
        return f"arn:{self.partition}:s3:::{self.model_data_url.removeprefix('s3://')}"

    @property
    def repository_arn(self) -> str:
        """The image's repository: the one the execution role may pull from."""
        image = _IMAGE.fullmatch(self.image)
        assert image is not None  # checked at construction
        account, region, repository = image.groups()
        return f"arn:{self.partition}:ecr:{region}:{account}:repository/{repository}"

    def describe(self) -> str:
        return f"version {self.version} of {self.group} in {self.region} ({self.account})"


def parse_request(value: Any) -> VersionRequest:
    """A version number or latest-approved, from cdk.json (a JSON number) or the command line (text)."""
    text = str(value).strip()
    if text == LATEST_APPROVED:
        return text
    if isinstance(value, bool) or not re.fullmatch(r"[1-9]\d{0,8}", text):
        raise RegistryVersionError(f"must be a registry version number (1, 2, ...) or {LATEST_APPROVED}, "
                                   f"got {value!r}")
    return int(text)


def version_file(challenger: bool = False) -> Path:
    """The champion's file, or the challenger's; looked up at each call, so tests can point either elsewhere."""
    return CHALLENGER_VERSION_FILE if challenger else MODEL_VERSION_FILE


def write_version_file(version: RegistryVersion, challenger: bool = False) -> Path:
    path = version_file(challenger)
    write_json(path, asdict(version))
    return path


def read_version_file(path: Path | None = None) -> RegistryVersion:
    """The file as resolve-model wrote it (the champion's by default)."""
    source = path or version_file()
    try:
        data = json.loads(source.read_text())
        return RegistryVersion(**{f.name: data[f.name] for f in fields(RegistryVersion)})
    except (OSError, ValueError, KeyError, TypeError) as problem:
        raise RegistryVersionError(f"{_shown(source)} is not what resolve-model writes ({problem})") from None


def chosen_version(request: VersionRequest, *, stage: str, group: str, region: str, account: str | None,
                   force: bool, challenger: bool = False) -> RegistryVersion:
    """The version the champion's (or the challenger's) file names, if it answers `request` for this stage, region
    and account, and may be served."""
    path = version_file(challenger)
    resolve = (f"run `python -m cdk_app resolve-model --stage {stage}{' --challenger' if challenger else ''} "
               f"--version {request} --region {region}` before synth")
    if not path.is_file():
        raise RegistryVersionError(f"{_shown(path)} is missing (synth never calls AWS); {resolve}")
    try:
        found = read_version_file(path)
    except RegistryVersionError as problem:
        raise RegistryVersionError(f"{problem}; {resolve}") from None
    if (found.group, found.region, found.account if account else None) != (group, region, account):
        raise RegistryVersionError(f"{_shown(path)} names {found.describe()}, not one of {group} in "
                                   f"{region}{f' ({account})' if account else ''}; {resolve}")
    if request not in (found.version, found.requested):
        raise RegistryVersionError(f"{_shown(path)} names version {found.version}, resolved for "
                                   f"{found.requested}, not {request}; {resolve}")
    if found.status != APPROVED and not force:
        raise RegistryVersionError(f"version {found.version} of {group} is {found.status}, not {APPROVED}; deploy an "
                                   "approved version, or this one with -c model_version_force=true")
    return found


def unapproved_warning(version: RegistryVersion, key: str = "model_version") -> str:
    """`key`: the context key that named the version, model_version or challenger_version."""
    return (f"{key}: deploying version {version.version} of {version.group}, which is {version.status}, "
            f"not {APPROVED} (model_version_force=true)")


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
