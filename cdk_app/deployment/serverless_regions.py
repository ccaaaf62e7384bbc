"""Where Serverless Inference is offered: a narrower list than where the PyTorch DLC is published.

A serverless deploy to any other region fails late, at CreateEndpointConfig ("This region does not
support the serverless endpoint", seen in ap-southeast-7), so the config refuses it at synth.

Source: the SageMaker Developer Guide, "Deploy models with Amazon SageMaker Serverless Inference"
(https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html), and the general-availability
announcement it links ("Amazon SageMaker Serverless Inference is now generally available", AWS What's New,
2022-04-21), which lists these 21 regions. GovCloud and China are not among them. A region added since is
refused until it is added here; `endpoint_type=realtime` works in every region with a DLC.
"""

from __future__ import annotations

SERVERLESS_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-northeast-1",
    "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-south-1", "me-south-1", "sa-east-1"})

# For a region without Serverless Inference, the closest one with it.
NEARBY = {
    "ap-east-2": "ap-east-1", "ap-south-2": "ap-south-1", "ap-southeast-3": "ap-southeast-1",
    "ap-southeast-4": "ap-southeast-2", "ap-southeast-5": "ap-southeast-1", "ap-southeast-6": "ap-southeast-2",
    "ap-southeast-7": "ap-southeast-1", "ca-west-1": "ca-central-1", "eu-central-2": "eu-central-1",
    "eu-south-2": "eu-west-3", "il-central-1": "eu-south-1", "me-central-1": "me-south-1",
    "mx-central-1": "us-east-2", "us-gov-east-1": "", "us-gov-west-1": "", "cn-north-1": "", "cn-northwest-1": "",
}


def serverless_refusal(region: str) -> str | None:
    """Why a serverless endpoint cannot be deployed to `region`, or None if it can."""
    if region in SERVERLESS_REGIONS:
        return None
    nearby = NEARBY.get(region)
    elsewhere = f" or the nearby region {nearby}" if nearby else ""
    return (f"context key 'region': SageMaker Serverless Inference is not offered in {region}; use "
            f"endpoint_type=realtime there{elsewhere}")
