"""The DLC image URI is right in every region it is published in, including those CDK's table lacks."""

from __future__ import annotations

import pytest

from cdk_app.deployment.dlc_image import dlc_image, training_image

TAG = "2.6.0-cpu-py312-ubuntu22.04-sagemaker"


@pytest.mark.parametrize(("region", "uri", "repository_arn"), [
    ("eu-west-3", "763104351884.dkr.ecr.eu-west-3.amazonaws.com",
     "arn:aws:ecr:eu-west-3:763104351884:repository/pytorch-inference"),
    ("us-east-1", "763104351884.dkr.ecr.us-east-1.amazonaws.com",
     "arn:aws:ecr:us-east-1:763104351884:repository/pytorch-inference"),
    ("af-south-1", "626614931356.dkr.ecr.af-south-1.amazonaws.com",
     "arn:aws:ecr:af-south-1:626614931356:repository/pytorch-inference"),
    ("ap-east-1", "871362719292.dkr.ecr.ap-east-1.amazonaws.com",
     "arn:aws:ecr:ap-east-1:871362719292:repository/pytorch-inference"),
    ("il-central-1", "780543022126.dkr.ecr.il-central-1.amazonaws.com",
     "arn:aws:ecr:il-central-1:780543022126:repository/pytorch-inference"),
    ("ca-west-1", "204538143572.dkr.ecr.ca-west-1.amazonaws.com",
     "arn:aws:ecr:ca-west-1:204538143572:repository/pytorch-inference"),
    ("mx-central-1", "637423239942.dkr.ecr.mx-central-1.amazonaws.com",
     "arn:aws:ecr:mx-central-1:637423239942:repository/pytorch-inference"),
    ("ap-southeast-7", "590183813437.dkr.ecr.ap-southeast-7.amazonaws.com",
     "arn:aws:ecr:ap-southeast-7:590183813437:repository/pytorch-inference"),
    ("ap-northeast-3", "364406365360.dkr.ecr.ap-northeast-3.amazonaws.com",
     "arn:aws:ecr:ap-northeast-3:364406365360:repository/pytorch-inference"),
    ("cn-north-1", "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn",
     "arn:aws-cn:ecr:cn-north-1:727897471807:repository/pytorch-inference"),
    ("cn-northwest-1", "727897471807.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
     "arn:aws-cn:ecr:cn-northwest-1:727897471807:repository/pytorch-inference"),
    ("us-gov-west-1", "442386744353.dkr.ecr.us-gov-west-1.amazonaws.com",
     "arn:aws-us-gov:ecr:us-gov-west-1:442386744353:repository/pytorch-inference"),
])
def test_image_uri_and_repository_per_region(region: str, uri: str, repository_arn: str) -> None:
    image = dlc_image(region, TAG)
    assert image.uri == f"{uri}/pytorch-inference:{TAG}"
    assert image.repository_arn == repository_arn


def test_unknown_region_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="region 'eu-west-9': the PyTorch inference container is not published"):
        dlc_image("eu-west-9", TAG)


@pytest.mark.parametrize(("region", "account"), [("eu-west-3", "763104351884"), ("af-south-1", "626614931356"),
                                                 ("cn-north-1", "727897471807")])
def test_the_training_image_is_pinned_and_shares_the_registry_table(region: str, account: str) -> None:
    image = training_image(region)
    assert image.uri.startswith(f"{account}.dkr.ecr.{region}.amazonaws.com")
    assert image.uri.endswith("/pytorch-training:2.10.0-cpu-py313-ubuntu22.04-sagemaker")
    assert image.repository_arn.endswith(f":{account}:repository/pytorch-training")
    with pytest.raises(ValueError, match="region 'eu-west-9': the PyTorch training container is not published"):
        training_image("eu-west-9")
