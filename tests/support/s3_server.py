"""A moto server on loopback, for histories kept in S3 and for the Model Registry: real HTTP, botocore unstubbed."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from cdk_app.loopback import free_port, url

_NUMBERS = itertools.count()


@contextmanager
def moto_server() -> Iterator[str]:
    """Every AWS API moto emulates, at the URL this yields (moto's state is shared by the whole process); the
    server stops with the block."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield url(port)
    finally:
        server.stop()


@contextmanager
def s3_bucket() -> Iterator[tuple[Any, str]]:
    """An S3 client on a moto server, and a bucket of its own."""
    with moto_server() as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-3", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
        bucket = f"velib-history-{next(_NUMBERS)}"
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        yield client, bucket
