"""model_fn: loads the shipped artifacts, names the file at fault, and never unpickles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import inference
import model_utils
import pytest
import torch
from forecast_contract import ARTIFACT_FILES

from cdk_app.paths import ARTIFACTS_DIR


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(ARTIFACTS_DIR, target)
    return target


def test_shipped_artifacts_load(model_dir: Path) -> None:
    bundle = inference.model_fn(str(model_dir))
    assert not bundle.model.training
    assert bundle.version == model_utils.artifacts_version(ARTIFACTS_DIR)


@pytest.mark.parametrize("name", ARTIFACT_FILES)
def test_missing_file_is_named(model_dir: Path, name: str) -> None:
    (model_dir / name).unlink()
    with pytest.raises(model_utils.ArtifactError, match=name.replace(".", r"\.")):
        inference.model_fn(str(model_dir))


@pytest.mark.parametrize("name", [model_utils.CONFIG_FILE, model_utils.SCALER_FILE, model_utils.MAPPINGS_FILE])
@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"unexpected": 1}'])
def test_corrupt_json_is_named(model_dir: Path, name: str, content: bytes) -> None:
    (model_dir / name).write_bytes(content)
    with pytest.raises(model_utils.ArtifactError, match=name.replace(".", r"\.")):
        inference.model_fn(str(model_dir))


def test_corrupt_weights_are_named(model_dir: Path) -> None:
    (model_dir / model_utils.WEIGHTS_FILE).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(model_utils.ArtifactError, match="best_model"):
        inference.model_fn(str(model_dir))


def test_weights_of_another_shape_are_named(model_dir: Path) -> None:
    state = torch.load(model_dir / model_utils.WEIGHTS_FILE, weights_only=True)
    state["head.2.bias"] = torch.zeros(5)
    torch.save(state, model_dir / model_utils.WEIGHTS_FILE)
    with pytest.raises(model_utils.ArtifactError, match=r"best_model\.pth.*state_dict"):
        inference.model_fn(str(model_dir))


class _Exploit:
    """A pickle that would create a file when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))


def test_weights_are_never_unpickled(model_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    torch.save({"payload": _Exploit(marker)}, model_dir / model_utils.WEIGHTS_FILE)
    with pytest.raises(model_utils.ArtifactError, match=r"best_model\.pth"):
        inference.model_fn(str(model_dir))
    assert not marker.exists()


def test_scaler_for_other_features_is_refused(model_dir: Path) -> None:
    scaler = json.loads((model_dir / model_utils.SCALER_FILE).read_text())
    scaler["feature_names"] = ["capacity", "lat", "lon"]
    (model_dir / model_utils.SCALER_FILE).write_text(json.dumps(scaler))
    with pytest.raises(model_utils.ArtifactError, match=r"scaler\.json.*feature_names"):
        inference.model_fn(str(model_dir))


def test_mapping_outside_the_embedding_is_refused(model_dir: Path) -> None:
    mappings = json.loads((model_dir / model_utils.MAPPINGS_FILE).read_text())
    mappings["stations"]["00001"] = 10_000
    (model_dir / model_utils.MAPPINGS_FILE).write_text(json.dumps(mappings))
    with pytest.raises(model_utils.ArtifactError, match=r"station_mappings\.json"):
        inference.model_fn(str(model_dir))


def test_artifacts_for_another_contract_are_refused(model_dir: Path) -> None:
    config = json.loads((model_dir / model_utils.CONFIG_FILE).read_text())
    config["history_hours"] = 48
    (model_dir / model_utils.CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(model_utils.ArtifactError, match=r"config\.json.*history_hours"):
        inference.model_fn(str(model_dir))


def test_version_follows_content(model_dir: Path) -> None:
    before = model_utils.artifacts_version(model_dir)
    (model_dir / model_utils.MAPPINGS_FILE).write_text((model_dir / model_utils.MAPPINGS_FILE).read_text() + " ")
    assert model_utils.artifacts_version(model_dir) != before
    assert len(before) == 12
