"""The code a training job runs: `sourcedir.tar.gz`, the same bytes locally and in AWS.

A job names it through two hyperparameters, `sagemaker_submit_directory` (the archive: s3:// in AWS, a path
here) and `sagemaker_program` (the entry point at its root). The toolkit unpacks it into the job's code folder,
puts that folder on PYTHONPATH and runs `python training_entry.py` there, so the archive holds the entry point
and exactly the modules it imports, at their repository paths (cdk_app/__init__.py puts model_code/ on sys.path,
as in the repository). Standard library only: `cdk synth` may build it as an asset.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from cdk_app.atomic_files import write_bytes
from cdk_app.deployment.model_archive import deterministic_tar_gz
from cdk_app.paths import REPO_ROOT

TRAINING_PROGRAM = "training_entry.py"
ENTRY_POINT = REPO_ROOT / "cdk_app" / "lifecycle" / "training_entry.py"
# What training_entry.py imports, transitively; the local toolkit run fails if one is missing.
SOURCE_FILES = {
    "cdk_app": ("__init__.py", "atomic_files.py", "paths.py", "progress.py"),
    "cdk_app/lifecycle": ("__init__.py", "channel.py"),
    "cdk_app/training": ("__init__.py", "network.py", "scaler_conversion.py", "simulator.py", "trainer.py"),
    "model_code": ("forecast_contract.py", "model_utils.py"),
}


def source_members() -> list[tuple[str, Path]]:
    """(name in the archive, file in the repository) pairs."""
    return [(TRAINING_PROGRAM, ENTRY_POINT),
            *((f"{folder}/{name}", REPO_ROOT / folder / name) for folder, names in SOURCE_FILES.items()
              for name in names)]


def build_source_archive(output: Path) -> Path:
    """Write sourcedir.tar.gz, leaving an unchanged one untouched (so an asset hash only moves with the code)."""
    data = deterministic_tar_gz(source_members())
    if not output.is_file() or output.read_bytes() != data:
        write_bytes(output, data)
    return output


def job_hyperparameters(hyperparameters: Mapping[str, object], submit_directory: str) -> dict[str, str]:
    """CreateTrainingJob's HyperParameters (strings only): the trainer's, and the two that name the code.
    Each value is JSON, as the SageMaker Python SDK writes them; the toolkit decodes them back."""
    named = {**hyperparameters, "sagemaker_program": TRAINING_PROGRAM,
             "sagemaker_submit_directory": submit_directory}
    return {key: json.dumps(value) for key, value in named.items()}
