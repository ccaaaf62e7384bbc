"""Runs the training job on this machine under the real SageMaker training toolkit, without Docker.

In AWS, SageMaker lays out /opt/ml (the hyperparameters, the input data and resource configs, each channel's files
under input/data/<channel>) and starts the pytorch-training DLC, which runs the toolkit's `train` with
SAGEMAKER_TRAINING_MODULE naming the PyTorch framework module; the toolkit unpacks `sagemaker_submit_directory`
and runs `sagemaker_program`. This lays out the same tree in a scratch folder, runs the same toolkit
(sagemaker-training and sagemaker-pytorch-training, pinned in requirements.txt) on the same sourcedir.tar.gz,
and points it at the tree with SAGEMAKER_BASE_DIR, which the toolkit reads in place of /opt/ml: nothing is patched.
The one deliberate difference: the host is `localhost`, not `algo-1`, because the toolkit resolves every host name
before it starts (retrying for 15 minutes) and only SageMaker's network knows `algo-1`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cdk_app.atomic_files import write_bytes
from cdk_app.lifecycle.training_source import build_source_archive, job_hyperparameters

FRAMEWORK_MODULE = "sagemaker_pytorch_container.training:main"  # the DLC's SAGEMAKER_TRAINING_MODULE
CHANNEL = "training"
HOST = "localhost"
GROUP = "homogeneousCluster"
DEFAULT_TIMEOUT_SECONDS = 3600.0


class TrainingJobError(RuntimeError):
    """The job failed; the message is its FailureReason, as DescribeTrainingJob would give it."""


def run_training_job(model_dir: Path, hyperparameters: Mapping[str, Any], channel: Path | None = None,
                     job_name: str = "velib-forecast-local", timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> Path:
    """Run the job on `channel` (None: the simulator) and copy what it left in its model folder to `model_dir`."""
    if channel is not None and not channel.is_dir():
        raise ValueError(f"--channel: {channel} is not a folder (`python -m cdk_app dataset` writes one)")
    with tempfile.TemporaryDirectory(prefix="sagemaker-training-") as scratch:
        root = Path(scratch)
        base = root / "opt" / "ml"
        source = build_source_archive(root / "sourcedir.tar.gz")
        _lay_out(base, job_hyperparameters(hyperparameters, str(source)), channel)
        try:  # the job's log (the toolkit's and the trainer's progress) goes to stderr, as all progress does
            result = subprocess.run([sys.executable, "-m", "sagemaker_training.cli.train"], cwd=root,
                                    env=_environment(base, job_name), timeout=timeout_seconds, check=False,
                                    stdout=sys.stderr.fileno())
        except subprocess.TimeoutExpired:
            raise TrainingJobError(f"{job_name}: still training after {timeout_seconds:g} s; stopped") from None
        failure = base / "output" / "failure"
        if result.returncode != 0 or failure.exists():
            reason = failure.read_text().strip() if failure.is_file() else f"the toolkit exited {result.returncode}"
            raise TrainingJobError(f"{job_name} failed: {reason}")
        for path in sorted((base / "model").iterdir()):
            write_bytes(model_dir / path.name, path.read_bytes())
    return model_dir


def _lay_out(base: Path, hyperparameters: dict[str, str], channel: Path | None) -> None:
    """What SageMaker writes before the container starts."""
    config = base / "input" / "config"
    for folder in (config, base / "model", base / "output" / "data", base / "code"):
        folder.mkdir(parents=True)
    channels = {}
    if channel is not None:
        shutil.copytree(channel, base / "input" / "data" / CHANNEL)
        channels[CHANNEL] = {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
                             "RecordWrapperType": "None"}
    resources = {"current_host": HOST, "hosts": [HOST], "current_group_name": GROUP,
                 "current_instance_type": "local", "network_interface_name": "eth0",
                 "instance_groups": [{"instance_group_name": GROUP, "instance_type": "local", "hosts": [HOST]}]}
    for name, content in (("hyperparameters.json", hyperparameters), ("inputdataconfig.json", channels),
                          ("resourceconfig.json", resources)):
        (config / name).write_text(json.dumps(content))


def _environment(base: Path, job_name: str) -> dict[str, str]:
    """This process's environment without anything that would let the job import code from elsewhere than its
    source archive (PYTHONPATH) or see another job's settings (SM_*, SAGEMAKER_*), plus what the DLC sets."""
    inherited = {k: v for k, v in os.environ.items()
                 if k != "PYTHONPATH" and not k.startswith(("SM_", "SAGEMAKER_"))}
    return {**inherited, "SAGEMAKER_BASE_DIR": str(base), "SAGEMAKER_TRAINING_MODULE": FRAMEWORK_MODULE,
            "TRAINING_JOB_NAME": job_name}
