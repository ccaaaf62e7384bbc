"""`retrain` end to end on a collected fixture history, against moto's SageMaker and S3 APIs on loopback: a first
candidate beats persistence and is Approved; one trained on shuffled labels, judged against that first version in
service, is Rejected; `models` lists both with their status and figures. The evaluation's figures are checked
against what this test computes from the history's own rule, and the registry's records against the files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from forecast_contract import HORIZON_KEYS, MAX_MISSING_HOURS, artifacts_version
from support.s3_server import moto_server
from support.synth import DEFAULT_CONTEXT
from support.training_history import ACCEPTED, HOURS, bikes, counted, write_history

from cdk_app.deployment.dlc_image import dlc_image
from cdk_app.lifecycle.registry import Registry
from cdk_app.lifecycle.retrain import find_champion
from cdk_app.paths import REPO_ROOT

REGION = "eu-west-3"
STAGE = "dev"
GROUP = ENDPOINT = "velib-forecast-dev"
BUCKET = "velib-models"
# Small enough to train in seconds, big enough to learn the fixture's counts well past persistence.
TINY = {"epochs": 30, "hidden_size": 16, "embedding_dim": 4, "validation_days": 1, "batch_size": 32,
        "learning_rate": 0.01}
HELD_OUT_HOURS = 7 * 24
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": REGION}


@dataclass(frozen=True)
class Emulator:
    url: str
    environment: dict[str, str]  # for the commands: moto's credentials, no AWS profile of this machine

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, **CREDENTIALS)

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cdk_app", *args], cwd=REPO_ROOT, env=self.environment,
                              capture_output=True, text=True, timeout=600)

    def object(self, uri: str) -> bytes:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return bytes(self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


@dataclass(frozen=True)
class Run:
    result: subprocess.CompletedProcess[str]
    work: Path

    @property
    def evaluation(self) -> dict[str, Any]:
        return dict(json.loads((self.work / "evaluation.json").read_text()))


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    nowhere = str(tmp_path_factory.mktemp("aws") / "none")
    with moto_server() as url:
        environment = {**{k: v for k, v in os.environ.items() if k != "AWS_PROFILE"},
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_CONFIG_FILE": nowhere, "AWS_SHARED_CREDENTIALS_FILE": nowhere}
        emulator = Emulator(url, environment)
        emulator.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield emulator


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history")
    write_history(root)
    return root


def retrain(aws: Emulator, history: Path, work: Path, *args: str, **hyperparameters: int | float) -> Run:
    settings = [f"-p{key}={value}" for key, value in {**TINY, **hyperparameters}.items()]
    result = aws.command("retrain", "--history", str(history), "--stage", STAGE, "--region", REGION,
                         "--registry-url", aws.url, "--bucket", f"{BUCKET}/lifecycle", "--output", str(work),
                         *settings, *args)
    return Run(result, work)


@pytest.fixture(scope="module")
def first(aws: Emulator, history: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """No endpoint yet: a first model, with no champion."""
    return retrain(aws, history, tmp_path_factory.mktemp("first"))


@pytest.fixture(scope="module")
def second(aws: Emulator, history: Path, first: Run, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Version 1 in service, as a deploy with -c model_version=1 leaves it; then a candidate that learned nothing."""
    sagemaker = aws.client("sagemaker")
    package = sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"][0]
    sagemaker.create_model(ModelName="served", ExecutionRoleArn="arn:aws:iam::123456789012:role/served",
                           Containers=[{"ModelPackageName": package["ModelPackageArn"]}])
    sagemaker.create_endpoint_config(EndpointConfigName="served", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "served",
         "ServerlessConfig": {"MemorySizeInMB": 4096, "MaxConcurrency": 5}}])
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="served")
    return retrain(aws, history, tmp_path_factory.mktemp("second"), shuffle_labels=1)


def _utc(hour: int) -> str:
    return datetime.fromtimestamp(hour, UTC).isoformat()


def _persistence() -> tuple[int, dict[str, dict[str, float]]]:
    """The held-out windows (the last 7 days' hours whose 3 target hours were counted, with at most 6 of the 24
    before missing) and persistence's MAE and R² on them, from the history's own rule: the last count carried
    forward."""
    first = len(HOURS) - HELD_OUT_HOURS
    forecast: list[int] = []
    observed: list[list[int]] = []
    for code in ACCEPTED:
        seen = [counted(code, hour) for hour in HOURS]
        for t in range(first, len(HOURS) - 2):
            if all(seen[t:t + 3]) and seen[t - 24:t].count(False) <= MAX_MISSING_HOURS:
                forecast.append(bikes(code, HOURS[max(i for i in range(t - 24, t) if seen[i])]))
                observed.append([bikes(code, HOURS[t + k]) for k in range(3)])
    actual, predicted = np.array(observed, dtype=float), np.array(forecast, dtype=float)
    figures = {}
    for k, key in enumerate(HORIZON_KEYS):
        error = predicted - actual[:, k]
        figures[key] = {"mae": float(np.mean(np.abs(error))),
                        "r2": 1 - float(np.sum(error**2) / np.sum((actual[:, k] - actual[:, k].mean()) ** 2))}
    return len(forecast), figures


def _package(aws: Emulator, number: int) -> dict[str, Any]:
    sagemaker = aws.client("sagemaker")
    summaries = sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    arn = next(s["ModelPackageArn"] for s in summaries if s["ModelPackageVersion"] == number)
    return dict(sagemaker.describe_model_package(ModelPackageName=arn))


def test_a_first_candidate_that_beats_persistence_is_approved(aws: Emulator, first: Run) -> None:
    assert first.result.returncode == 0, first.result.stderr[-2000:]
    lines = first.result.stdout.splitlines()
    assert "gate: passed: beats persistence at every horizon - a first model with no champion" in lines
    assert (f"registered: version 1 of {GROUP}, Approved "
            f"(arn:aws:sagemaker:{REGION}:123456789012:model-package/{GROUP}/1)") in lines
    assert any(re.fullmatch(r"champion +none: a first model is judged against persistence alone", line)
               for line in lines)
    assert "... training under the SageMaker training toolkit" in first.result.stderr  # progress, on stderr

    package = _package(aws, 1)
    container = package["InferenceSpecification"]["Containers"][0]
    assert package["ModelApprovalStatus"] == "Approved"
    assert container["Image"] == dlc_image(REGION, DEFAULT_CONTEXT["image_tag"]).uri
    assert aws.object(container["ModelDataUrl"]) == (first.work / "model.tar.gz").read_bytes()
    assert container["ModelDataUrl"].startswith(f"s3://{BUCKET}/lifecycle/{GROUP}/")
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert json.loads(aws.object(statistics["S3Uri"])) == first.evaluation
    candidate = first.evaluation["contenders"]["candidate"]
    assert package["CustomerMetadataProperties"] == {
        "model_version": candidate["model_version"], "gate": "passed",
        "gate_reason": "beats persistence at every horizon - a first model with no champion",
        **{f"{figure}_{key.replace('+', '').lower()}": str(scores[key][measure])
           for key in HORIZON_KEYS
           for figure, scores, measure in (("mae", candidate, "mae"), ("r2", candidate, "r2"),
                                           ("persistence_mae", first.evaluation["contenders"]["persistence"], "mae"))}}


def test_the_figures_are_the_held_out_week_s_scored_independently(first: Run) -> None:
    windows, persistence = _persistence()
    evaluation = first.evaluation
    assert evaluation["heldout"] == {"first_hour": _utc(HOURS[-HELD_OUT_HOURS]), "last_hour": _utc(HOURS[-1]),
                                     "windows": windows}
    for key in HORIZON_KEYS:
        for measure in ("mae", "r2"):
            assert evaluation["contenders"]["persistence"][key][measure] == pytest.approx(
                persistence[key][measure], abs=1e-6)
    # The candidate through its archive's handlers, in a worker, scores what the trainer scored in process.
    trained = json.loads((first.work / "model" / "metrics.json").read_text())["horizons"]
    candidate = evaluation["contenders"]["candidate"]
    assert candidate["model_version"] == artifacts_version(first.work / "model")
    for key in HORIZON_KEYS:
        for measure in ("mae", "r2"):
            assert candidate[key][measure] == pytest.approx(trained[key]["model"][measure], abs=1e-4)
        assert candidate[key]["mae"] < persistence[key]["mae"]


def test_a_candidate_trained_on_shuffled_labels_is_rejected_against_the_one_in_service(
        aws: Emulator, first: Run, second: Run) -> None:
    assert second.result.returncode == 0, second.result.stderr[-2000:]
    lines = second.result.stdout.splitlines()
    assert f"registered: version 2 of {GROUP}, Rejected " \
           f"(arn:aws:sagemaker:{REGION}:123456789012:model-package/{GROUP}/2)" in lines
    evaluation = second.evaluation
    candidate, champion = (evaluation["contenders"][name]["T+1h"]["mae"] for name in ("candidate", "champion"))
    assert f"gate: failed: {evaluation['gate']['reason']}" in lines
    assert f"T+1h MAE {candidate:.3f} not 2 percent below champion {champion:.3f}" in evaluation["gate"]["reason"]
    champion_model = first.evaluation["contenders"]["candidate"]["model_version"]
    assert any(line.startswith(f"champion {champion_model} (version 1, in service on {ENDPOINT})") for line in lines)
    assert json.loads((second.work / "model" / "config.json").read_text())["training"]["shuffle_labels"] == 1

    # the same model on the same week, scored twice, gives the same figures
    assert evaluation["contenders"]["champion"] == first.evaluation["contenders"]["candidate"]
    assert evaluation["contenders"]["persistence"] == first.evaluation["contenders"]["persistence"]
    assert evaluation["gate"]["passed"] is False
    assert evaluation["gate"]["rule"] == {"min_improvement_t1h_percent": 2, "max_regression_percent": 1}
    package = _package(aws, 2)
    assert package["ModelApprovalStatus"] == "Rejected"
    properties = package["CustomerMetadataProperties"]
    assert (properties["gate"], properties["champion_model_version"]) == ("failed", champion_model)
    assert properties["champion_mae_t1h"] == str(evaluation["contenders"]["champion"]["T+1h"]["mae"])


def test_models_lists_both_versions_and_stars_the_one_in_service(aws: Emulator, first: Run, second: Run) -> None:
    result = aws.command("models", "--stage", STAGE, "--region", REGION, "--endpoint-url", aws.url)
    assert result.returncode == 0, result.stderr
    rows = {cells[0]: (line.startswith("*"), cells) for line in result.stdout.splitlines()
            if (cells := line[1:].split()) and cells[0].isdigit()}
    assert sorted(rows) == ["1", "2"]
    for number, run, status, gate in (("1", first, "Approved", "passed"), ("2", second, "Rejected", "failed")):
        contenders = run.evaluation["contenders"]
        starred, cells = rows[number]
        assert starred == (number == "1")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", " ".join(cells[2:4]))  # created, UTC
        assert [cells[1], *cells[4:]] == [status, contenders["candidate"]["model_version"], gate,
                                          *(f"{contenders['candidate'][key]['mae']:.3f}" for key in HORIZON_KEYS),
                                          f"{contenders['persistence']['T+1h']['mae']:.3f}"]
    assert result.stdout.splitlines()[-1] == f"in service on {ENDPOINT}: * version 1"


def test_the_champion_may_be_a_version_an_artifacts_folder_or_an_archive(
        aws: Emulator, first: Run, second: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    registry = Registry(GROUP, REGION, aws.url)
    archive = (first.work / "model.tar.gz").read_bytes()
    by_version = find_champion("1", registry, ENDPOINT, tmp_path / "v1.tar.gz")
    by_folder = find_champion(str(first.work / "model"), registry, ENDPOINT, tmp_path / "folder.tar.gz")
    in_service = find_champion(None, registry, ENDPOINT, tmp_path / "served.tar.gz")
    assert by_version is not None and by_version.label == "version 1"
    assert by_folder is not None and in_service is not None
    assert by_version.archive.read_bytes() == by_folder.archive.read_bytes() == archive  # a deterministic archive
    assert in_service.archive.read_bytes() == archive
    as_file = find_champion(str(first.work / "model.tar.gz"), registry, ENDPOINT, tmp_path / "x")
    assert as_file is not None and as_file.archive == first.work / "model.tar.gz"
    with pytest.raises(ValueError, match=f"--champion: 'nowhere' is neither a version number of {GROUP}"):
        find_champion("nowhere", registry, ENDPOINT, tmp_path / "y")


@pytest.mark.parametrize(("args", "error"), [
    (["--champion", "9"], f"error: {GROUP} has no version 9 (it has versions 1-2)"),
    (["-pepoch=1"], "error: hyperparameter 'epoch': unknown; the trainer takes stations, days, seed, epochs,"),
])
def test_an_error_exits_1_naming_it_in_one_line_before_any_training(
        aws: Emulator, history: Path, second: Run, tmp_path: Path, args: list[str], error: str) -> None:
    result = retrain(aws, history, tmp_path, *args).result
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith(error)
    assert "training under" not in result.stderr


def test_the_pipeline_s_evaluation_step_writes_the_same_evaluation(first: Run, tmp_path: Path) -> None:
    """`python -m cdk_app.lifecycle.evaluation`, as the pipeline's Evaluate step runs it, with the margins its
    command line passes; a bad margin is named."""
    command = [sys.executable, "-m", "cdk_app.lifecycle.evaluation", "--candidate", str(first.work / "model.tar.gz"),
               "--channel", str(first.work / "dataset"), "--output", str(tmp_path / "evaluation.json"),
               "--gate-max-regression-percent", "1"]
    result = subprocess.run([*command, "--gate-min-improvement-t1h-percent", "2"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "evaluation.json").read_text()) == first.evaluation
    refused = subprocess.run([*command, "--gate-min-improvement-t1h-percent", "60"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1] == ("error: context key 'gate_min_improvement_t1h_percent': must be a "
                                               "number 0-50, got '60'")
