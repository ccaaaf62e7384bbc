"""The weekly retraining pipeline, as a SageMaker Pipelines definition: dataset, training, evaluation, the gate,
and registration of the candidate in the stage's model package group as Approved or Rejected.

- Dataset (processing, the training image): `python -m cdk_app dataset` reads the collector's history straight from
  S3 (the last `HistoryDays` days) and writes the training channel. A step of its own rather than folded into
  training: the job's entry point reads a channel, as `train-job` runs it locally, and the channel of each run is
  kept beside its model, so a run can be retrained or re-evaluated from exactly what it saw.
- Train (training, the PyTorch training DLC, script mode): `sagemaker_program` and `sagemaker_submit_directory`
  name the same sourcedir.tar.gz `train-job` runs under the toolkit here; the trainer's defaults, test_days 7.
- Evaluate (processing, the training image, whose torch runs the endpoint's handler code as well): unpacks the
  job's artifacts, packages them as `python -m cdk_app package` does (the deterministic model.tar.gz the endpoint
  would serve), then runs the evaluation entry point on the candidate, the champion (the archive in service,
  `ChampionModelDataUrl`, which each deploy sets to what it deploys) and persistence over the channel's held-out
  week, and applies the gate with cdk.json's margins, writing evaluation.json.
- Gate (condition): evaluation.json's `gate.passed`.
- RegisterApproved / RegisterRejected (RegisterModel, i.e. CreateModelPackage): the archive, the inference image,
  evaluation.json as the model-quality statistics, and the figures as customer metadata, per the lifecycle contract.

Every job writes under `<artifacts>/<execution id>/`. No CDK import: the stack, the tests and `cost` read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from forecast_contract import HORIZON_HOURS

from cdk_app.deployment.config import GATE_KEYS, GateMargins
from cdk_app.deployment.pipeline_definition import (
    EXECUTION_ID,
    PROCESSING,
    REGISTER_MODEL,
    TRAINING,
    ConditionStep,
    Expression,
    Parameter,
    PipelineDefinition,
    PropertyFile,
    Step,
    as_text,
    equals,
    join,
)
from cdk_app.deployment.registry_version import APPROVED
from cdk_app.lifecycle.training_source import job_hyperparameters

INSTANCE_TYPE = "ml.m5.large"  # every job of a run; `cost` prices a run at it
VOLUME_GB = 10
MAX_RUNTIME_SECONDS = 3 * 3600
HISTORY_DAYS = 56  # eight weeks: the trainer's validation and test weeks, and six to learn from
# Run as `python3 -m`, with the arguments of the Evaluate step below; it writes evaluation.json, the gate included.
EVALUATION_ENTRY = "cdk_app.lifecycle.evaluation"
ARTIFACTS_PREFIX = "retraining"  # in the history bucket, beside history/
CONTENT_TYPE = "application/json"
REALTIME_INSTANCE_TYPES = ("ml.c5.large", "ml.c5.xlarge", "ml.m5.large", "ml.m5.xlarge")
CHANNEL = "training"  # the job's SM_CHANNEL_TRAINING, which the entry point reads
JOB_ROOT = "/opt/ml/processing"  # where a processing job finds its inputs and leaves its outputs
EVALUATION = PropertyFile("Evaluation", "evaluation", "evaluation.json")
HISTORY_DAYS_PARAMETER = "HistoryDays"
CHAMPION_PARAMETER = "ChampionModelDataUrl"
REJECTED = "Rejected"
INFERENCE_TOOLKIT = "sagemaker-inference==1.10.1"  # as in requirements.txt and the pytorch-inference 2.6.0 DLC


@dataclass(frozen=True)
class RetrainingSetup:
    """What the definition refers to; in the stack, most are CloudFormation tokens."""

    history_url: str  # s3://<history bucket>/history, as the collector writes it
    artifacts_url: str  # s3://<history bucket>/retraining
    job_source_url: str  # the processing jobs' code (cdk_app.deployment.job_source)
    training_source_url: str  # sourcedir.tar.gz (cdk_app.lifecycle.training_source)
    champion_url: str  # the archive the endpoint serves
    training_image: str
    inference_image: str
    role_arn: str
    group_name: str
    margins: GateMargins  # the gate's, from cdk.json, as the local `retrain` applies them


def retraining_definition(setup: RetrainingSetup) -> PipelineDefinition:
    days = Parameter(HISTORY_DAYS_PARAMETER, str(HISTORY_DAYS))
    champion = Parameter(CHAMPION_PARAMETER, setup.champion_url)
    dataset = _processing(setup, "Dataset", sources=[], outputs=["dataset"], environment={"HISTORY_DAYS": days.value},
                          commands=[f'python3 -m cdk_app dataset --history {setup.history_url} --days "$HISTORY_DAYS" '
                                    f"--output {JOB_ROOT}/output/dataset"])
    train = _train(setup, dataset.output_uri("dataset"))
    evaluate = _processing(
        setup, "Evaluate", outputs=["model", "evaluation"], property_files=(EVALUATION,),
        sources=[("candidate", train.property("ModelArtifacts.S3ModelArtifacts")), ("champion", champion.value),
                 ("channel", dataset.output_uri("dataset"))],
        commands=[  # the job's model.tar.gz holds the artifacts; the endpoint's archive adds code/ to them
            # the archives' handlers import the inference toolkit, which the training image lacks: the DLC's own pin
            f"python3 -m pip install --quiet {INFERENCE_TOOLKIT}",
            "mkdir -p /tmp/candidate", f"tar -xzf {JOB_ROOT}/input/candidate/model.tar.gz -C /tmp/candidate",
            f"python3 -m cdk_app package --artifacts /tmp/candidate --output {JOB_ROOT}/output/model/model.tar.gz",
            f"python3 -m {EVALUATION_ENTRY} --channel {JOB_ROOT}/input/channel "
            f"--candidate {JOB_ROOT}/output/model/model.tar.gz --champion {JOB_ROOT}/input/champion/* "
            f"{_gate_arguments(setup.margins)} "
            f"--output {JOB_ROOT}/output/evaluation/{EVALUATION.path}"])
    registered = {passed: _register(setup, evaluate, passed) for passed in (True, False)}
    gate = ConditionStep("Gate", conditions=[equals(evaluate.json_value(EVALUATION, "gate.passed"), True)],
                         if_steps=[registered[True]], else_steps=[registered[False]])
    return PipelineDefinition(parameters=[days, champion], steps=[dataset, train, evaluate, gate])


def _gate_arguments(margins: GateMargins) -> str:
    """The margins as the evaluation entry point takes them: one flag per cdk.json key, named after it."""
    values = (margins.min_improvement_t1h_percent, margins.max_regression_percent)
    return " ".join(f"--{key.replace('_', '-')} {value:g}" for key, value in zip(GATE_KEYS, values, strict=True))


def _run_url(setup: RetrainingSetup, name: str) -> Expression:
    """This execution's folder for one output."""
    return join(setup.artifacts_url, EXECUTION_ID, name, on="/")


def _processing(setup: RetrainingSetup, name: str, *, sources: list[tuple[str, Any]], outputs: list[str],
                commands: list[str], environment: dict[str, Any] | None = None,
                property_files: tuple[PropertyFile, ...] = ()) -> Step:
    """A processing job in the training image that unpacks the repository's code and runs `commands` there.
    The code and each source (name, S3 URI) land in /opt/ml/processing/input/<name>; each output is uploaded
    from /opt/ml/processing/output/<name> to this run's folder."""
    script = " && ".join([
        "set -eu", f"mkdir -p {JOB_ROOT}/code", f"tar -xzf {JOB_ROOT}/input/code/* -C {JOB_ROOT}/code",
        f"cd {JOB_ROOT}/code", *commands])
    arguments: dict[str, Any] = {
        "AppSpecification": {"ImageUri": setup.training_image, "ContainerEntrypoint": ["/bin/bash", "-c", script]},
        "ProcessingInputs": [{"InputName": source, "S3Input": {
            "S3Uri": uri, "LocalPath": f"{JOB_ROOT}/input/{source}", "S3DataType": "S3Prefix",
            "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}
            for source, uri in [("code", setup.job_source_url), *sources]],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": output, "S3Output": {
            "S3Uri": _run_url(setup, output), "LocalPath": f"{JOB_ROOT}/output/{output}",
            "S3UploadMode": "EndOfJob"}} for output in outputs]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": INSTANCE_TYPE,
                                                  "VolumeSizeInGB": VOLUME_GB}},
        "StoppingCondition": {"MaxRuntimeInSeconds": MAX_RUNTIME_SECONDS},
        "RoleArn": setup.role_arn,
    }
    if environment:
        arguments["Environment"] = environment
    return Step(name, PROCESSING, arguments, property_files)


def _train(setup: RetrainingSetup, channel_url: Expression) -> Step:
    return Step("Train", TRAINING, {
        "AlgorithmSpecification": {"TrainingImage": setup.training_image, "TrainingInputMode": "File"},
        "HyperParameters": job_hyperparameters({}, setup.training_source_url),
        "InputDataConfig": [{"ChannelName": CHANNEL, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": channel_url, "S3DataDistributionType": "FullyReplicated"}}}],
        "OutputDataConfig": {"S3OutputPath": _run_url(setup, "training")},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": INSTANCE_TYPE, "VolumeSizeInGB": VOLUME_GB},
        "StoppingCondition": {"MaxRuntimeInSeconds": MAX_RUNTIME_SECONDS},
        "RoleArn": setup.role_arn,
    })


def _register(setup: RetrainingSetup, evaluate: Step, passed: bool) -> Step:
    """CreateModelPackage as the lifecycle contract has it, with the gate's verdict as its approval status."""
    def figure(path: str) -> Expression:
        return as_text(evaluate.json_value(EVALUATION, path))

    metrics = {f"{name}_t{hours}h": figure(f"contenders.{contender}['T+{hours}h'].{measure}")
               for hours in HORIZON_HOURS
               for name, contender, measure in (("mae", "candidate", "mae"), ("r2", "candidate", "r2"),
                                                ("persistence_mae", "persistence", "mae"))}
    status = APPROVED if passed else REJECTED
    return Step(f"Register{status}", REGISTER_MODEL, {
        "ModelPackageGroupName": setup.group_name,
        "ModelPackageDescription": f"Retrained on the collected history; {status.lower()} by the gate",
        "ModelApprovalStatus": status,
        "InferenceSpecification": {
            "Containers": [{"Image": setup.inference_image,
                            "ModelDataUrl": join(evaluate.output_uri("model"), "model.tar.gz", on="/")}],
            "SupportedContentTypes": [CONTENT_TYPE], "SupportedResponseMIMETypes": [CONTENT_TYPE],
            "SupportedRealtimeInferenceInstanceTypes": list(REALTIME_INSTANCE_TYPES)},
        "ModelMetrics": {"ModelQuality": {"Statistics": {
            "ContentType": CONTENT_TYPE, "S3Uri": join(evaluate.output_uri("evaluation"), EVALUATION.path, on="/")}}},
        "CustomerMetadataProperties": {
            "model_version": figure("contenders.candidate.model_version"), "gate": "passed" if passed else "failed",
            "gate_reason": figure("gate.reason"), **metrics},
    })
