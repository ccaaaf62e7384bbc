"""Application Auto Scaling on the endpoint's variant: instances for real-time, provisioned concurrency by
schedule for serverless warm hours. Both register the variant as a scalable target; neither needs a role
of ours (Application Auto Scaling uses its SageMaker service-linked role). With a real-time A/B, each variant whose
fleet has room to scale gets its own target and policy.

SageMaker refuses an endpoint update that removes an autoscaled variant (Developer Guide, "Update endpoints that
use auto scaling"), and CloudFormation deletes the old target only after the update: adding or removing a
challenger, which replaces the variants, needs a deploy without autoscaling (instance_count_max=instance_count_min)
before it.
"""

from __future__ import annotations

from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_app.deployment.config import Variant
from cdk_app.deployment.warm_hours import WarmHours

INSTANCE_COUNT = "sagemaker:variant:DesiredInstanceCount"
PROVISIONED_CONCURRENCY = "sagemaker:variant:DesiredProvisionedConcurrency"
SCALE_IN_COOLDOWN_SECONDS = 300  # scale in slowly: a new instance takes minutes to start
SCALE_OUT_COOLDOWN_SECONDS = 60
PROVISIONED_FLOOR = 1  # Application Auto Scaling's minimum capacity for SageMaker: it cannot go to 0


def _scalable_target(scope: Construct, endpoint: sagemaker.CfnEndpoint, variant: Variant, dimension: str,
                     low: int, high: int,
                     scheduled_actions: list[appscaling.CfnScalableTarget.ScheduledActionProperty] | None = None
                     ) -> appscaling.CfnScalableTarget:
    target = appscaling.CfnScalableTarget(
        scope, "Target", service_namespace="sagemaker",
        resource_id=f"endpoint/{variant.endpoint_name}/variant/{variant.name}",
        scalable_dimension=dimension, min_capacity=low, max_capacity=high, scheduled_actions=scheduled_actions)
    target.node.add_dependency(endpoint)  # the variant must exist before it can be registered
    return target


class InstanceAutoscaling(Construct):
    """Target tracking on invocations per instance, between the configured instance counts."""

    def __init__(self, scope: Construct, construct_id: str, *, endpoint: sagemaker.CfnEndpoint, variant: Variant,
                 count_min: int, count_max: int, invocations_per_instance: int) -> None:
        super().__init__(scope, construct_id)
        self.target = _scalable_target(self, endpoint, variant, INSTANCE_COUNT, count_min, count_max)
        self.policy = appscaling.CfnScalingPolicy(  # a policy's name is its target's own: both variants use this one
            self, "InvocationsPerInstance", policy_name=f"{variant.endpoint_name}-invocations-per-instance",
            policy_type="TargetTrackingScaling", scaling_target_id=self.target.ref,
            target_tracking_scaling_policy_configuration=appscaling.CfnScalingPolicy
            .TargetTrackingScalingPolicyConfigurationProperty(
                target_value=invocations_per_instance,
                predefined_metric_specification=appscaling.CfnScalingPolicy.PredefinedMetricSpecificationProperty(
                    predefined_metric_type="SageMakerVariantInvocationsPerInstance"),
                scale_in_cooldown=SCALE_IN_COOLDOWN_SECONDS, scale_out_cooldown=SCALE_OUT_COOLDOWN_SECONDS))


class ProvisionedWarmHours(Construct):
    """Provisioned concurrency by the clock: `concurrency` in warm hours, the floor of 1 outside them.

    The floor is billed all week: Application Auto Scaling cannot take a SageMaker variant to 0.
    """

    def __init__(self, scope: Construct, construct_id: str, *, endpoint: sagemaker.CfnEndpoint, variant: Variant,
                 warm: WarmHours, concurrency: int) -> None:
        super().__init__(scope, construct_id)
        actions = []
        for number, (expression, warm_now) in enumerate(warm.transitions(), start=1):
            level = concurrency if warm_now else PROVISIONED_FLOOR
            actions.append(appscaling.CfnScalableTarget.ScheduledActionProperty(
                scheduled_action_name=f"{variant.endpoint_name}-{'warm' if warm_now else 'cool'}-{number}",
                schedule=expression, timezone=warm.timezone,
                scalable_target_action=appscaling.CfnScalableTarget.ScalableTargetActionProperty(
                    min_capacity=level, max_capacity=level)))
        self.target = _scalable_target(self, endpoint, variant, PROVISIONED_CONCURRENCY, PROVISIONED_FLOOR,
                                       concurrency, scheduled_actions=actions)
