"""The retraining pipeline's processing steps, run here as a processing job runs them: each step's own script from the
definition, in bash, on the unpacked code archive, with /opt/ml/processing laid out in a scratch folder. The Dataset
step reads the fixture history, the Evaluate step packages a training job's output and writes evaluation.json, the
property file the Gate reads. Only the image and S3 are missing: the files a job would download are put in place."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from cdk_app.deployment.config import load_project_config
from cdk_app.deployment.job_source import build_job_source
from cdk_app.deployment.model_archive import build_archive
from cdk_app.deployment.retraining import EVALUATION, JOB_ROOT, RetrainingSetup, retraining_definition
from cdk_app.lifecycle.local_training import run_training_job
from cdk_app.paths import ARTIFACTS_DIR, MODEL_CODE_DIR

TINY = {"epochs": 1, "hidden_size": 8, "embedding_dim": 4, "validation_days": 1, "test_days": 7}


def run_step(step: dict[str, Any], root: Path, environment: dict[str, str]) -> None:
    """The step's ContainerEntrypoint, with the job's folder moved to `root`, as the job's container runs it."""
    entrypoint = [part.replace(JOB_ROOT, str(root)) for part in step["Arguments"]["AppSpecification"][
        "ContainerEntrypoint"]]
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only the archive's code
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # `python3` is this one, as in the image
    result = subprocess.run(entrypoint, capture_output=True, text=True, timeout=600,
                            env={**inherited, "PATH": path, **environment})
    assert result.returncode == 0, result.stderr[-3000:]


def job_root(tmp_path: Path, name: str, code: Path) -> Path:
    root = tmp_path / name
    (root / "input" / "code").mkdir(parents=True)
    shutil.copy(code, root / "input" / "code" / code.name)
    return root


def test_the_dataset_and_evaluate_steps_run_their_scripts_and_write_the_gates_property_file(
        training_history: Path, tmp_path: Path) -> None:
    config = load_project_config()
    setup = RetrainingSetup(str(training_history), "s3://unused/retraining", "-", "-", "-", "-", "-", "-", "-",
                            config.gate)
    steps = {s["Name"]: s for s in retraining_definition(setup).to_request()["Steps"]}
    code = build_job_source(tmp_path / "job-source.tar.gz")

    dataset = job_root(tmp_path, "dataset-job", code)
    run_step(steps["Dataset"], dataset, {"HISTORY_DAYS": "56"})
    channel = dataset / "output" / "dataset"
    assert sorted(p.name for p in channel.iterdir()) == ["counts.parquet", "stations.parquet"]

    evaluate = job_root(tmp_path, "evaluate-job", code)
    trained = run_training_job(tmp_path / "trained", TINY, channel)
    for name in ("candidate", "champion"):
        (evaluate / "input" / name).mkdir()
    # The training job's output, as SageMaker packs SM_MODEL_DIR: its files at the root of model.tar.gz.
    with tarfile.open(evaluate / "input" / "candidate" / "model.tar.gz", "w:gz") as job_output:
        for path in sorted(trained.iterdir()):
            job_output.add(path, arcname=path.name)
    build_archive(ARTIFACTS_DIR, MODEL_CODE_DIR, evaluate / "input" / "champion" / "champion.gz")
    shutil.copytree(channel, evaluate / "input" / "channel", dirs_exist_ok=True)
    run_step(steps["Evaluate"], evaluate, {})

    evaluation = json.loads((evaluate / "output" / "evaluation" / EVALUATION.path).read_text())
    assert {"heldout", "contenders", "gate"} <= set(evaluation)
    assert isinstance(evaluation["gate"]["passed"], bool) and evaluation["gate"]["reason"]
    assert evaluation["contenders"]["champion"] is not None  # the archive in service was scored
    assert (evaluate / "output" / "model" / "model.tar.gz").is_file()  # the archive RegisterModel names
