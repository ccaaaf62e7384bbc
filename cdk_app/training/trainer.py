"""Trains the model on simulated or collected data and scores it against two baselines.

Features are built by model_utils.build_features and predictions are turned into bike counts by
model_utils.occupancy_to_bikes: the very code the endpoint runs, so the held-out metrics are what
the endpoint would answer (the parity test checks this). The split is by time whatever the source:
the final `test_days` are held out, the `validation_days` before them pick the best epoch.
"""

from __future__ import annotations

import io
import math
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import model_utils
import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from cdk_app.atomic_files import write_bytes, write_json
from cdk_app.progress import Counter, say
from cdk_app.training.network import StationNetwork
from cdk_app.training.scaler_conversion import scaler_to_feature_scaler
from cdk_app.training.simulator import simulate

H = model_utils.HISTORY_HOURS
HORIZONS = len(model_utils.HORIZON_HOURS)
EVAL_CHUNK = 4096


@dataclass(frozen=True)
class TrainingSettings:
    """Everything that decides the reference model; recorded in config.json to reproduce it."""

    stations: int = 300
    days: int = 42
    seed: int = 7
    epochs: int = 8
    batch_size: int = 256
    learning_rate: float = 2e-3
    validation_days: int = 7
    test_days: int = 7
    hidden_size: int = 64
    embedding_dim: int = 8
    # 1: train on the targets permuted across the training windows, so the model learns nothing about the hours
    # that follow a history. A deliberately bad candidate, to watch the gate reject one (retrain, its tests).
    shuffle_labels: int = 0

    def validate(self) -> None:
        if self.days * 24 < self.hours_needed:
            raise ValueError(f"days must be at least validation_days + test_days + 3 "
                             f"({self.hours_needed // 24}), got {self.days}")
        for name in ("stations", "epochs", "batch_size", "validation_days", "test_days", "hidden_size",
                     "embedding_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning_rate must be between 0 and 1, got {self.learning_rate}")
        if self.shuffle_labels not in (0, 1):
            raise ValueError(f"shuffle_labels must be 0 or 1, got {self.shuffle_labels}")

    @property
    def hours_needed(self) -> int:
        """Validation and held-out days, and 3 days to train on."""
        return (self.validation_days + self.test_days + 3) * 24


@dataclass(frozen=True)
class Windows:
    """Sliding windows: 24 h of history and the 3 hours after, one row per station and hour."""

    station: np.ndarray  # row into the network's station arrays
    history: np.ndarray  # (n, 24) counts, NaN where missing
    targets: np.ndarray  # (n, 3) counts
    hour: np.ndarray  # time of the last history hour
    day_of_week: np.ndarray
    is_weekend: np.ndarray

    def __len__(self) -> int:
        return len(self.station)


def make_windows(net: StationNetwork, first_target: int, last_target: int) -> Windows:
    """Windows whose first target hour t lies in [first_target, last_target - 3]."""
    starts = np.arange(max(first_target, H), last_target - HORIZONS + 1)
    station = np.repeat(np.arange(len(net.codes)), len(starts))
    t = np.tile(starts, len(net.codes))
    history = net.bikes[station[:, None], t[:, None] + np.arange(-H, 0)]
    targets = net.bikes[station[:, None], t[:, None] + np.arange(HORIZONS)]
    usable = (~np.isnan(targets).any(axis=1)) & (np.isnan(history).sum(axis=1) <= model_utils.MAX_MISSING_HOURS)
    now = t[usable] - 1
    return Windows(station[usable], history[usable], targets[usable],
                   net.hour[now], net.day_of_week[now], net.is_weekend[now])


def heldout_windows(net: StationNetwork, settings: TrainingSettings) -> Windows:
    return make_windows(net, net.hours - settings.test_days * 24, net.hours)


def window_features(net: StationNetwork, windows: Windows, stations: model_utils.StationMappings,
                    scaler: model_utils.FeatureScaler) -> model_utils.ModelInputs:
    codes = [net.codes[s] for s in windows.station]
    return model_utils.build_features(
        history=windows.history, hour=windows.hour.astype(np.float64),
        day_of_week=windows.day_of_week.astype(np.float64), is_weekend=windows.is_weekend,
        capacity=net.capacity[windows.station].astype(np.float64),
        latitude=net.latitude[windows.station], longitude=net.longitude[windows.station],
        station_index=np.array([stations.index.get(c, stations.unknown_index) for c in codes]), scaler=scaler)


def predict_bikes(model: model_utils.VelibForecaster, net: StationNetwork, windows: Windows,
                  stations: model_utils.StationMappings, scaler: model_utils.FeatureScaler) -> np.ndarray:
    parts = []
    for start in range(0, len(windows), EVAL_CHUNK):
        chunk = _slice(windows, slice(start, start + EVAL_CHUNK))
        features = window_features(net, chunk, stations, scaler)
        occupancy = model_utils.predict_occupancy(model, features)
        parts.append(model_utils.occupancy_to_bikes(occupancy, net.capacity[chunk.station]))
    return np.concatenate(parts)


def _slice(windows: Windows, part: slice) -> Windows:
    return Windows(**{k: v[part] for k, v in asdict(windows).items()})


def baselines(net: StationNetwork, windows: Windows) -> dict[str, np.ndarray]:
    """Persistence (the last hour) and seasonal-naive (the same hour the day before)."""
    filled = model_utils.impute_history(windows.history)
    capacity = net.capacity[windows.station][:, None]
    persistence = np.repeat(filled[:, -1:], HORIZONS, axis=1)
    seasonal = filled[:, :HORIZONS]  # history[t+k-24] for k = 0..2 is history index k
    return {"persistence": np.minimum(persistence, capacity), "seasonal_naive": np.minimum(seasonal, capacity)}


def score(predicted: np.ndarray, actual: np.ndarray) -> dict[str, dict[str, float]]:
    """R² and MAE per horizon, in bikes."""
    out = {}
    for k, key in enumerate(model_utils.HORIZON_KEYS):
        error = predicted[:, k] - actual[:, k]
        variance = float(np.sum((actual[:, k] - actual[:, k].mean()) ** 2))
        out[key] = {"r2": round(1.0 - float(np.sum(error**2)) / variance, 6),
                    "mae": round(float(np.mean(np.abs(error))), 6)}
    return out


def _fit(model: model_utils.VelibForecaster, train: model_utils.ModelInputs, train_targets: torch.Tensor,
         validate: tuple[model_utils.ModelInputs, np.ndarray, np.ndarray], settings: TrainingSettings
         ) -> tuple[dict[str, torch.Tensor], int, float]:
    """Adam on occupancy MSE; keeps the epoch with the best validation MAE (in bikes)."""
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=settings.epochs)
    generator = torch.Generator().manual_seed(settings.seed)
    best: tuple[dict[str, torch.Tensor], int, float] = ({}, 0, math.inf)
    count = len(train_targets)
    for epoch in range(1, settings.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(count, generator=generator)
        batches = range(0, count, settings.batch_size)
        counter = Counter(f"epoch {epoch}/{settings.epochs} batches", len(batches))
        total = 0.0
        for start in batches:
            idx = order[start:start + settings.batch_size]
            optimiser.zero_grad()
            out = model(train.history[idx], train.station[idx], train.static[idx])
            loss = torch.nn.functional.mse_loss(out, train_targets[idx])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(idx)
            counter.advance()
        scheduler.step()
        model.eval()
        features, capacity, actual = validate
        predicted = model_utils.occupancy_to_bikes(model_utils.predict_occupancy(model, features), capacity)
        mae = float(np.mean(np.abs(predicted - actual)))
        say(f"epoch {epoch}/{settings.epochs}: train loss {total / count:.5f}, "
            f"validation MAE {mae:.4f} bikes, {time.perf_counter() - started:.1f} s")
        if mae < best[2]:
            best = ({k: v.detach().clone() for k, v in model.state_dict().items()}, epoch, mae)
    return best


def train(settings: TrainingSettings, output_dir: Path, network: StationNetwork | None = None) -> dict[str, Any]:
    """Train on `network` (default: simulate one as `settings` say), score, and write the five artifact files;
    returns the metrics."""
    settings.validate()
    torch.manual_seed(settings.seed)
    if network is None:
        say(f"simulating {settings.stations} stations over {settings.days} days (seed {settings.seed})")
        network = simulate(settings.stations, settings.days, settings.seed)
    net = network
    if net.hours < settings.hours_needed:
        raise ValueError(f"{net.source}: {net.hours} hours of data, but validation_days + test_days + 3 days "
                         f"({settings.hours_needed} hours) are needed")
    test_start = net.hours - settings.test_days * 24
    validation_start = test_start - settings.validation_days * 24
    train_windows = make_windows(net, 0, validation_start)
    validation_windows = make_windows(net, validation_start, test_start)
    test_windows = heldout_windows(net, settings)
    say(f"windows: {len(train_windows)} train, {len(validation_windows)} validation, {len(test_windows)} held out")
    for part, windows in (("train", train_windows), ("validation", validation_windows), ("held-out", test_windows)):
        if len(windows) == 0:
            raise ValueError(f"{net.source}: no usable {part} window (each needs its 3 target hours counted and at "
                             f"most {model_utils.MAX_MISSING_HOURS} of its 24 history hours missing)")

    stations = model_utils.StationMappings({c: i + 1 for i, c in enumerate(sorted(net.codes))}, unknown_index=0)
    static = np.stack([net.capacity, net.latitude, net.longitude], axis=1).astype(np.float64)
    scaler = scaler_to_feature_scaler(StandardScaler().fit(static), model_utils.STATIC_FEATURES)
    arch = model_utils.Architecture(hidden_size=settings.hidden_size, num_layers=1,
                                    embedding_dim=settings.embedding_dim, num_embeddings=len(net.codes) + 1,
                                    static_hidden=16, head_hidden=64)
    model = model_utils.VelibForecaster(arch)

    train_features = window_features(net, train_windows, stations, scaler)
    train_targets = torch.from_numpy(
        (train_windows.targets / net.capacity[train_windows.station][:, None]).astype(np.float32))
    if settings.shuffle_labels:
        train_targets = train_targets[torch.randperm(len(train_targets),
                                                     generator=torch.Generator().manual_seed(settings.seed))]
    validation = (window_features(net, validation_windows, stations, scaler),
                  net.capacity[validation_windows.station], validation_windows.targets)
    state, best_epoch, _ = _fit(model, train_features, train_targets, validation, settings)
    model.load_state_dict(state)
    model.eval()

    predicted = predict_bikes(model, net, test_windows, stations, scaler)
    scores = {"model": score(predicted, test_windows.targets)}
    for name, values in baselines(net, test_windows).items():
        scores[name] = score(values, test_windows.targets)
    metrics = {
        "data": net.source,
        "heldout": {"days": settings.test_days, "windows": len(test_windows), **heldout_period(net, test_start)},
        "horizons": {key: {name: scores[name][key] for name in scores} for key in model_utils.HORIZON_KEYS},
        "beats_baselines": all(
            scores["model"][key]["mae"] < scores[b][key]["mae"] and scores["model"][key]["r2"] > scores[b][key]["r2"]
            for key in model_utils.HORIZON_KEYS for b in ("persistence", "seasonal_naive")),
    }
    config = {
        "model": "velib-multi-input-lstm",
        "history_hours": model_utils.HISTORY_HOURS,
        "horizon_hours": list(model_utils.HORIZON_HOURS),
        "architecture": arch.to_dict(),
        "training": {**asdict(settings), "best_epoch": best_epoch, "torch": torch.__version__.split("+")[0]},
    }
    _write_artifacts(output_dir, model, config, scaler, stations, metrics)
    return metrics


def heldout_period(net: StationNetwork, first: int) -> dict[str, str]:
    """The held-out hours, named by their ends in UTC, when the data has real times."""
    if net.hour_end is None:
        return {}
    name = [datetime.fromtimestamp(int(net.hour_end[i]), UTC).isoformat() for i in (first, -1)]
    return {"first_hour": name[0], "last_hour": name[1]}


def _write_artifacts(output_dir: Path, model: model_utils.VelibForecaster, config: dict[str, Any],
                     scaler: model_utils.FeatureScaler, stations: model_utils.StationMappings,
                     metrics: dict[str, Any]) -> None:
    """Write every file first into a scratch folder, then move them in: a failure loses nothing."""
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".train-") as scratch:
        staging = Path(scratch)
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        write_bytes(staging / model_utils.WEIGHTS_FILE, buffer.getvalue())
        write_json(staging / model_utils.CONFIG_FILE, config)
        write_json(staging / model_utils.SCALER_FILE, scaler.to_dict())
        write_json(staging / model_utils.MAPPINGS_FILE, stations.to_dict())
        write_json(staging / "metrics.json", metrics)
        model_utils.load_model_artifacts(staging)  # refuse to ship what the endpoint could not load
        for path in sorted(staging.iterdir()):
            path.replace(output_dir / path.name)
