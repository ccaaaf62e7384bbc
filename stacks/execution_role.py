"""The SageMaker execution role, with only what the serving container uses.

Not the AWS-managed SageMaker full-access policy: it grants the container sagemaker:* and
iam:PassRole on every role, and still cannot read buckets without "sagemaker" in their name.
With an A/B challenger the one role runs both models: it may read both archives, pull from both repositories
(usually the same one) and write both endpoints' log groups (serverless mode's two endpoints).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct


class ExecutionRole(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, model_object_arns: list[str],
                 repository_arns: list[str], log_group_arns: list[str], endpoint_type: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                             description=f"Runs the Velib' forecaster's {endpoint_type} endpoint")
        self.policy = iam.Policy(self, "Policy", roles=[self.role], statements=[
            iam.PolicyStatement(sid="ReadModelArchive", actions=["s3:GetObject"], resources=_once(model_object_arns)),
            iam.PolicyStatement(sid="PullServingImage",
                                actions=["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
                                         "ecr:BatchGetImage"],
                                resources=_once(repository_arns)),
            iam.PolicyStatement(sid="AuthenticateToRegistry", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            iam.PolicyStatement(sid="WriteEndpointLogs",
                                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                resources=_once(log_group_arns)),
            iam.PolicyStatement(sid="PublishMetrics", actions=["cloudwatch:PutMetricData"], resources=["*"]),
        ])
        Validations.of(self.policy).acknowledge(
            Acknowledgment(id="AwsSolutions-IAM5[Resource::*]",
                           reason="ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level "
                                  "permissions; every other statement names its resource"),
        )


def _once(resources: list[str]) -> list[str]:
    """Each resource once, in order: the champion and the challenger often share the image's repository."""
    return list(dict.fromkeys(resources))
