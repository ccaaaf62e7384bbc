"""The SageMaker execution role, with only what the serving container uses.

Not the AWS-managed SageMaker full-access policy: it grants the container sagemaker:* and
iam:PassRole on every role, and still cannot read buckets without "sagemaker" in their name.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct


class ExecutionRole(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, model_object_arn: str, repository_arn: str,
                 log_group_arn: str, endpoint_type: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                             description=f"Runs the Velib' forecaster's {endpoint_type} endpoint")
        self.policy = iam.Policy(self, "Policy", roles=[self.role], statements=[
            iam.PolicyStatement(sid="ReadModelArchive", actions=["s3:GetObject"], resources=[model_object_arn]),
            iam.PolicyStatement(sid="PullServingImage",
                                actions=["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
                                         "ecr:BatchGetImage"],
                                resources=[repository_arn]),
            iam.PolicyStatement(sid="AuthenticateToRegistry", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            iam.PolicyStatement(sid="WriteEndpointLogs",
                                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                resources=[log_group_arn]),
            iam.PolicyStatement(sid="PublishMetrics", actions=["cloudwatch:PutMetricData"], resources=["*"]),
        ])
        Validations.of(self.policy).acknowledge(
            Acknowledgment(id="AwsSolutions-IAM5[Resource::*]",
                           reason="ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level "
                                  "permissions; every other statement names its resource"),
        )
