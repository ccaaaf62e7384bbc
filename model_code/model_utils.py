"""The model, the request contract and the feature pipeline, shared by the endpoint and by training.

This module never imports the SageMaker toolkit, so every function can be tested without a
server, and training builds its features with exactly the code that serves them (train/serve
parity). It runs under torch 2.6 (the container) and torch 2.13 (development): use nothing newer.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

WEIGHTS_FILE = "best_model.pth"
CONFIG_FILE = "config.json"
SCALER_FILE = "scaler.json"
MAPPINGS_FILE = "station_mappings.json"
ARTIFACT_FILES = (WEIGHTS_FILE, CONFIG_FILE, SCALER_FILE, MAPPINGS_FILE)

# The request contract. It is the product's public API, so it is fixed here and not read from
# the artifacts; `load_model_artifacts` refuses artifacts trained for another contract.
HISTORY_HOURS = 24
HORIZON_HOURS = (1, 2, 3)
HORIZON_KEYS = tuple(f"T+{h}h" for h in HORIZON_HOURS)
MAX_MISSING_HOURS = 6
MAX_BATCH = 2000
CAPACITY_RANGE = (1, 200)
# The Velib' service area: Paris and the surrounding communes it serves, with a margin.
LATITUDE_RANGE = (48.70, 49.05)
LONGITUDE_RANGE = (2.10, 2.60)
STATIC_FEATURES = ("capacity", "latitude", "longitude")
REQUIRED_FIELDS = ("station_code", "historical_bikes", "hour", "day_of_week", "capacity", "latitude", "longitude")
OPTIONAL_FIELDS = ("is_weekend",)
MAX_REPORTED_ERRORS = 10


class InvalidInputError(ValueError):
    """A request the model cannot answer; the message names every bad field it found."""


class ArtifactError(RuntimeError):
    """A model artifact that is missing or unreadable; the message names the file."""


@dataclass(frozen=True)
class Architecture:
    """Hyper-parameters that fix the shape of the weights, stored in config.json."""

    hidden_size: int
    num_layers: int
    embedding_dim: int
    num_embeddings: int
    static_hidden: int
    head_hidden: int
    history_channels: int = 2
    time_features: int = 5

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Architecture:
        return cls(**{k: int(raw[k]) for k in cls.__dataclass_fields__ if k in raw})

    def to_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class VelibForecaster(nn.Module):
    """Multi-input LSTM: history sequence, station embedding, static and time features.

    It predicts the change in occupancy from the last observed hour, so that doing nothing is
    persistence and the network only has to learn what persistence misses.
    """

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.lstm = nn.LSTM(arch.history_channels, arch.hidden_size, arch.num_layers, batch_first=True)
        self.embedding = nn.Embedding(arch.num_embeddings, arch.embedding_dim)
        static_in = len(STATIC_FEATURES) + arch.time_features
        self.static = nn.Sequential(nn.Linear(static_in, arch.static_hidden), nn.ReLU())
        self.head = nn.Sequential(
            nn.Linear(arch.hidden_size + arch.embedding_dim + arch.static_hidden, arch.head_hidden),
            nn.ReLU(),
            nn.Linear(arch.head_hidden, len(HORIZON_HOURS)),
        )

    def forward(self, history: torch.Tensor, station: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(history)
        joined = torch.cat([hidden[-1], self.embedding(station), self.static(static)], dim=1)
        return history[:, -1, :1] + self.head(joined)


@dataclass(frozen=True)
class FeatureScaler:
    """Standardisation of the static features, kept as JSON so the endpoint never unpickles."""

    feature_names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FeatureScaler:
        names = tuple(str(n) for n in raw["feature_names"])
        mean = tuple(float(v) for v in raw["mean"])
        scale = tuple(float(v) for v in raw["scale"])
        if not len(names) == len(mean) == len(scale):
            raise ValueError("feature_names, mean and scale must have the same length")
        if any(not math.isfinite(v) for v in mean + scale) or any(s == 0 for s in scale):
            raise ValueError("mean and scale must be finite, and scale non-zero")
        return cls(names, mean, scale)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "standardize", "feature_names": list(self.feature_names),
                "mean": list(self.mean), "scale": list(self.scale)}

    def transform(self, values: np.ndarray) -> np.ndarray:
        """In float64: coordinates vary in the fourth decimal, which float32 would blur."""
        return (values.astype(np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)


@dataclass(frozen=True)
class StationMappings:
    """Station code to embedding row; `unknown_index` is the row shared by unseen stations."""

    index: Mapping[str, int]
    unknown_index: int

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> StationMappings:
        return cls({str(k): int(v) for k, v in raw["stations"].items()}, int(raw["unknown_index"]))

    def to_dict(self) -> dict[str, Any]:
        return {"unknown_index": self.unknown_index, "stations": dict(sorted(self.index.items()))}


@dataclass(frozen=True)
class ModelBundle:
    """Everything `model_fn` loads once per worker."""

    model: VelibForecaster
    scaler: FeatureScaler
    stations: StationMappings
    version: str


@dataclass(frozen=True)
class StationRequest:
    """One validated request; `history` holds NaN where the client sent null."""

    station_code: str
    history: np.ndarray
    hour: int
    day_of_week: int
    is_weekend: bool
    capacity: int
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Features:
    """Model inputs for a batch, plus what the response must tell the client about them."""

    history: torch.Tensor
    station: torch.Tensor
    static: torch.Tensor
    station_known: np.ndarray
    imputed_hours: np.ndarray
    clipped_hours: np.ndarray


# ----------------------------------------------------------------------------- artifacts


def artifacts_version(model_dir: str | Path) -> str:
    """Content hash of the serving artifacts: the same files always give the same version."""
    digest = hashlib.sha256()
    for name in ARTIFACT_FILES:
        data = _read_artifact(Path(model_dir), name)
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:12]


def _read_artifact(model_dir: Path, name: str) -> bytes:
    path = model_dir / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"{name}: missing from the model directory {model_dir}") from None
    except OSError as exc:
        raise ArtifactError(f"{name}: cannot be read ({exc})") from exc


def _read_json_artifact(model_dir: Path, name: str) -> Any:
    try:
        return json.loads(_read_artifact(model_dir, name))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{name}: not valid JSON ({exc})") from exc


def _parse_artifact(name: str, parse: Any, raw: Any) -> Any:
    try:
        return parse(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{name}: unexpected content ({type(exc).__name__}: {exc})") from exc


def load_model_artifacts(model_dir: str | Path) -> ModelBundle:
    """Load weights, config, scaler and mappings; every failure names the file at fault."""
    directory = Path(model_dir)
    config = _read_json_artifact(directory, CONFIG_FILE)
    arch = _parse_artifact(CONFIG_FILE, lambda c: Architecture.from_dict(c["architecture"]), config)
    contract = _parse_artifact(CONFIG_FILE, lambda c: (int(c["history_hours"]), tuple(c["horizon_hours"])), config)
    if contract != (HISTORY_HOURS, HORIZON_HOURS):
        raise ArtifactError(f"{CONFIG_FILE}: trained for history_hours/horizon_hours {contract}, "
                            f"but the endpoint serves {(HISTORY_HOURS, HORIZON_HOURS)}")
    scaler = _parse_artifact(SCALER_FILE, FeatureScaler.from_dict, _read_json_artifact(directory, SCALER_FILE))
    if scaler.feature_names != STATIC_FEATURES:
        raise ArtifactError(f"{SCALER_FILE}: feature_names must be {list(STATIC_FEATURES)}, "
                            f"got {list(scaler.feature_names)}")
    stations = _parse_artifact(MAPPINGS_FILE, StationMappings.from_dict,
                               _read_json_artifact(directory, MAPPINGS_FILE))
    rows = set(stations.index.values()) | {stations.unknown_index}
    if max(rows) >= arch.num_embeddings or min(rows) < 0:
        raise ArtifactError(f"{MAPPINGS_FILE}: indices must lie in 0..{arch.num_embeddings - 1}, "
                            f"the embedding size in {CONFIG_FILE}")
    model = VelibForecaster(arch)
    weights_path = directory / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ArtifactError(f"{WEIGHTS_FILE}: missing from the model directory {directory}")
    try:
        state = torch.load(str(weights_path), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # torch raises many unrelated types for a corrupt or mismatched file
        raise ArtifactError(f"{WEIGHTS_FILE}: cannot be loaded as this model's state_dict ({exc})") from exc
    model.eval()
    return ModelBundle(model, scaler, stations, artifacts_version(directory))


# ----------------------------------------------------------------------------- validation


class _NonFinite:
    """Stands in for a NaN/Infinity literal so validation can name the field that held it."""

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def __repr__(self) -> str:
        return self.literal


def parse_json(text: str) -> Any:
    """json.loads, but NaN/Infinity literals become markers that validation rejects by field."""
    return json.loads(text, parse_constant=_NonFinite)


def _describe(value: Any) -> str:
    if isinstance(value, _NonFinite):
        return value.literal
    if isinstance(value, (dict, list)):
        kind = "object" if isinstance(value, dict) else "array"
        return f"an empty {kind}" if not value else f"an {kind}"
    text = json.dumps(value) if isinstance(value, (str, bool)) or value is None else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_number(value: Any) -> bool:
    return type(value) is int or (type(value) is float and math.isfinite(value))


def _as_int(value: Any, low: int, high: int) -> int | None:
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is int and low <= value <= high:
        return value
    return None


class _Errors:
    """Collects field errors so one 400 lists every problem (up to a bound), not only the first."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.count = 0

    def add(self, field: str, problem: str) -> None:
        self.count += 1
        if self.count <= MAX_REPORTED_ERRORS:
            self.items.append(f"{field}: {problem}")

    def raise_if_any(self) -> None:
        if self.count > MAX_REPORTED_ERRORS:
            self.items.append(f"... and {self.count - MAX_REPORTED_ERRORS} more")
        if self.items:
            raise InvalidInputError("; ".join(self.items))


def validate_input(payload: Any) -> tuple[list[StationRequest], bool]:
    """Check a decoded JSON body; return the requests and whether it was a batch."""
    if not isinstance(payload, dict):
        raise InvalidInputError(f"request body: must be a JSON object, got {_describe(payload)}")
    if "instances" not in payload:
        errors = _Errors()
        request = _validate_station(payload, "", errors)
        _check_histories([request] if request else [], [""], errors)
        errors.raise_if_any()
        assert request is not None
        return [request], False
    extra = sorted(set(payload) - {"instances"})
    if extra:
        raise InvalidInputError(f"{extra[0]}: a batch body holds only 'instances'")
    instances = payload["instances"]
    if not isinstance(instances, list) or not instances:
        raise InvalidInputError(f"instances: must be a non-empty list of requests, got {_describe(instances)}")
    if len(instances) > MAX_BATCH:
        raise InvalidInputError(f"instances: at most {MAX_BATCH} requests per call, got {len(instances)}; "
                                "split the batch")
    errors = _Errors()
    requests: list[StationRequest] = []
    prefixes: list[str] = []
    for i, item in enumerate(instances):
        prefix = f"instances[{i}]."
        request = _validate_station(item, prefix, errors)
        if request is not None:
            requests.append(request)
            prefixes.append(prefix)
    _check_histories(requests, prefixes, errors)
    errors.raise_if_any()
    return requests, True


def _validate_station(item: Any, prefix: str, errors: _Errors) -> StationRequest | None:
    if not isinstance(item, dict):
        errors.add(prefix.rstrip(".") or "request body", f"must be a JSON object, got {_describe(item)}")
        return None
    before = errors.count
    for name in sorted(set(item) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS)):
        errors.add(prefix + name, f"unknown field; allowed fields are {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)}")
    for name in REQUIRED_FIELDS:
        if name not in item:
            errors.add(prefix + name, "is required")
    if errors.count > before:
        return None

    code = item["station_code"]
    if type(code) is int and code >= 0:
        code = str(code)
    if not isinstance(code, str) or not code.strip() or len(code) > 32:
        errors.add(prefix + "station_code",
                   f"must be a non-empty string of at most 32 characters, got {_describe(code)}")
    hour = _as_int(item["hour"], 0, 23)
    if hour is None:
        errors.add(prefix + "hour", f"must be an integer 0-23, got {_describe(item['hour'])}")
    day = _as_int(item["day_of_week"], 0, 6)
    if day is None:
        errors.add(prefix + "day_of_week", f"must be an integer 0-6 (0 = Monday), got {_describe(item['day_of_week'])}")
    capacity = _as_int(item["capacity"], *CAPACITY_RANGE)
    if capacity is None:
        errors.add(prefix + "capacity", f"must be an integer {CAPACITY_RANGE[0]}-{CAPACITY_RANGE[1]}, "
                                        f"got {_describe(item['capacity'])}")
    latitude = _coordinate(item["latitude"], LATITUDE_RANGE, prefix + "latitude", errors)
    longitude = _coordinate(item["longitude"], LONGITUDE_RANGE, prefix + "longitude", errors)
    weekend = item.get("is_weekend", None if day is None else day >= 5)
    if "is_weekend" in item and type(weekend) is not bool:
        errors.add(prefix + "is_weekend", f"must be true or false, got {_describe(weekend)}")
    history = _history_values(item["historical_bikes"], prefix + "historical_bikes", errors)
    if errors.count > before:
        return None
    assert hour is not None and day is not None and capacity is not None and history is not None
    assert latitude is not None and longitude is not None
    return StationRequest(code.strip(), history, hour, day, bool(weekend), capacity, latitude, longitude)


def _coordinate(value: Any, bounds: tuple[float, float], field: str, errors: _Errors) -> float | None:
    if not _is_number(value):
        errors.add(field, f"must be a number, got {_describe(value)}")
        return None
    if not bounds[0] <= value <= bounds[1]:
        errors.add(field, f"must lie in the Velib' service area ({bounds[0]} to {bounds[1]}), got {value}")
        return None
    return float(value)


_HISTORY_TYPES = {int, float, type(None)}


def _history_values(value: Any, field: str, errors: _Errors) -> np.ndarray | None:
    if not isinstance(value, list) or len(value) != HISTORY_HOURS:
        got = f"{len(value)} values" if isinstance(value, list) else _describe(value)
        errors.add(field, f"must be a list of {HISTORY_HOURS} hourly bike counts (oldest first), got {got}")
        return None
    if not set(map(type, value)) <= _HISTORY_TYPES:
        i, bad = next((i, v) for i, v in enumerate(value) if type(v) not in _HISTORY_TYPES)
        errors.add(f"{field}[{i}]", f"must be a number >= 0, or null for a missing hour, got {_describe(bad)}")
        return None
    return np.array(value, dtype=np.float64)  # null becomes NaN, the marker of a missing hour


def _check_histories(requests: Sequence[StationRequest], prefixes: Sequence[str], errors: _Errors) -> None:
    """Numeric checks on all histories at once, so a batch of 2,000 costs one numpy pass."""
    if not requests:
        return
    histories = np.stack([r.history for r in requests])
    with np.errstate(invalid="ignore"):
        infinite = np.isinf(histories)
        negative = histories < 0
    missing = np.isnan(histories).sum(axis=1)
    for row in np.flatnonzero(infinite.any(axis=1) | negative.any(axis=1) | (missing > MAX_MISSING_HOURS)):
        field = prefixes[int(row)] + "historical_bikes"
        if infinite[row].any():
            col = int(np.flatnonzero(infinite[row])[0])
            errors.add(f"{field}[{col}]", "must be a finite number")
        elif negative[row].any():
            col = int(np.flatnonzero(negative[row])[0])
            errors.add(f"{field}[{col}]", f"must be >= 0, got {histories[row, col]:g}")
        else:
            errors.add(field, f"{int(missing[row])} missing hours (null); at most {MAX_MISSING_HOURS} can be imputed")


# ----------------------------------------------------------------------------- features


def impute_history(history: np.ndarray) -> np.ndarray:
    """Fill NaN hours by linear interpolation between neighbours, holding the ends flat."""
    filled = history.astype(np.float64, copy=True)
    hours = np.arange(filled.shape[1])
    for row in np.flatnonzero(np.isnan(filled).any(axis=1)):
        known = ~np.isnan(filled[row])
        if known.any():
            filled[row] = np.interp(hours, hours[known], filled[row, known])
        else:
            filled[row] = 0.0
    return filled


def time_features(hour: np.ndarray, day_of_week: np.ndarray, is_weekend: np.ndarray) -> np.ndarray:
    """Cyclical encodings, so 23:00 sits next to 00:00 and Sunday next to Monday."""
    hour_angle = 2.0 * np.pi * hour / 24.0
    day_angle = 2.0 * np.pi * day_of_week / 7.0
    return np.stack([np.sin(hour_angle), np.cos(hour_angle), np.sin(day_angle), np.cos(day_angle),
                     is_weekend.astype(np.float64)], axis=1)


def build_features(history: np.ndarray, hour: np.ndarray, day_of_week: np.ndarray, is_weekend: np.ndarray,
                   capacity: np.ndarray, latitude: np.ndarray, longitude: np.ndarray, station_index: np.ndarray,
                   station_known: np.ndarray, scaler: FeatureScaler) -> Features:
    """Array form of preprocessing: what the endpoint does per request, training does per window."""
    missing = np.isnan(history)
    cap = capacity.astype(np.float64)[:, None]
    over = history > cap
    occupancy = np.minimum(impute_history(history), cap) / cap
    sequence = np.stack([occupancy, missing.astype(np.float64)], axis=2).astype(np.float32)
    static = scaler.transform(np.stack([capacity, latitude, longitude], axis=1))
    time = time_features(hour, day_of_week, is_weekend).astype(np.float32)
    return Features(
        history=torch.from_numpy(sequence),
        station=torch.from_numpy(station_index.astype(np.int64)),
        static=torch.from_numpy(np.concatenate([static, time], axis=1).astype(np.float32)),
        station_known=station_known,
        imputed_hours=missing.sum(axis=1),
        clipped_hours=over.sum(axis=1),
    )


def preprocess_input(requests: Sequence[StationRequest], bundle: ModelBundle) -> Features:
    """Turn validated requests into model tensors, through the same path training uses."""
    known = np.array([r.station_code in bundle.stations.index for r in requests])
    index = np.array([bundle.stations.index.get(r.station_code, bundle.stations.unknown_index) for r in requests])
    return build_features(
        history=np.stack([r.history for r in requests]),
        hour=np.array([r.hour for r in requests], dtype=np.float64),
        day_of_week=np.array([r.day_of_week for r in requests], dtype=np.float64),
        is_weekend=np.array([r.is_weekend for r in requests]),
        capacity=np.array([r.capacity for r in requests], dtype=np.float64),
        latitude=np.array([r.latitude for r in requests], dtype=np.float64),
        longitude=np.array([r.longitude for r in requests], dtype=np.float64),
        station_index=index,
        station_known=known,
        scaler=bundle.scaler,
    )


def predict_occupancy(model: VelibForecaster, features: Features) -> np.ndarray:
    """Forward pass; returns the predicted occupancy ratio for each horizon."""
    with torch.inference_mode():
        return model(features.history, features.station, features.static).numpy()


def occupancy_to_bikes(occupancy: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Bike counts in [0, capacity], rounded to 4 decimals (training scores these exact numbers)."""
    cap = capacity.astype(np.float64)[:, None]
    return np.round(np.clip(occupancy.astype(np.float64) * cap, 0.0, cap), 4)


def postprocess_output(occupancy: np.ndarray, requests: Sequence[StationRequest], features: Features,
                       version: str, elapsed_ms: float) -> list[dict[str, Any]]:
    """One response object per request, in request order."""
    bikes = occupancy_to_bikes(occupancy, np.array([r.capacity for r in requests]))
    results = []
    for i, request in enumerate(requests):
        warnings = []
        if not features.station_known[i]:
            warnings.append(f"unknown station_code '{request.station_code}': "
                            "predicted with the shared unknown-station embedding")
        if features.imputed_hours[i]:
            warnings.append(f"historical_bikes: {int(features.imputed_hours[i])} missing hours imputed")
        if features.clipped_hours[i]:
            warnings.append(f"historical_bikes: {int(features.clipped_hours[i])} counts above capacity clipped")
        results.append({
            "station_code": request.station_code,
            "predictions": dict(zip(HORIZON_KEYS, bikes[i].tolist(), strict=True)),
            "inference_time_ms": round(elapsed_ms, 3),
            "model_version": version,
            "station_known": bool(features.station_known[i]),
            "warnings": warnings,
        })
    return results
