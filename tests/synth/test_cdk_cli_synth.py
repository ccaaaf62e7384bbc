"""`npx cdk synth` as users and CI run it: it works with cdk-nag in it, refuses a bad value by key in one line,
and never loads torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cdk_app.paths import REPO_ROOT

CDK_ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDK_DISABLE_VERSION_CHECK": "1",
           "CDK_DISABLE_CLI_TELEMETRY": "true", "AWS_EC2_METADATA_DISABLED": "true"}
BUDGET_REFUSAL = ("context key 'budget_usd': CloudFormation has no AWS::Budgets::Budget in af-south-1; set "
                  "budget_usd=0 there and create the budget in the Billing console")


def test_npx_cdk_synth_works_and_cdk_nag_ran_clean(tmp_path: Path) -> None:
    # CDK_VALIDATION=false turns off aws-cdk-lib's built-in CloudFormation check (the app does too), so the
    # validation report exists only because a plugin the app registered, cdk-nag, ran; a plugin that passes
    # is left out of the report, so an empty list means cdk-nag found nothing.
    result = subprocess.run(["npx", "cdk", "synth", "--no-notices", "--quiet", "-o", str(tmp_path)], cwd=REPO_ROOT,
                            env={**CDK_ENV, "CDK_VALIDATION": "false"}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "VelibForecast-dev.template.json").read_text())
    assert "AWS::SageMaker::Endpoint" in {r["Type"] for r in template["Resources"].values()}
    report = tmp_path / "validation-report.json"
    assert report.is_file(), "no validation report: cdk-nag did not run in `cdk synth`"
    assert json.loads(report.read_text())["pluginReports"] == []


def test_cdk_synth_refuses_a_bad_value_before_any_aws_call(tmp_path: Path) -> None:
    env = {**CDK_ENV, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    result = subprocess.run(["npx", "cdk", "synth", "--no-notices", "-o", str(tmp_path), "-c", "memory_mb=4000"],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "context key 'memory_mb': must be one of 1024, 2048, 3072, 4096, 5120, 6144, got '4000'" in result.stderr
    assert "Traceback" not in result.stderr and "File \"" not in result.stderr


def test_app_py_prints_only_the_one_line_message_and_exits_non_zero(tmp_path: Path) -> None:
    """As the CLI runs it, with its context in CDK_CONTEXT_JSON: nothing but the message reaches the user."""
    result = subprocess.run([sys.executable, "app.py"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                            env={**CDK_ENV, "CDK_OUTDIR": str(tmp_path),
                                 "CDK_CONTEXT_JSON": json.dumps({"region": "af-south-1"})})
    assert result.returncode == 1
    assert result.stderr == BUDGET_REFUSAL + "\n" and result.stdout == ""


def test_synth_imports_no_torch_numpy_or_toolkit(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "app.py"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300, env={**CDK_ENV, "CDK_OUTDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "aws_cdk" in imported  # the measurement works
    # sagemaker: the retraining pipeline's definition is written by our own builder, not the slow SageMaker SDK
    assert not imported & {"torch", "numpy", "sagemaker_inference", "boto3", "sagemaker"}


def test_cdk_synth_refuses_serverless_where_it_is_not_offered(tmp_path: Path) -> None:
    result = subprocess.run(["npx", "cdk", "synth", "--no-notices", "-o", str(tmp_path), "-c", "region=ap-southeast-7",
                             "-c", "budget_usd=0"], cwd=REPO_ROOT, env=CDK_ENV, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0
    assert ("context key 'region': SageMaker Serverless Inference is not offered in ap-southeast-7; use "
            "endpoint_type=realtime there or the nearby region ap-southeast-1") in result.stderr
    assert "Traceback" not in result.stderr
