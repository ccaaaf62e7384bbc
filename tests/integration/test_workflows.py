"""The GitHub Actions workflows: actionlint-clean, pinned, least privilege, one deploy per stage at a time."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cdk_app.paths import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = Path(sys.executable).parent / "actionlint"


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return dict(data)


def test_actionlint_passes_on_every_workflow() -> None:
    assert {w.name for w in WORKFLOWS} == {"pull-request.yml", "deploy-dev.yml", "deploy-prod.yml", "destroy.yml"}
    result = subprocess.run([str(ACTIONLINT), *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_is_live(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.nope }}\n")
    result = subprocess.run([str(ACTIONLINT), str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "nope" in result.stdout


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_actions_are_pinned_and_permissions_least(workflow: Path) -> None:
    text = workflow.read_text()
    for action in re.findall(r"uses:\s*(\S+)", text):
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+", action), f"{action} is not pinned to a version"
    data = load(workflow.name)
    assert data["permissions"] == {"contents": "read"}
    for job in data["jobs"].values():
        assert set(job.get("permissions", {}).values()) <= {"read", "write"}
        assert set(job.get("permissions", {})) <= {"contents", "id-token"}
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text  # OIDC only


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_pip_and_npm_are_cached(workflow: Path) -> None:
    steps = [s for job in load(workflow.name)["jobs"].values() for s in job["steps"]]
    python = [s for s in steps if s.get("uses", "").startswith("actions/setup-python")]
    node = [s for s in steps if s.get("uses", "").startswith("actions/setup-node")]
    assert python and all(s["with"]["cache"] == "pip" for s in python)
    assert node and all(s["with"]["cache"] == "npm" for s in node)


def test_deploys_of_one_stage_never_overlap() -> None:
    groups = {name: load(name)["concurrency"] for name in ("deploy-dev.yml", "deploy-prod.yml", "destroy.yml")}
    assert groups["deploy-dev.yml"] == {"group": "deploy-dev", "cancel-in-progress": False}
    assert groups["deploy-prod.yml"] == {"group": "deploy-prod", "cancel-in-progress": False}
    assert groups["destroy.yml"] == {"group": "deploy-${{ inputs.stage }}", "cancel-in-progress": False}


def test_push_to_main_tests_then_deploys_dev_then_smoke_tests() -> None:
    data = load("deploy-dev.yml")
    assert data["on"]["push"] == {"branches": ["main"]}
    assert data["jobs"]["deploy"]["needs"] == "test"
    assert "needs.test.result == 'success'" in data["jobs"]["deploy"]["if"]
    runs = [s.get("run", "") for s in data["jobs"]["deploy"]["steps"]]
    deploy = next(i for i, r in enumerate(runs) if "cdk deploy VelibForecast-dev" in r)
    smoke = next(i for i, r in enumerate(runs) if "cdk_app smoke --stage dev" in r)
    assert deploy < smoke
    assert "make test" in [s.get("run") for s in data["jobs"]["test"]["steps"]]


def test_prod_is_manual_or_tagged_behind_the_prod_environment() -> None:
    data = load("deploy-prod.yml")
    assert set(data["on"]) == {"workflow_dispatch", "push"} and data["on"]["push"] == {"tags": ["v*"]}
    assert data["jobs"]["deploy"]["environment"] == "prod"


def test_pull_requests_run_tests_synth_and_checkers() -> None:
    runs = [s.get("run", "") for s in load("pull-request.yml")["jobs"]["checks"]["steps"]]
    assert "make test" in runs and "make check-templates" in runs
    planned = subprocess.run(["make", "-n", "check-templates"], cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=60).stdout.splitlines()
    # every serving mode is checked, the collector and the retraining
    for mode in ("serverless", "warm-ping", "warm-provisioned", "realtime", "collector", "retrain"):
        mine = [line for line in planned if f"cdk.out/{mode}" in line]
        assert [tool for tool in ("cdk synth", "cfn-lint", "checkov") if any(tool in line for line in mine)] == [
            "cdk synth", "cfn-lint", "checkov"], mine


def steps_of(name: str) -> list[dict[str, Any]]:
    return list(load(name)["jobs"]["deploy"]["steps"])


def step_index(steps: list[dict[str, Any]], text: str) -> int:
    return next(i for i, step in enumerate(steps) if text in step.get("run", ""))


@pytest.mark.parametrize(("workflow", "stage"), [("deploy-dev.yml", "dev"), ("deploy-prod.yml", "prod")])
def test_a_deploy_takes_a_model_version_and_resolves_it_before_synth(workflow: str, stage: str) -> None:
    inputs = load(workflow)["on"]["workflow_dispatch"]["inputs"]
    assert inputs["model_version"]["type"] == "string" and inputs["model_version"]["default"] == ""
    assert (inputs["model_version_force"]["type"], inputs["model_version_force"]["default"]) == ("boolean", False)
    steps = steps_of(workflow)
    choose = next(i for i, step in enumerate(steps) if step.get("id") == "model")
    variable = f"{stage.upper()}_MODEL_VERSION"
    assert steps[choose]["env"] == {"EVENT": "${{ github.event_name }}", "INPUT_VERSION": "${{ inputs.model_version }}",
                                    "DEFAULT_VERSION": f"${{{{ vars.{variable} }}}}"}
    resolve = step_index(steps, f"cdk_app resolve-model --stage {stage} --version \"$MODEL_VERSION\"")
    deploy = step_index(steps, f"cdk deploy VelibForecast-{stage}")
    smoke = step_index(steps, f"cdk_app smoke --stage {stage}")
    assert choose < resolve < deploy < smoke
    assert steps[resolve]["if"] == "steps.model.outputs.model_version != ''"  # empty: the repository's artifacts/
    assert '-c model_version="$MODEL_VERSION" -c model_version_force="$FORCE"' in steps[deploy]["run"]
    assert steps[deploy]["env"] == {"MODEL_VERSION": "${{ steps.model.outputs.model_version }}",
                                    "FORCE": "${{ inputs.model_version_force && 'true' || 'false' }}",
                                    "CHALLENGER_VERSION": "${{ steps.challenger.outputs.challenger_version }}"}
    # what a person typed reaches the shell as a variable, never as text of the script
    assert all("inputs." not in step.get("run", "") for step in steps)


def test_dev_follows_the_registry_on_a_schedule_deploying_only_a_new_version() -> None:
    data = load("deploy-dev.yml")
    assert [entry["cron"] for entry in data["on"]["schedule"]] == ["30 6 * * *"]
    assert data["jobs"]["test"]["if"] == "github.event_name != 'schedule'"
    assert "github.event_name == 'schedule' && vars.DEV_MODEL_VERSION == 'latest-approved'" in data["jobs"]["deploy"][
        "if"]
    steps = steps_of("deploy-dev.yml")
    changed = next(i for i, step in enumerate(steps) if step.get("id") == "changed")
    assert steps[changed]["if"] == "github.event_name == 'schedule'"
    assert "OutputKey=='ModelPackageArn'" in steps[changed]["run"] and "jq -r .arn build/model-version.json" in steps[
        changed]["run"]
    assert step_index(steps, "resolve-model") < changed < step_index(steps, "cdk deploy")
    for text in ("cdk deploy", "cdk_app smoke"):
        assert steps[step_index(steps, text)]["if"] == "steps.changed.outputs.deploy != 'false'"


def run_challenger_step(workflow: str, tmp_path: Path, typed: str, in_cdk_json: str) -> tuple[str, list[str]]:
    """The step's own script, run by bash in a checkout-like folder whose .venv/bin/python records its arguments:
    what it outputs for the deploy, and the commands it ran."""
    step = next(step for step in steps_of(workflow) if step.get("id") == "challenger")
    (tmp_path / ".venv" / "bin").mkdir(parents=True, exist_ok=True)
    python = tmp_path / ".venv" / "bin" / "python"
    python.write_text('#!/bin/sh\necho "$*" >> calls.txt\n')
    python.chmod(0o755)
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"challenger_version": in_cdk_json}}))
    for name in ("calls.txt", "output.txt"):
        (tmp_path / name).write_text("")
    env = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(tmp_path / "output.txt"), "INPUT_CHALLENGER": typed}
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, check=True, timeout=30)
    return (tmp_path / "output.txt").read_text(), (tmp_path / "calls.txt").read_text().splitlines()


@pytest.mark.parametrize(("workflow", "stage"), [("deploy-dev.yml", "dev"), ("deploy-prod.yml", "prod")])
def test_a_deploy_resolves_a_registry_challenger_and_passes_it_to_deploy_and_smoke(workflow: str, stage: str,
                                                                                   tmp_path: Path) -> None:
    assert shutil.which("jq"), "jq is on GitHub's runners; install it here (apt-get install jq)"
    inputs = load(workflow)["on"]["workflow_dispatch"]["inputs"]
    assert (inputs["challenger_version"]["type"], inputs["challenger_version"]["default"]) == ("string", "")
    resolve = [f"-m cdk_app resolve-model --stage {stage} --challenger --version 4"]
    assert run_challenger_step(workflow, tmp_path, "", "4") == ("challenger_version=4\n", resolve)
    assert run_challenger_step(workflow, tmp_path, "4", "") == ("challenger_version=4\n", resolve)
    # a folder is deployed as it is; "none" typed by hand drops cdk.json's challenger
    folder = "build/candidate"
    assert run_challenger_step(workflow, tmp_path, "", folder) == (f"challenger_version={folder}\n", [])
    assert run_challenger_step(workflow, tmp_path, "none", "4") == ("challenger_version=\n", [])
    steps = steps_of(workflow)
    deploy, smoke = step_index(steps, "cdk deploy"), step_index(steps, "cdk_app smoke")
    assert next(i for i, s in enumerate(steps) if s.get("id") == "challenger") < deploy < smoke
    assert '-c challenger_version="$CHALLENGER_VERSION"' in steps[deploy]["run"]
    assert '-c challenger_version="$CHALLENGER_VERSION"' in steps[smoke]["run"]
    assert steps[smoke]["env"] == {"CHALLENGER_VERSION": "${{ steps.challenger.outputs.challenger_version }}"}
