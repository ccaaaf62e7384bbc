"""The model, the request contract and the feature pipeline, shared by the endpoint and by training.

Sections, in order: contract (the constants come from forecast_contract.py, which tooling reads
without torch), errors, value types, network, artifacts, validation, features, response.

This module never imports the SageMaker toolkit, so every function can be tested without a
server, and training builds its model inputs with exactly the code that serves them (train/serve
parity). It runs under torch 2.6 (the container) and torch 2.13 (development): use nothing newer.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from forecast_contract import (
    CAPACITY_RANGE,
    CONFIG_FILE,
    DAY_OF_WEEK_RANGE,
    HISTORY_HOURS,
    HORIZON_HOURS,
    HORIZON_KEYS,
    HOUR_RANGE,
    LATITUDE_RANGE,
    LONGITUDE_RANGE,
    MAPPINGS_FILE,
    MAX_BATCH,
    MAX_MISSING_HOURS,
    MAX_PAYLOAD_BYTES,
    MAX_STATION_CODE_CHARS,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    SCALER_FILE,
    STATIC_FEATURES,
    WEIGHTS_FILE,
    ArtifactError,
    artifacts_version,
    read_artifact,
)
from torch import nn

# ----------------------------------------------------------------------------- contract

MAX_REPORTED_ERRORS = 10
TIME_FEATURES = 5
_ALL_FIELDS = frozenset(REQUIRED_FIELDS + OPTIONAL_FIELDS)
_REQUIRED = frozenset(REQUIRED_FIELDS)

# ----------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class FieldProblem:
    """One bad field, named as the client sent it (`instances[17].hour`), and what is wrong with it."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class InvalidInputError(ValueError):
    """A request the endpoint refuses (400 unless said otherwise); it lists every bad field it found, up to a bound."""

    def __init__(self, fields: list[FieldProblem], more: int = 0, status: int = 400) -> None:
        self.fields = fields
        self.more = more
        self.status = status
        shown = [str(f) for f in fields] + ([f"... and {more} more"] if more else [])
        super().__init__("; ".join(shown))

    @classmethod
    def one(cls, field: str, problem: str, status: int = 400) -> InvalidInputError:
        return cls([FieldProblem(field, problem)], status=status)

    def body(self) -> str:
        return error_body(self.status, str(self), self.fields)


def error_body(status: int, message: str, fields: list[FieldProblem]) -> str:
    """The JSON every error answer carries, so a caller can show each bad field; never a traceback."""
    return json.dumps({"error": {"status": status, "message": message,
                                 "fields": [{"field": f.field, "problem": f.problem} for f in fields]}})


# ----------------------------------------------------------------------------- value types


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
    time_features: int = TIME_FEATURES

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Architecture:
        return cls(**{k: int(raw[k]) for k in cls.__dataclass_fields__ if k in raw})

    def to_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


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
class StationBatch:
    """Validated requests as columns, so one station and 2,000 take the same vectorised path."""

    station_code: list[str]
    history: np.ndarray  # (n, 24) float64, NaN where the client sent null
    hour: np.ndarray
    day_of_week: np.ndarray
    is_weekend: np.ndarray
    capacity: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    is_batch: bool


@dataclass(frozen=True)
class ModelInputs:
    """The network's three inputs for a batch: what training and serving both feed it."""

    history: torch.Tensor
    station: torch.Tensor
    static: torch.Tensor


@dataclass(frozen=True)
class RequestNotes:
    """What the response tells the client about its requests; training has no use for it."""

    station_known: np.ndarray
    imputed_hours: np.ndarray
    clipped_hours: np.ndarray


# ----------------------------------------------------------------------------- network


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


# ----------------------------------------------------------------------------- artifacts


def _read_json_artifact(model_dir: Path, name: str) -> Any:
    try:
        return json.loads(read_artifact(model_dir, name))
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


class _LongInteger(_NonFinite):
    """Stands in for an integer literal longer than Python converts (4,300 digits), for the same reason."""

    @classmethod
    def parse(cls, literal: str) -> int | _LongInteger:
        return int(literal) if len(literal) <= sys.int_info.default_max_str_digits else cls(literal)

    def __repr__(self) -> str:
        return f"a number of {len(self.literal.lstrip('-'))} digits"


_ABSENT = object()
_HISTORY_TYPES = frozenset({int, float, type(None)})


def parse_body(data: str | bytes) -> Any:
    """The request body as JSON, or a 400 (413 when too large) that says what is wrong with it.

    A leading UTF-8 byte-order mark is accepted and dropped (RFC 8259 lets a parser ignore it). Duplicate
    keys follow json.loads: the last one wins, as in JavaScript. NaN, Infinity and integers too long for
    Python become markers that validation rejects by field.
    """
    if len(data) > MAX_PAYLOAD_BYTES:
        raise InvalidInputError.one("request body", f"is {len(data)} bytes, over the {MAX_PAYLOAD_BYTES}-byte "
                                                    "limit of serverless endpoints; split the batch", status=413)
    try:
        text = data.decode("utf-8-sig") if isinstance(data, (bytes, bytearray)) else data.removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InvalidInputError.one("request body", f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not text.strip():
        raise InvalidInputError.one("request body", "is empty; send a JSON object")
    try:
        return _parse_json(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError.one("request body", f"not valid JSON ({exc})") from None
    except RecursionError:
        raise InvalidInputError.one("request body", "JSON nested too deeply") from None


def _parse_json(text: str) -> Any:
    """json.loads, but NaN/Infinity literals (and overlong integers) become markers that validation rejects."""
    try:
        return json.loads(text, parse_constant=_NonFinite)
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer literal past sys.int_info.default_max_str_digits: parse again, marking it
        return json.loads(text, parse_constant=_NonFinite, parse_int=_LongInteger.parse)


def _describe(value: Any) -> str:
    if isinstance(value, _NonFinite):
        return repr(value)
    if isinstance(value, (dict, list)):
        kind = "object" if isinstance(value, dict) else "array"
        return f"an empty {kind}" if not value else f"an {kind}"
    text = json.dumps(value) if isinstance(value, (str, bool)) or value is None else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _as_int(value: Any, low: int, high: int) -> int | None:
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is int and low <= value <= high:
        return value
    return None


def _as_number(value: Any, low: float, high: float) -> float | None:
    if (type(value) is int or type(value) is float) and low <= value <= high:
        return float(value)  # NaN fails the comparison above; +-inf fails the range
    return None


class _Errors:
    """Collects field errors so one 400 lists every problem, in request order, up to a bound."""

    def __init__(self, is_batch: bool) -> None:
        self.is_batch = is_batch
        self.found: list[tuple[int, int, FieldProblem]] = []

    def field(self, row: int, name: str) -> str:
        return f"instances[{row}].{name}" if self.is_batch else name

    def add(self, row: int, name: str, problem: str) -> None:
        self.add_named(row, self.field(row, name), problem)

    def add_named(self, row: int, field: str, problem: str) -> None:
        self.found.append((row, len(self.found), FieldProblem(field, problem)))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        ordered = [problem for _, _, problem in sorted(self.found, key=lambda found: found[:2])]
        raise InvalidInputError(ordered[:MAX_REPORTED_ERRORS], max(0, len(ordered) - MAX_REPORTED_ERRORS))


def validate_input(payload: Any) -> StationBatch:
    """Check a decoded JSON body, a single request or {"instances": [...]}, field by field."""
    if not isinstance(payload, dict):
        raise InvalidInputError.one("request body", f"must be a JSON object, got {_describe(payload)}")
    if "instances" not in payload:
        return _validate_rows([payload], is_batch=False)
    extra = sorted(set(payload) - {"instances"})
    if extra:
        raise InvalidInputError.one(extra[0], "a batch body holds only 'instances'")
    instances = payload["instances"]
    if not isinstance(instances, list) or not instances:
        raise InvalidInputError.one("instances", f"must be a non-empty list of requests, got {_describe(instances)}")
    if len(instances) > MAX_BATCH:
        raise InvalidInputError.one("instances", f"at most {MAX_BATCH} requests per call, got {len(instances)}; "
                                                 "split the batch")
    return _validate_rows(instances, is_batch=True)


def _validate_rows(items: list[Any], is_batch: bool) -> StationBatch:
    errors = _Errors(is_batch)
    rows = [i for i, item in enumerate(items) if _has_fields(item, i, errors)]
    objects = [items[i] for i in rows]

    codes = [_station_code(obj["station_code"]) for obj in objects]
    for k in (k for k, code in enumerate(codes) if code is None):
        raw = objects[k]["station_code"]
        problem = ("must be valid Unicode text, without lone surrogates" if type(raw) is str and _has_surrogate(raw)
                   else f"must be a non-empty string of at most {MAX_STATION_CODE_CHARS} characters, "
                        f"got {_describe(raw)}")
        errors.add(rows[k], "station_code", problem)
    hour = _int_column(objects, rows, "hour", HOUR_RANGE, "", errors)
    day = _int_column(objects, rows, "day_of_week", DAY_OF_WEEK_RANGE, " (0 = Monday)", errors)
    capacity = _int_column(objects, rows, "capacity", CAPACITY_RANGE, "", errors)
    latitude = _coordinate_column(objects, rows, "latitude", LATITUDE_RANGE, errors)
    longitude = _coordinate_column(objects, rows, "longitude", LONGITUDE_RANGE, errors)
    weekend_given = [obj.get("is_weekend", _ABSENT) for obj in objects]
    for k, value in enumerate(weekend_given):
        if value is not _ABSENT and type(value) is not bool:
            errors.add(rows[k], "is_weekend", f"must be true or false, got {_describe(value)}")
    history = _history_column(objects, rows, errors)
    errors.raise_if_any()
    is_weekend = np.array([day[k] >= 5 if given is _ABSENT else given for k, given in enumerate(weekend_given)],
                          dtype=bool)
    return StationBatch([c for c in codes if c is not None], history, hour, day, is_weekend, capacity,
                        latitude, longitude, is_batch)


def _has_fields(item: Any, row: int, errors: _Errors) -> bool:
    if type(item) is not dict:
        label = f"instances[{row}]" if errors.is_batch else "request body"
        errors.add_named(row, label, f"must be a JSON object, got {_describe(item)}")
        return False
    keys = item.keys()
    if keys in (_REQUIRED, _ALL_FIELDS):
        return True
    unknown, missing = sorted(keys - _ALL_FIELDS), [f for f in REQUIRED_FIELDS if f not in keys]
    for name in unknown:
        errors.add(row, name, f"unknown field; allowed fields are {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)}")
    for name in missing:
        errors.add(row, name, "is required")
    return not unknown and not missing


def _station_code(value: Any) -> str | None:
    if type(value) is int and value >= 0:
        value = str(value)
    if type(value) is str and value.strip() and len(value) <= MAX_STATION_CODE_CHARS and not _has_surrogate(value):
        return value.strip()
    return None


def _has_surrogate(text: str) -> bool:
    """A lone surrogate (JSON allows "\\ud800") is not text: it cannot be encoded, logged or shown."""
    return not text.isascii() and any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def _int_column(objects: list[dict[str, Any]], rows: list[int], name: str, bounds: tuple[int, int], hint: str,
                errors: _Errors) -> np.ndarray:
    values = [obj[name] for obj in objects]
    if set(map(type, values)) <= {int} and all(bounds[0] <= v <= bounds[1] for v in values):
        return np.array(values, dtype=np.float64)
    converted = [_as_int(v, *bounds) for v in values]
    for k, value in enumerate(converted):
        if value is None:
            errors.add(rows[k], name, f"must be an integer {bounds[0]}-{bounds[1]}{hint}, got {_describe(values[k])}")
    return np.array([0 if v is None else v for v in converted], dtype=np.float64)


def _coordinate_column(objects: list[dict[str, Any]], rows: list[int], name: str, bounds: tuple[float, float],
                       errors: _Errors) -> np.ndarray:
    values = [obj[name] for obj in objects]
    converted = [_as_number(v, *bounds) for v in values]
    for k, value in enumerate(converted):
        if value is None:
            raw = values[k]
            is_number = type(raw) is int or type(raw) is _LongInteger or (type(raw) is float and math.isfinite(raw))
            problem = (f"must lie in the Velib' service area ({bounds[0]} to {bounds[1]}), got {_describe(raw)}"
                       if is_number else f"must be a number, got {_describe(raw)}")
            errors.add(rows[k], name, problem)
    return np.array([0.0 if v is None else v for v in converted], dtype=np.float64)


def _history_column(objects: list[dict[str, Any]], rows: list[int], errors: _Errors) -> np.ndarray:
    """All histories in one numpy pass: a batch of 2,000 costs about what one request does."""
    values = [obj["historical_bikes"] for obj in objects]
    if not values:
        return np.zeros((0, HISTORY_HOURS))
    usable: list[int] = []
    for k, value in enumerate(values):
        if type(value) is not list or len(value) != HISTORY_HOURS:
            got = f"{len(value)} values" if isinstance(value, list) else _describe(value)
            errors.add(rows[k], "historical_bikes",
                       f"must be a list of {HISTORY_HOURS} hourly bike counts (oldest first), got {got}")
        elif not set(map(type, value)) <= _HISTORY_TYPES:
            i, bad = next((i, v) for i, v in enumerate(value) if type(v) not in _HISTORY_TYPES)
            errors.add(rows[k], f"historical_bikes[{i}]",
                       f"must be a number >= 0, or null for a missing hour, got {_describe(bad)}")
        else:
            usable.append(k)
    if len(usable) == len(values):
        history = _to_float_array(values)
    else:
        history = np.zeros((len(values), HISTORY_HOURS))
        if usable:
            history[usable] = _to_float_array([values[k] for k in usable])
    if len(history) and history.min() >= 0 and history.max() < math.inf:
        return history  # no null, NaN, infinity or negative: the common case, in two reductions
    missing = np.isnan(history).sum(axis=1)
    infinite = np.isinf(history)
    negative = history < 0
    for bad in np.flatnonzero(infinite.any(axis=1) | negative.any(axis=1) | (missing > MAX_MISSING_HOURS)):
        k, row = int(bad), rows[int(bad)]
        if k not in usable:
            continue
        if infinite[k].any():
            errors.add(row, f"historical_bikes[{int(np.flatnonzero(infinite[k])[0])}]", "must be a finite number")
        elif negative[k].any():
            col = int(np.flatnonzero(negative[k])[0])
            errors.add(row, f"historical_bikes[{col}]", f"must be >= 0, got {history[k, col]:g}")
        else:
            errors.add(row, "historical_bikes",
                       f"{int(missing[k])} missing hours (null); at most {MAX_MISSING_HOURS} can be imputed")
    return history


def _to_float_array(rows: list[list[Any]]) -> np.ndarray:
    """null becomes NaN; an integer too large for a float64 is as bad as infinity, and becomes it."""
    try:
        return np.array(rows, dtype=np.float64)
    except OverflowError:
        return np.array([[math.inf if type(v) is int and abs(v) > 1e308 else v for v in row] for row in rows],
                        dtype=np.float64)


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


def time_features(hour: np.ndarray, day_of_week: np.ndarray, is_weekend: np.ndarray,
                  out: np.ndarray | None = None) -> np.ndarray:
    """Cyclical encodings, so 23:00 sits next to 00:00 and Sunday next to Monday."""
    out = np.empty((len(hour), TIME_FEATURES)) if out is None else out
    hour_angle = hour * (2.0 * np.pi / 24.0)
    day_angle = day_of_week * (2.0 * np.pi / 7.0)
    out[:, 0] = np.sin(hour_angle)
    out[:, 1] = np.cos(hour_angle)
    out[:, 2] = np.sin(day_angle)
    out[:, 3] = np.cos(day_angle)
    out[:, 4] = is_weekend
    return out


def build_features(history: np.ndarray, hour: np.ndarray, day_of_week: np.ndarray, is_weekend: np.ndarray,
                   capacity: np.ndarray, latitude: np.ndarray, longitude: np.ndarray, station_index: np.ndarray,
                   scaler: FeatureScaler) -> ModelInputs:
    """Array form of preprocessing: what the endpoint does per request, training does per window.

    Written against preallocated arrays: for one station, numpy's per-call overhead is the cost.
    """
    count = len(history)
    missing = np.isnan(history)
    cap = capacity.astype(np.float64)[:, None]
    sequence = np.empty((count, history.shape[1], 2), dtype=np.float32)
    sequence[:, :, 0] = np.minimum(impute_history(history) if missing.any() else history, cap) / cap
    sequence[:, :, 1] = missing
    static = np.empty((count, len(STATIC_FEATURES) + TIME_FEATURES), dtype=np.float32)
    static[:, :len(STATIC_FEATURES)] = scaler.transform(np.stack([capacity, latitude, longitude], axis=1))
    time_features(hour, day_of_week, is_weekend, out=static[:, len(STATIC_FEATURES):])
    return ModelInputs(history=torch.from_numpy(sequence), station=torch.from_numpy(station_index.astype(np.int64)),
                       static=torch.from_numpy(static))


def preprocess_input(batch: StationBatch, bundle: ModelBundle) -> tuple[ModelInputs, RequestNotes]:
    """Turn validated requests into model inputs, through the same path training uses, and note what was done."""
    index = np.array([bundle.stations.index.get(code, -1) for code in batch.station_code])
    known = index >= 0
    index[~known] = bundle.stations.unknown_index
    inputs = build_features(batch.history, batch.hour, batch.day_of_week, batch.is_weekend, batch.capacity,
                            batch.latitude, batch.longitude, index, bundle.scaler)
    notes = RequestNotes(station_known=known, imputed_hours=np.isnan(batch.history).sum(axis=1),
                         clipped_hours=(batch.history > batch.capacity[:, None]).sum(axis=1))
    return inputs, notes


def predict_occupancy(model: VelibForecaster, inputs: ModelInputs) -> np.ndarray:
    """Forward pass; returns the predicted occupancy ratio for each horizon."""
    with torch.inference_mode():
        return model(inputs.history, inputs.station, inputs.static).numpy()


def warm_up(bundle: ModelBundle) -> None:
    """One throw-away forward pass at load time, so the first real request does not pay torch's lazy set-up."""
    one = np.ones(1)
    inputs = build_features(np.ones((1, HISTORY_HOURS)), one, one, np.zeros(1, dtype=bool), one * 20,
                            one * LATITUDE_RANGE[0], one * LONGITUDE_RANGE[0],
                            np.array([bundle.stations.unknown_index]), bundle.scaler)
    predict_occupancy(bundle.model, inputs)


# ----------------------------------------------------------------------------- response


def occupancy_to_bikes(occupancy: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Bike counts in [0, capacity], rounded to 4 decimals (training scores these exact numbers)."""
    cap = capacity.astype(np.float64)[:, None]
    return np.round(np.clip(occupancy.astype(np.float64) * cap, 0.0, cap), 4)


def _warnings(code: str, known: bool, imputed: int, clipped: int) -> list[str]:
    warnings = []
    if not known:
        warnings.append(f"unknown station_code '{code}': predicted with the shared unknown-station embedding")
    if imputed:
        warnings.append(f"historical_bikes: {imputed} missing hours imputed")
    if clipped:
        warnings.append(f"historical_bikes: {clipped} counts above capacity clipped")
    return warnings


def postprocess_output(occupancy: np.ndarray, batch: StationBatch, notes: RequestNotes, version: str,
                       elapsed_ms: float) -> list[dict[str, Any]]:
    """One response object per request, in request order."""
    bikes = occupancy_to_bikes(occupancy, batch.capacity).tolist()
    elapsed = round(elapsed_ms, 3)
    per_request = zip(notes.station_known.tolist(), notes.imputed_hours.tolist(), notes.clipped_hours.tolist(),
                      strict=True)
    return [{
        "station_code": code,
        "predictions": dict(zip(HORIZON_KEYS, values, strict=True)),
        "inference_time_ms": elapsed,
        "model_version": version,
        "station_known": known,
        "warnings": _warnings(code, known, imputed, clipped) if not known or imputed or clipped else [],
    } for code, values, (known, imputed, clipped) in zip(batch.station_code, bikes, per_request, strict=True)]
