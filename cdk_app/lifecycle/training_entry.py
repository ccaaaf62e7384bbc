"""The training job's script-mode entry point: `sagemaker_program` in AWS, and under the same toolkit locally.

The toolkit hands it everything through the environment: the hyperparameters (SM_HPS, a JSON object; SM_HP_<NAME>
one by one where SM_HPS is absent), the training channel's folder (SM_CHANNEL_TRAINING; without a channel it trains
on the simulator, as `python -m cdk_app train` does) and the folder whose files become the model (SM_MODEL_DIR).
The toolkit also repeats the hyperparameters as command-line arguments; they are ignored, so there is one source.

An expected failure is printed as one line, `ValueError: <what, naming the field or file>`, and exits 1: the
toolkit recognises the error name and makes that line the job's FailureReason, with no traceback around it.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from cdk_app.training.trainer import TrainingSettings

HP_PREFIX = "SM_HP_"


def hyperparameters(environ: Mapping[str, str]) -> dict[str, Any]:
    """SM_HPS, or else each SM_HP_<NAME>; values arrive JSON-encoded, strings possibly bare."""
    if "SM_HPS" in environ:
        try:
            decoded = json.loads(environ["SM_HPS"])
        except ValueError:
            raise ValueError(f"SM_HPS: not a JSON object: {environ['SM_HPS']!r}") from None
        if not isinstance(decoded, dict):
            raise ValueError(f"SM_HPS: not a JSON object: {environ['SM_HPS']!r}")
        return decoded
    found: dict[str, Any] = {}
    for key, value in environ.items():
        if key.startswith(HP_PREFIX):
            name = key.removeprefix(HP_PREFIX).lower()
            try:
                found[name] = json.loads(value)
            except ValueError:
                found[name] = value
    return found


def settings_from(hps: Mapping[str, Any]) -> TrainingSettings:
    """TrainingSettings from hyperparameters: names and types checked, each bad one named."""
    defaults = TrainingSettings()
    known = [f.name for f in fields(defaults)]
    values: dict[str, Any] = {}
    for name, raw in hps.items():
        if name not in known:
            raise ValueError(f"hyperparameter {name!r}: unknown; the trainer takes {', '.join(known)}")
        values[name] = _coerce(name, raw, type(getattr(defaults, name)))
    settings = TrainingSettings(**values)
    try:
        settings.validate()
    except ValueError as exc:
        raise ValueError(f"hyperparameter {exc}") from None
    return settings


def _coerce(name: str, raw: Any, kind: type[int] | type[float]) -> int | float:
    """A number, or a string holding one (SageMaker passes strings); never a bool or a fraction for an int."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            or (kind is int and value != int(value))):
        raise ValueError(f"hyperparameter {name!r}: must be {'an integer' if kind is int else 'a number'}, "
                         f"got {raw!r}")
    return kind(value)


def run(environ: Mapping[str, str]) -> dict[str, Any]:
    """Train as the environment says; returns the metrics."""
    from cdk_app.lifecycle.channel import read_channel
    from cdk_app.training.trainer import train

    if "SM_MODEL_DIR" not in environ:
        raise ValueError("SM_MODEL_DIR: not set; the SageMaker training toolkit sets it to the model folder")
    settings = settings_from(hyperparameters(environ))
    channel = environ.get("SM_CHANNEL_TRAINING")
    network = read_channel(Path(channel)) if channel else None
    return train(settings, Path(environ["SM_MODEL_DIR"]), network)


def main() -> int:
    try:
        metrics = run(os.environ)
    except (ValueError, OSError) as exc:
        # the builtin name (ChannelError is a ValueError): the toolkit only recognises those
        builtin = next(c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins")
        print(f"{builtin}: {exc}", file=sys.stderr, flush=True)
        return 1
    print(json.dumps(metrics["horizons"], indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
