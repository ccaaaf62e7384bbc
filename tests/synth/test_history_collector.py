"""HistoryCollector (`collector=true`): the history bucket, the function, its least-privilege roles, its schedule,
alarm and outputs; and none of it by default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_cdk.assertions import Match
from support.synth import ENDPOINT, Synthesized

from cdk_app.deployment.config import COLLECTOR_MEMORY_MB, COLLECTOR_TIMEOUT_SECONDS

COLLECTOR = {"collector": "true"}
EVERY_MINUTE = {**COLLECTOR, "collector_interval_minutes": "1", "history_retention_days": "30", "stage": "prod"}
FUNCTION_NAME = f"{ENDPOINT}-collector"
FEED = "https://velib-metropole-opendata.smovengo.cloud/opendata/Velib_Metropole/gbfs.json"


def ref_of(app: Synthesized, kind: str) -> dict[str, str]:
    return {"Ref": app.one(kind)[0]}


def arn_of(app: Synthesized, kind: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [app.one(kind)[0], "Arn"]}


def statements_of(app: Synthesized, role_id: str) -> dict[str, dict[str, Any]]:
    policies = [p["Properties"] for p in app.of_type("AWS::IAM::Policy").values()]
    return {s["Sid"]: s for p in policies if {"Ref": role_id} in p["Roles"] for s in p["PolicyDocument"]["Statement"]}


def test_nothing_of_the_collector_by_default(default_app: Synthesized) -> None:
    for kind in ("AWS::S3::Bucket", "AWS::Lambda::Function", "AWS::Scheduler::Schedule"):
        default_app.template.resource_count_is(kind, 0)
    assert not {"HistoryUrl", "HistoryBucketName"} & set(default_app.template.to_json()["Outputs"])


def test_the_history_bucket_is_encrypted_tls_only_private_versioned_expiring_and_retained(
        synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**COLLECTOR)
    bucket_id, bucket = app.one("AWS::S3::Bucket")
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    props = bucket["Properties"]
    # S3's own keys: the stack's KMS key goes with destroy, and the retained history must stay readable
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [{
        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True)
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LifecycleConfiguration"]["Rules"] == [
        {"Id": "ExpireHistory", "Status": "Enabled", "ExpirationInDays": 400,
         "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
        {"Id": "DropExpiredDeleteMarkers", "Status": "Enabled", "ExpiredObjectDeleteMarker": True}]
    app.template.has_resource_properties("AWS::S3::BucketPolicy", {
        "Bucket": {"Ref": bucket_id}, "PolicyDocument": {"Statement": [Match.object_like({
            "Effect": "Deny", "Action": "s3:*", "Principal": {"AWS": "*"},
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]}})


def test_the_retention_follows_the_config(synth_app: Callable[..., Synthesized]) -> None:
    _, bucket = synth_app(**EVERY_MINUTE).one("AWS::S3::Bucket")
    assert bucket["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 30


def test_the_function_runs_the_handler_once_at_a_time_with_its_environment(
        synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**COLLECTOR)
    function_id, function = app.one("AWS::Lambda::Function")
    props = function["Properties"]
    assert (props["FunctionName"], props["Handler"], props["Runtime"], props["Architectures"]) == (
        FUNCTION_NAME, "cdk_app.live_data.lambda_handler.handler", "python3.14", ["arm64"])
    assert (props["ReservedConcurrentExecutions"], props["MemorySize"], props["Timeout"]) == (
        1, COLLECTOR_MEMORY_MB, COLLECTOR_TIMEOUT_SECONDS)
    assert props["Environment"]["Variables"] == {
        "FEED_URL": FEED, "ENDPOINT_NAME": ENDPOINT,
        "HISTORY_URL": {"Fn::Join": ["", ["s3://", ref_of(app, "AWS::S3::Bucket"), "/history"]]}}
    assert props["KmsKeyArn"] == arn_of(app, "AWS::KMS::Key")
    assert function["DependsOn"] == [p for p in app.of_type("AWS::IAM::Policy")
                                     if p.startswith("CollectorPolicy")]  # its permissions exist before it
    app.template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {
        "FunctionName": {"Ref": function_id}, "MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 300})


def test_the_function_logs_to_its_own_encrypted_log_group_with_retention(
        synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**COLLECTOR)
    (log_id, log_group), = [(k, v) for k, v in app.of_type("AWS::Logs::LogGroup").items()
                            if v["Properties"]["LogGroupName"] == f"/aws/lambda/{FUNCTION_NAME}"]
    assert log_group["Properties"]["RetentionInDays"] == 30
    assert log_group["Properties"]["KmsKeyId"] == arn_of(app, "AWS::KMS::Key")
    assert log_group["DeletionPolicy"] == "Delete"
    _, function = app.one("AWS::Lambda::Function")
    assert function["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": log_id}}
    _, key = app.one("AWS::KMS::Key")
    (logs,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
               if s.get("Sid") == "LetCloudWatchLogsEncryptTheCollectorLogs"]
    assert "".join(str(part) for part in logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"][
        "Fn::Join"][1]).endswith(f":log-group:/aws/lambda/{FUNCTION_NAME}")


def test_the_function_role_has_exactly_the_least_it_needs(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**COLLECTOR)
    _, function = app.one("AWS::Lambda::Function")
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    role = app.resources[role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]
    assert "ManagedPolicyArns" not in role
    bucket = arn_of(app, "AWS::S3::Bucket")
    log_id = next(k for k, v in app.of_type("AWS::Logs::LogGroup").items()
                  if v["Properties"]["LogGroupName"].startswith("/aws/lambda/"))
    assert statements_of(app, role_id) == {
        "ReadWriteHistory": {"Sid": "ReadWriteHistory", "Effect": "Allow",
                             "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                             "Resource": {"Fn::Join": ["", [bucket, "/history/*"]]}},
        "ListHistory": {"Sid": "ListHistory", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket,
                        "Condition": {"StringLike": {"s3:prefix": ["history/*"]}}},
        "DecryptItsEnvironment": {"Sid": "DecryptItsEnvironment", "Effect": "Allow", "Action": "kms:Decrypt",
                                  "Resource": arn_of(app, "AWS::KMS::Key")},
        "InvokeThisEndpointOnly": {"Sid": "InvokeThisEndpointOnly", "Effect": "Allow",
                                   "Action": "sagemaker:InvokeEndpoint",
                                   "Resource": ref_of(app, "AWS::SageMaker::Endpoint")},
        "WriteOwnLogs": {"Sid": "WriteOwnLogs", "Effect": "Allow",
                         "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                         "Resource": {"Fn::GetAtt": [log_id, "Arn"]}},
    }


def test_scheduler_invokes_the_function_at_the_interval_and_may_do_nothing_else(
        synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**COLLECTOR)
    _, schedule = app.one("AWS::Scheduler::Schedule")
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "rate(5 minutes)" and props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert "GroupName" not in props and "Input" not in props["Target"]
    function = arn_of(app, "AWS::Lambda::Function")
    assert props["Target"]["Arn"] == function and props["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0
    role_id = props["Target"]["RoleArn"]["Fn::GetAtt"][0]
    trust = app.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [(s["Principal"], s["Condition"]) for s in trust] == [
        ({"Service": "scheduler.amazonaws.com"}, {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}})]
    assert [(s["Action"], s["Resource"]) for s in statements_of(app, role_id).values()] == [
        ("lambda:InvokeFunction", function)]


def test_one_minute_is_singular_and_a_queued_poll_waits_one_interval(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**EVERY_MINUTE)
    assert app.one("AWS::Scheduler::Schedule")[1]["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    assert app.one("AWS::Lambda::EventInvokeConfig")[1]["Properties"]["MaximumEventAgeInSeconds"] == 60


def test_a_failed_poll_raises_an_alarm_on_the_topic(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**COLLECTOR)
    (alarm,) = [a["Properties"] for a in app.of_type("AWS::CloudWatch::Alarm").values()
                if a["Properties"]["Namespace"] == "AWS/Lambda"]
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Threshold"], alarm["Period"]) == ("Errors", "Sum", 0, 300)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["TreatMissingData"] == "notBreaching"
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": FUNCTION_NAME}]
    assert alarm["AlarmActions"] == [ref_of(app, "AWS::SNS::Topic")] == alarm["OKActions"]
    assert "Collector" in str(app.one("AWS::CloudWatch::Dashboard")[1]["Properties"]["DashboardBody"])


def test_outputs_say_where_the_history_is(synth_app: Callable[..., Synthesized]) -> None:
    app = synth_app(**COLLECTOR)
    outputs = app.template.to_json()["Outputs"]
    bucket = ref_of(app, "AWS::S3::Bucket")
    assert outputs["HistoryBucketName"]["Value"] == bucket
    assert outputs["HistoryUrl"]["Value"] == {"Fn::Join": ["", ["s3://", bucket, "/history"]]}


def test_the_same_code_is_the_same_asset_whatever_else_changes(synth_app: Callable[..., Synthesized]) -> None:
    codes = [app.one("AWS::Lambda::Function")[1]["Properties"]["Code"]["S3Key"]
             for app in (synth_app(**COLLECTOR), synth_app(**EVERY_MINUTE))]
    assert codes[0] == codes[1] and codes[0].endswith(".zip")
