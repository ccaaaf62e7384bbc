"""What each endpoint alarm watches, as plain data: the stack builds its alarms from these specs and
`cost` counts them, so the bill and the template cannot disagree. No CDK import, on purpose.

Latencies are in microseconds, the unit SageMaker publishes them in. The set depends on the endpoint
type: cold starts and spill-over exist only for serverless, instance CPU and memory only for real-time.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdk_app.deployment.config import AlarmThresholds, DeploymentConfig, Variant

MICROSECONDS_PER_MS = 1000
NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"  # real-time instance metrics (CPU, memory, disk)
ROLLBACK_ALARMS = ("ServerErrorRate", "ModelLatencyP99")  # a real-time deployment rolls back when one fires
LAMBDA_NAMESPACE = "AWS/Lambda"
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"  # SageMaker Pipelines' own spelling, not AWS/SageMaker


@dataclass(frozen=True)
class AlarmSpec:
    construct_id: str
    metric_name: str
    statistic: str
    threshold: float
    description: str
    namespace: str = NAMESPACE


def alarm_specs(thresholds: AlarmThresholds, provisioned: bool, instance_vcpus: int | None = None
                ) -> list[AlarmSpec]:
    """What each alarm watches; the README's alarm table describes the same list.

    `instance_vcpus` is None for a serverless endpoint; for a real-time one, CloudWatch reports CPU up to
    100% per vCPU, so the threshold scales with them.
    """
    specs = [
        AlarmSpec("ServerErrorRate", "Invocation5XXErrors", "Average", thresholds.error_5xx_rate,
                  f"More than {thresholds.error_5xx_rate:.2%} of requests failed inside the model (5XX)."),
        AlarmSpec("ClientErrorRate", "Invocation4XXErrors", "Average", thresholds.error_4xx_rate,
                  f"More than {thresholds.error_4xx_rate:.2%} of requests were rejected as bad input (4XX)."),
        AlarmSpec("ModelLatencyP99", "ModelLatency", "p99", thresholds.latency_p99_ms * MICROSECONDS_PER_MS,
                  f"99th-percentile model latency above {thresholds.latency_p99_ms:g} ms."),
    ]
    if instance_vcpus is not None:
        return [*specs,
                AlarmSpec("InstanceCpu", "CPUUtilization", "Average", thresholds.cpu_percent * instance_vcpus,
                          f"Instances above {thresholds.cpu_percent:g}% CPU on average.", INSTANCE_NAMESPACE),
                AlarmSpec("InstanceMemory", "MemoryUtilization", "Average", thresholds.memory_percent,
                          f"Instances above {thresholds.memory_percent:g}% memory on average.", INSTANCE_NAMESPACE)]
    specs.append(AlarmSpec("ColdStart", "ModelSetupTime", "Maximum", thresholds.cold_start_ms * MICROSECONDS_PER_MS,
                           f"A cold start took longer than {thresholds.cold_start_ms:g} ms to set up the model."))
    if provisioned:
        specs.append(AlarmSpec("ProvisionedSpillover", "ServerlessProvisionedConcurrencySpilloverInvocations",
                               "Sum", thresholds.spillover_invocations,
                               "Requests spilled over provisioned concurrency onto cold, on-demand capacity."))
    return specs


def endpoint_alarm_specs(config: DeploymentConfig) -> list[AlarmSpec]:
    """The endpoint alarms a deployment of `config` has: the champion's, with an A/B."""
    return alarm_specs(config.alarms, config.serverless.provisioned_concurrency is not None,
                       config.realtime.instance.vcpus if config.realtime else None)


def challenger_alarm_specs(config: DeploymentConfig) -> list[AlarmSpec]:
    """With an A/B, the challenger's own alarms: the same, on its variant or serverless endpoint, but for provisioned
    concurrency's spill-over, which only the champion has. None without a challenger."""
    if config.challenger is None:
        return []
    return alarm_specs(config.alarms, False, config.realtime.instance.vcpus if config.realtime else None)


def variant_alarm_specs(config: DeploymentConfig) -> list[tuple[Variant, list[AlarmSpec]]]:
    """Each model's alarms, on the variant it serves from: the champion's, and with an A/B the challenger's."""
    challenger = config.challenger_variant
    return [(config.champion_variant, endpoint_alarm_specs(config)),
            *([(challenger, challenger_alarm_specs(config))] if challenger else [])]


def collector_alarm_specs(config: DeploymentConfig) -> list[AlarmSpec]:
    """The collector's alarm, when it is deployed: any failed poll (its dimension is the function's name)."""
    return [] if config.collector is None else [AlarmSpec(
        "CollectorErrors", "Errors", "Sum", 0,
        "A collector poll failed: a reading or an hourly forecast may be missing from the history.", LAMBDA_NAMESPACE)]


def retrain_alarm_specs(config: DeploymentConfig) -> list[AlarmSpec]:
    """The retraining pipeline's alarm, when it is deployed: any failed run (its dimension is the pipeline's name)."""
    return [] if config.retrain is None else [AlarmSpec(
        "RetrainFailed", "ExecutionFailed", "Sum", 0,
        "A weekly retraining run failed: no candidate was evaluated or registered this week.", PIPELINE_NAMESPACE)]
