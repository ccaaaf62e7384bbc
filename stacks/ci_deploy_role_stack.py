"""The role GitHub Actions assumes by OIDC to deploy: no stored keys, and nothing but the CDK roles.

It trusts only this repository's main branch and its prod environment, and may only assume the
roles `cdk bootstrap` created; those roles do the actual deploying, as for a person running
`cdk deploy`.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, CfnOutput, Duration, Environment, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_app.deployment.config import CiSettings

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"


class CiDeployRoleStack(Stack):
    def __init__(self, scope: Construct, ci: CiSettings, env: Environment) -> None:
        super().__init__(scope, "VelibForecast-ci", env=env,
                         description="GitHub Actions deploy role (OIDC) for the Velib' forecaster")
        if ci.existing_oidc_provider_arn:
            provider_arn = ci.existing_oidc_provider_arn
        else:
            provider = iam.CfnOIDCProvider(self, "GitHubOidcProvider", url=f"https://{GITHUB_OIDC_HOST}",
                                           client_id_list=["sts.amazonaws.com"])
            provider_arn = provider.attr_arn
        subjects = [f"repo:{ci.repository}:ref:refs/heads/main", f"repo:{ci.repository}:environment:prod"]
        role = iam.Role(
            self, "DeployRole",
            description=f"Deploys the Velib' forecaster from {ci.repository} (main branch, prod environment)",
            max_session_duration=Duration.hours(1),
            assumed_by=iam.FederatedPrincipal(provider_arn, {
                "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com"},
                "StringLike": {f"{GITHUB_OIDC_HOST}:sub": subjects},
            }, "sts:AssumeRoleWithWebIdentity"),
        )
        bootstrap_roles = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/cdk-{ci.cdk_qualifier}-*-{Aws.ACCOUNT_ID}-*"
        policy = iam.Policy(self, "AssumeBootstrapRoles", roles=[role], statements=[iam.PolicyStatement(
            sid="AssumeCdkBootstrapRoles", actions=["sts:AssumeRole", "sts:TagSession"],
            resources=[bootstrap_roles])])
        Validations.of(policy).acknowledge(Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-{ci.cdk_qualifier}"
               "-*-<AWS::AccountId>-*]",
            reason="the four bootstrap roles (deploy, file/image publishing, lookup) share this prefix"))
        CfnOutput(self, "DeployRoleArn", value=role.role_arn,
                  description="set it as the repository variable AWS_DEPLOY_ROLE_ARN")
