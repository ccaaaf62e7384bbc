"""The CI deploy role: OIDC only, this repository's main branch and prod environment, bootstrap roles only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from support.synth import ACCOUNT, DEFAULT_CONTEXT

from cdk_app.deployment.config import ConfigError, load_config
from cdk_app.paths import REPO_ROOT
from stacks.ci_deploy_role_stack import CiDeployRoleStack

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"


def synth(tmp_path: Path, **overrides: Any) -> tuple[App, CiDeployRoleStack, dict[str, Any]]:
    app = App(context={**DEFAULT_CONTEXT, "github_repository": "acme/velib", **overrides}, outdir=str(tmp_path))
    config = load_config(app.node.get_all_context(), ACCOUNT)
    assert config.ci is not None
    stack = CiDeployRoleStack(app, config.ci, Environment(account=config.account, region=config.region))
    app.synth()
    return app, stack, dict(Template.from_stack(stack).to_json())


def of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_role_trusts_only_main_and_prod_of_this_repository(tmp_path: Path) -> None:
    _, _, template = synth(tmp_path)
    (provider,) = of_type(template, "AWS::IAM::OIDCProvider")
    assert provider["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    (role,) = of_type(template, "AWS::IAM::Role")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {"token.actions.githubusercontent.com:sub": [
            "repo:acme/velib:ref:refs/heads/main", "repo:acme/velib:environment:prod"]}}
    assert "ManagedPolicyArns" not in role["Properties"]


def test_role_may_only_assume_the_cdk_bootstrap_roles(tmp_path: Path) -> None:
    _, _, template = synth(tmp_path, cdk_qualifier="abc123")
    (policy,) = of_type(template, "AWS::IAM::Policy")
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert ":role/cdk-abc123-*-" in json.dumps(statement["Resource"])


def test_an_existing_provider_is_reused(tmp_path: Path) -> None:
    _, _, template = synth(tmp_path, github_oidc_provider_arn=PROVIDER)
    assert of_type(template, "AWS::IAM::OIDCProvider") == []
    (role,) = of_type(template, "AWS::IAM::Role")
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Federated": PROVIDER}


@pytest.mark.parametrize(("key", "value"), [("github_repository", "not a repo"),
                                            ("github_oidc_provider_arn", "arn:aws:iam::1:oidc-provider/x"),
                                            ("cdk_qualifier", "Bad-Qualifier")])
def test_bad_ci_settings_are_named(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"context key '{key}'"):
        load_config({**DEFAULT_CONTEXT, "github_repository": "acme/velib", key: value}, ACCOUNT)


def test_same_gates_as_the_endpoint_stack(tmp_path: Path) -> None:
    app, stack, _ = synth(tmp_path)
    assert [v.rule_name for v in AwsSolutionsChecks(app).validate_scope(stack).violations] == []
    template = str(tmp_path / "VelibForecast-ci.template.json")
    lint = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), template], capture_output=True,
                          text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make test` installs checkov into .venv-checkov"
    result = subprocess.run([str(CHECKOV), "--skip-download", "--framework", "cloudformation", "-o", "json",
                             "-f", template], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"})
    assert json.loads(result.stdout)["results"]["failed_checks"] == []
