"""Train/serve parity: the handlers, fed the held-out week, reproduce metrics.json."""

from __future__ import annotations

import json
from dataclasses import fields

import model_utils
import numpy as np
import pytest
from support.handler_driver import Toolkit

from cdk_app.paths import ARTIFACTS_DIR
from cdk_app.training.simulator import simulate
from cdk_app.training.trainer import TrainingSettings, heldout_windows, score
from cdk_app.training.window_requests import request_batches


def _settings() -> TrainingSettings:
    """The settings config.json records; one it predates (shuffle_labels) keeps its default."""
    recorded = json.loads((ARTIFACTS_DIR / "config.json").read_text())["training"]
    return TrainingSettings(**{f.name: recorded[f.name] for f in fields(TrainingSettings) if f.name in recorded})


def test_handlers_reproduce_the_heldout_metrics() -> None:
    settings = _settings()
    net = simulate(settings.stations, settings.days, settings.seed)
    windows = heldout_windows(net, settings)
    metrics = json.loads((ARTIFACTS_DIR / "metrics.json").read_text())
    assert metrics["heldout"]["windows"] == len(windows)

    toolkit = Toolkit()
    predicted: list[list[float]] = []
    for batch in request_batches(net, windows):
        response = toolkit.invoke(json.dumps({"instances": batch}))
        assert response.status == 200, response.body[:300]
        predicted.extend([item["predictions"][k] for k in model_utils.HORIZON_KEYS] for item in response.json())

    served = score(np.array(predicted), windows.targets)
    for key in model_utils.HORIZON_KEYS:
        for measure in ("r2", "mae"):
            assert served[key][measure] == pytest.approx(metrics["horizons"][key]["model"][measure], abs=1e-4)
