"""The whole deployment: model archive, role, endpoint (serverless or real-time), its scaling or warm hours,
log group, alarms, dashboard and budget, the model registry's group, with `collector=true` the collector and its
history, and with `retrain_schedule` as well the weekly retraining pipeline.

With `challenger_version`, an A/B: real-time, a Challenger variant beside the Champion on the one endpoint, with the
weights; serverless, which has one variant per endpoint, a second endpoint (`<endpoint>-challenger`) with its own
config, log group and alarms. Either way the champion's resources keep their construct ids, so a challenger comes
and goes without replacing the champion's endpoint.
"""

from __future__ import annotations

import json

from aws_cdk import CfnOutput, Environment, Stack, Tags
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_app.client.example_requests import guide_request
from cdk_app.deployment.collector_asset import stage_collector_asset
from cdk_app.deployment.config import (
    PROJECT,
    VARIANT_NAME,
    CollectorSettings,
    DeploymentConfig,
    log_group_name_for,
)
from cdk_app.deployment.dlc_image import dlc_image, partition_of, training_image
from stacks.alarm_specs import collector_alarm_specs, retrain_alarm_specs, variant_alarm_specs
from stacks.alert_topic import AlertTopic
from stacks.cost_budget import CostBudget, cost_filters
from stacks.encryption_key import EncryptionKey, encrypted_log_group
from stacks.endpoint_alarms import EndpointAlarms
from stacks.endpoint_dashboard import EndpointDashboard
from stacks.endpoint_scaling import InstanceAutoscaling, ProvisionedWarmHours
from stacks.execution_role import ExecutionRole
from stacks.forecast_endpoint import ForecastEndpoint, ServedModel, container_environment
from stacks.history_collector import HISTORY_PREFIX, HistoryCollector, endpoint_environment
from stacks.model_source import ModelSource, challenger_source, model_source
from stacks.retraining_pipeline import RetrainingPipeline
from stacks.warm_pings import WarmPings

CONSOLE_HOSTS = {"aws": "console.aws.amazon.com", "aws-cn": "console.amazonaws.cn",
                 "aws-us-gov": "console.amazonaws-us-gov.com"}


class VelibForecastStack(Stack):
    def __init__(self, scope: Construct, config: DeploymentConfig) -> None:
        super().__init__(scope, config.stack_name, env=Environment(account=config.account, region=config.region),
                         description=f"Velib' forecaster on a SageMaker {config.endpoint_type} endpoint "
                                     f"({config.stage})")
        source = model_source(self, config)
        challenger = config.challenger
        second = challenger_source(self, config, challenger) if challenger else None
        sources = [source, *([second] if second else [])]
        encryption = EncryptionKey(self, "Encryption", log_group_name=config.log_group_name)
        log_group = encrypted_log_group(self, "EndpointLogs", name=config.log_group_name,
                                        retention_days=config.log_retention_days, key=encryption.key)
        # Serverless mode's second endpoint logs to its own group.
        challenger_logs = (self._challenger_log_group(config, encryption)
                           if challenger and config.realtime is None else None)
        role = ExecutionRole(self, "ExecutionRole", model_object_arns=[s.object_arn for s in sources],
                             repository_arns=[s.repository_arn for s in sources],
                             log_group_arns=[g.attr_arn for g in (log_group, challenger_logs) if g],
                             endpoint_type=config.endpoint_type)
        alerts = AlertTopic(self, "Alerts", key=encryption.key, email=config.alarm_email)
        # The champion's alarms keep their construct ids ("Alarms"); the challenger's have their own.
        alarms = [EndpointAlarms(self, f"{'Challenger' if number else ''}Alarms", variant=variant, specs=specs,
                                 period_minutes=config.alarms.period_minutes, topic=alerts.topic)
                  for number, (variant, specs) in enumerate(variant_alarm_specs(config))]
        environment = container_environment(config.region, config.model_server_timeout_seconds)
        # The construct id predates real-time endpoints and stays: a new id would give the Endpoint a new
        # logical id, and CloudFormation would try to create a second endpoint under the same fixed name.
        endpoint = ForecastEndpoint(
            self, "Serverless", endpoint_name=config.endpoint_name,
            variants=[ServedModel(variant.name, served, weight, fleet) for (variant, weight, fleet), served
                      in zip(config.endpoint_variants, sources if config.realtime else [source], strict=True)],
            serverless=config.serverless, environment=environment, role=role, log_group=log_group,
            volume_key=encryption.key,  # a real-time A/B rolls back on either variant's alarms
            rollback_alarms=[name for a in alarms if a.variant.endpoint_name == config.endpoint_name
                             for name in a.rollback_alarm_names])
        challenger_endpoint = None
        if challenger_logs is not None and second is not None:
            challenger_endpoint = ForecastEndpoint(
                self, "Challenger", endpoint_name=config.challenger_endpoint_name,
                variants=[ServedModel(VARIANT_NAME, second)], serverless=config.challenger_serverless,
                environment=environment, role=role, log_group=challenger_logs, volume_key=encryption.key,
                rollback_alarms=[])
        if second is not None:  # the stack's model_version tag is the champion's; the challenger's resources say theirs
            Tags.of(challenger_endpoint or endpoint.models[-1]).add("model_version", second.model_version)
        self._add_scaling(config, endpoint, alerts)
        monitoring = EndpointDashboard(
            self, "Monitoring", dashboard_name=config.endpoint_name,
            variants=[v for v in (config.champion_variant, config.challenger_variant) if v is not None],
            period_minutes=config.alarms.period_minutes, instances=config.realtime is not None)
        if config.budget_usd is not None:
            CostBudget(self, "Cost", amount_usd=config.budget_usd,
                       filters=cost_filters(config.budget_scope, config.region), topic=alerts,
                       email=config.alarm_email)

        for key, value in (("project", PROJECT), ("stage", config.stage), ("model_version", source.model_version)):
            Tags.of(self).add(key, value)
        outputs = {
            "EndpointName": endpoint.endpoint.attr_endpoint_name,
            "EndpointArn": endpoint.endpoint.ref,
            "ModelDataUrl": source.model_data_url,
            "ImageUri": source.image_uri,
            "ModelVersion": source.model_version,
            "AlertTopicArn": alerts.topic.topic_arn,
            "DashboardUrl": f"https://{CONSOLE_HOSTS[partition_of(config.region)]}/cloudwatch/home?"
                            f"region={config.region}#dashboards:name={config.endpoint_name}",
        }
        if source.package_arn is not None:  # what a scheduled deploy compares with the latest approved version
            outputs["ModelPackageArn"] = source.package_arn
        if challenger_endpoint is not None:
            outputs["ChallengerEndpointName"] = challenger_endpoint.endpoint.attr_endpoint_name
        elif config.challenger_variant is not None:
            outputs["ChallengerVariantName"] = config.challenger_variant.name
        if second is not None:
            outputs["ChallengerModelVersion"] = second.model_version
        # Always declared, whatever else is: a group costs nothing, and versions may be registered without the
        # pipeline (`python -m cdk_app retrain --region ...`).
        registry = sagemaker.CfnModelPackageGroup(
            self, "ModelRegistry", model_package_group_name=config.model_package_group_name,
            model_package_group_description=f"The Velib' forecaster's model versions for {config.endpoint_name}")
        outputs["ModelPackageGroupName"] = registry.model_package_group_name
        if config.collector is not None:
            invoked = [e.endpoint.ref for e in (endpoint, challenger_endpoint) if e is not None]
            collector = self._add_collector(config, config.collector, invoked, encryption, alerts, monitoring)
            outputs.update({"HistoryUrl": collector.history_url, "HistoryBucketName": collector.bucket.bucket_name})
            if config.retrain is not None:
                pipeline = self._add_retraining(config, collector, source, encryption, alerts)
                pipeline.node.add_dependency(registry)  # its first run registers into the group
                outputs["RetrainPipelineName"] = pipeline.pipeline.pipeline_name
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)

    def _challenger_log_group(self, config: DeploymentConfig, encryption: EncryptionKey) -> logs.CfnLogGroup:
        name = log_group_name_for(config.challenger_endpoint_name)
        encryption.let_logs_encrypt("LetCloudWatchLogsEncryptTheChallengerLogs", name)
        return encrypted_log_group(self, "ChallengerEndpointLogs", name=name, retention_days=config.log_retention_days,
                                   key=encryption.key)

    def _add_collector(self, config: DeploymentConfig, settings: CollectorSettings, endpoint_arns: list[str],
                       encryption: EncryptionKey, alerts: AlertTopic, monitoring: EndpointDashboard
                       ) -> HistoryCollector:
        """The collector and its row on the dashboard; it forecasts with the champion and, with an A/B, the
        challenger (`endpoint_arns`: the endpoints it may invoke)."""
        collector = HistoryCollector(
            self, "Collector", settings=settings, function_name=config.collector_function_name,
            code=stage_collector_asset().path,
            endpoints=endpoint_environment(config.champion_variant, config.challenger_variant),
            endpoint_arns=endpoint_arns, encryption=encryption, log_retention_days=config.log_retention_days,
            timeout_seconds=config.collector_timeout_seconds, alarm=collector_alarm_specs(config)[0],
            period_minutes=config.alarms.period_minutes, topic=alerts.topic)
        monitoring.dashboard.add_widgets(collector.widget())
        return collector

    def _add_retraining(self, config: DeploymentConfig, collector: HistoryCollector, source: ModelSource,
                        encryption: EncryptionKey, alerts: AlertTopic) -> RetrainingPipeline:
        """The weekly pipeline on the collector's history; its champion is what this deploy serves."""
        assert config.retrain is not None
        return RetrainingPipeline(
            self, "Retraining", settings=config.retrain, margins=config.gate,
            pipeline_name=config.retrain_pipeline_name, group_name=config.model_package_group_name,
            history_bucket=collector.bucket,
            history_prefix=HISTORY_PREFIX, key=encryption.key, champion_url=source.model_data_url,
            champion_object_arn=source.object_arn, training_image=training_image(config.region),
            inference_image=dlc_image(config.region, config.image_tag), alarm=retrain_alarm_specs(config)[0],
            period_minutes=config.alarms.period_minutes, topic=alerts.topic)

    def _add_scaling(self, config: DeploymentConfig, endpoint: ForecastEndpoint, alerts: AlertTopic) -> None:
        """Autoscaling for real-time; for serverless, warm hours by the strategy chosen, if any."""
        warm = config.serverless.warm
        if config.realtime is not None:
            fleets = [(config.champion_variant, config.realtime, "Autoscaling")]
            if config.challenger_variant is not None and config.challenger_fleet is not None:
                fleets.append((config.challenger_variant, config.challenger_fleet, "ChallengerAutoscaling"))
            for variant, fleet, construct_id in fleets:
                if fleet.autoscaled:
                    InstanceAutoscaling(self, construct_id, endpoint=endpoint.endpoint, variant=variant,
                                        count_min=fleet.count_min, count_max=fleet.count_max,
                                        invocations_per_instance=fleet.invocations_per_instance)
        elif warm is not None and warm.strategy == "provisioned":
            assert config.serverless.provisioned_concurrency is not None  # the config requires it
            ProvisionedWarmHours(self, "WarmHours", endpoint=endpoint.endpoint, variant=config.champion_variant,
                                 warm=warm, concurrency=config.serverless.provisioned_concurrency)
        elif warm is not None:
            WarmPings(self, "WarmPings", endpoint_name=config.endpoint_name, endpoint_arn=endpoint.endpoint.ref,
                      warm=warm, request_body=json.dumps(guide_request()),
                      period_minutes=config.alarms.period_minutes, topic=alerts.topic)
