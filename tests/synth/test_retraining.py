"""The model registry's group (always) and, with `retrain_schedule`, the weekly retraining pipeline: its definition
checked against the pipeline definition schema's required fields and against what each step must run, its
least-privilege roles, its schedule and its alarm; and the config's refusals, by key."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.synth import ENDPOINT, Synthesized

from cdk_app.deployment.config import ConfigError, load_project_config
from cdk_app.deployment.dlc_image import dlc_image, training_image
from cdk_app.deployment.retraining import EVALUATION_ENTRY, HISTORY_DAYS, INSTANCE_TYPE
from cdk_app.lifecycle.training_source import job_hyperparameters

RETRAIN = {"collector": "true", "retrain_schedule": "cron(0 3 ? * MON *)"}
PIPELINE = f"{ENDPOINT}-retrain"
TOKEN = "TOKEN"  # what a CloudFormation reference inside the definition reads as, here
# The pipeline definition JSON schema (aws-sagemaker-mlops/sagemaker-model-building-pipeline-definition-JSON-schema,
# schema/pipeline-definition.schema.json): Version's one value, the names' pattern, and each object's required
# fields. Only the required fields are checked: the published schema predates PropertyFiles, Std:JsonGet and
# CustomerMetadataProperties, which the service and the SageMaker SDK use, and forbids additional properties.
SCHEMA_VERSION = "2020-12-01"
NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
STEP_TYPES = {"Condition", "Training", "Processing", "Transform", "CreateModel", "RegisterModel", "Lambda",
              "Callback", "Tuning", "ClarifyCheck", "QualityCheck", "EMR", "Fail", "AutoML", "Endpoint",
              "EndpointConfig"}
BRANCH_STEP_TYPES = {"Training", "Fail", "Processing", "Transform", "RegisterModel"}  # allowed in IfSteps/ElseSteps
STEP_REQUIRED = ("Type", "Name", "Arguments")
BINARY_CONDITION_REQUIRED = ("Type", "LeftValue", "RightValue")
BINARY_CONDITION_TYPES = {"GreaterThan", "LessThan", "LessThanOrEqualTo", "GreaterThanOrEqualTo", "Equals",
                          "NotEquals"}
METADATA_KEYS = {"model_version", "gate", "gate_reason", *(f"{name}_t{h}h" for h in (1, 2, 3)
                                                            for name in ("mae", "r2", "persistence_mae"))}


def body(app: Synthesized) -> dict[str, Any]:
    """The PipelineDefinitionBody, its CloudFormation references read as TOKEN (they sit inside JSON strings)."""
    _, pipeline = app.one("AWS::SageMaker::Pipeline")
    text = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    joined = text if isinstance(text, str) else "".join(p if isinstance(p, str) else TOKEN
                                                        for p in text["Fn::Join"][1])
    return dict(json.loads(joined))


def all_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from all_steps(step["Arguments"].get("IfSteps", []) + step["Arguments"].get("ElseSteps", []))


def expressions(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if {"Get", "Std:Join", "Std:JsonGet"} & set(node):
            yield node
        for value in node.values():
            yield from expressions(value)
    elif isinstance(node, list):
        for value in node:
            yield from expressions(value)


def by_name(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Name"]: s for s in all_steps(definition["Steps"])}


def statements_of(app: Synthesized, role_id: str) -> dict[str, dict[str, Any]]:
    policies = [p["Properties"] for p in app.of_type("AWS::IAM::Policy").values()]
    return {s["Sid"]: s for p in policies if {"Ref": role_id} in p["Roles"] for s in p["PolicyDocument"]["Statement"]}


@pytest.fixture(scope="module")
def retrain_app(synth_app: Callable[..., Synthesized]) -> Synthesized:
    return synth_app(**RETRAIN)


def test_the_model_registry_group_is_always_declared_and_named_after_the_endpoint(default_app: Synthesized) -> None:
    _, group = default_app.one("AWS::SageMaker::ModelPackageGroup")
    assert group["Properties"]["ModelPackageGroupName"] == ENDPOINT
    assert default_app.template.to_json()["Outputs"]["ModelPackageGroupName"]["Value"] == ENDPOINT


def test_no_pipeline_unless_asked(default_app: Synthesized, synth_app: Callable[..., Synthesized]) -> None:
    for app in (default_app, synth_app(collector="true")):
        app.template.resource_count_is("AWS::SageMaker::Pipeline", 0)
        assert "RetrainPipelineName" not in app.template.to_json()["Outputs"]
        assert not [a for a in app.of_type("AWS::CloudWatch::Alarm").values()
                    if a["Properties"]["Namespace"] == "AWS/Sagemaker/ModelBuildingPipeline"]


def test_the_definition_has_every_field_the_schema_requires(retrain_app: Synthesized) -> None:
    definition = body(retrain_app)
    assert definition["Version"] == SCHEMA_VERSION and definition["Steps"]
    for parameter in definition["Parameters"]:
        assert NAME.fullmatch(parameter["Name"]) and parameter["Type"] in {"String", "Integer", "Float", "Boolean"}
    steps = list(all_steps(definition["Steps"]))
    for step in steps:
        assert all(key in step for key in STEP_REQUIRED), step.keys()
        assert NAME.fullmatch(step["Name"]) and step["Type"] in STEP_TYPES
    assert len({s["Name"] for s in steps}) == len(steps)  # names are unique across branches
    (gate,) = [s for s in steps if s["Type"] == "Condition"]
    arguments = gate["Arguments"]
    assert arguments["Conditions"] and {s["Type"] for s in arguments["IfSteps"] + arguments["ElseSteps"]} <= \
        BRANCH_STEP_TYPES
    for condition in arguments["Conditions"]:
        assert all(key in condition for key in BINARY_CONDITION_REQUIRED)
        assert condition["Type"] in BINARY_CONDITION_TYPES


def test_every_reference_names_a_parameter_or_an_earlier_step_and_its_property_file(retrain_app: Synthesized
                                                                                     ) -> None:
    definition = body(retrain_app)
    parameters = {p["Name"] for p in definition["Parameters"]}
    steps = by_name(definition)
    property_files = {(name, f["PropertyFileName"]) for name, s in steps.items() for f in s.get("PropertyFiles", [])}
    found = list(expressions(definition["Steps"]))
    gets = [e["Get"] for e in found if "Get" in e]
    assert "Steps.Train.ModelArtifacts.S3ModelArtifacts" in gets
    assert "Steps.Dataset.ProcessingOutputConfig.Outputs['dataset'].S3Output.S3Uri" in gets
    for path in gets:
        kind, name, *rest = path.split(".")
        assert (kind, name) in {("Execution", "PipelineExecutionId")} | {("Parameters", p) for p in parameters} | {
            ("Steps", s) for s in steps}, path
        if kind == "Steps" and rest[0] == "PropertyFiles":
            assert (name, rest[1]) in property_files, path
    outputs = {(n, o["OutputName"]) for n, s in steps.items() if s["Type"] == "Processing"
               for o in s["Arguments"]["ProcessingOutputConfig"]["Outputs"]}
    for path in gets:
        match = re.fullmatch(r"Steps\.(\w+)\.ProcessingOutputConfig\.Outputs\['(\w+)'\]\.S3Output\.S3Uri", path)
        assert match is None or (match[1], match[2]) in outputs, path


def test_dataset_train_evaluate_then_the_gate_registers_approved_or_rejected(retrain_app: Synthesized) -> None:
    definition = body(retrain_app)
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("Dataset", "Processing"), ("Train", "Training"), ("Evaluate", "Processing"), ("Gate", "Condition")]
    assert {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}["HistoryDays"] == str(HISTORY_DAYS)
    gate = definition["Steps"][3]["Arguments"]
    assert gate["Conditions"] == [{"Type": "Equals", "RightValue": True, "LeftValue": {"Std:JsonGet": {
        "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.Evaluation"}, "Path": "gate.passed"}}}]
    branches = {branch: [(s["Name"], s["Type"], s["Arguments"]["ModelApprovalStatus"],
                          s["Arguments"]["CustomerMetadataProperties"]["gate"]) for s in gate[branch]]
                for branch in ("IfSteps", "ElseSteps")}
    assert branches == {"IfSteps": [("RegisterApproved", "RegisterModel", "Approved", "passed")],
                        "ElseSteps": [("RegisterRejected", "RegisterModel", "Rejected", "failed")]}


def test_training_runs_the_training_dlc_in_script_mode_on_the_dataset(retrain_app: Synthesized) -> None:
    train = by_name(body(retrain_app))["Train"]["Arguments"]
    assert train["AlgorithmSpecification"]["TrainingImage"] == training_image("eu-west-3").uri
    hyperparameters = train["HyperParameters"]
    submit = json.loads(hyperparameters["sagemaker_submit_directory"])
    assert hyperparameters == job_hyperparameters({}, submit)
    assert re.fullmatch(r"s3://cdk-[a-z0-9]+-assets-\d{12}-eu-west-3/[0-9a-f]{64}\.gz", submit)
    (channel,) = train["InputDataConfig"]
    assert channel["ChannelName"] == "training"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.Dataset.ProcessingOutputConfig.Outputs['dataset'].S3Output.S3Uri"}
    assert train["ResourceConfig"]["InstanceType"] == INSTANCE_TYPE


def test_the_processing_steps_run_the_repository_commands_and_the_evaluation_entry_point(
        retrain_app: Synthesized) -> None:
    steps = by_name(body(retrain_app))
    dataset_script = steps["Dataset"]["Arguments"]["AppSpecification"]["ContainerEntrypoint"][-1]
    assert f"python3 -m cdk_app dataset --history s3://{TOKEN}/history --days \"$HISTORY_DAYS\"" in dataset_script
    evaluate = steps["Evaluate"]
    script = evaluate["Arguments"]["AppSpecification"]["ContainerEntrypoint"][-1]
    assert script.index("python3 -m cdk_app package") < script.index(f"python3 -m {EVALUATION_ENTRY} ")
    margins = retrain_app.config.gate  # cdk.json's, as the local `retrain` applies them
    assert (f"--gate-min-improvement-t1h-percent {margins.min_improvement_t1h_percent:g} "
            f"--gate-max-regression-percent {margins.max_regression_percent:g}") in script
    assert {i["InputName"] for i in evaluate["Arguments"]["ProcessingInputs"]} == {
        "code", "candidate", "champion", "channel"}
    assert evaluate["PropertyFiles"] == [{"PropertyFileName": "Evaluation", "OutputName": "evaluation",
                                          "FilePath": "evaluation.json"}]


def test_registration_carries_the_archive_its_image_the_evaluation_and_the_contract_metadata(
        retrain_app: Synthesized) -> None:
    for name in ("RegisterApproved", "RegisterRejected"):
        arguments = by_name(body(retrain_app))[name]["Arguments"]
        assert arguments["ModelPackageGroupName"] == ENDPOINT
        (container,) = arguments["InferenceSpecification"]["Containers"]
        assert container["Image"] == dlc_image("eu-west-3", retrain_app.config.image_tag).uri
        assert container["ModelDataUrl"] == {"Std:Join": {"On": "/", "Values": [
            {"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['model'].S3Output.S3Uri"}, "model.tar.gz"]}}
        assert arguments["ModelMetrics"]["ModelQuality"]["Statistics"]["ContentType"] == "application/json"
        metadata = arguments["CustomerMetadataProperties"]
        assert set(metadata) == METADATA_KEYS
        assert metadata["mae_t2h"] == {"Std:Join": {"On": "", "Values": [{"Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.Evaluation"},
            "Path": "contenders.candidate['T+2h'].mae"}}]}}


def test_the_pipeline_role_has_only_what_the_steps_need(retrain_app: Synthesized) -> None:
    _, pipeline = retrain_app.one("AWS::SageMaker::Pipeline")
    role_id = pipeline["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    role = retrain_app.resources[role_id]["Properties"]
    assert [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]] == [
        {"Service": "sagemaker.amazonaws.com"}]
    assert "ManagedPolicyArns" not in role
    statements = statements_of(retrain_app, role_id)
    assert set(statements) == {"ReadHistory", "ReadWriteRuns", "ListHistoryAndRuns", "ReadCodeAndChampion",
                               "ListCode", "ListChampion", "UseTheStackKey", "PullImages", "AuthenticateToRegistry",
                               "RunPipelineJobs", "PassItselfToTheJobs", "WriteJobLogs", "RegisterVersions"}
    text = json.dumps(statements)
    assert '"s3:*"' not in text and '"sagemaker:*"' not in text and "DeleteObject" not in text
    assert statements["ReadHistory"]["Action"] == "s3:GetObject"  # the history is read, never written
    assert statements["PassItselfToTheJobs"]["Resource"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert statements["PullImages"]["Resource"] == sorted(
        image.repository_arn for image in (training_image("eu-west-3"), dlc_image("eu-west-3", "any")))
    jobs = [json.dumps(r) for r in statements["RunPipelineJobs"]["Resource"]]
    assert [job.endswith(f':{kind}/pipelines-*"]]}}') for job, kind in zip(
        jobs, ("processing-job", "training-job"), strict=True)] == [True, True]  # only the jobs Pipelines starts
    assert f"model-package/{ENDPOINT}/*" in json.dumps(statements["RegisterVersions"]["Resource"])


def test_scheduler_starts_this_pipeline_in_its_time_zone_and_may_do_nothing_else(retrain_app: Synthesized) -> None:
    (schedule,) = [s["Properties"] for s in retrain_app.of_type("AWS::Scheduler::Schedule").values()
                   if ":pipeline/" in json.dumps(s["Properties"]["Target"]["Arn"])]
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (
        "cron(0 3 ? * MON *)", "Europe/Paris")
    target = schedule["Target"]
    assert json.dumps(target["Arn"]).endswith(f':pipeline/{PIPELINE}"]]}}')
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0  # a lost weekly start costs a week
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    assert [(s["Action"], s["Resource"]) for s in statements_of(retrain_app, role_id).values()] == [
        ("sagemaker:StartPipelineExecution", target["Arn"])]


def test_a_failed_run_raises_an_alarm_on_the_topic(retrain_app: Synthesized) -> None:
    (alarm,) = [a["Properties"] for a in retrain_app.of_type("AWS::CloudWatch::Alarm").values()
                if a["Properties"]["Namespace"] == "AWS/Sagemaker/ModelBuildingPipeline"]
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Threshold"]) == ("ExecutionFailed", "Sum", 0)
    assert alarm["Dimensions"] == [{"Name": "PipelineName", "Value": PIPELINE}]
    topic = {"Ref": retrain_app.one("AWS::SNS::Topic")[0]}
    assert alarm["AlarmActions"] == [topic] == alarm["OKActions"]
    assert retrain_app.template.to_json()["Outputs"]["RetrainPipelineName"]["Value"] == PIPELINE


@pytest.mark.parametrize(("overrides", "message"), [
    ({"retrain_schedule": "cron(0 3 ? * MON *)"}, "context key 'retrain_schedule': the pipeline trains on the "
                                                  "collector's history, so it needs collector=true"),
    ({**RETRAIN, "retrain_schedule": "cron(0 3 * * MON *)"}, "context key 'retrain_schedule': must be an "
                                                             "EventBridge Scheduler cron(...)"),
    ({**RETRAIN, "retrain_schedule": "weekly"}, "context key 'retrain_schedule': must be"),
    ({**RETRAIN, "retrain_timezone": "Paris"}, "context key 'retrain_timezone': must be an IANA time zone"),
])
def test_a_bad_retraining_setting_is_refused_naming_its_key(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_project_config(**overrides)


def test_a_rate_is_a_schedule_too() -> None:
    settings = load_project_config(**{**RETRAIN, "retrain_schedule": "rate(7 days)"}).retrain
    assert settings is not None and (settings.schedule, settings.timezone) == ("rate(7 days)", "Europe/Paris")
