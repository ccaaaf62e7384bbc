"""`python -m cdk_app rehearse`: the real CDK CLI runs the whole lifecycle against a local moto server.

bootstrap, deploy, update, no-change deploy, a failed deploy, a good deploy after it, destroy; after
each step boto3 checks, against the emulator, what the step should have left behind. Moto does not
check IAM permissions, images, model data or quotas: those only a real account shows.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from cdk_app.dlc_image import dlc_image
from cdk_app.local_server import free_port
from cdk_app.paths import ARTIFACTS_DIR, REPO_ROOT
from cdk_app.progress import say
from cdk_app.smoke import check_new_config

ACCOUNT = "123456789012"
REGION = "eu-west-3"
STAGE = "dev"
STACK = f"VelibForecast-{STAGE}"
ENDPOINT = f"velib-forecast-{STAGE}"
LOG_GROUP = f"/aws/sagemaker/Endpoints/{ENDPOINT}"
CDK_TIMEOUT_SECONDS = 600
IMAGE_TAG = "2.6.0-cpu-py312-ubuntu22.04-sagemaker"


class RehearsalError(RuntimeError):
    """A step did not leave the account as it should have; the message says what differed."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise RehearsalError(message)


@dataclass
class StepResult:
    name: str
    seconds: float
    checked: list[str] = field(default_factory=list)


class Emulator:
    """moto on a free loopback port, in its own process, always stopped by its PID."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="moto-", suffix=".log")[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cdk_app.moto_server", "--port", str(self.port)], cwd=REPO_ROOT,
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RehearsalError(f"moto exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RehearsalError(f"moto did not listen on port {self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        self.log.unlink(missing_ok=True)

    def environment(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_DEFAULT_"))}
        return {**keep, "AWS_ENDPOINT_URL": self.url,
                # The CLI builds the template URL from the endpoint; moto would read "127" as a bucket name.
                "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": f"http://localhost:{self.port}",
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
                "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true",
                "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing", aws_session_token="testing")


class Rehearsal:
    def __init__(self, emulator: Emulator, workdir: Path) -> None:
        self.emulator = emulator
        self.workdir = workdir
        self.outputs_file = workdir / "outputs.json"
        self.updated_artifacts = workdir / "artifacts-v2"
        self.update_context = ["-c", "memory_mb=2048", "-c", "max_concurrency=10",
                               "-c", f"artifacts_dir={self.updated_artifacts}"]

    def cdk(self, *args: str, expect_success: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["npx", "cdk", *args, "--no-notices"]
        result = subprocess.run(command, cwd=REPO_ROOT, env=self.emulator.environment(), capture_output=True,
                                text=True, timeout=CDK_TIMEOUT_SECONDS)
        if expect_success and result.returncode != 0:
            raise RehearsalError(f"`{' '.join(command)}` failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result

    def deploy(self, *context: str, expect_success: bool = True) -> subprocess.CompletedProcess[str]:
        return self.cdk("deploy", STACK, "--require-approval", "never", "--outputs-file", str(self.outputs_file),
                        "--output", str(self.workdir / "cdk.out"), *context, expect_success=expect_success)

    def outputs(self) -> dict[str, str]:
        return dict(json.loads(self.outputs_file.read_text())[STACK])

    # ------------------------------------------------------------------ what each step checks

    def check_endpoint(self, memory: int, concurrency: int) -> tuple[dict[str, Any], dict[str, Any]]:
        sagemaker = self.emulator.client("sagemaker")
        endpoint = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
        check(endpoint["EndpointStatus"] == "InService", f"endpoint is {endpoint['EndpointStatus']}")
        config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        (variant,) = config["ProductionVariants"]
        check(variant["ServerlessConfig"] == {"MemorySizeInMB": memory, "MaxConcurrency": concurrency},
              f"serverless config is {variant['ServerlessConfig']}")
        return endpoint, config

    def check_deployment(self) -> list[str]:
        outputs = self.outputs()
        check({"EndpointName", "EndpointArn", "ModelDataUrl", "ImageUri", "ModelVersion", "AlertTopicArn",
               "DashboardUrl"} <= set(outputs), f"stack outputs are {sorted(outputs)}")
        check(outputs["EndpointName"] == ENDPOINT, f"EndpointName output is {outputs['EndpointName']}")
        _, config = self.check_endpoint(4096, 5)
        sagemaker = self.emulator.client("sagemaker")
        model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        container = model["PrimaryContainer"]
        check(container["Image"] == dlc_image(REGION, IMAGE_TAG).uri, f"model image is {container['Image']}")
        check(container["ModelDataUrl"] == outputs["ModelDataUrl"], "model data URL differs from the output")
        bucket, key = outputs["ModelDataUrl"].removeprefix("s3://").split("/", 1)
        self.emulator.client("s3").head_object(Bucket=bucket, Key=key)

        iam = self.emulator.client("iam")
        role_name = model["ExecutionRoleArn"].rsplit("/", 1)[1]
        trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
        check([s["Principal"] for s in trust["Statement"]] == [{"Service": "sagemaker.amazonaws.com"}],
              f"role trust is {trust}")
        check(iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == [],
              "the role has managed policies")
        sids = {s["Sid"] for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
                for s in iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]["Statement"]}
        check(sids == {"ReadModelArchive", "PullServingImage", "AuthenticateToRegistry", "WriteEndpointLogs",
                       "PublishMetrics"}, f"role statements are {sorted(sids)}")

        alarms = self.emulator.client("cloudwatch").describe_alarms()["MetricAlarms"]
        by_metric = {a["MetricName"]: a for a in alarms}
        expected = {"Invocation5XXErrors": 0.001, "Invocation4XXErrors": 0.01, "ModelLatency": 1_000_000,
                    "ModelSetupTime": 10_000_000}
        check({m: by_metric[m]["Threshold"] for m in expected if m in by_metric} == expected,
              f"alarms are {[(a['MetricName'], a['Threshold']) for a in alarms]}")
        for alarm in by_metric.values():
            dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
            check(dimensions == {"EndpointName": ENDPOINT, "VariantName": "AllTraffic"}, f"dimensions {dimensions}")
            check(alarm["AlarmActions"] == [outputs["AlertTopicArn"]] == alarm["OKActions"], "alarm actions")
            check(alarm["TreatMissingData"] == "notBreaching" and alarm["Namespace"] == "AWS/SageMaker",
                  "alarm missing-data treatment or namespace")

        attributes = self.emulator.client("sns").get_topic_attributes(TopicArn=outputs["AlertTopicArn"])
        check(bool(attributes["Attributes"].get("KmsMasterKeyId")), "the alert topic is not encrypted")

        budgets = self.emulator.client("budgets").describe_budgets(AccountId=ACCOUNT)["Budgets"]
        check(len(budgets) == 1 and budgets[0]["BudgetLimit"] == {"Amount": "5", "Unit": "USD"}
              and budgets[0]["TimeUnit"] == "MONTHLY", f"budgets are {budgets}")
        notifications = self.emulator.client("budgets").describe_notifications_for_budget(
            AccountId=ACCOUNT, BudgetName=budgets[0]["BudgetName"])["Notifications"]
        check(sorted((n["NotificationType"], n["Threshold"]) for n in notifications)
              == [("ACTUAL", 80.0), ("FORECASTED", 100.0)], f"budget notifications are {notifications}")

        groups = self.emulator.client("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
        check(len(groups) == 1 and groups[0].get("retentionInDays") == 30, f"log groups are {groups}")
        return ["endpoint InService, serverless 4096 MB x 5", "model image and data URL", "role trust and 5 statements",
                f"{len(alarms)} alarms (metric, threshold, dimensions, actions)", "topic encrypted",
                "budget 5 USD, 80% actual / 100% forecast", "log group retention 30 d", "7 stack outputs"]

    def check_update(self, before: dict[str, str], old_config: str, old_model: str) -> list[str]:
        after = self.outputs()
        endpoint, config = self.check_endpoint(2048, 10)
        check(endpoint["EndpointName"] == ENDPOINT, "the endpoint was renamed")
        check(endpoint["EndpointConfigName"] != old_config, "the endpoint config was not replaced")
        check(after["ModelVersion"] != before["ModelVersion"] and after["ModelDataUrl"] != before["ModelDataUrl"],
              "the model did not change")
        sagemaker = self.emulator.client("sagemaker")
        check(_missing(lambda: sagemaker.describe_endpoint_config(EndpointConfigName=old_config)),
              f"the old endpoint config {old_config} still exists")
        check(_missing(lambda: sagemaker.describe_model(ModelName=old_model)),
              f"the old model {old_model} still exists")
        new_model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        check(new_model["PrimaryContainer"]["ModelDataUrl"] == after["ModelDataUrl"], "new model data URL")
        return ["same endpoint name", "new config 2048 MB x 10", "old config and model gone",
                f"model {before['ModelVersion']} -> {after['ModelVersion']}"]

    def check_destroyed(self) -> list[str]:
        sagemaker = self.emulator.client("sagemaker")
        leftovers = {
            "endpoints": sagemaker.list_endpoints()["Endpoints"],
            "endpoint configs": sagemaker.list_endpoint_configs()["EndpointConfigs"],
            "models": sagemaker.list_models()["Models"],
            "alarms": self.emulator.client("cloudwatch").describe_alarms()["MetricAlarms"],
            "topics": self.emulator.client("sns").list_topics()["Topics"],
            "budgets": self.emulator.client("budgets").describe_budgets(AccountId=ACCOUNT).get("Budgets", []),
            "log groups": self.emulator.client("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"],
            "dashboards": self.emulator.client("cloudwatch").list_dashboards()["DashboardEntries"],
        }
        check(not any(leftovers.values()), f"left behind: { {k: v for k, v in leftovers.items() if v} }")
        stacks = self.emulator.client("cloudformation").list_stacks()["StackSummaries"]
        check(all(s["StackStatus"] == "DELETE_COMPLETE" for s in stacks if s["StackName"] == STACK),
              "the stack is not deleted")
        return [f"no {name}" for name in leftovers]

    # ------------------------------------------------------------------ the steps

    def prepare_updated_model(self) -> None:
        """A second model version: the same weights with a changed config, so its content hash differs."""
        shutil.copytree(ARTIFACTS_DIR, self.updated_artifacts)
        config_path = self.updated_artifacts / "config.json"
        config = json.loads(config_path.read_text())
        config["rehearsal"] = "second model version"
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

    def steps(self) -> list[tuple[str, Callable[[], list[str]]]]:
        state: dict[str, Any] = {}

        def bootstrap() -> list[str]:
            self.cdk("bootstrap", f"aws://{ACCOUNT}/{REGION}")
            stacks = self.emulator.client("cloudformation").describe_stacks(StackName="CDKToolkit")["Stacks"]
            check(stacks[0]["StackStatus"].endswith("_COMPLETE"), "CDKToolkit is not complete")
            return ["CDKToolkit stack complete"]

        def deploy() -> list[str]:
            self.deploy()
            checked = self.check_deployment()
            check_new_config(self.emulator.client("sagemaker"), self.emulator.client("cloudformation"), STACK,
                             ENDPOINT)
            checked.append("smoke: InService on the stack's new EndpointConfig")
            endpoint, config = self.check_endpoint(4096, 5)
            state.update(outputs=self.outputs(), config=endpoint["EndpointConfigName"],
                         model=config["ProductionVariants"][0]["ModelName"])
            return checked

        def update() -> list[str]:
            self.prepare_updated_model()
            self.deploy(*self.update_context)
            return self.check_update(state["outputs"], state["config"], state["model"])

        def no_change() -> list[str]:
            before = self.check_endpoint(2048, 10)[0]["EndpointConfigName"]
            result = self.deploy(*self.update_context)
            output = result.stdout + result.stderr
            check("no changes" in output.lower(), f"the CLI did not report 'no changes':\n{output[-1500:]}")
            check(self.check_endpoint(2048, 10)[0]["EndpointConfigName"] == before, "the endpoint config changed")
            return ["CLI reported no changes", "same endpoint config (deterministic archive)"]

        def failed() -> list[str]:
            assembly = self.workdir / "broken.out"
            self.cdk("synth", STACK, "--quiet", "--output", str(assembly), *self.update_context)
            template_path = assembly / f"{STACK}.template.json"
            template = json.loads(template_path.read_text())
            for resource in template["Resources"].values():
                if resource["Type"] == "AWS::SageMaker::EndpointConfig":
                    resource["Properties"]["ProductionVariants"][0]["ServerlessConfig"]["MemorySizeInMB"] = 4000
            _replace_template(assembly, json.dumps(template))
            result = self.cdk("deploy", STACK, "--app", str(assembly), "--require-approval", "never",
                              expect_success=False)
            check(result.returncode != 0, "a deploy with MemorySizeInMB=4000 succeeded")
            self.check_endpoint(2048, 10)
            return ["MemorySizeInMB=4000 rejected", "endpoint still InService on 2048 MB x 10"]

        def recover() -> list[str]:
            self.deploy(*self.update_context, "-c", "max_concurrency=8")
            self.check_endpoint(2048, 8)
            return ["next good deploy succeeded (2048 MB x 8)"]

        def destroy() -> list[str]:
            self.cdk("destroy", STACK, "--force")
            return self.check_destroyed()

        return [("bootstrap", bootstrap), ("deploy", deploy), ("update", update), ("no-change deploy", no_change),
                ("failed deploy", failed), ("good deploy after it", recover), ("destroy", destroy)]


def _replace_template(assembly: Path, text: str) -> None:
    """Swap a synthesized template, renaming its asset so the CLI uploads it instead of reusing the old one."""
    assets_path = assembly / f"{STACK}.assets.json"
    old_hash = next(key for key, asset in json.loads(assets_path.read_text())["files"].items()
                    if asset["source"]["path"] == f"{STACK}.template.json")
    new_hash = hashlib.sha256(text.encode()).hexdigest()
    (assembly / f"{STACK}.template.json").write_text(text)
    for manifest in (assets_path, assembly / "manifest.json"):
        manifest.write_text(manifest.read_text().replace(old_hash, new_hash))


def _missing(call: Callable[[], object]) -> bool:
    try:
        call()
    except ClientError:
        return True
    return False


def rehearse() -> list[StepResult]:
    """Run every step, printing a line per step; the emulator is stopped whatever happens."""
    emulator = Emulator()
    results: list[StepResult] = []
    with tempfile.TemporaryDirectory(prefix="velib-rehearsal-") as scratch:
        emulator.start()
        try:
            say(f"moto on {emulator.url}")
            for name, run in Rehearsal(emulator, Path(scratch)).steps():
                started = time.perf_counter()
                checked = run()
                results.append(StepResult(name, round(time.perf_counter() - started, 1), checked))
                say(f"{name:<22} {results[-1].seconds:6.1f} s  {'; '.join(checked)}")
        finally:
            emulator.stop()
    return results


def format_table(results: list[StepResult]) -> str:
    lines = [f"{'step':<22} {'time':>8}  checked"]
    lines += [f"{r.name:<22} {r.seconds:>6.1f} s  {'; '.join(r.checked)}" for r in results]
    lines.append(f"{'total':<22} {sum(r.seconds for r in results):>6.1f} s")
    return "\n".join(lines)
