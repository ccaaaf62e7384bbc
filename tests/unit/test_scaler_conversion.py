"""convert-scaler: a user's scikit-learn scaler.pkl becomes scaler.json that scales identically."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import model_utils
import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from cdk_app.paths import REPO_ROOT

DATA = np.array([[20, 48.85, 2.35], [35, 48.86, 2.30], [60, 48.83, 2.40], [12, 48.89, 2.28]], dtype=np.float64)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cdk_app", "convert-scaler", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("scaler", [StandardScaler(), MinMaxScaler(), RobustScaler(), StandardScaler(with_mean=False),
                                    RobustScaler(with_centering=False), MinMaxScaler(feature_range=(-1, 1))])
def test_converted_scaler_transforms_like_sklearn(tmp_path: Path, scaler: object) -> None:
    fitted = scaler.fit(DATA)  # type: ignore[attr-defined]
    source, output = tmp_path / "scaler.pkl", tmp_path / "scaler.json"
    source.write_bytes(pickle.dumps(fitted))
    result = run_cli(str(source), "--output", str(output), "--features", "capacity,latitude,longitude")
    assert result.returncode == 0, result.stderr
    converted = model_utils.FeatureScaler.from_dict(json.loads(output.read_text()))
    np.testing.assert_allclose(converted.transform(DATA), fitted.transform(DATA), rtol=1e-9, atol=1e-9)


def test_feature_names_are_taken_from_the_scaler_when_recorded(tmp_path: Path) -> None:
    fitted = StandardScaler().fit(DATA)
    fitted.feature_names_in_ = np.array(model_utils.STATIC_FEATURES, dtype=object)  # as a DataFrame fit records
    source, output = tmp_path / "scaler.pkl", tmp_path / "scaler.json"
    source.write_bytes(pickle.dumps(fitted))
    assert run_cli(str(source), "--output", str(output)).returncode == 0
    assert "capacity" in output.read_text()


def test_missing_feature_names_are_asked_for(tmp_path: Path) -> None:
    source = tmp_path / "scaler.pkl"
    source.write_bytes(pickle.dumps(StandardScaler().fit(DATA)))
    result = run_cli(str(source), "--output", str(tmp_path / "out.json"))
    assert result.returncode == 1 and "--features" in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_unsupported_objects_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "scaler.pkl"
    source.write_bytes(pickle.dumps({"mean": [1, 2, 3]}))
    result = run_cli(str(source), "--output", str(tmp_path / "out.json"), "--features", "a,b,c")
    assert result.returncode == 1 and "unsupported scaler dict" in result.stderr
