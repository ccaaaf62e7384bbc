"""The weekly retraining, deployed with `retrain_schedule` (and `collector=true`, whose history it trains on): a
SageMaker Pipeline (cdk_app/deployment/retraining.py says what each step does), started by EventBridge Scheduler
through its templated SageMaker target, and an alarm on any failed run.

The pipeline's role may do only what its steps do: read the history, read and write this pipeline's folder of
the same bucket (under the stack's key), read the two code archives and the archive in service, pull the
training and inference images, run jobs named as Pipelines names them, pass itself to them, write their logs,
and register versions in this stage's group. The schedule's role may start this pipeline and nothing else.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, Fn, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_app.deployment.config import GateMargins, RetrainSettings
from cdk_app.deployment.dlc_image import DlcImage
from cdk_app.deployment.job_source import build_job_source
from cdk_app.deployment.retraining import ARTIFACTS_PREFIX, RetrainingSetup, retraining_definition
from cdk_app.lifecycle.training_source import build_source_archive
from cdk_app.paths import BUILD_DIR
from stacks.alarm_specs import AlarmSpec
from stacks.endpoint_alarms import spec_alarm
from stacks.history_collector import logical_id
from stacks.scheduled_calls import ON_TIME, retried_target, scheduler_role

JOB_LOG_GROUPS = ("/aws/sagemaker/ProcessingJobs", "/aws/sagemaker/TrainingJobs")
JOB_NAME_PREFIX = "pipelines-"  # how Pipelines names the jobs it starts
START_RETRIES, START_WITHIN_SECONDS = 3, 3600


class RetrainingPipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: RetrainSettings, margins: GateMargins,
                 pipeline_name: str,
                 group_name: str, history_bucket: s3.Bucket, history_prefix: str, key: kms.IKey,
                 champion_url: str, champion_object_arn: str, training_image: DlcImage, inference_image: DlcImage,
                 alarm: AlarmSpec, period_minutes: int, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        job_source = s3_assets.Asset(self, "JobSource", path=str(build_job_source()))
        training_source = s3_assets.Asset(self, "TrainingSource",
                                          path=str(build_source_archive(BUILD_DIR / "sourcedir.tar.gz")))
        bucket = history_bucket.bucket_name
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                             description=f"Runs {pipeline_name} and its jobs")
        pipeline_arn = _arn("sagemaker", f"pipeline/{pipeline_name}")
        definition = retraining_definition(RetrainingSetup(
            history_url=f"s3://{bucket}/{history_prefix}", artifacts_url=f"s3://{bucket}/{ARTIFACTS_PREFIX}",
            job_source_url=job_source.s3_object_url, training_source_url=training_source.s3_object_url,
            champion_url=champion_url, training_image=training_image.uri,
            inference_image=inference_image.uri, role_arn=self.role.role_arn, group_name=group_name,
            margins=margins))
        policy = self._policy(group_name, history_bucket, history_prefix, key, [job_source, training_source],
                              (champion_url, champion_object_arn), [training_image, inference_image])
        self.pipeline = sagemaker.CfnPipeline(
            self, "Pipeline", pipeline_name=pipeline_name, role_arn=self.role.role_arn,
            pipeline_description="Weekly: dataset from the collected history, training, evaluation against the "
                                 "model in service and persistence, the gate, registration",
            pipeline_definition={"PipelineDefinitionBody": stack.to_json_string(definition.to_request())})
        self.pipeline.node.add_dependency(policy)  # the first run must find its permissions in place

        schedule_role = scheduler_role(
            self, "ScheduleRole", description=f"EventBridge Scheduler starts {pipeline_name}",
            statement=iam.PolicyStatement(sid="StartThisPipelineOnly", actions=["sagemaker:StartPipelineExecution"],
                                          resources=[pipeline_arn]))
        schedule = scheduler.CfnSchedule(
            self, "Schedule", description=f"Starts {pipeline_name}", flexible_time_window=ON_TIME,
            schedule_expression=settings.schedule, schedule_expression_timezone=settings.timezone,
            target=retried_target(pipeline_arn, schedule_role, attempts=START_RETRIES,
                                  within_seconds=START_WITHIN_SECONDS))
        schedule.node.add_dependency(self.pipeline)

        spec_alarm(self, alarm, subject=pipeline_name, dimensions={"PipelineName": pipeline_name},
                   period_minutes=period_minutes, topic=topic)

    def _policy(self, group_name: str, bucket: s3.Bucket, history_prefix: str, key: kms.IKey,
                code: list[s3_assets.Asset], champion: tuple[str, str], images: list[DlcImage]) -> iam.Policy:
        """Processing inputs are S3 prefixes, which SageMaker lists before it downloads them: each listing is
        limited to the prefixes the steps read."""
        def listing(sid: str, bucket_arn: str, prefixes: list[str]) -> iam.PolicyStatement:
            return iam.PolicyStatement(sid=sid, actions=["s3:ListBucket"], resources=[bucket_arn],
                                       conditions={"StringLike": {"s3:prefix": prefixes}})

        champion_url, champion_object_arn = champion
        # s3://<bucket>/<first part of the key>...: an asset's key is one part, a registry version's several.
        champion_parts = Fn.split("/", champion_url)

        jobs = [_arn("sagemaker", f"{kind}/{JOB_NAME_PREFIX}*") for kind in ("processing-job", "training-job")]
        policy = iam.Policy(self, "Policy", roles=[self.role], statements=[
            iam.PolicyStatement(sid="ReadHistory", actions=["s3:GetObject"],
                                resources=[bucket.arn_for_objects(f"{history_prefix}/*")]),
            iam.PolicyStatement(sid="ReadWriteRuns", actions=["s3:GetObject", "s3:PutObject"],
                                resources=[bucket.arn_for_objects(f"{ARTIFACTS_PREFIX}/*")]),
            listing("ListHistoryAndRuns", bucket.bucket_arn, [f"{history_prefix}/*", f"{ARTIFACTS_PREFIX}/*"]),
            iam.PolicyStatement(sid="ReadCodeAndChampion", actions=["s3:GetObject"], resources=[
                *(a.bucket.arn_for_objects(a.s3_object_key) for a in code), champion_object_arn]),
            listing("ListCode", code[0].bucket.bucket_arn, [a.s3_object_key for a in code]),
            listing("ListChampion", f"arn:{Aws.PARTITION}:s3:::{Fn.select(2, champion_parts)}",
                    [f"{Fn.select(3, champion_parts)}*"]),
            iam.PolicyStatement(sid="UseTheStackKey", actions=["kms:Decrypt", "kms:GenerateDataKey"],
                                resources=[key.key_arn]),
            iam.PolicyStatement(sid="PullImages", actions=["ecr:BatchCheckLayerAvailability",
                                                           "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                                resources=sorted({image.repository_arn for image in images})),
            iam.PolicyStatement(sid="AuthenticateToRegistry", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            iam.PolicyStatement(sid="RunPipelineJobs", resources=jobs, actions=[
                "sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob",
                "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
                "sagemaker:AddTags"]),
            iam.PolicyStatement(sid="PassItselfToTheJobs", actions=["iam:PassRole"], resources=[self.role.role_arn],
                                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
            iam.PolicyStatement(sid="WriteJobLogs", actions=["logs:CreateLogGroup", "logs:CreateLogStream",
                                                             "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                resources=[_arn("logs", f"log-group:{group}:*") for group in JOB_LOG_GROUPS]),
            iam.PolicyStatement(sid="RegisterVersions",
                                actions=["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage"],
                                resources=[_arn("sagemaker", f"model-package-group/{group_name}"),
                                           _arn("sagemaker", f"model-package/{group_name}/*")]),
        ])
        reasons = {
            f"<{logical_id(bucket)}.Arn>/{history_prefix}/*": "the history is many objects, named by hour",
            f"<{logical_id(bucket)}.Arn>/{ARTIFACTS_PREFIX}/*": "each run writes its own folder, named by execution",
            "*": "ecr:GetAuthorizationToken has no resource-level permissions",
            **{f"arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:{kind}/{JOB_NAME_PREFIX}*":
               f"Pipelines names each {kind} it starts {JOB_NAME_PREFIX}<execution>-<step>-<suffix>"
               for kind in ("processing-job", "training-job")},
            **{f"arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:{group}:*":
               "a job's log streams, named by job, in the log group SageMaker writes jobs' logs to"
               for group in JOB_LOG_GROUPS},
            f"arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package/{group_name}/*":
                "the versions of this stage's group, numbered as they are registered",
        }
        Validations.of(policy).acknowledge(*(Acknowledgment(id=f"AwsSolutions-IAM5[Resource::{resource}]",
                                                            reason=reason) for resource, reason in reasons.items()))
        return policy


def _arn(service: str, resource: str) -> str:
    """In this stack's account and region, by pseudo parameters: cdk-nag names them the same whatever the config."""
    return f"arn:{Aws.PARTITION}:{service}:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"
