"""Where the AWS PyTorch Deep Learning Containers live, per region: inference (the endpoint) and training (the job).

aws-cdk-lib's RegionInfo has no DLC account for several regions (af-south-1, il-central-1, ...),
so the registry table is kept here, from AWS's published list; both repositories share it.
"""

from __future__ import annotations

from dataclasses import dataclass

REPOSITORY = "pytorch-inference"
TRAINING_REPOSITORY = "pytorch-training"
# The newest CPU SageMaker tag of pytorch-training (GA 2026-01-21, supported to 2027-01-21; later PyTorch releases
# moved to the `pytorch` repository on Amazon Linux). It runs sagemaker-training and sagemaker-pytorch-training,
# the toolkit `train-job` runs locally; its Python is 3.13 and its torch 2.10, so the training code keeps to what
# both they and this machine's 3.11 and torch 2.13 have.
TRAINING_TAG = "2.10.0-cpu-py313-ubuntu22.04-sagemaker"
DEFAULT_ACCOUNT = "763104351884"
_DEFAULT_ACCOUNT_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
    "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2",
)
_OWN_ACCOUNT_REGIONS = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-east-2": "975050140332",
    "ap-northeast-3": "364406365360",
    "ap-south-2": "772153158452",
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "ap-southeast-5": "550225433462",
    "ap-southeast-6": "633930458069",
    "ap-southeast-7": "590183813437",
    "ca-west-1": "204538143572",
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "eu-central-2": "380420809688",
    "il-central-1": "780543022126",
    "mx-central-1": "637423239942",
    "me-south-1": "217643126080",
    "me-central-1": "914824155844",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
    "us-gov-east-1": "446045086412",
    "us-gov-west-1": "442386744353",
}
REGISTRY_ACCOUNTS = {**dict.fromkeys(_DEFAULT_ACCOUNT_REGIONS, DEFAULT_ACCOUNT), **_OWN_ACCOUNT_REGIONS}


@dataclass(frozen=True)
class DlcImage:
    """The image URI and the ECR repository ARN the execution role must be allowed to pull from."""

    region: str
    account: str
    partition: str
    tag: str
    repository: str = REPOSITORY

    @property
    def uri(self) -> str:
        suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
        return f"{self.account}.dkr.ecr.{self.region}.{suffix}/{self.repository}:{self.tag}"

    @property
    def repository_arn(self) -> str:
        return f"arn:{self.partition}:ecr:{self.region}:{self.account}:repository/{self.repository}"


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def dlc_image(region: str, tag: str, repository: str = REPOSITORY) -> DlcImage:
    account = REGISTRY_ACCOUNTS.get(region)
    if account is None:
        raise ValueError(f"region '{region}': the PyTorch {repository.removeprefix('pytorch-')} container is not "
                         f"published there; use one of {', '.join(sorted(REGISTRY_ACCOUNTS))}")
    return DlcImage(region, account, partition_of(region), tag, repository)


def training_image(region: str) -> DlcImage:
    """The image a training job runs the entry point in (cdk_app.lifecycle.training_entry)."""
    return dlc_image(region, TRAINING_TAG, TRAINING_REPOSITORY)
