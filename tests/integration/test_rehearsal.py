"""The deploy lifecycle, rehearsed with the real CDK CLI against a patched moto server on loopback."""

from __future__ import annotations

import pytest

from cdk_app.rehearsal.steps import rehearse

pytestmark = pytest.mark.emulator


def test_the_whole_lifecycle_passes_every_check() -> None:
    results = rehearse()
    assert [r.name for r in results] == ["bootstrap", "deploy", "update", "no-change deploy", "failed deploy",
                                         "good deploy after it", "registry: a version", "registry: latest approved",
                                         "registry: roll back", "A/B serverless: challenger", "A/B serverless: promote",
                                         "warm hours: provisioned", "warm hours: ping", "switch to realtime",
                                         "back in place", "A/B realtime: challenger", "A/B realtime: drop",
                                         "A/B realtime: promote", "back: destroy, deploy", "collector", "retraining",
                                         "destroy"]
    checked = {r.name: r.checked for r in results}
    challenger = "velib-forecast-dev-challenger"
    assert {f"second endpoint {challenger} InService, serverless 2048 MB x 8, no provisioned concurrency",
            "velib-forecast-dev kept its name and ARN", "the challenger's model names version 2 of velib-forecast-dev",
            "model names version 1 of velib-forecast-dev (Containers: ModelPackageName)",
            "role reads both archives, no other", "2 log groups retention 30 d"} <= set(
        checked["A/B serverless: challenger"])
    assert [c for c in checked["A/B serverless: challenger"] if c.startswith(f"4 challenger alarms on {challenger}")]
    assert {f"{challenger}, its config, model, log group and alarms deleted",
            "velib-forecast-dev kept its name and ARN",
            "model names version 2 of velib-forecast-dev (Containers: ModelPackageName)",
            "the champion's endpoint serves the challenger's version 2"} <= set(checked["A/B serverless: promote"])
    assert {f"second endpoint {challenger} InService, serverless 2048 MB x 8, no provisioned concurrency",
            "4 scheduled actions in Europe/Paris", "2 log groups retention 30 d"} <= set(
        checked["warm hours: provisioned"])
    assert [c for c in checked["warm hours: provisioned"] if c.startswith("the challenger's model serves its folder's")]
    assert [c for c in checked["warm hours: provisioned"] if c.startswith("5 champion alarms on velib-forecast-dev")]
    assert [c for c in checked["warm hours: provisioned"] if c.startswith(f"4 challenger alarms on {challenger}")]
    assert {f"{challenger}, its config, model, log group and alarms deleted",
            "velib-forecast-dev kept its name and ARN"} <= set(checked["warm hours: ping"])
    assert [c for c in checked["warm hours: ping"] if c.startswith("the champion still serves model_version ")]
    assert {"autoscaling off first (no scalable target)", "variants Champion 0.9 x 2 and Challenger 0.1 x 1",
            "same endpoint and ARN, updated in place", "blue/green all-at-once, rollback on ServerErrorRate and "
            "ModelLatencyP99 of either variant", "role reads both archives, no other"} <= set(
        checked["A/B realtime: challenger"])
    assert {"one variant left, AllTraffic", "same endpoint and ARN, updated in place"} <= set(
        checked["A/B realtime: drop"])
    assert {"the challenger added again", "one variant left, AllTraffic", "same endpoint and ARN, updated in place"
            } <= set(checked["A/B realtime: promote"])
    assert [c for c in checked["A/B realtime: promote"] if c.startswith("the champion's model serves its folder's")]
    assert "4 scheduled actions in Europe/Paris" in checked["warm hours: provisioned"]
    assert {"3 ping schedules in Europe/Paris", "ping role: InvokeEndpoint on this endpoint only",
            "alarm on failed pings"} <= set(checked["warm hours: ping"])
    assert {"same endpoint, updated in place", "blue/green canary, rollback on ServerErrorRate and ModelLatencyP99",
            "autoscaling 2-4 instances at 600 invocations/instance/min"} <= set(checked["switch to realtime"])
    assert "in-place update to serverless refused, as SageMaker refuses it" in checked["back in place"]
    assert "endpoint InService, serverless 2048 MB x 8" in checked["back: destroy, deploy"]
    assert "CLI reported no changes" in checked["no-change deploy"]
    assert "MemorySizeInMB=4000 rejected" in checked["failed deploy"]
    for step, request, version in (("registry: a version", 1, 1), ("registry: latest approved", "latest-approved", 2),
                                   ("registry: roll back", 1, 1)):
        assert {f"resolve-model --version {request}: version {version}", "same endpoint, updated in place",
                f"model names version {version} of velib-forecast-dev (Containers: ModelPackageName)",
                "role reads that version's archive and pulls its image, nothing else"} <= set(checked[step])
    assert "back on version 1: the first archive again" in checked["registry: roll back"]
    assert {"schedule rate(5 minutes) -> the function", "schedule role: InvokeFunction on it only",
            "function role: 5 statements, no managed policy", "alarm on failed polls (Errors Sum > 0)",
            "function python3.14 arm64, 512 MB, 120 s, reserved concurrency 1, its environment under the stack's key",
            "history bucket: S3's own keys (readable after destroy), versioned, public access blocked, objects "
            "expire after 400 d, overwritten ones after 7 d"} <= set(checked["collector"])
    assert "model package group velib-forecast-dev" in checked["deploy"]
    assert {"model package group velib-forecast-dev", "its two code archives in S3",
            "pipeline role: 13 statements, no managed policy", "schedule role: StartPipelineExecution on it only",
            "schedule cron(0 3 ? * MON *) Europe/Paris -> the pipeline",
            "alarm on failed runs (ExecutionFailed Sum > 0)"} <= set(checked["retraining"])
    assert [c for c in checked["retraining"] if c.startswith("pipeline velib-forecast-dev-retrain: the builder's "
                                                             "definition (Dataset -> Train -> Evaluate -> Gate")]
    assert {"no endpoints", "no endpoint configs", "no models", "no pipelines", "no model package groups", "no alarms",
            "no topics", "no budgets", "no log groups", "no scalable targets", "no schedules", "no schedule groups",
            "no functions", "no roles", "no buckets"} <= set(checked["destroy"])
    assert [c for c in checked["destroy"] if c.startswith("only the retained history bucket ")]  # and that one is left
