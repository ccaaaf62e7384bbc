"""Drives the handlers through the toolkit's own Transformer and TorchServe's own request context, in process.

This is the code path the container runs for each request (sagemaker-inference's Transformer.transform,
with its decoding, accept defaults and error handling), minus the sockets: fast enough for tens of
thousands of bodies, and a status or body that differs from the container's would be the toolkit's doing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sagemaker_inference.transformer import Transformer
from sagemaker_pytorch_serving_container.default_pytorch_inference_handler import DefaultPytorchInferenceHandler
from ts.context import Context, RequestProcessor

from cdk_app.paths import ARTIFACTS_DIR


@dataclass(frozen=True)
class Response:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


class Toolkit:
    """One worker's handler service: the model loads on the first request, as in TorchServe."""

    def __init__(self, model_dir: str = str(ARTIFACTS_DIR)) -> None:
        self.transformer = Transformer(default_inference_handler=DefaultPytorchInferenceHandler())
        self.context = Context("model", model_dir, {}, 1, None, "0.12.0")

    def invoke(self, body: str | bytes, content_type: str | None = "application/json",
               accept: str | None = "application/json") -> Response:
        headers = {name: value for name, value in (("Content-Type", content_type), ("Accept", accept)) if value}
        self.context.request_processor = [RequestProcessor(headers)]
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        (answer,) = self.transformer.transform([{"body": bytearray(data)}], self.context)
        status, _ = self.context.get_response_status(0)
        return Response(status, answer.decode() if isinstance(answer, (bytes, bytearray)) else str(answer))

