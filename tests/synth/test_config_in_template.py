"""Each setting reaches the template with a non-default value: a key that is read but not wired fails here."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable

import model_utils
import pytest
from support.synth import Synthesized

from cdk_app.paths import ARTIFACTS_DIR


@pytest.mark.parametrize(("region", "partition", "account", "console", "suffix", "budget", "endpoint_type"), [
    ("cn-north-1", "aws-cn", "727897471807", "console.amazonaws.cn", "amazonaws.com.cn", "5", "realtime"),
    ("us-gov-west-1", "aws-us-gov", "442386744353", "console.amazonaws-us-gov.com", "amazonaws.com", "0",
     "realtime"),
    ("ap-southeast-2", "aws", "763104351884", "console.aws.amazon.com", "amazonaws.com", "5", "serverless"),
])
def test_region_sets_partition_image_console_and_budget(synth_app: Callable[..., Synthesized], region: str,
                                                        partition: str, account: str, console: str,
                                                        suffix: str, budget: str, endpoint_type: str) -> None:
    app = synth_app(region=region, budget_usd=budget, endpoint_type=endpoint_type)
    _, policy = app.one("AWS::IAM::Policy")
    found = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    repository = f"arn:{partition}:ecr:{region}:{account}:repository/pytorch-inference"
    assert found["PullServingImage"]["Resource"] == repository
    assert json.dumps(found["ReadModelArchive"]["Resource"]).startswith(f'"arn:{partition}:s3:::')
    if partition != "aws":  # no ARN anywhere is pinned to the commercial partition
        assert '"arn:aws:' not in json.dumps(app.template.to_json())
    _, model = app.one("AWS::SageMaker::Model")
    assert model["Properties"]["PrimaryContainer"]["Image"].startswith(f"{account}.dkr.ecr.{region}.{suffix}/")
    assert model["Properties"]["PrimaryContainer"]["Environment"]["SAGEMAKER_REGION"] == region
    outputs = app.template.to_json()["Outputs"]
    assert outputs["DashboardUrl"]["Value"].startswith(f"https://{console}/cloudwatch/home?region={region}#")
    if budget == "0":  # GovCloud's CloudFormation has no AWS::Budgets::Budget
        assert app.of_type("AWS::Budgets::Budget") == {}
        return
    _, budget_resource = app.one("AWS::Budgets::Budget")
    assert budget_resource["Properties"]["Budget"]["CostFilters"]["Region"] == [region]


def test_log_retention_timeout_and_image_tag(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(log_retention_days="90", model_server_timeout_seconds="25", image_tag="2.6.0-cpu-py312-custom")
    _, log_group = app.one("AWS::Logs::LogGroup")
    assert log_group["Properties"]["RetentionInDays"] == 90
    _, model = app.one("AWS::SageMaker::Model")
    container = model["Properties"]["PrimaryContainer"]
    assert container["Environment"]["TS_DEFAULT_RESPONSE_TIMEOUT"] == "25"
    assert container["Image"].endswith("/pytorch-inference:2.6.0-cpu-py312-custom")


def test_alarm_rates_and_the_spillover_alarm(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(alarm_5xx_rate="0.05", alarm_4xx_rate="0.2", provisioned_concurrency="2",
                    alarm_spillover_invocations="7")
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in app.of_type("AWS::CloudWatch::Alarm").values()}
    assert by_metric["Invocation5XXErrors"]["Threshold"] == 0.05
    assert by_metric["Invocation4XXErrors"]["Threshold"] == 0.2
    spill = by_metric["ServerlessProvisionedConcurrencySpilloverInvocations"]
    assert spill["Threshold"] == 7 and spill["Statistic"] == "Sum"
    assert len(by_metric) == 5


def test_warm_timezone(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(warm_hours="Mon 07:00-10:00", warm_timezone="America/New_York")
    schedules = app.of_type("AWS::Scheduler::Schedule").values()
    assert schedules and {s["Properties"]["ScheduleExpressionTimezone"] for s in schedules} == {"America/New_York"}


def test_instance_cpu_and_memory_alarm_thresholds(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(endpoint_type="realtime", instance_type="ml.c7i.xlarge", alarm_cpu_percent="55",
                    alarm_memory_percent="65")
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in app.of_type("AWS::CloudWatch::Alarm").values()}
    assert by_metric["CPUUtilization"]["Threshold"] == 55 * 4  # 4 vCPUs, up to 100% each
    assert by_metric["MemoryUtilization"]["Threshold"] == 65


def test_artifacts_dir(synth_app: Callable[..., Synthesized], tmp_path_factory: pytest.TempPathFactory) -> None:
    """Other artifacts (here the reference ones with one file rewritten) give another archive and model version."""
    artifacts = tmp_path_factory.mktemp("own-model") / "artifacts"
    shutil.copytree(ARTIFACTS_DIR, artifacts)
    config = artifacts / "config.json"
    config.write_text(json.dumps(json.loads(config.read_text()), indent=4))
    app, default = synth_app(artifacts_dir=str(artifacts)), synth_app()
    version = model_utils.artifacts_version(artifacts)
    assert version != model_utils.artifacts_version(ARTIFACTS_DIR)
    assert app.template.to_json()["Outputs"]["ModelVersion"]["Value"] == version

    def model_data(synthesized: Synthesized) -> str:
        return json.dumps(synthesized.one("AWS::SageMaker::Model")[1]["Properties"]["PrimaryContainer"]["ModelDataUrl"])

    assert model_data(app) != model_data(default)  # the archive built from them is the one deployed
