"""Third-party checkers on the synthesized app: cdk-nag (AwsSolutions), cfn-lint and checkov."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks
from support.synth import ACCOUNT, MODEL_VERSION_FIXTURE, Synthesized

from cdk_app.deployment import registry_version
from cdk_app.paths import REPO_ROOT
from stacks.velib_forecast_app import build_app

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
WARM = "Mon-Fri 07:00-10:00,16:30-20:00"
CHALLENGER = "<challenger_dir>"  # stands for the challenger_dir fixture's folder
MODES: dict[str, dict[str, str]] = {
    "serverless": {},
    "warm-ping": {"warm_hours": WARM},
    "warm-provisioned": {"warm_hours": WARM, "warm_strategy": "provisioned", "provisioned_concurrency": "2"},
    "realtime": {"endpoint_type": "realtime"},
    "collector": {"collector": "true"},
    "retrain": {"collector": "true", "retrain_schedule": "cron(0 3 ? * MON *)"},
    "model-version": {"model_version": "3"},  # a registry version: support.synth's MODEL_VERSION_FIXTURE
    # An A/B: serverless, a second endpoint (with the collector, which invokes both); real-time, a second variant,
    # autoscaled at a 30 % share.
    "ab-serverless": {"collector": "true", "challenger_version": CHALLENGER},
    "ab-realtime": {"endpoint_type": "realtime", "challenger_version": CHALLENGER, "challenger_weight": "0.3"},
}
# Each check checkov fails on is either fixed or skipped in the template with its reason.
SERVERLESS_SKIPS = {"CKV_AWS_370"}  # model network isolation: not supported by Serverless Inference
# The collector's bucket has no access logs, its function no dead-letter queue and no VPC.
COLLECTOR_SKIPS = {"CKV_AWS_18", "CKV_AWS_116", "CKV_AWS_117"}
RECORDED_SKIPS = {"serverless": SERVERLESS_SKIPS, "warm-ping": SERVERLESS_SKIPS, "warm-provisioned": SERVERLESS_SKIPS,
                  "realtime": set(), "collector": SERVERLESS_SKIPS | COLLECTOR_SKIPS,
                  "retrain": SERVERLESS_SKIPS | COLLECTOR_SKIPS, "model-version": SERVERLESS_SKIPS,
                  "ab-serverless": SERVERLESS_SKIPS | COLLECTOR_SKIPS, "ab-realtime": set()}


@pytest.fixture(params=list(MODES))
def mode_app(request: pytest.FixtureRequest, synth_app: Callable[..., Synthesized],
             monkeypatch: pytest.MonkeyPatch) -> tuple[str, Synthesized]:
    """The app in each serving mode: every checker must be clean in all of them."""
    monkeypatch.setattr(registry_version, "MODEL_VERSION_FILE", MODEL_VERSION_FIXTURE)
    overrides = {key: request.getfixturevalue("challenger_dir") if value == CHALLENGER else value
                 for key, value in MODES[request.param].items()}
    return request.param, synth_app(**overrides)


def test_cdk_nag_finds_nothing_unacknowledged(mode_app: tuple[str, Synthesized]) -> None:
    _, app = mode_app
    report = AwsSolutionsChecks(app.app).validate_scope(app.stack)
    assert [v.rule_name for v in report.violations] == []
    assert report.success


def test_cdk_nag_is_live_on_a_bad_role() -> None:
    app = App()
    stack = Stack(app, "Bad")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                    managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSageMakerFullAccess")])
    role.add_to_policy(iam.PolicyStatement(actions=["s3:*"], resources=["*"]))
    rules = {v.rule_name for v in AwsSolutionsChecks(app).validate_scope(stack).violations}
    assert {"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSageMakerFullAccess]",
            "AwsSolutions-IAM5[Action::s3:*]", "AwsSolutions-IAM5[Resource::*]"} <= rules


def test_cfn_lint_has_no_errors_or_warnings(mode_app: tuple[str, Synthesized]) -> None:
    templates = sorted(str(p) for p in mode_app[1].outdir.glob("*.template.json"))
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), *templates], capture_output=True, text=True, timeout=300)
    assert templates
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_fails_nothing_and_every_skip_has_a_reason(mode_app: tuple[str, Synthesized]) -> None:
    mode, app = mode_app
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make test` installs checkov into .venv-checkov"
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
    result = subprocess.run([str(CHECKOV), "--skip-download", "--framework", "cloudformation", "-o", "json",
                             "-d", str(app.outdir)], capture_output=True, text=True, env=env, timeout=600)
    report = json.loads(result.stdout)
    results = report["results"]
    assert results["failed_checks"] == [], [c["check_id"] for c in results["failed_checks"]]
    skipped = {c["check_id"]: c["check_result"].get("suppress_comment", "") for c in results["skipped_checks"]}
    assert set(skipped) == RECORDED_SKIPS[mode]
    assert all(len(reason) > 20 for reason in skipped.values())
    assert report["summary"]["passed"] > 15


def test_cdk_nag_fails_the_synth_of_the_real_app_on_a_new_finding(tmp_path: Path) -> None:
    app, config = build_app(ACCOUNT, outdir=str(tmp_path))
    stack = Stack.of(app.node.find_child(config.stack_name))
    sns.Topic(stack, "PlainTopic")  # no TLS-only policy: AwsSolutions-SNS3
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed: ERROR .*AwsSolutions-SNS3") as failure:
        app.synth()
    assert "VelibForecast-dev/PlainTopic" in str(failure.value)
    assert "AwsSolutions-SNS3" in (tmp_path / "validation-report.json").read_text()
