"""What a deploy with `collector=true` must have left in the emulated account, checked with boto3: the history
bucket, the function, its roles, its schedule, its alarm and its log group, each as the config says.

Moto runs no Lambda function without Docker, so the function is checked as configured, never invoked; the
collector's own code is tested in process (tests/unit). The bucket's TLS-only policy is not checked here:
moto skips AWS::S3::BucketPolicy, and the synth tests check it in the template.
"""

from __future__ import annotations

from typing import Any

from cdk_app.deployment.collector_asset import HANDLER
from cdk_app.deployment.config import COLLECTOR_MEMORY_MB, NONCURRENT_VERSION_DAYS, CollectorSettings, DeploymentConfig
from cdk_app.rehearsal.checks import check, inline_statements
from cdk_app.rehearsal.emulator import Emulator
from stacks.alarm_specs import collector_alarm_specs
from stacks.history_collector import HISTORY_PREFIX, RUNTIME, endpoint_environment, rate_expression

FUNCTION_STATEMENTS = {"ReadWriteHistory", "ListHistory", "DecryptItsEnvironment", "InvokeThisEndpointOnly",
                       "WriteOwnLogs"}


def check_collector(emulator: Emulator, config: DeploymentConfig, outputs: dict[str, str]) -> list[str]:
    settings = config.collector
    check(settings is not None, "the step deployed no collector")
    assert settings is not None
    key = emulator.client("sns").get_topic_attributes(TopicArn=outputs["AlertTopicArn"])["Attributes"][
        "KmsMasterKeyId"]  # the stack's one key
    function = emulator.client("lambda").get_function_configuration(FunctionName=config.collector_function_name)
    return [*check_history_bucket(emulator, settings, outputs),
            *check_function(emulator, config, settings, function, outputs, key),
            *check_schedule(emulator, settings, function["FunctionArn"]),
            *check_alarm(emulator, config, outputs)]


def check_history_bucket(emulator: Emulator, settings: CollectorSettings, outputs: dict[str, str]) -> list[str]:
    bucket = outputs["HistoryBucketName"]
    check(outputs["HistoryUrl"] == f"s3://{bucket}/{HISTORY_PREFIX}", f"HistoryUrl output is {outputs['HistoryUrl']}")
    s3 = emulator.client("s3")
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    default = rule["ApplyServerSideEncryptionByDefault"]
    check(default["SSEAlgorithm"] == "AES256" and "KMSMasterKeyID" not in default,
          f"the history bucket is encrypted by {default}, not by S3's own keys (it must outlive the stack's key)")
    check(s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled", "the history bucket is not versioned")
    blocked = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    check(all(blocked.values()) and len(blocked) == 4, f"public access block is {blocked}")
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    expiry = rules["ExpireHistory"]
    check((expiry["Expiration"].get("Days"), expiry["NoncurrentVersionExpiration"]["NoncurrentDays"])
          == (settings.history_retention_days, NONCURRENT_VERSION_DAYS), f"lifecycle rules are {rules}")
    return [f"history bucket: S3's own keys (readable after destroy), versioned, public access blocked, objects "
            f"expire after {settings.history_retention_days} d, overwritten ones after {NONCURRENT_VERSION_DAYS} d",
            "HistoryUrl and HistoryBucketName outputs"]


def check_function(emulator: Emulator, config: DeploymentConfig, settings: CollectorSettings,
                   function: dict[str, Any], outputs: dict[str, str], key: str) -> list[str]:
    found = (function["Runtime"], function["Handler"], function["MemorySize"], function["Timeout"],
             function.get("Architectures"), function.get("KMSKeyArn"))
    wanted = (RUNTIME.name, HANDLER, COLLECTOR_MEMORY_MB, config.collector_timeout_seconds, ["arm64"], key)
    check(found == wanted, f"the function's runtime, handler, memory, timeout, architecture and key are {found}, "
                           f"not {wanted}")
    environment = function["Environment"]["Variables"]
    check(environment == {"FEED_URL": settings.feed_url, "HISTORY_URL": outputs["HistoryUrl"],
                          **endpoint_environment(config.champion_variant, config.challenger_variant)},
          f"the function's environment is {environment}")
    concurrency = emulator.client("lambda").get_function_concurrency(FunctionName=function["FunctionName"])
    check(concurrency.get("ReservedConcurrentExecutions") == 1, f"reserved concurrency is {concurrency}")
    role_name = function["Role"].rsplit("/", 1)[1]
    check(emulator.client("iam").list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == [],
          "the function's role has managed policies")
    statements = {s["Sid"]: s for s in inline_statements(emulator, role_name)}
    check(set(statements) == FUNCTION_STATEMENTS, f"the function's role statements are {sorted(statements)}")
    endpoint_arn = emulator.client("sagemaker").describe_endpoint(EndpointName=config.endpoint_name)["EndpointArn"]
    check(statements["InvokeThisEndpointOnly"]["Resource"] == endpoint_arn, "the function may invoke another endpoint")
    logs = emulator.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{function['FunctionName']}")
    check([g.get("retentionInDays") for g in logs["logGroups"]] == [config.log_retention_days],
          f"the function's log groups are {logs['logGroups']}")
    return [f"function {RUNTIME.name} arm64, {COLLECTOR_MEMORY_MB} MB, {config.collector_timeout_seconds} s, reserved "
            "concurrency 1, its environment under the stack's key",
            f"function role: {len(FUNCTION_STATEMENTS)} statements, no managed policy",
            f"function log group retention {config.log_retention_days} d"]


def check_schedule(emulator: Emulator, settings: CollectorSettings, function_arn: str) -> list[str]:
    scheduler = emulator.client("scheduler")
    schedules = [scheduler.get_schedule(Name=s["Name"], GroupName=s["GroupName"])
                 for s in scheduler.list_schedules()["Schedules"] if s["Target"]["Arn"] == function_arn]
    expression = rate_expression(settings.interval_minutes)
    check([s["ScheduleExpression"] for s in schedules] == [expression],
          f"the function's schedules are {[s['ScheduleExpression'] for s in schedules]}, not [{expression}]")
    statements = inline_statements(emulator, schedules[0]["Target"]["RoleArn"].rsplit("/", 1)[1])
    check([(s["Action"], s["Resource"]) for s in statements] == [("lambda:InvokeFunction", function_arn)],
          f"the schedule's role may {statements}")
    return [f"schedule {expression} -> the function", "schedule role: InvokeFunction on it only"]


def check_alarm(emulator: Emulator, config: DeploymentConfig, outputs: dict[str, str]) -> list[str]:
    (spec,) = collector_alarm_specs(config)
    alarms = [a for a in emulator.client("cloudwatch").describe_alarms()["MetricAlarms"]
              if a["Namespace"] == spec.namespace]
    found = [(a["MetricName"], a["Statistic"], a["Threshold"], a["Dimensions"], a["AlarmActions"], a["OKActions"])
             for a in alarms]
    topic = [outputs["AlertTopicArn"]]
    wanted = (spec.metric_name, spec.statistic, spec.threshold,
              [{"Name": "FunctionName", "Value": config.collector_function_name}], topic, topic)
    check(found == [wanted], f"the collector's alarms are {found}, not [{wanted}]")
    return [f"alarm on failed polls ({spec.metric_name} {spec.statistic} > {spec.threshold:g})"]
