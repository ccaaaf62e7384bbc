"""Drives the four handlers the way sagemaker-inference's Transformer does, without a server.

The toolkit decodes the body to str only for exactly `application/json` or `text/csv`; any other
content type (`application/json; charset=utf-8`, None) arrives as bytes. A BaseInferenceToolkitError
becomes its own HTTP status; every other exception becomes a 500.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import inference
from sagemaker_inference.errors import BaseInferenceToolkitError

UTF8_TYPES = ("application/json", "text/csv")


@dataclass(frozen=True)
class Response:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def invoke(model: Any, body: str | bytes, content_type: str | None = "application/json",
           accept: str | None = "application/json") -> Response:
    data = body.encode() if isinstance(body, str) else body
    payload: str | bytes = data.decode("utf-8") if content_type in UTF8_TYPES else data
    if not accept or accept == "*/*":
        accept = "application/json"
    try:
        parsed = inference.input_fn(payload, content_type)
        prediction = inference.predict_fn(parsed, model)
        result = inference.output_fn(prediction, accept)
    except BaseInferenceToolkitError as exc:
        return Response(exc.status_code, exc.message)
    except Exception as exc:  # the toolkit answers 500 for anything else; tests assert it never happens
        return Response(500, f"{type(exc).__name__}: {exc}")
    return Response(200, result[0] if isinstance(result, tuple) else result)


def load_bundle() -> Any:
    """The shipped artifacts, as model_fn loads them in the container."""
    from cdk_app.paths import ARTIFACTS_DIR

    return inference.model_fn(str(ARTIFACTS_DIR))
