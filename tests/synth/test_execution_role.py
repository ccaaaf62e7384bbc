"""ExecutionRole: trusted by SageMaker only, with exactly the statements the container needs."""

from __future__ import annotations

import json
from typing import Any

from support.synth import Synthesized


def statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def asset_object_key(app: Synthesized) -> str:
    files = json.loads((app.outdir / f"{app.stack.stack_name}.assets.json").read_text())["files"]
    (asset,) = [f for f in files.values() if f["source"]["path"].endswith(".tar.gz")]
    (destination,) = asset["destinations"].values()
    return str(destination["objectKey"])


def test_role_trusts_only_sagemaker(default_app: Synthesized) -> None:
    _, role = default_app.one("AWS::IAM::Role")
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}]


def test_role_statements_are_exactly_the_least_needed(default_app: Synthesized) -> None:
    _, policy = default_app.one("AWS::IAM::Policy")
    found = statements(policy)
    assert set(found) == {"ReadModelArchive", "PullServingImage", "AuthenticateToRegistry", "WriteEndpointLogs",
                          "PublishMetrics"}
    assert all(s["Effect"] == "Allow" for s in found.values())
    archive = found["ReadModelArchive"]
    assert archive["Action"] == "s3:GetObject"
    assert json.dumps(archive["Resource"]).endswith(f'/{asset_object_key(default_app)}"')  # one object only
    assert found["PullServingImage"] == {
        "Sid": "PullServingImage", "Effect": "Allow",
        "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        "Resource": "arn:aws:ecr:eu-west-3:763104351884:repository/pytorch-inference"}
    assert found["AuthenticateToRegistry"]["Action"] == "ecr:GetAuthorizationToken"
    log_group_id, _ = default_app.one("AWS::Logs::LogGroup")
    assert found["WriteEndpointLogs"]["Action"] == ["logs:CreateLogStream", "logs:DescribeLogStreams",
                                                    "logs:PutLogEvents"]
    assert found["WriteEndpointLogs"]["Resource"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    assert found["PublishMetrics"]["Action"] == "cloudwatch:PutMetricData"
