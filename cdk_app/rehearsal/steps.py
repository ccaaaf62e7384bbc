"""`python -m cdk_app rehearse`: the real CDK CLI runs the whole lifecycle against a local moto server.

bootstrap, deploy, update, no-change deploy, a failed deploy, a good deploy after it, two Model Registry versions
deployed in turn with `model_version` and a rollback to the first, an A/B and its two ends in each mode, warm hours
by each strategy, a switch to real-time and back, the collector added, the weekly retraining added, destroy (which
keeps the collector's history bucket, and nothing else); after each step boto3 checks, against the emulator, what
the step should have left behind (rehearsal/checks.py, ab_checks.py, collector_checks.py, registry_checks.py,
retraining_checks.py). Moto does not check IAM permissions, images, model data or quotas: those only a real account
shows.

The A/B steps use both kinds of challenger. Serverless: the second registry version challenges the first, then is
promoted (`model_version=2`, `challenger_version` emptied), as CI would resolve and deploy them. Then, with the warm
hours, a challenger folder that the rehearsal makes itself (artifacts/ with its weights scaled, a real other model:
challenger_model.py) is added, and dropped. Real-time: the same folder is added as a second variant, dropped, added
again and promoted (`artifacts_dir` set to it). Every transition is a single deploy, but on real-time the first,
which turns autoscaling off: SageMaker refuses to drop an autoscaled variant, and a challenger renames the variants
(moto_patches.py refuses it too). The A/B deploys use a fixed fleet, so the drop and the promotion need no more.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdk_app.atomic_files import write_bytes
from cdk_app.client.smoke import check_new_config, stack_endpoint_configs
from cdk_app.deployment.config import DeploymentConfig, load_project_config
from cdk_app.deployment.dlc_image import dlc_image
from cdk_app.deployment.model_archive import build_archive
from cdk_app.deployment.registry_version import (
    CHALLENGER_VERSION_FILE,
    LATEST_APPROVED,
    MODEL_VERSION_FILE,
    VersionRequest,
)
from cdk_app.deployment.warm_hours import EXAMPLE
from cdk_app.paths import ARTIFACTS_DIR, MODEL_CODE_DIR, REPO_ROOT
from cdk_app.progress import say
from cdk_app.rehearsal.ab_checks import check_challenger, check_challenger_gone, check_serves, endpoint_arn
from cdk_app.rehearsal.challenger_model import challenger_artifacts
from cdk_app.rehearsal.checks import (
    Deployed,
    RehearsalError,
    check,
    check_alarms,
    check_deployment,
    check_destroyed,
    check_endpoint,
    check_log_group,
    check_update,
    deployed,
    endpoint_label,
)
from cdk_app.rehearsal.collector_checks import check_collector
from cdk_app.rehearsal.emulator import ACCOUNT, Emulator
from cdk_app.rehearsal.registry_checks import check_registry_deploy, register_version
from cdk_app.rehearsal.retraining_checks import check_group, check_retraining

CDK_TIMEOUT_SECONDS = 600
UPDATE = {"memory_mb": 2048, "max_concurrency": 10}  # the update step's changes, on top of a new model version
RECOVERY = {**UPDATE, "max_concurrency": 8}
WARM_PROVISIONED = {**RECOVERY, "warm_hours": EXAMPLE, "warm_strategy": "provisioned", "provisioned_concurrency": 2}
WARM_PING = {**RECOVERY, "warm_hours": EXAMPLE, "warm_strategy": "ping"}
REALTIME = {**RECOVERY, "endpoint_type": "realtime"}
COLLECTOR = {**RECOVERY, "collector": "true"}
RETRAIN = {**COLLECTOR, "retrain_schedule": "cron(0 3 ? * MON *)"}
INVALID_MEMORY_MB = 4000  # forced into a synthesized template, past the config's own checks


@dataclass
class StepResult:
    name: str
    seconds: float
    checked: list[str] = field(default_factory=list)


class Rehearsal:
    """The steps, in order; each deploys a config built from cdk.json, and checks against that same config."""

    def __init__(self, emulator: Emulator, workdir: Path, base: DeploymentConfig) -> None:
        self.emulator = emulator
        self.workdir = workdir
        self.outputs_file = workdir / "outputs.json"
        self.updated_artifacts = workdir / "artifacts-v2"
        self.base = base
        self.prepare_updated_model()
        self.updated = self.config(UPDATE)
        self.challenger = str(challenger_artifacts(ARTIFACTS_DIR, workdir / "artifacts-challenger"))
        realtime = self.config(REALTIME).realtime
        assert realtime is not None
        # The A/B on real-time runs on a fixed fleet: a deploy without autoscaling first, as SageMaker wants.
        self.realtime_fixed = {**REALTIME, "instance_count_max": realtime.count_min}
        self.realtime_ab = {**self.realtime_fixed, "challenger_version": self.challenger}
        self.first: Deployed | None = None
        self.retained: frozenset[str] = frozenset()  # buckets that destroy must keep: the collector's history
        self.registered: dict[int, str] = {}  # registry version -> the sha256 of the archive it holds
        self.ab = self.base  # the last deploy with a challenger, which a promote or a drop ends

    def config(self, overrides: dict[str, Any]) -> DeploymentConfig:
        """cdk.json plus the overrides, with the second model version for every step after the first deploy."""
        return load_project_config(ACCOUNT, **self.context(overrides))

    def context(self, overrides: dict[str, Any]) -> dict[str, str]:
        return {key: str(value) for key, value in {"artifacts_dir": self.updated_artifacts, **overrides}.items()}

    def cdk_context(self, overrides: dict[str, Any]) -> list[str]:
        return [arg for key, value in self.context(overrides).items() for arg in ("-c", f"{key}={value}")]

    def cdk(self, *args: str, expect_success: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["npx", "cdk", *args, "--no-notices"]
        result = subprocess.run(command, cwd=REPO_ROOT, env=self.emulator.environment(), capture_output=True,
                                text=True, timeout=CDK_TIMEOUT_SECONDS)
        if expect_success and result.returncode != 0:
            raise RehearsalError(f"`{' '.join(command)}` failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result

    def deploy(self, *context: str, expect_success: bool = True) -> subprocess.CompletedProcess[str]:
        return self.cdk("deploy", self.base.stack_name, "--require-approval", "never", "--outputs-file",
                        str(self.outputs_file), "--output", str(self.workdir / "cdk.out"), *context,
                        expect_success=expect_success)

    def outputs(self) -> dict[str, str]:
        return dict(json.loads(self.outputs_file.read_text())[self.base.stack_name])

    def prepare_updated_model(self) -> None:
        """A second model version: the same weights with a changed config, so its content hash differs."""
        shutil.copytree(ARTIFACTS_DIR, self.updated_artifacts)
        config_path = self.updated_artifacts / "config.json"
        config = json.loads(config_path.read_text())
        config["rehearsal"] = "second model version"
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

    # ------------------------------------------------------------------ the steps

    def bootstrap(self) -> list[str]:
        self.cdk("bootstrap", f"aws://{ACCOUNT}/{self.base.region}")
        stacks = self.emulator.client("cloudformation").describe_stacks(StackName="CDKToolkit")["Stacks"]
        check(stacks[0]["StackStatus"].endswith("_COMPLETE"), "CDKToolkit is not complete")
        return ["CDKToolkit stack complete"]

    def first_deploy(self) -> list[str]:
        self.deploy()
        checked = check_deployment(self.emulator, self.base, self.outputs())
        check_new_config(self.emulator.client("sagemaker"),
                         stack_endpoint_configs(self.emulator.client("cloudformation"), self.base.stack_name),
                         self.base.endpoint_name)
        self.first = deployed(self.emulator, self.base, self.outputs())
        return [*checked, "smoke: InService on the stack's new EndpointConfig",
                *check_group(self.emulator, self.base, self.outputs())]

    def update(self) -> list[str]:
        if self.first is None:
            raise RehearsalError("the update step needs the first deploy")
        self.deploy(*self.cdk_context(UPDATE))
        return check_update(self.emulator, self.updated, self.first, self.outputs())

    def no_change(self) -> list[str]:
        before = check_endpoint(self.emulator, self.updated)[0]["EndpointConfigName"]
        result = self.deploy(*self.cdk_context(UPDATE))
        output = result.stdout + result.stderr
        check("no changes" in output.lower(), f"the CLI did not report 'no changes':\n{output[-1500:]}")
        check(check_endpoint(self.emulator, self.updated)[0]["EndpointConfigName"] == before,
              "the endpoint config changed")
        return ["CLI reported no changes", "same endpoint config (deterministic archive)"]

    def failed(self) -> list[str]:
        stack = self.base.stack_name
        assembly = self.workdir / "broken.out"
        self.cdk("synth", stack, "--quiet", "--output", str(assembly), *self.cdk_context(UPDATE))
        template = json.loads((assembly / f"{stack}.template.json").read_text())
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::SageMaker::EndpointConfig":
                resource["Properties"]["ProductionVariants"][0]["ServerlessConfig"]["MemorySizeInMB"] = \
                    INVALID_MEMORY_MB
        _replace_template(assembly, stack, json.dumps(template))
        result = self.cdk("deploy", stack, "--app", str(assembly), "--require-approval", "never",
                          expect_success=False)
        check(result.returncode != 0, f"a deploy with MemorySizeInMB={INVALID_MEMORY_MB} succeeded")
        check_endpoint(self.emulator, self.updated)
        return [f"MemorySizeInMB={INVALID_MEMORY_MB} rejected",
                f"endpoint still InService on {endpoint_label(self.updated)}"]

    def recover(self) -> list[str]:
        recovered = self.config(RECOVERY)
        self.deploy(*self.cdk_context(RECOVERY))
        check_endpoint(self.emulator, recovered)
        return [f"next good deploy succeeded ({endpoint_label(recovered)})"]

    def register_versions(self) -> None:
        """Two Approved versions of the stage's group, as `retrain` registers them: the repository's model, then
        the second one; their archives go where CDK's assets go, so destroy leaves no bucket of theirs."""
        toolkit = self.emulator.client("cloudformation").describe_stacks(StackName="CDKToolkit")["Stacks"][0]
        bucket = next(o["OutputValue"] for o in toolkit["Outputs"] if o["OutputKey"] == "BucketName")
        image = dlc_image(self.base.region, self.base.image_tag).uri
        for number, artifacts in enumerate((ARTIFACTS_DIR, self.updated_artifacts)):
            archive = build_archive(artifacts, MODEL_CODE_DIR, self.workdir / f"registered-{number}.tar.gz")
            version = register_version(self.emulator, self.base.endpoint_name, archive, bucket, image)
            self.registered[version] = archive.sha256

    def resolve(self, request: VersionRequest, challenger: bool = False) -> None:
        """resolve-model as CI runs it, for the champion or (`challenger`) the challenger."""
        command = [sys.executable, "-m", "cdk_app", "resolve-model", "--version", str(request),
                   *(["--challenger"] if challenger else [])]
        resolved = subprocess.run(command, cwd=REPO_ROOT, env=self.emulator.environment(), capture_output=True,
                                  text=True, timeout=CDK_TIMEOUT_SECONDS)
        check(resolved.returncode == 0, f"`{' '.join(command[1:])}` failed: {resolved.stderr[-1500:]}")

    def deploy_version(self, request: VersionRequest, expected: int) -> list[str]:
        """resolve-model as CI runs it, then a deploy with model_version: an update of the same endpoint, which
        serves version `expected`."""
        sagemaker = self.emulator.client("sagemaker")
        before = sagemaker.describe_endpoint(EndpointName=self.base.endpoint_name)["EndpointArn"]
        self.resolve(request)
        overrides = {**RECOVERY, "model_version": request}
        self.deploy(*self.cdk_context(overrides))
        config = self.config(overrides)
        assert config.registry_version is not None  # model_version is set
        number = config.registry_version.version
        check(number == expected, f"resolve-model --version {request} gave version {number}, not {expected}")
        checked = check_registry_deploy(self.emulator, config, self.outputs(), self.registered[number])
        after = sagemaker.describe_endpoint(EndpointName=self.base.endpoint_name)["EndpointArn"]
        check(after == before, "the endpoint was replaced, not updated")
        return [f"resolve-model --version {request}: version {number}", "same endpoint, updated in place", *checked]

    def first_version(self) -> list[str]:
        self.register_versions()
        return self.deploy_version(min(self.registered), min(self.registered))

    def roll_back(self) -> list[str]:
        first = min(self.registered)
        return [*self.deploy_version(first, first), f"back on version {first}: the first archive again"]

    def deploy_checked(self, overrides: dict[str, Any]) -> list[str]:
        """Deploy cdk.json plus `overrides`; check the whole deployment against that config."""
        self.deploy(*self.cdk_context(overrides))
        return check_deployment(self.emulator, self.config(overrides), self.outputs())

    # ------------------------------------------------------------------ the A/B: a challenger, promoted or dropped

    def serverless_challenger(self) -> list[str]:
        """The first registry version serves (the roll back left it), the second challenges it on a second
        endpoint, both resolved as CI resolves them."""
        first, second = min(self.registered), max(self.registered)
        before = endpoint_arn(self.emulator, self.base)
        self.resolve(second, challenger=True)
        overrides = {**RECOVERY, "model_version": first, "challenger_version": second}
        self.deploy(*self.cdk_context(overrides))
        self.ab = self.config(overrides)
        configs = stack_endpoint_configs(self.emulator.client("cloudformation"), self.base.stack_name)
        for name in (self.ab.endpoint_name, self.ab.challenger_endpoint_name):  # as `smoke` checks them first
            check_new_config(self.emulator.client("sagemaker"), configs, name)
        return ["smoke: both endpoints InService on the stack's new EndpointConfigs",
                *check_registry_deploy(self.emulator, self.ab, self.outputs(), self.registered[first]),
                *check_challenger(self.emulator, self.ab, self.outputs(), before),
                *check_alarms(self.emulator, self.ab, self.outputs()), *check_log_group(self.emulator, self.ab)]

    def serverless_promote(self) -> list[str]:
        """`-c model_version=2 -c challenger_version=`: the champion's endpoint serves the challenger's version,
        whose own endpoint goes."""
        before, second = endpoint_arn(self.emulator, self.base), max(self.registered)
        checked = self.deploy_version(second, second)
        return [*checked, *check_challenger_gone(self.emulator, self.config({**RECOVERY, "model_version": second}),
                                                 self.ab, before),
                f"the champion's endpoint serves the challenger's version {second}"]

    def warm_with_challenger(self) -> list[str]:
        """Provisioned warm hours with the challenger folder on a second endpoint, which has neither."""
        before = endpoint_arn(self.emulator, self.base)
        overrides = {**WARM_PROVISIONED, "challenger_version": self.challenger}
        checked = self.deploy_checked(overrides)
        self.ab = self.config(overrides)
        return [*checked, *check_challenger(self.emulator, self.ab, self.outputs(), before)]

    def warm_dropping_challenger(self) -> list[str]:
        """Ping warm hours, the challenger emptied without a swap: its endpoint goes, the champion serves on."""
        before, served = endpoint_arn(self.emulator, self.base), self.outputs()["ModelVersion"]
        checked = self.deploy_checked(WARM_PING)
        check(self.outputs()["ModelVersion"] == served, f"the champion now serves {self.outputs()['ModelVersion']}")
        return [*checked, *check_challenger_gone(self.emulator, self.config(WARM_PING), self.ab, before),
                f"the champion still serves model_version {served}"]

    def realtime_challenger(self) -> list[str]:
        """Autoscaling off first, then the challenger folder as the Challenger variant of the same endpoint."""
        before = endpoint_arn(self.emulator, self.base)
        fixed = self.deploy_checked(self.realtime_fixed)
        check("no scalable target" in fixed, "autoscaling is still on before the challenger comes")
        checked = self.deploy_checked(self.realtime_ab)
        self.ab = self.config(self.realtime_ab)
        return ["autoscaling off first (no scalable target)", *checked,
                *check_challenger(self.emulator, self.ab, self.outputs(), before)]

    def realtime_drop(self) -> list[str]:
        before, served = endpoint_arn(self.emulator, self.base), self.outputs()["ModelVersion"]
        checked = self.deploy_checked(self.realtime_fixed)
        check(self.outputs()["ModelVersion"] == served, f"the champion now serves {self.outputs()['ModelVersion']}")
        return [*checked, *check_challenger_gone(self.emulator, self.config(self.realtime_fixed), self.ab, before),
                f"the champion still serves model_version {served}"]

    def realtime_promote(self) -> list[str]:
        """The challenger again, then `-c artifacts_dir=<its folder> -c challenger_version=`."""
        before = endpoint_arn(self.emulator, self.base)
        self.deploy_checked(self.realtime_ab)
        check_challenger(self.emulator, self.ab, self.outputs(), before)
        promoted = {**self.realtime_fixed, "artifacts_dir": self.challenger}
        checked = self.deploy_checked(promoted)
        config = self.config(promoted)
        _, described = check_endpoint(self.emulator, config)
        champion = self.emulator.client("sagemaker").describe_model(
            ModelName=described["ProductionVariants"][0]["ModelName"])
        assert self.ab.challenger is not None  # the A/B config has one
        return ["the challenger added again", *checked, *check_challenger_gone(self.emulator, config, self.ab, before),
                check_serves(self.emulator, champion, self.ab.challenger, "champion")]

    def switch_to_realtime(self) -> list[str]:
        before = check_endpoint(self.emulator, self.config(WARM_PING))[0]
        checked = self.deploy_checked(REALTIME)
        after = check_endpoint(self.emulator, self.config(REALTIME))[0]
        check(after["EndpointArn"] == before["EndpointArn"], "the endpoint was replaced, not updated")
        return ["same endpoint, updated in place", *checked]

    def back_refused(self) -> list[str]:
        result = self.deploy(*self.cdk_context(RECOVERY), expect_success=False)
        check(result.returncode != 0, "an in-place update from real-time to serverless succeeded")
        realtime = self.config(REALTIME)
        check_endpoint(self.emulator, realtime)
        return ["in-place update to serverless refused, as SageMaker refuses it",
                f"endpoint still InService, {endpoint_label(realtime)}"]

    def back_to_serverless(self) -> list[str]:
        self.destroy()
        return ["destroyed", *self.deploy_checked(RECOVERY)]

    def add_collector(self) -> list[str]:
        checked = self.deploy_checked(COLLECTOR)
        self.retained = frozenset({self.outputs()["HistoryBucketName"]})
        return [*checked, *check_collector(self.emulator, self.config(COLLECTOR), self.outputs())]

    def add_retraining(self) -> list[str]:
        checked = self.deploy_checked(RETRAIN)
        return [*checked, *check_retraining(self.emulator, self.config(RETRAIN), self.outputs())]

    def destroy(self) -> list[str]:
        self.cdk("destroy", self.base.stack_name, "--force")
        return check_destroyed(self.emulator, self.base, self.retained)

    def steps(self) -> list[tuple[str, Callable[[], list[str]]]]:
        return [("bootstrap", self.bootstrap), ("deploy", self.first_deploy), ("update", self.update),
                ("no-change deploy", self.no_change), ("failed deploy", self.failed),
                ("good deploy after it", self.recover), ("registry: a version", self.first_version),
                ("registry: latest approved", lambda: self.deploy_version(LATEST_APPROVED, max(self.registered))),
                ("registry: roll back", self.roll_back), ("A/B serverless: challenger", self.serverless_challenger),
                ("A/B serverless: promote", self.serverless_promote),
                ("warm hours: provisioned", self.warm_with_challenger),
                ("warm hours: ping", self.warm_dropping_challenger),
                ("switch to realtime", self.switch_to_realtime), ("back in place", self.back_refused),
                ("A/B realtime: challenger", self.realtime_challenger), ("A/B realtime: drop", self.realtime_drop),
                ("A/B realtime: promote", self.realtime_promote),
                ("back: destroy, deploy", self.back_to_serverless), ("collector", self.add_collector),
                ("retraining", self.add_retraining), ("destroy", self.destroy)]


def _replace_template(assembly: Path, stack: str, text: str) -> None:
    """Swap a synthesized template, renaming its asset so the CLI uploads it instead of reusing the old one."""
    assets_path = assembly / f"{stack}.assets.json"
    old_hash = next(key for key, asset in json.loads(assets_path.read_text())["files"].items()
                    if asset["source"]["path"] == f"{stack}.template.json")
    new_hash = hashlib.sha256(text.encode()).hexdigest()
    (assembly / f"{stack}.template.json").write_text(text)
    for manifest in (assets_path, assembly / "manifest.json"):
        manifest.write_text(manifest.read_text().replace(old_hash, new_hash))


@contextmanager
def _kept(path: Path) -> Iterator[None]:
    """The registry and A/B steps resolve moto's versions into build/model-version.json and
    build/challenger-version.json; the user's own files come back."""
    before = path.read_bytes() if path.is_file() else None
    try:
        yield
    finally:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            write_bytes(path, before)


def rehearse() -> list[StepResult]:
    """Run every step, printing a line per step; the emulator is stopped whatever happens."""
    base = load_project_config(ACCOUNT)
    results: list[StepResult] = []
    with tempfile.TemporaryDirectory(prefix="velib-rehearsal-") as scratch, Emulator(base.region) as emulator, \
            _kept(MODEL_VERSION_FILE), _kept(CHALLENGER_VERSION_FILE):
        say(f"moto on {emulator.url}")
        for name, run in Rehearsal(emulator, Path(scratch), base).steps():
            started = time.perf_counter()
            checked = run()
            results.append(StepResult(name, round(time.perf_counter() - started, 1), checked))
            say(f"{name:<22} {results[-1].seconds:6.1f} s  {'; '.join(checked)}")
    return results


def format_table(results: list[StepResult]) -> str:
    lines = [f"{'step':<22} {'time':>8}  checked"]
    lines += [f"{r.name:<22} {r.seconds:>6.1f} s  {'; '.join(r.checked)}" for r in results]
    lines.append(f"{'total':<22} {sum(r.seconds for r in results):>6.1f} s")
    return "\n".join(lines)
