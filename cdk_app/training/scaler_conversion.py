"""Converts a fitted scikit-learn scaler into the JSON the endpoint reads.

Unpickling runs arbitrary code, so it happens only here, on the user's own machine and file;
the endpoint itself only ever reads JSON.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import model_utils
import numpy as np

from cdk_app.atomic_files import write_json


def scaler_to_feature_scaler(scaler: Any, feature_names: Sequence[str] | None = None) -> model_utils.FeatureScaler:
    """Express StandardScaler, MinMaxScaler or RobustScaler as (x - mean) / scale."""
    kind = type(scaler).__name__
    if kind == "StandardScaler":
        count = int(scaler.n_features_in_)
        mean = scaler.mean_ if scaler.with_mean else np.zeros(count)
        scale = scaler.scale_ if scaler.with_std else np.ones(count)
    elif kind == "MinMaxScaler":
        mean, scale = -scaler.min_ / scaler.scale_, 1.0 / scaler.scale_
    elif kind == "RobustScaler":
        count = int(scaler.n_features_in_)
        mean = scaler.center_ if scaler.with_centering else np.zeros(count)
        scale = scaler.scale_ if scaler.with_scaling else np.ones(count)
    else:
        raise ValueError(f"unsupported scaler {kind}; use StandardScaler, MinMaxScaler or RobustScaler")
    names = list(feature_names) if feature_names else [str(n) for n in getattr(scaler, "feature_names_in_", [])]
    if len(names) != len(mean):
        raise ValueError(f"the scaler has {len(mean)} features; pass their names with --features "
                         f"(expected {','.join(model_utils.STATIC_FEATURES)})")
    return model_utils.FeatureScaler.from_dict(
        {"feature_names": names, "mean": [float(v) for v in mean], "scale": [float(v) for v in scale]})


def convert_pickle(source: Path, output: Path, feature_names: Sequence[str] | None) -> model_utils.FeatureScaler:
    with source.open("rb") as handle:
        scaler = pickle.load(handle)
    converted = scaler_to_feature_scaler(scaler, feature_names)
    write_json(output, converted.to_dict())
    return converted
