"""The training job's entry point as the toolkit drives it: hyperparameters from SM_HPS or SM_HP_*, each bad one
named; the simulator when there is no channel; and its code packed the same way every time."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from forecast_contract import ARTIFACT_FILES

from cdk_app.lifecycle.training_entry import hyperparameters, run, settings_from
from cdk_app.lifecycle.training_source import (
    SOURCE_FILES,
    TRAINING_PROGRAM,
    build_source_archive,
    job_hyperparameters,
)
from cdk_app.training.trainer import TrainingSettings


def test_sm_hps_wins_and_sm_hp_variables_are_the_fallback() -> None:
    assert hyperparameters({"SM_HPS": '{"epochs": 2}', "SM_HP_EPOCHS": "5"}) == {"epochs": 2}
    assert hyperparameters({"SM_HP_EPOCHS": "5", "SM_HP_LEARNING_RATE": "0.01", "SM_MODEL_DIR": "/m"}) == {
        "epochs": 5, "learning_rate": 0.01}
    with pytest.raises(ValueError, match="SM_HPS: not a JSON object"):
        hyperparameters({"SM_HPS": "[1]"})


def test_settings_take_numbers_or_strings_holding_them() -> None:
    settings = settings_from({"epochs": "3", "learning_rate": "0.005", "hidden_size": 8.0, "test_days": 7})
    assert settings == TrainingSettings(epochs=3, learning_rate=0.005, hidden_size=8, test_days=7)


@pytest.mark.parametrize(("hps", "message"), [
    ({"epoch": 1}, "hyperparameter 'epoch': unknown; the trainer takes stations, days, seed, epochs"),
    ({"epochs": "two"}, "hyperparameter 'epochs': must be an integer, got 'two'"),
    ({"epochs": 1.5}, "hyperparameter 'epochs': must be an integer, got 1.5"),
    ({"epochs": True}, "hyperparameter 'epochs': must be an integer, got True"),
    ({"epochs": "Infinity"}, "hyperparameter 'epochs': must be an integer, got 'Infinity'"),
    ({"learning_rate": [1]}, r"hyperparameter 'learning_rate': must be a number, got \[1\]"),
    ({"test_days": 0}, "hyperparameter test_days must be at least 1, got 0"),
    ({"learning_rate": 2}, "hyperparameter learning_rate must be between 0 and 1, got 2.0"),
])
def test_each_bad_hyperparameter_is_named(hps: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from(hps)


def test_without_a_channel_it_trains_on_the_simulator_into_sm_model_dir(tmp_path: Path) -> None:
    hps = {"stations": 8, "days": 17, "epochs": 1, "hidden_size": 8}
    metrics = run({"SM_HPS": json.dumps(hps), "SM_MODEL_DIR": str(tmp_path)})
    assert metrics["data"].startswith("synthetic: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*ARTIFACT_FILES, "metrics.json"])
    with pytest.raises(ValueError, match="SM_MODEL_DIR: not set"):
        run({"SM_HPS": "{}"})


def test_the_source_archive_is_the_entry_point_and_what_it_imports(tmp_path: Path) -> None:
    first = build_source_archive(tmp_path / "a" / "sourcedir.tar.gz").read_bytes()
    assert build_source_archive(tmp_path / "b" / "sourcedir.tar.gz").read_bytes() == first
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        files = {m.name for m in tar.getmembers() if m.isfile()}
    # nothing else: a setup.py or requirements.txt would make the toolkit pip-install at every start
    assert files == {TRAINING_PROGRAM, *(f"{folder}/{name}" for folder, names in SOURCE_FILES.items()
                                         for name in names)}


def test_job_hyperparameters_are_json_strings_naming_the_code() -> None:
    assert job_hyperparameters({"epochs": 2, "learning_rate": 0.01}, "s3://bucket/code/sourcedir.tar.gz") == {
        "epochs": "2", "learning_rate": "0.01", "sagemaker_program": '"training_entry.py"',
        "sagemaker_submit_directory": '"s3://bucket/code/sourcedir.tar.gz"'}
