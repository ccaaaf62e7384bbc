"""What a deploy with `retrain_schedule` must have left in the emulated account, checked with boto3: the model
package group (which every deploy declares), the pipeline with its definition, its role and its code in S3, the
schedule that starts it and its role, and the alarm on failed runs.

Moto runs no step of a pipeline, so the definition is checked as stored, against what the repository's builder
writes for this config (the steps' code runs in tests: the training job under the toolkit, the evaluation).
"""

from __future__ import annotations

import json
from typing import Any

from cdk_app.deployment.config import DeploymentConfig
from cdk_app.deployment.dlc_image import dlc_image, training_image
from cdk_app.deployment.retraining import ARTIFACTS_PREFIX, RetrainingSetup, retraining_definition
from cdk_app.rehearsal.checks import check, inline_statements
from cdk_app.rehearsal.emulator import Emulator
from stacks.alarm_specs import retrain_alarm_specs

PIPELINE_STATEMENTS = {"ReadHistory", "ReadWriteRuns", "ListHistoryAndRuns", "ReadCodeAndChampion", "ListCode",
                       "ListChampion", "UseTheStackKey", "PullImages", "AuthenticateToRegistry", "RunPipelineJobs",
                       "PassItselfToTheJobs", "WriteJobLogs", "RegisterVersions"}


def check_group(emulator: Emulator, config: DeploymentConfig, outputs: dict[str, str]) -> list[str]:
    group = emulator.client("sagemaker").describe_model_package_group(
        ModelPackageGroupName=config.model_package_group_name)
    check(outputs.get("ModelPackageGroupName") == group["ModelPackageGroupName"] == config.model_package_group_name,
          f"the group is {group['ModelPackageGroupName']}, its output {outputs.get('ModelPackageGroupName')}")
    return [f"model package group {config.model_package_group_name}"]


def check_retraining(emulator: Emulator, config: DeploymentConfig, outputs: dict[str, str]) -> list[str]:
    check(config.retrain is not None, "the step deployed no retraining")
    pipeline = emulator.client("sagemaker").describe_pipeline(PipelineName=config.retrain_pipeline_name)
    check(outputs.get("RetrainPipelineName") == pipeline["PipelineName"], "RetrainPipelineName output")
    return [*check_group(emulator, config, outputs), *check_definition(emulator, config, pipeline, outputs),
            *check_pipeline_role(emulator, pipeline["RoleArn"]), *check_schedule(emulator, config,
                                                                                  pipeline["PipelineArn"]),
            *check_alarm(emulator, config, outputs)]


def check_definition(emulator: Emulator, config: DeploymentConfig, pipeline: dict[str, Any],
                     outputs: dict[str, str]) -> list[str]:
    """The stored definition is, to the byte, what the builder writes for this config and this deploy's values;
    its two code archives, whose names only the deploy knows, were uploaded."""
    definition = json.loads(pipeline["PipelineDefinition"])
    steps = {s["Name"]: s for s in definition["Steps"]}
    code = (steps["Dataset"]["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"],
            json.loads(steps["Train"]["Arguments"]["HyperParameters"]["sagemaker_submit_directory"]))
    for url in code:
        bucket, key = url.removeprefix("s3://").split("/", 1)
        emulator.client("s3").head_object(Bucket=bucket, Key=key)
    history = outputs["HistoryUrl"]
    wanted = retraining_definition(RetrainingSetup(
        history_url=history, artifacts_url=f"{history.rsplit('/', 1)[0]}/{ARTIFACTS_PREFIX}", job_source_url=code[0],
        training_source_url=code[1], champion_url=outputs["ModelDataUrl"], training_image=training_image(
            config.region).uri, inference_image=dlc_image(config.region, config.image_tag).uri,
        role_arn=pipeline["RoleArn"], group_name=config.model_package_group_name, margins=config.gate)).to_request()
    check(definition == wanted, f"the pipeline's definition differs from the builder's: {json.dumps(definition)[:600]}")
    return [f"pipeline {config.retrain_pipeline_name}: the builder's definition ("
            f"{' -> '.join(s['Name'] for s in definition['Steps'])}, registering Approved or Rejected in "
            f"{config.model_package_group_name}), champion the archive in service", "its two code archives in S3"]


def check_pipeline_role(emulator: Emulator, role_arn: str) -> list[str]:
    role_name = role_arn.rsplit("/", 1)[1]
    iam = emulator.client("iam")
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]["Statement"]
    check([s["Principal"] for s in trust] == [{"Service": "sagemaker.amazonaws.com"}], f"pipeline role trust {trust}")
    check(iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == [],
          "the pipeline role has managed policies")
    sids = {s["Sid"] for s in inline_statements(emulator, role_name)}
    check(sids == PIPELINE_STATEMENTS, f"the pipeline role's statements are {sorted(sids)}")
    return [f"pipeline role: {len(PIPELINE_STATEMENTS)} statements, no managed policy"]


def check_schedule(emulator: Emulator, config: DeploymentConfig, pipeline_arn: str) -> list[str]:
    assert config.retrain is not None
    scheduler = emulator.client("scheduler")
    schedules = [scheduler.get_schedule(Name=s["Name"], GroupName=s["GroupName"])
                 for s in scheduler.list_schedules()["Schedules"] if s["Target"]["Arn"] == pipeline_arn]
    found = [(s["ScheduleExpression"], s.get("ScheduleExpressionTimezone")) for s in schedules]
    check(found == [(config.retrain.schedule, config.retrain.timezone)], f"the pipeline's schedules are {found}")
    statements = inline_statements(emulator, schedules[0]["Target"]["RoleArn"].rsplit("/", 1)[1])
    check([(s["Action"], s["Resource"]) for s in statements] == [("sagemaker:StartPipelineExecution", pipeline_arn)],
          f"the schedule's role may {statements}")
    return [f"schedule {config.retrain.schedule} {config.retrain.timezone} -> the pipeline",
            "schedule role: StartPipelineExecution on it only"]


def check_alarm(emulator: Emulator, config: DeploymentConfig, outputs: dict[str, str]) -> list[str]:
    (spec,) = retrain_alarm_specs(config)
    alarms = [(a["MetricName"], a["Statistic"], a["Threshold"], a["Dimensions"], a["AlarmActions"])
              for a in emulator.client("cloudwatch").describe_alarms()["MetricAlarms"]
              if a["Namespace"] == spec.namespace]
    wanted = (spec.metric_name, spec.statistic, spec.threshold,
              [{"Name": "PipelineName", "Value": config.retrain_pipeline_name}], [outputs["AlertTopicArn"]])
    check(alarms == [wanted], f"the pipeline's alarms are {alarms}, not [{wanted}]")
    return [f"alarm on failed runs ({spec.metric_name} {spec.statistic} > {spec.threshold:g})"]
