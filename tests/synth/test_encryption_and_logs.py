"""EncryptionKey and the endpoint log group: one rotating key, the endpoint's own logs, deleted on destroy."""

from __future__ import annotations

from support.synth import ENDPOINT, Synthesized


def test_log_group_is_the_endpoints_own_with_retention_and_destroy(default_app: Synthesized) -> None:
    log_group_id, log_group = default_app.one("AWS::Logs::LogGroup")
    key_id, _ = default_app.one("AWS::KMS::Key")
    props = log_group["Properties"]
    assert props["LogGroupName"] == f"/aws/sagemaker/Endpoints/{ENDPOINT}"
    assert props["RetentionInDays"] == 30 and props["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert log_group["DeletionPolicy"] == "Delete" and log_group["UpdateReplacePolicy"] == "Delete"
    _, endpoint = default_app.one("AWS::SageMaker::Endpoint")
    assert log_group_id in endpoint["DependsOn"]


def test_key_rotates_and_lets_alarms_budgets_and_logs_use_it(default_app: Synthesized) -> None:
    _, key = default_app.one("AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    found = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    publishers = found["LetAlarmsAndBudgetsPublishToTheTopic"]
    assert sorted(publishers["Principal"]["Service"]) == ["budgets.amazonaws.com", "cloudwatch.amazonaws.com"]
    assert publishers["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    logs = found["LetCloudWatchLogsEncryptTheEndpointLogs"]
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnEquals"]
