"""The training job under the real SageMaker training toolkit, on a channel exported from a collected history: the
artifacts come out, the packager accepts them, the held-out part is exactly the last 7 days; a bad hyperparameter
or a bad channel fails the job with a reason that names it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import inference
import pyarrow.parquet as pq
import pytest
from forecast_contract import ARTIFACT_FILES, MAX_MISSING_HOURS
from support.training_history import ACCEPTED, HOURS, counted

from cdk_app.deployment.model_archive import build_archive
from cdk_app.lifecycle.channel import COUNTS_FILE
from cdk_app.lifecycle.dataset import export_dataset
from cdk_app.lifecycle.local_training import TrainingJobError, run_training_job
from cdk_app.live_data.blobs import LocalBlobs
from cdk_app.live_data.history import History
from cdk_app.paths import MODEL_CODE_DIR, REPO_ROOT

TINY = {"epochs": 1, "hidden_size": 8, "embedding_dim": 4, "validation_days": 1, "test_days": 7}
HELD_OUT_HOURS = 7 * 24


@pytest.fixture(scope="module")
def channel(training_history: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_dataset(History(LocalBlobs(training_history)), tmp_path_factory.mktemp("channel")).folder


def _heldout_windows() -> int:
    """Windows whose 3 target hours lie in the last 7 days and were all counted, with few enough of the 24 hours
    before them missing: counted here from the history's own rule, not by the trainer's code."""
    first = len(HOURS) - HELD_OUT_HOURS
    found = 0
    for code in ACCEPTED:
        seen = [counted(code, hour) for hour in HOURS]
        found += sum(all(seen[t:t + 3]) and seen[t - 24:t].count(False) <= MAX_MISSING_HOURS
                     for t in range(first, len(HOURS) - 2))
    return found


def _utc(hour: int) -> str:
    return datetime.fromtimestamp(hour, UTC).isoformat()


def test_the_job_trains_on_the_channel_and_the_packager_accepts_the_model(training_history: Path, channel: Path,
                                                                          tmp_path: Path) -> None:
    model_dir = run_training_job(tmp_path / "model", TINY, channel)
    assert sorted(p.name for p in model_dir.iterdir()) == sorted([*ARTIFACT_FILES, "metrics.json"])
    archive = build_archive(model_dir, MODEL_CODE_DIR, tmp_path / "model.tar.gz")
    assert {"best_model.pth", "code/inference.py"} <= set(archive.members)
    bundle = inference.model_fn(str(model_dir))
    assert sorted(bundle.stations.index) == ACCEPTED
    assert bundle.model.lstm.hidden_size == 8
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["heldout"] == {"days": 7, "windows": _heldout_windows(), "first_hour": _utc(HOURS[-HELD_OUT_HOURS]),
                                  "last_hour": _utc(HOURS[-1])}
    assert metrics["data"] == (f"collected: {training_history}, 3 stations, "
                               "hours ending 2025-10-20T01:00Z to 2025-11-01T00:00Z")
    training = json.loads((model_dir / "config.json").read_text())["training"]
    assert {k: training[k] for k in TINY} == TINY


def test_a_bad_hyperparameter_fails_the_job_naming_it(tmp_path: Path) -> None:
    with pytest.raises(TrainingJobError, match="ValueError: hyperparameter 'epoch': unknown"):
        run_training_job(tmp_path / "model", {"epoch": 1})
    assert not (tmp_path / "model").exists()


def test_train_job_command_names_the_bad_file_and_column(channel: Path, tmp_path: Path) -> None:
    bad = tmp_path / "channel"
    bad.mkdir()
    pq.write_table(pq.read_table(channel / COUNTS_FILE).drop_columns(["bikes"]), bad / COUNTS_FILE)
    (bad / "stations.parquet").write_bytes((channel / "stations.parquet").read_bytes())
    result = subprocess.run([sys.executable, "-m", "cdk_app", "train-job", "--channel", str(bad), "--output",
                             str(tmp_path / "model"), "-p", "epochs=1"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 1
    assert "error: velib-forecast-local failed:" in result.stderr
    assert "ValueError: counts.parquet: has no column 'bikes'" in result.stderr
