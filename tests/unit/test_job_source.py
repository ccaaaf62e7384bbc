"""The processing jobs' code archive: the repository's packages and settings, the same bytes for the same sources,
and enough on its own to run the commands the pipeline's steps run (`dataset`, `package`) where a job unpacks it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from cdk_app.deployment.job_source import build_job_source, job_source_members
from cdk_app.paths import ARTIFACTS_DIR


def test_it_holds_the_packages_modules_and_nothing_cached() -> None:
    names = [name for name, _ in job_source_members()]
    assert {"cdk_app/__main__.py", "cdk_app/cli.py", "cdk_app/lifecycle/dataset.py", "cdk_app/lifecycle/evaluation.py",
            "model_code/inference.py", "model_code/forecast_contract.py"} <= set(names)
    assert names == sorted(names) and not [n for n in names if "__pycache__" in n or not n.endswith((".py", ".json"))]
    assert "cdk.json" in names  # the command line's defaults


def test_the_same_sources_give_the_same_bytes(tmp_path: Path) -> None:
    digests = {hashlib.sha256(build_job_source(tmp_path / name).read_bytes()).hexdigest() for name in ("a", "b")}
    assert len(digests) == 1


def test_a_job_runs_dataset_and_package_from_the_unpacked_archive_alone(tmp_path: Path, training_history: Path
                                                                        ) -> None:
    code = tmp_path / "code"
    with tarfile.open(build_job_source(tmp_path / "job-source.tar.gz")) as archive:
        archive.extractall(code, filter="data")
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing from the repository
    for command in (["dataset", "--history", str(training_history), "--output", str(tmp_path / "dataset")],
                    ["package", "--artifacts", str(ARTIFACTS_DIR), "--output", str(tmp_path / "model.tar.gz")]):
        result = subprocess.run([sys.executable, "-m", "cdk_app", *command], cwd=code, env=environment,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "dataset" / "counts.parquet").is_file() and (tmp_path / "model.tar.gz").is_file()
