"""`npx cdk synth` as users and CI run it: it works, refuses a bad value by key, and never loads torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cdk_app.paths import REPO_ROOT

CDK_ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDK_DISABLE_VERSION_CHECK": "1",
           "CDK_DISABLE_CLI_TELEMETRY": "true", "AWS_EC2_METADATA_DISABLED": "true"}


def test_npx_cdk_synth_works(tmp_path: Path) -> None:
    result = subprocess.run(["npx", "cdk", "synth", "--no-notices", "--quiet", "-o", str(tmp_path)], cwd=REPO_ROOT,
                            env=CDK_ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "VelibForecast-dev.template.json").read_text())
    assert "AWS::SageMaker::Endpoint" in {r["Type"] for r in template["Resources"].values()}
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert report["pluginReports"] == [] or all(r["summary"]["status"] == "success" for r in report["pluginReports"])


def test_cdk_synth_refuses_a_bad_value_before_any_aws_call(tmp_path: Path) -> None:
    env = {**CDK_ENV, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    result = subprocess.run(["npx", "cdk", "synth", "--no-notices", "-o", str(tmp_path), "-c", "memory_mb=4000"],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "context key 'memory_mb': must be one of 1024, 2048, 3072, 4096, 5120, 6144, got '4000'" in result.stderr


def test_synth_imports_no_torch_numpy_or_toolkit(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "app.py"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300, env={**CDK_ENV, "CDK_OUTDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "aws_cdk" in imported  # the measurement works
    assert not imported & {"torch", "numpy", "sagemaker_inference", "boto3"}


def test_cdk_synth_refuses_serverless_where_it_is_not_offered(tmp_path: Path) -> None:
    result = subprocess.run(["npx", "cdk", "synth", "--no-notices", "-o", str(tmp_path), "-c", "region=ap-southeast-7",
                             "-c", "budget_usd=0"], cwd=REPO_ROOT, env=CDK_ENV, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0
    assert ("context key 'region': SageMaker Serverless Inference is not offered in ap-southeast-7; use "
            "endpoint_type=realtime there or the nearby region ap-southeast-1") in result.stderr
