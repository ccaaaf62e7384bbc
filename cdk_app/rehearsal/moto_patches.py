"""Every change moto 5.2.5 needs to run the real CDK CLI's lifecycle; nothing else patches moto.

Each patch is small and says what it works around. They touch moto internals, which is why moto's
version is pinned in requirements.txt. Importing this module applies them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.applicationautoscaling import models as appscaling_models
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.awslambda.models import LambdaFunction
from moto.budgets.models import budgets_backends
from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing as cfn_parsing
from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.core.utils import camelcase_to_underscores
from moto.kms.models import KmsBackend
from moto.s3.models import FakeBucket, s3_backends
from moto.sagemaker.exceptions import ValidationError as SageMakerValidationError
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, Model, sagemaker_backends
from moto.scheduler.models import scheduler_backends
from moto.sns.models import Topic
from moto.utilities.utils import get_partition


class ChangeSetNotFound(CloudFormationError):
    code = "ChangeSetNotFound"  # the wire code of ChangeSetNotFoundException

    def __init__(self, name: str) -> None:
        super().__init__(f"ChangeSet [{name}] does not exist")


# 1. ExecuteChangeSet never rebuilt the stack's outputs, so `cdk deploy --outputs-file` came back empty, and
#    never took the change set's tags, so the next deploy saw "tags have changed" and could not be a no-op.
_execute_change_set = cfn_models.CloudFormationBackend.execute_change_set


def _execute_change_set_with_outputs(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
    change_set = _find_change_set(self, change_set_name)
    _validate_endpoint_configs(change_set)
    if change_set.stack_id in self.stacks:  # an update of a live stack
        _refuse_instance_to_serverless(self.stacks[change_set.stack_id], change_set)
        _refuse_removing_autoscaled_variants(self.stacks[change_set.stack_id], change_set)
    _execute_change_set(self, change_set_name, stack_name)
    stack = self.stacks[change_set.stack_id]
    stack._parse_template()
    stack.output_map = stack._create_output_map()
    if change_set.tags is not None:
        stack.tags = change_set.tags


cfn_models.CloudFormationBackend.execute_change_set = _execute_change_set_with_outputs  # type: ignore[method-assign]


# 8. An EndpointConfig that fails validation midway through an update left the stack half-applied (moto
#    deletes the old config before creating the new); CloudFormation would roll back. Validate SageMaker
#    EndpointConfigs before applying anything, so a bad value fails the change set and changes nothing.
def _validate_endpoint_configs(change_set: Any) -> None:
    for resource in change_set.template_dict.get("Resources", {}).values():
        if resource.get("Type") == "AWS::SageMaker::EndpointConfig":
            for variant in resource["Properties"]["ProductionVariants"]:
                if "ServerlessConfig" in variant:  # moto's own check; it reads nothing from the instance
                    FakeEndpointConfig.validate_serverless_config(None, variant["ServerlessConfig"])  # type: ignore[arg-type]


# 10. SageMaker refuses to update an instance-based (real-time) endpoint to a serverless config
#     (ValidationException; SageMaker Developer Guide, "Update a serverless endpoint"); moto applied it.
#     Refuse it the same way, before anything is applied, as CloudFormation would roll it back.
def _refuse_instance_to_serverless(stack: Any, change_set: Any) -> None:
    new = change_set.template_dict.get("Resources", {})
    if not any("ServerlessConfig" in variant for resource in new.values()
               if resource.get("Type") == "AWS::SageMaker::EndpointConfig"
               for variant in resource["Properties"]["ProductionVariants"]):
        return
    backend = sagemaker_backends[stack.account_id][stack.region_name]
    for resource in stack.template_dict.get("Resources", {}).values():
        name = resource.get("Properties", {}).get("EndpointName") if resource.get("Type") == \
            "AWS::SageMaker::Endpoint" else None
        if name in backend.endpoints:
            config = backend.endpoint_configs[backend.endpoints[name].endpoint_config_name]
            if any("InstanceType" in variant for variant in config.production_variants):
                raise SageMakerValidationError(
                    f"Cannot update endpoint {name} from an instance-based endpoint config to a serverless one")


# 19. SageMaker refuses an update whose endpoint config drops a production variant registered with Application Auto
#     Scaling (Developer Guide, "Update endpoints that use auto scaling": deregister it first), and CloudFormation
#     deletes the old scalable target only after the update; moto applied it. Refuse it the same way, before anything
#     is applied: an A/B's challenger comes and goes by renaming the variants (AllTraffic, Champion and Challenger).
def _refuse_removing_autoscaled_variants(stack: Any, change_set: Any) -> None:
    new = change_set.template_dict.get("Resources", {})
    kept = {resource["Properties"]["EndpointName"]: {
        variant["VariantName"]
        for variant in new[resource["Properties"]["EndpointConfigName"]["Fn::GetAtt"][0]]["Properties"][
            "ProductionVariants"]}
        for resource in new.values() if resource.get("Type") == "AWS::SageMaker::Endpoint"}
    targets = applicationautoscaling_backends[stack.account_id][stack.region_name].targets
    for resource_id in (r for by_resource in targets.values() for r in by_resource):
        kind, endpoint, _, variant = (resource_id.split("/") + 4 * [""])[:4]  # endpoint/<name>/variant/<variant>
        if kind == "endpoint" and endpoint in kept and variant not in kept[endpoint]:
            raise SageMakerValidationError(
                f"Cannot update endpoint {endpoint}: its variant {variant} has automatic scaling; deregister the "
                "scalable target first")


# 2. The CLI deletes its change set, then polls DescribeChangeSet until ChangeSetNotFound; moto answered a
#    ValidationError forever (the second deploy hung), and deleting a missing change set was a 500.
def _find_change_set(backend: Any, name: str) -> Any:
    if name in backend.change_sets:
        return backend.change_sets[name]
    # Newest first: a change set whose execution failed stays behind under the same name (the CLI always
    # uses cdk-deploy-change-set), and would otherwise shadow the next one, even on a recreated stack.
    # A deleted stack's change sets went with it, as in CloudFormation: else the CLI, clearing the name before
    # updating a recreated stack, would wait forever for an old stack's change set to disappear.
    for change_set in reversed(backend.change_sets.values()):
        if change_set.change_set_name == name and change_set.stack_id not in backend.deleted_stacks:
            return change_set
    raise ChangeSetNotFound(name)


def _describe_change_set(self: Any, change_set_name: str) -> Any:
    return _find_change_set(self, change_set_name)


def _delete_change_set(self: Any, change_set_name: str) -> None:
    """Like CloudFormation, deleting a change set that is already gone succeeds."""
    try:
        change_set = _find_change_set(self, change_set_name)
    except ChangeSetNotFound:
        return
    del self.change_sets[change_set.change_set_id]


cfn_models.CloudFormationBackend.describe_change_set = _describe_change_set  # type: ignore[method-assign]
cfn_models.CloudFormationBackend.delete_change_set = _delete_change_set  # type: ignore[method-assign]


# 3. An update passes BootstrapVersion with UsePreviousValue; moto substitutes the previous *resolved* value
#    ("33") and then looked it up as an SSM parameter name, failing with a 500. CDK's SSM parameter names
#    start with "/", so a value without one is already resolved and is kept as it is.
_parse_ssm_parameter = cfn_parsing.ResourceMap.parse_ssm_parameter


def _parse_ssm_unless_resolved(self: Any, value: str, value_type: str) -> Any:
    return _parse_ssm_parameter(self, value, value_type) if str(value).startswith("/") else value


cfn_parsing.ResourceMap.parse_ssm_parameter = _parse_ssm_unless_resolved  # type: ignore[method-assign]


# 4. AWS::KMS::Key with Tags failed (moto's tagger wants TagKey/TagValue, CloudFormation gives Key/Value),
#    so every resource that referenced the key was "undefined".
_create_key = KmsBackend.create_key


def _create_key_with_cfn_tags(self: Any, *args: Any, **kwargs: Any) -> Any:
    tags = kwargs.get("tags") or []
    kwargs["tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} if "Key" in t else t for t in tags]
    if isinstance(kwargs.get("policy"), dict):
        kwargs["policy"] = json.dumps(kwargs["policy"])
    return _create_key(self, *args, **kwargs)


KmsBackend.create_key = _create_key_with_cfn_tags  # type: ignore[method-assign]


class _NamedAndRecreated:
    """What the CloudFormation models below share: the resource type and name property they declare, a name
    as physical id, and an update that deletes and recreates.

    A mixin, not a CloudFormationModel subclass: moto registers only direct subclasses of that class.
    """

    CFN_TYPE = ""
    NAME_PROPERTY = ""  # the property that names the resource, if any

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.CFN_TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> Any:
        raise NotImplementedError  # each model creates its own kind of resource

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)


class _AlarmModel(_NamedAndRecreated, CloudFormationModel):
    """5a. AWS::CloudWatch::Alarm was skipped silently ("No Moto CloudFormation support")."""

    CFN_TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> _AlarmModel:
        p = cloudformation_json["Properties"]
        cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=resource_name, namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"], evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p.get("Period", 60)), threshold=float(p["Threshold"]), statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"), dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []), extended_statistic=p.get("ExtendedStatistic"),
            ok_actions=p.get("OKActions", []), treat_missing_data=p.get("TreatMissingData"), unit=p.get("Unit"))
        return cls(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])


class _BudgetModel(_NamedAndRecreated, CloudFormationModel):
    """5b. AWS::Budgets::Budget was skipped silently too."""

    CFN_TYPE = "AWS::Budgets::Budget"
    NAME_PROPERTY = "BudgetName"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> _BudgetModel:
        p = cloudformation_json["Properties"]
        budget = {**p["Budget"], "BudgetName": p["Budget"].get("BudgetName", resource_name)}
        limit = budget.get("BudgetLimit")
        if limit:
            budget["BudgetLimit"] = {"Amount": str(limit["Amount"]), "Unit": limit["Unit"]}
        budgets_backends[account_id]["aws"].create_budget(account_id, budget, p.get("NotificationsWithSubscribers",
                                                                                      []))
        return cls(budget["BudgetName"])

    def delete(self, account_id: str, region_name: str) -> None:
        budgets_backends[account_id]["aws"].delete_budget(account_id, self.name)


# 11. Application Auto Scaling did not know SageMaker's serverless dimension (only DesiredInstanceCount),
#     so scheduled provisioned concurrency was "Unsupported ... scalable dimension". Check it as that one.
PROVISIONED_CONCURRENCY = "sagemaker:variant:DesiredProvisionedConcurrency"
_target_params_are_valid = appscaling_models._target_params_are_valid


def _with_provisioned_concurrency(namespace: str, r_id: str, dimension: str) -> bool:
    known = "sagemaker:variant:DesiredInstanceCount" if dimension == PROVISIONED_CONCURRENCY else dimension
    return _target_params_are_valid(namespace, r_id, known)


appscaling_models._target_params_are_valid = _with_provisioned_concurrency


class _ScalableTargetModel(_NamedAndRecreated, CloudFormationModel):
    """12a. AWS::ApplicationAutoScaling::ScalableTarget (and its ScheduledActions) was skipped silently."""

    CFN_TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> _ScalableTargetModel:
        p = cloudformation_json["Properties"]
        backend = applicationautoscaling_backends[account_id][region_name]
        key = (p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"])
        backend.register_scalable_target(*key, int(p["MinCapacity"]), int(p["MaxCapacity"]), p.get("RoleARN", ""),
                                         None)  # type: ignore[arg-type]
        for action in p.get("ScheduledActions", []):
            backend.put_scheduled_action(p["ServiceNamespace"], action["Schedule"], action.get("Timezone"),
                                         action["ScheduledActionName"], p["ResourceId"], p["ScalableDimension"],
                                         None, None, action.get("ScalableTargetAction"))  # type: ignore[arg-type]
        return cls("|".join((p["ResourceId"], p["ScalableDimension"], p["ServiceNamespace"])))

    def delete(self, account_id: str, region_name: str) -> None:
        resource_id, dimension, namespace = self.name.split("|")
        backend = applicationautoscaling_backends[account_id][region_name]
        backend.scheduled_actions = [a for a in backend.scheduled_actions
                                     if (a.resource_id, a.scalable_dimension) != (resource_id, dimension)]
        backend.deregister_scalable_target(namespace, resource_id, dimension)


class _ScalingPolicyModel(_NamedAndRecreated, CloudFormationModel):
    """12b. AWS::ApplicationAutoScaling::ScalingPolicy was skipped silently too."""

    CFN_TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"
    NAME_PROPERTY = "PolicyName"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> _ScalingPolicyModel:
        p = cloudformation_json["Properties"]
        resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
        applicationautoscaling_backends[account_id][region_name].put_scaling_policy(
            p["PolicyName"], namespace, resource_id, dimension, p["TargetTrackingScalingPolicyConfiguration"],
            p["PolicyType"])
        return cls("|".join((p["PolicyName"], p["ScalingTargetId"])))

    def delete(self, account_id: str, region_name: str) -> None:
        name, resource_id, dimension, namespace = self.name.split("|")
        applicationautoscaling_backends[account_id][region_name].delete_scaling_policy(
            name, namespace, resource_id, dimension)


class _ScheduleGroupModel(_NamedAndRecreated, CloudFormationModel):
    """12c. AWS::Scheduler::ScheduleGroup was skipped silently."""

    CFN_TYPE = "AWS::Scheduler::ScheduleGroup"
    NAME_PROPERTY = "Name"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> _ScheduleGroupModel:
        scheduler_backends[account_id][region_name].create_schedule_group(resource_name, [])
        return cls(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        scheduler_backends[account_id][region_name].delete_schedule_group(self.name)


class _ScheduleModel(_NamedAndRecreated, CloudFormationModel):
    """12d. AWS::Scheduler::Schedule was skipped silently."""

    CFN_TYPE = "AWS::Scheduler::Schedule"
    NAME_PROPERTY = "Name"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> _ScheduleModel:
        p = cloudformation_json["Properties"]
        scheduler_backends[account_id][region_name].create_schedule(
            p.get("Description"), p.get("EndDate"), p["FlexibleTimeWindow"], p.get("GroupName"),
            p.get("KmsKeyArn"), resource_name, p["ScheduleExpression"], p.get("ScheduleExpressionTimezone"),
            p.get("StartDate"), p.get("State", "ENABLED"), p["Target"], None)
        return cls(f"{p.get('GroupName') or 'default'}|{resource_name}")

    def delete(self, account_id: str, region_name: str) -> None:
        """Deleting the group deletes its schedules; like CloudFormation, a schedule already gone is deleted."""
        group, name = self.name.split("|")
        backend = scheduler_backends[account_id][region_name]
        if group in backend.schedule_groups and name in backend.schedule_groups[group].schedules:
            backend.delete_schedule(group, name)


class _ModelPackageGroupModel(_NamedAndRecreated, CloudFormationModel):
    """16. AWS::SageMaker::ModelPackageGroup was skipped silently (moto's SageMaker has the API, not the handler).
    An update (the stack's tags change with every model version) keeps the group and its versions, as in AWS;
    moto has no DeleteModelPackage, so deleting the group takes its versions with it."""

    CFN_TYPE = "AWS::SageMaker::ModelPackageGroup"
    NAME_PROPERTY = "ModelPackageGroupName"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> _ModelPackageGroupModel:
        p = cloudformation_json["Properties"]
        sagemaker_backends[account_id][region_name].create_model_package_group(
            p["ModelPackageGroupName"], p.get("ModelPackageGroupDescription", ""), p.get("Tags", []))
        return cls(p["ModelPackageGroupName"])

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        if cloudformation_json["Properties"]["ModelPackageGroupName"] == original_resource.name:
            return original_resource
        return super().update_from_cloudformation_json(original_resource, new_resource_name, cloudformation_json,
                                                       account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = sagemaker_backends[account_id][region_name]
        for arn in [arn for arn, package in backend.model_packages.items()
                    if package.model_package_group_name == self.name]:
            del backend.model_packages[arn]
        backend.model_package_groups.pop(self.name, None)


class _PipelineModel(_NamedAndRecreated, CloudFormationModel):
    """17. AWS::SageMaker::Pipeline was skipped silently too. Its definition is stored as CreatePipeline stores it
    (moto runs no step of it: an execution "succeeds" at once)."""

    CFN_TYPE = "AWS::SageMaker::Pipeline"
    NAME_PROPERTY = "PipelineName"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> _PipelineModel:
        p = cloudformation_json["Properties"]
        definition = p["PipelineDefinition"]
        sagemaker_backends[account_id][region_name].create_pipeline(
            p["PipelineName"], p.get("PipelineDisplayName", p["PipelineName"]),
            definition.get("PipelineDefinitionBody"), definition.get("PipelineDefinitionS3Location"),
            p.get("PipelineDescription", ""), p["RoleArn"], p.get("Tags", []), p.get("ParallelismConfiguration"))
        return cls(p["PipelineName"])

    def delete(self, account_id: str, region_name: str) -> None:
        sagemaker_backends[account_id][region_name].delete_pipeline(self.name)


# 6. AWS::SageMaker::Endpoint ignored its EndpointName and took a generated one, so the fixed,
#    stage-derived name this product relies on could not be checked.
FakeEndpoint.cloudformation_name_type = staticmethod(lambda: "EndpointName")  # type: ignore[method-assign]

# The patches below complete what a moto model's CloudFormation handler creates.
def _completing_cfn_create(model: Any, complete: Callable[[Any, dict[str, Any], str, str], None]) -> None:
    """Wrap a moto model's CloudFormation create: `complete(created, properties, account_id, region_name)` sets what
    moto's own handler drops."""
    create = model.create_from_cloudformation_json.__func__

    def completed(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                  **kwargs: Any) -> Any:
        created = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        complete(created, cloudformation_json.get("Properties", {}), account_id, region_name)
        return created

    model.create_from_cloudformation_json = classmethod(completed)


# 13. AWS::SageMaker::Endpoint dropped its DeploymentConfig (the real-time guardrails), so DescribeEndpoint
#     could not show it as LastDeploymentConfig. Keep it on the endpoint, which DescribeEndpoint reads.
def _keep_deployment_config(endpoint: Any, properties: dict[str, Any], account_id: str, region_name: str) -> None:
    endpoint.last_deployment_config = properties.get("DeploymentConfig")


_completing_cfn_create(FakeEndpoint, _keep_deployment_config)

# 13b. AWS::SageMaker::Model required a PrimaryContainer (a KeyError), so a Model that names a registry version in
#      Containers, [{"ModelPackageName": ...}], could not be created. Take either, as CloudFormation does.
_create_model_from_cfn = Model.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _create_model_from_containers(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                                  region_name: str, **kwargs: Any) -> Any:
    properties = {"PrimaryContainer": None, **cloudformation_json["Properties"]}
    return _create_model_from_cfn(cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id,
                                  region_name, **kwargs)


Model.create_from_cloudformation_json = classmethod(  # type: ignore[method-assign, assignment]
    _create_model_from_containers)

# 14. AWS::S3::Bucket applied only its encryption and tags: the history bucket's versioning, lifecycle rules and
#     public access block were dropped, so they could not be checked. Apply them at creation (the rehearsal never
#     updates the bucket), turning CloudFormation's lifecycle rules into the S3 API's shape moto stores.
def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    api = {"ID": rule.get("Id"), "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule or "ExpiredObjectDeleteMarker" in rule:
        api["Expiration"] = ({"Days": rule["ExpirationInDays"]} if "ExpirationInDays" in rule
                             else {"ExpiredObjectDeleteMarker": rule["ExpiredObjectDeleteMarker"]})
    return {**api, **{k: rule[k] for k in ("NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload")
                      if k in rule}}


def _apply_bucket_settings(bucket: Any, p: dict[str, Any], account_id: str, region_name: str) -> None:
    backend = s3_backends[account_id][get_partition(region_name)]
    if "VersioningConfiguration" in p:
        backend.put_bucket_versioning(bucket.name, p["VersioningConfiguration"]["Status"])
    if "LifecycleConfiguration" in p:
        backend.put_bucket_lifecycle(bucket.name, [_lifecycle_rule(r) for r in p["LifecycleConfiguration"]["Rules"]])
    if "PublicAccessBlockConfiguration" in p:
        backend.put_public_access_block(bucket.name, p["PublicAccessBlockConfiguration"])


_completing_cfn_create(FakeBucket, _apply_bucket_settings)

# 15. AWS::Lambda::Function dropped KmsKeyArn and Architectures, so GetFunctionConfiguration could not show the key
#     that encrypts the collector's environment, nor that it runs on arm64.
def _keep_key_and_architecture(function: Any, p: dict[str, Any], account_id: str, region_name: str) -> None:
    function.kms_key_arn = p.get("KmsKeyArn")
    function.architectures = p.get("Architectures", function.architectures)


_completing_cfn_create(LambdaFunction, _keep_key_and_architecture)

# 18. AWS::SNS::Topic was deleted and recreated, under a new ARN, by any update, even of its tags alone (the stack's
#     model_version tag changes with every model deployed), and a resource added in the same update still got the old
#     ARN (moto adds before it modifies): the alarms of a mode deployed with another model notified a deleted topic.
#     CloudFormation updates a topic in place unless its TopicName changes; so does this.
_update_topic = Topic.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _update_topic_in_place(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                           account_id: str, region_name: str) -> Any:
    properties = cloudformation_json["Properties"]
    if properties.get("TopicName", original_resource.name) != original_resource.name:
        return _update_topic(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
    for name, value in properties.items():
        setattr(original_resource, camelcase_to_underscores(name), value)  # as CreateTopic stores them
    return original_resource


Topic.update_from_cloudformation_json = classmethod(  # type: ignore[method-assign, assignment]
    _update_topic_in_place)

# 7. On an update, a resource type with no update handler (AWS::KMS::Key among them) was replaced by None,
#    e.g. when only its tags changed, and every resource that referenced it became "undefined". Keep it.
_parse_and_update_resource = cfn_parsing.parse_and_update_resource


def _update_or_keep(logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str,
                    region_name: str) -> Any:
    updated = _parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name)
    return updated if updated is not None else resources_map[logical_id]


cfn_parsing.parse_and_update_resource = _update_or_keep

# 9. An update diffed templates as text, so a resource that only *refers* to a replaced one (the Endpoint,
#    via GetAtt EndpointConfigName) was left pointing at the deleted EndpointConfig. Update such dependants too,
#    as CloudFormation does when a referenced attribute changes. Only of a resource moto can replace: one whose
#    type has no update handler (the KMS key, a log group) is kept as it is (7), so what refers to it is unchanged;
#    else a new key policy (the collector's) recreated the alert topic, under a new ARN, behind the alarms added
#    in the same update.
_build_resource_diff = cfn_parsing.ResourceMap.build_resource_diff


def _referenced(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["Ref"]} if isinstance(node.get("Ref"), str) else set()
        if isinstance(node.get("Fn::GetAtt"), list):
            found.add(node["Fn::GetAtt"][0])
        return found.union(*(_referenced(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_referenced(v) for v in node))
    return set()


def _replaceable(resource_json: dict[str, Any]) -> bool:
    model = cfn_parsing.get_model_map().get(resource_json["Type"])
    return model is not None and not hasattr(model.update_from_cloudformation_json, "__isabstractmethod__")


def _diff_with_dependants(self: Any, other_template: dict[str, Any], parameters: Any = None) -> dict[str, Any]:
    actions = _build_resource_diff(self, other_template, parameters)
    new, old = other_template["Resources"], self._resource_json_map
    changed = True
    while changed:
        changed = False
        replaced = {name for name in actions["Modify"] if _replaceable(new[name])}
        for name, resource in new.items():
            if name in old and name not in actions["Modify"] and _referenced(resource) & replaced:
                actions["Modify"].append(name)
                changed = True
    return dict(actions)


cfn_parsing.ResourceMap.build_resource_diff = _diff_with_dependants  # type: ignore[method-assign]

# 20. An update deleted the resources the new template drops but kept them among the stack's parsed resources, so a
#     later update that added one back under the same logical id (an A/B's challenger endpoint, its alarms, its log
#     group, when a second challenger comes) found it "already created" and created nothing. Forget them once gone.
_update_resources = cfn_parsing.ResourceMap.update


def _update_forgetting_removed(self: Any, template: dict[str, Any], parameters: Any = None) -> None:
    removed = set(self._resource_json_map) - set(template["Resources"])
    _update_resources(self, template, parameters)
    for logical_id in removed:
        self._parsed_resources.pop(logical_id, None)


cfn_parsing.ResourceMap.update = _update_forgetting_removed  # type: ignore[method-assign]

# 21. DescribeStackResources listed every resource moto does not create (the dashboard, the topic policy, CDK's
#     metadata) as an entry with no logical id, type or physical id, which CloudFormation never returns; `smoke`
#     reads the logical ids. Leave those out.
_describe_stack_resources = cfn_models.CloudFormationBackend.describe_stack_resources


def _describe_created_stack_resources(self: Any, stack_name: str, logical_resource_id: str) -> Any:
    stack, resources = _describe_stack_resources(self, stack_name, logical_resource_id)
    return stack, [r for r in resources if getattr(r, "logical_resource_id", None) is not None]


cfn_models.CloudFormationBackend.describe_stack_resources = (  # type: ignore[method-assign]
    _describe_created_stack_resources)

cfn_parsing.get_model_map.cache_clear()
cfn_parsing.get_name_type_map.cache_clear()
