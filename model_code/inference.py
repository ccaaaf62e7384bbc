"""SageMaker handlers for the Velib' forecaster, kept thin: the logic lives in model_utils.

Every answer, an error too, is JSON written by these handlers. The toolkit passes its request
context to handlers that take one, and an error sets the response status through it: a raised
exception would reach the toolkit's handle_error, which appends a Python traceback to the body
(sagemaker-inference 1.10.1, transformer.py, Transformer.handle_error), and any exception other
than its own becomes a 500.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol

import numpy as np
import torch
from model_utils import (
    FieldProblem,
    InvalidInputError,
    ModelBundle,
    RequestNotes,
    StationBatch,
    error_body,
    load_model_artifacts,
    parse_body,
    postprocess_output,
    predict_occupancy,
    preprocess_input,
    validate_input,
    warm_up,
)
from sagemaker_inference import content_types
from sagemaker_inference.errors import GenericInferenceToolkitError

JSON = "application/json"
# sagemaker-inference 1.10.1, transformer.py line 139 (Transformer.transform) decodes a body sent as exactly
# application/json or text/csv with UTF-8 before any handler runs, so bad bytes became a 500 with a traceback.
# An empty list hands input_fn the raw bytes of every body: it answers 415 or decodes them (parse_body, 400).
content_types.UTF8_TYPES = []
_SERVER_PATH = re.compile(r"(?:/[\w.+-]+)+/")


class ResponseContext(Protocol):
    """The part of TorchServe's request context an error answer needs."""

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None: ...


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


@dataclass(frozen=True)
class Refusal:
    """An error answer on its way to output_fn: its status and its JSON body."""

    status: int
    body: str

    @classmethod
    def of(cls, error: InvalidInputError) -> Refusal:
        return cls(error.status, error.body())


def _media_type(header: str | None) -> str | None:
    return header.split(";", 1)[0].strip().lower() if header else None


def model_fn(model_dir: str) -> ModelBundle:
    """Load once per worker. One thread: for a model this small, thread hand-offs cost more than they save."""
    torch.set_num_threads(1)
    bundle = load_model_artifacts(model_dir)
    warm_up(bundle)
    return bundle


def input_fn(input_data: str | bytes, content_type: str | None, context: ResponseContext | None = None
             ) -> ParsedRequest | Refusal:
    started = time.perf_counter()
    try:
        if _media_type(content_type) not in (None, JSON):
            raise InvalidInputError.one("Content-Type", f"'{content_type}' is not supported; send {JSON}", status=415)
        return ParsedRequest(validate_input(parse_body(input_data)), started)
    except InvalidInputError as error:
        return Refusal.of(error)


def predict_fn(parsed: ParsedRequest | Refusal, model: ModelBundle, context: ResponseContext | None = None
               ) -> Prediction | Refusal:
    if isinstance(parsed, Refusal):
        return parsed
    try:
        inputs, notes = preprocess_input(parsed.batch, model)
        occupancy = predict_occupancy(model.model, inputs)
    except Exception as exc:  # the model itself failed: say what, but not where on the server
        message = _SERVER_PATH.sub("", f"the model failed: {type(exc).__name__}: {exc}")
        return Refusal(500, error_body(500, message, []))
    return Prediction(parsed, notes, occupancy, model.version)


def output_fn(prediction: Prediction | Refusal, accept: str | None, context: ResponseContext | None = None
              ) -> tuple[str, str]:
    if isinstance(prediction, Prediction) and _media_type(accept) not in (None, JSON, "*/*"):
        problem = FieldProblem("Accept", f"'{accept}' is not supported; accept {JSON}")
        prediction = Refusal(406, error_body(406, str(problem), [problem]))
    if isinstance(prediction, Refusal):
        return _refuse(prediction, context), JSON
    elapsed_ms = (time.perf_counter() - prediction.parsed.started) * 1000.0
    batch = prediction.parsed.batch
    results: Any = postprocess_output(prediction.occupancy, batch, prediction.notes, prediction.version,
                                      elapsed_ms)
    return json.dumps(results if batch.is_batch else results[0]), JSON


def _refuse(refusal: Refusal, context: ResponseContext | None) -> str:
    """Set the status through the toolkit's context; a caller without one gets the toolkit's own exception."""
    if context is None:
        raise GenericInferenceToolkitError(refusal.status, refusal.body)
    context.set_response_status(refusal.status, HTTPStatus(refusal.status).phrase)  # user text stays in the body
    return refusal.body
