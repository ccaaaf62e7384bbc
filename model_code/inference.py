"""SageMaker handlers for the Velib' forecaster, kept thin: the logic lives in model_utils.

The toolkit turns any exception into a 500, so every client mistake is raised here as the
toolkit's own GenericInferenceToolkitError with a 4xx status and a message that names the field.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from model_utils import (
    InvalidInputError,
    ModelBundle,
    RequestNotes,
    StationBatch,
    load_model_artifacts,
    parse_json,
    postprocess_output,
    predict_occupancy,
    preprocess_input,
    validate_input,
    warm_up,
)
from sagemaker_inference.errors import GenericInferenceToolkitError

JSON = "application/json"


@dataclass(frozen=True)
class ParsedRequest:
    """What input_fn hands on: the validated requests, and when handling began."""

    batch: StationBatch
    started: float


@dataclass(frozen=True)
class Prediction:
    """What predict_fn hands on to output_fn."""

    parsed: ParsedRequest
    notes: RequestNotes
    occupancy: np.ndarray
    version: str


def _media_type(header: str | None) -> str | None:
    return header.split(";", 1)[0].strip().lower() if header else None


def model_fn(model_dir: str) -> ModelBundle:
    """Load once per worker. One thread: for a model this small, thread hand-offs cost more than they save."""
    torch.set_num_threads(1)
    bundle = load_model_artifacts(model_dir)
    warm_up(bundle)
    return bundle


def input_fn(input_data: str | bytes, content_type: str | None) -> ParsedRequest:
    started = time.perf_counter()
    media_type = _media_type(content_type)
    if media_type not in (None, JSON):
        raise GenericInferenceToolkitError(415, f"content type '{content_type}' is not supported; send {JSON}")
    try:
        text = input_data.decode("utf-8") if isinstance(input_data, (bytes, bytearray)) else input_data
    except UnicodeDecodeError as exc:
        raise GenericInferenceToolkitError(400, f"request body: not valid UTF-8 ({exc.reason})") from None
    if not text or not text.strip():
        raise GenericInferenceToolkitError(400, "request body: is empty; send a JSON object")
    try:
        payload = parse_json(text)
    except json.JSONDecodeError as exc:
        raise GenericInferenceToolkitError(400, f"request body: not valid JSON ({exc})") from None
    try:
        batch = validate_input(payload)
    except InvalidInputError as exc:
        raise GenericInferenceToolkitError(400, str(exc)) from None
    return ParsedRequest(batch, started)


def predict_fn(parsed: ParsedRequest, model: ModelBundle) -> Prediction:
    inputs, notes = preprocess_input(parsed.batch, model)
    return Prediction(parsed, notes, predict_occupancy(model.model, inputs), model.version)


def output_fn(prediction: Prediction, accept: str | None) -> tuple[str, str]:
    if _media_type(accept) not in (None, JSON, "*/*"):
        raise GenericInferenceToolkitError(406, f"accept '{accept}' is not supported; accept {JSON}")
    elapsed_ms = (time.perf_counter() - prediction.parsed.started) * 1000.0
    batch = prediction.parsed.batch
    results: Any = postprocess_output(prediction.occupancy, batch, prediction.notes, prediction.version,
                                      elapsed_ms)
    return json.dumps(results if batch.is_batch else results[0]), JSON
