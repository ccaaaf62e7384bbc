"""The code the retraining pipeline's processing jobs run: the repository's Python packages as one deterministic
tar.gz, which the stack uploads as an asset.

The jobs run the repository's own commands from it (`python -m cdk_app dataset`, `package`) and the evaluation
entry point, so the pipeline runs what the tests run, with no second copy of any logic. The whole packages rather
than an import closure: the commands import their implementations lazily, and a file too many costs nothing.
The training job has its own, smaller archive (cdk_app.lifecycle.training_source), the one `train-job` runs.
Standard library only: `cdk synth` builds it.
"""

from __future__ import annotations

from pathlib import Path

from cdk_app.atomic_files import write_bytes
from cdk_app.deployment.model_archive import deterministic_tar_gz
from cdk_app.paths import BUILD_DIR, REPO_ROOT

# At the archive's root, as in the repository (cdk_app puts model_code on sys.path itself); stacks/ because the
# command line's parser reads `cost`'s defaults, which count alarms from stacks/alarm_specs.py (plain data).
PACKAGES = ("cdk_app", "model_code", "stacks")
FILES = ("cdk.json",)  # the command line's parser reads its defaults from the project's settings
DEFAULT_OUTPUT = BUILD_DIR / "job-source.tar.gz"


def job_source_members(repo_root: Path = REPO_ROOT) -> list[tuple[str, Path]]:
    """(name in the archive, file) for every Python module of the packages, and the settings, sorted."""
    modules = [path for package in PACKAGES for path in (repo_root / package).rglob("*.py")
               if "__pycache__" not in path.parts]
    files = [*modules, *(repo_root / name for name in FILES)]
    return sorted((path.relative_to(repo_root).as_posix(), path) for path in files)


def build_job_source(output: Path = DEFAULT_OUTPUT) -> Path:
    """The same sources give the same bytes, so the asset, and the pipeline, change only with the code."""
    write_bytes(output, deterministic_tar_gz(job_source_members()))
    return output
