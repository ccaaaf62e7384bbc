"""The simulator and the training pipeline: reproducible, realistic enough, and alive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import inference
import model_utils
import numpy as np
import pytest
from forecast_contract import ARTIFACT_FILES

from cdk_app.paths import ARTIFACTS_DIR, REPO_ROOT
from cdk_app.training.simulator import STATION_TYPES, SimulatedNetwork, simulate
from cdk_app.training.trainer import TrainingSettings, baselines, make_windows, train


@pytest.fixture(scope="module")
def network() -> SimulatedNetwork:
    return simulate(stations=90, days=21, seed=3)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = simulate(20, 8, seed=1), simulate(20, 8, seed=1), simulate(20, 8, seed=2)
    np.testing.assert_array_equal(a.bikes, b.bikes)
    assert a.codes == b.codes and a.codes != c.codes


def test_counts_are_bounded_and_some_hours_are_missing(network: SimulatedNetwork) -> None:
    bikes = network.bikes
    capacity = network.capacity[:, None]
    known = ~np.isnan(bikes)
    assert np.all(bikes[known] >= 0) and np.all((bikes <= capacity)[known])
    assert 0.005 < 1 - known.mean() < 0.08
    assert len(set(network.codes)) == len(network.codes)
    assert {"16107", "16109", "16114"} <= set(network.codes)


def _mean_occupancy(net: SimulatedNetwork, station_type: str, hour: int, weekend: bool) -> float:
    rows = net.station_type == STATION_TYPES.index(station_type)
    cols = (net.hour == hour) & (net.is_weekend == weekend)
    ratio = net.bikes[np.ix_(rows, cols)] / net.capacity[rows, None]
    return float(np.nanmean(ratio))


def test_commute_peaks_and_weekends(network: SimulatedNetwork) -> None:
    assert _mean_occupancy(network, "residential", 5, False) - _mean_occupancy(network, "residential", 12, False) > 0.2
    assert _mean_occupancy(network, "business", 12, False) - _mean_occupancy(network, "business", 5, False) > 0.2
    assert _mean_occupancy(network, "leisure", 15, True) - _mean_occupancy(network, "leisure", 15, False) > 0.2
    assert _mean_occupancy(network, "business", 12, True) < _mean_occupancy(network, "business", 12, False) - 0.2


def test_windows_look_back_24_hours_and_ahead_3(network: SimulatedNetwork) -> None:
    windows = make_windows(network, 100, 200)
    first = 0
    station, t = windows.station[first], 100
    np.testing.assert_array_equal(windows.history[first], network.bikes[station, t - 24:t])
    assert windows.hour[first] == network.hour[t - 1]
    assert not np.isnan(windows.targets).any()
    assert (np.isnan(windows.history).sum(axis=1) <= model_utils.MAX_MISSING_HOURS).all()


def test_baselines_are_what_they_claim(network: SimulatedNetwork) -> None:
    windows = make_windows(network, 100, 110)
    found = baselines(network, windows)
    filled = model_utils.impute_history(windows.history)
    np.testing.assert_array_equal(found["persistence"][:, 2], filled[:, -1])
    np.testing.assert_array_equal(found["seasonal_naive"][:, 0], filled[:, 0])


def test_shipped_model_beats_both_baselines_on_every_horizon() -> None:
    metrics = json.loads((ARTIFACTS_DIR / "metrics.json").read_text())
    for key in model_utils.HORIZON_KEYS:
        scores = metrics["horizons"][key]
        for baseline in ("persistence", "seasonal_naive"):
            assert scores["model"]["mae"] < scores[baseline]["mae"], (key, baseline)
            assert scores["model"]["r2"] > scores[baseline]["r2"], (key, baseline)


def test_a_small_training_run_writes_loadable_artifacts(tmp_path: Path) -> None:
    settings = TrainingSettings(stations=12, days=17, epochs=1, validation_days=7, test_days=7, hidden_size=16)
    metrics = train(settings, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*ARTIFACT_FILES, "metrics.json"])
    assert set(metrics["horizons"]) == set(model_utils.HORIZON_KEYS)
    bundle = inference.model_fn(str(tmp_path))
    assert bundle.model.lstm.hidden_size == 16
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["training"]["stations"] == 12


def test_bad_settings_fail_before_anything_is_written(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "cdk_app", "train", "--days", "5", "--output", str(tmp_path)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "days must be at least" in result.stderr
    assert list(tmp_path.iterdir()) == []
