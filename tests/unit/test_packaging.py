"""model.tar.gz: deterministic bytes, the container's layout, and refusal of broken inputs."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import forecast_contract
import inference
import model_utils
import pytest
from forecast_contract import ARTIFACT_FILES

from cdk_app.deployment.model_archive import CODE_FILES, PackagingError, build_archive
from cdk_app.paths import ARTIFACTS_DIR, MODEL_CODE_DIR, REPO_ROOT

EXPECTED_MEMBERS = sorted(["code", *ARTIFACT_FILES, *(f"code/{n}" for n in CODE_FILES)])


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    artifacts, code = tmp_path / "in" / "artifacts", tmp_path / "in" / "code"
    shutil.copytree(ARTIFACTS_DIR, artifacts)
    shutil.copytree(MODEL_CODE_DIR, code, ignore=shutil.ignore_patterns("__pycache__"))
    return artifacts, code


def test_two_builds_in_different_places_and_times_are_identical(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    first = build_archive(*inputs, tmp_path / "a" / "model.tar.gz")
    for path in [*inputs[0].iterdir(), *inputs[1].iterdir()]:
        os.utime(path, (1_700_000_000, 1_700_000_000))
    moved = tmp_path / "elsewhere"
    shutil.copytree(inputs[0].parent, moved)
    second = build_archive(moved / "artifacts", moved / "code", tmp_path / "b" / "model.tar.gz")
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    assert hashlib.sha256(first.path.read_bytes()).hexdigest() == first.sha256


def test_cli_build_matches_library_build(tmp_path: Path) -> None:
    out = tmp_path / "cli.tar.gz"
    result = subprocess.run([sys.executable, "-m", "cdk_app", "package", "--output", str(out)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True)
    library = build_archive(ARTIFACTS_DIR, MODEL_CODE_DIR, tmp_path / "lib.tar.gz")
    assert library.sha256 in result.stdout
    assert out.read_bytes() == library.path.read_bytes()


def test_layout_owners_and_times_are_fixed(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    (inputs[1] / "__pycache__").mkdir()
    (inputs[1] / "__pycache__" / "model_utils.cpython-311.pyc").write_bytes(b"cache")
    (inputs[1] / "train.py").write_text("print('not shipped')\n")
    (inputs[0] / "metrics.json").write_text("{}")
    archive = build_archive(*inputs, tmp_path / "model.tar.gz")
    with tarfile.open(archive.path) as tar:
        members = tar.getmembers()
    assert sorted(m.name for m in members) == EXPECTED_MEMBERS
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}
    assert len({m.mtime for m in members}) == 1
    header = archive.path.read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"  # gzip mtime
    assert archive.model_version == model_utils.artifacts_version(inputs[0])


def test_archive_serves_after_extraction(tmp_path: Path) -> None:
    archive = build_archive(ARTIFACTS_DIR, MODEL_CODE_DIR, tmp_path / "model.tar.gz")
    target = tmp_path / "opt_ml_model"
    with tarfile.open(archive.path) as tar:
        tar.extractall(target, filter="data")
    bundle = inference.model_fn(str(target))
    assert bundle.version == archive.model_version
    assert not (target / "code" / "requirements.txt").exists()  # no pip run at cold start


def test_unchanged_archive_is_not_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "model.tar.gz"
    build_archive(ARTIFACTS_DIR, MODEL_CODE_DIR, out)
    os.utime(out, (1_000_000_000, 1_000_000_000))
    build_archive(ARTIFACTS_DIR, MODEL_CODE_DIR, out)
    assert out.stat().st_mtime == 1_000_000_000


@pytest.mark.parametrize("name", [*ARTIFACT_FILES])
def test_missing_artifact_is_named_and_nothing_is_written(inputs: tuple[Path, Path], tmp_path: Path,
                                                          name: str) -> None:
    (inputs[0] / name).unlink()
    out = tmp_path / "model.tar.gz"
    with pytest.raises(PackagingError, match=name.replace(".", r"\.")):
        build_archive(*inputs, out)
    assert not out.exists()


@pytest.mark.parametrize("name", CODE_FILES)
def test_missing_code_file_is_named(inputs: tuple[Path, Path], tmp_path: Path, name: str) -> None:
    (inputs[1] / name).unlink()
    with pytest.raises(PackagingError, match=f"code/{name}"):
        build_archive(*inputs, tmp_path / "model.tar.gz")


@pytest.mark.parametrize(("target", "content", "message"), [
    ("config.json", "{oops", "config.json: not valid JSON"),
    ("best_model.pth", "pickled", "best_model.pth"),
    ("inference.py", "def model_fn(:\n", "syntax error"),
    ("inference.py", "def model_fn(d):\n    pass\n", "input_fn, predict_fn, output_fn"),
])
def test_broken_inputs_are_refused(inputs: tuple[Path, Path], tmp_path: Path, target: str, content: str,
                                   message: str) -> None:
    folder = inputs[1] if target.endswith(".py") else inputs[0]
    (folder / target).write_text(content)
    with pytest.raises(PackagingError, match=message):
        build_archive(*inputs, tmp_path / "model.tar.gz")


@pytest.mark.parametrize(("content", "message"), [
    ("torch==2.6.0\nholidays\n", "lists torch, which the pytorch-inference DLC already has"),
    ("NumPy>=1.26  # pinned\nscikit_learn\n", "lists numpy, scikit-learn"),
    ("# nothing needed\n", "lists no package; delete it"),
    ("", "lists no package; delete it"),
])
def test_a_requirements_file_must_list_only_what_the_dlc_lacks(inputs: tuple[Path, Path], tmp_path: Path,
                                                                content: str, message: str) -> None:
    (inputs[1] / "requirements.txt").write_text(content)
    with pytest.raises(PackagingError, match=message):
        build_archive(*inputs, tmp_path / "model.tar.gz")


def test_a_requirements_file_the_model_needs_is_shipped(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    (inputs[1] / "requirements.txt").write_text("holidays==0.57\n")
    archive = build_archive(*inputs, tmp_path / "model.tar.gz")
    assert "code/requirements.txt" in archive.members
    assert not (MODEL_CODE_DIR / "requirements.txt").exists()  # the product itself needs none


def test_gzip_stream_is_valid(tmp_path: Path) -> None:
    archive = build_archive(ARTIFACTS_DIR, MODEL_CODE_DIR, tmp_path / "model.tar.gz")
    assert len(gzip.decompress(archive.path.read_bytes())) % 512 == 0


def test_the_packager_lists_and_hashes_artifacts_without_torch() -> None:
    code = ("import sys\nimport cdk_app.deployment.model_archive\n"
            "print(sorted(m for m in ('torch', 'numpy', 'sagemaker_inference') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert model_utils.artifacts_version is forecast_contract.artifacts_version  # one source for both
