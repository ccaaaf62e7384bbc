"""Seeded bad bodies through the real serving stack: the container API, and boto3 through the Runtime front.

Expected of every answer: never a 5xx, never a traceback, a JSON error body (the front's own refusals
included), and a 200 only with every forecast in [0, capacity].
"""

from __future__ import annotations

import http.client
from typing import Any

import boto3
import pytest
from botocore.config import Config
from support.fixtures import GUIDE
from support.fuzz import bad_bodies, front_problems, problems

from cdk_app.local_serving.local_endpoint import LocalEndpoint

pytestmark = pytest.mark.server
CONTAINER_BODIES = 320
RUNTIME_BODIES = 110


def test_bad_bodies_through_the_container_api(endpoint: LocalEndpoint) -> None:
    found: list[str] = []
    statuses: dict[int, int] = {}
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.server.ports.inference, timeout=60)
    try:
        for body in bad_bodies(GUIDE, CONTAINER_BODIES, seed=11):
            headers = {"Content-Type": body.content_type} if body.content_type else {}
            connection.request("POST", "/invocations", body=body.body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            statuses[response.status] = statuses.get(response.status, 0) + 1
            found += problems(response.status, text, body)
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
    finally:
        connection.close()
    assert found == [], found[:5]
    assert sum(statuses.values()) == CONTAINER_BODIES and statuses.get(400, 0) > CONTAINER_BODIES // 2


def test_bad_bodies_through_boto3_and_the_runtime_front(endpoint: LocalEndpoint) -> None:
    client: Any = boto3.client("sagemaker-runtime", endpoint_url=endpoint.url, region_name="eu-west-3",
                               aws_access_key_id="local", aws_secret_access_key="local",
                               config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    refused: list[bytes] = []  # the raw body of each error answer, before botocore parses it

    def keep_error_body(response_dict: dict[str, Any], **_: Any) -> None:
        if response_dict["status_code"] >= 300:
            refused.append(response_dict["body"])

    client.meta.events.register("before-parse.sagemaker-runtime.InvokeEndpoint", keep_error_body)
    found: list[str] = []
    front_refusals = 0
    for body in bad_bodies(GUIDE, RUNTIME_BODIES, seed=12):
        call = {"EndpointName": endpoint.endpoint_name, "Body": body.body}
        if body.content_type:
            call["ContentType"] = body.content_type
        try:
            response = client.invoke_endpoint(**call)
            found += problems(200, response["Body"].read().decode(), body)
        except client.exceptions.ModelError as error:  # the container's own 4xx/5xx, as AWS passes it on
            found += problems(int(error.response["OriginalStatusCode"]), error.response["OriginalMessage"], body)
        except client.exceptions.ClientError as error:  # the front's own refusal (e.g. 413 over 4 MB)
            front_refusals += 1
            found += front_problems(error.response["ResponseMetadata"]["HTTPStatusCode"],
                                    refused[-1].decode("utf-8", "replace"), body)
    assert found == [], found[:5]
    assert front_refusals >= 1  # the 4 MB body at least: the front's own check ran
