"""A small client for the endpoint, for a web backend: typed results, batching, retries, a cache.

Errors come in three kinds a web app maps to HTTP statuses: BadRequestError (400: the model's
own message, naming the field), EndpointUnavailableError (503: throttled, cold start timed out,
not found, after botocore's retries) and ModelFailureError (500).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import boto3
import boto3.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from forecast_contract import MAX_BATCH, MAX_PAYLOAD_BYTES

DEFAULT_CACHE_TTL_SECONDS = 300.0
_COMPACT = (",", ":")  # a 1,500-station body is a fifth smaller than with json's default spaces
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_LOCAL_REGION = "eu-west-3"
UNAVAILABLE_CODES = {"ThrottlingException", "ServiceUnavailable", "ModelNotReadyException",
                     "InternalDependencyException", "InternalFailure"}


class EndpointError(RuntimeError):
    """Base of the three kinds; `status` is the HTTP status a web app should answer with."""

    status = 500


@dataclass(frozen=True)
class FieldProblem:
    """One bad field of a rejected request, as the endpoint names it (`instances[17].hour`)."""

    field: str
    problem: str


class BadRequestError(EndpointError):
    """The endpoint refused the request; `fields` says which field is wrong and why, for a form to show."""

    status = 400

    def __init__(self, message: str, fields: Sequence[FieldProblem] = ()) -> None:
        super().__init__(message)
        self.fields = list(fields)


class EndpointUnavailableError(EndpointError):
    status = 503


class ModelFailureError(EndpointError):
    status = 500


@dataclass(frozen=True)
class Forecast:
    station_code: str
    predictions: dict[str, float]
    inference_time_ms: float
    model_version: str
    station_known: bool
    warnings: list[str] = field(default_factory=list)
    variant: str | None = None  # the production variant that answered (InvokeEndpoint's InvokedProductionVariant)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], variant: str | None = None) -> Forecast:
        return cls(str(data["station_code"]), {k: float(v) for k, v in data["predictions"].items()},
                   float(data["inference_time_ms"]), str(data["model_version"]), bool(data["station_known"]),
                   list(data.get("warnings", [])), variant)


class TtlCache:
    """Keyed by the whole request: station and hour alone would serve another history's answer.

    `clock` tells the time entries expire by; a test passes its own so that expiry needs no sleeping.
    """

    def __init__(self, ttl_seconds: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.max_entries, self.clock = ttl_seconds, max_entries, clock
        self.entries: OrderedDict[str, tuple[float, Forecast]] = OrderedDict()
        self.lock = threading.Lock()

    @staticmethod
    def key(request: Mapping[str, Any]) -> str:
        return json.dumps(request, sort_keys=True, separators=_COMPACT)

    def get(self, key: str) -> Forecast | None:
        with self.lock:
            hit = self.entries.get(key)
            if hit is None or hit[0] < self.clock():
                self.entries.pop(key, None)
                return None
            self.entries.move_to_end(key)
            return hit[1]

    def put(self, key: str, value: Forecast) -> None:
        with self.lock:
            self.entries[key] = (self.clock() + self.ttl, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)


def batches(requests: Sequence[Mapping[str, Any]], max_bytes: int = MAX_PAYLOAD_BYTES,
            max_count: int = MAX_BATCH) -> list[list[Mapping[str, Any]]]:
    """Split in order into bodies that fit the payload cap and the endpoint's batch limit."""
    overhead = len(b'{"instances":[]}')
    out: list[list[Mapping[str, Any]]] = []
    current: list[Mapping[str, Any]] = []
    size = overhead
    for request in requests:
        item = len(json.dumps(request, separators=_COMPACT).encode()) + 1
        if item + overhead > max_bytes:
            raise BadRequestError(f"one request alone is {item} bytes, over the {max_bytes} byte payload cap")
        if current and (size + item > max_bytes or len(current) == max_count):
            out.append(current)
            current, size = [], overhead
        current.append(request)
        size += item
    if current:
        out.append(current)
    return out


class ForecastClient:
    """Calls InvokeEndpoint with botocore's retries (standard or adaptive) and explicit timeouts."""

    def __init__(self, endpoint_name: str, *, region: str | None = None, endpoint_url: str | None = None,
                 retry_mode: str = "standard", max_attempts: int = 4, connect_timeout: float = 5.0,
                 read_timeout: float = 70.0, cache_ttl_seconds: float | None = DEFAULT_CACHE_TTL_SECONDS,
                 cache_entries: int = 10_000, runtime_client: Any = None,
                 clock: Callable[[], float] = time.monotonic, target_variant: str | None = None) -> None:
        """`target_variant` sends every request to that production variant of a multi-variant endpoint, past its
        weights: how the collector asks the champion and the challenger of one real-time endpoint in turn."""
        if retry_mode not in ("standard", "adaptive"):
            raise ValueError(f"retry_mode: must be 'standard' or 'adaptive', got {retry_mode!r}")
        self.endpoint_name = endpoint_name
        self.target_variant = target_variant
        config = Config(retries={"mode": retry_mode, "total_max_attempts": max_attempts},
                        connect_timeout=connect_timeout, read_timeout=read_timeout)
        self.runtime = runtime_client or _runtime_client(region, endpoint_url, config)
        self.cache = TtlCache(cache_ttl_seconds, cache_entries, clock) if cache_ttl_seconds else None

    def predict(self, request: Mapping[str, Any]) -> Forecast:
        return self.predict_many([request])[0]

    def predict_many(self, requests: Sequence[Mapping[str, Any]]) -> list[Forecast]:
        """Forecasts in request order; cached answers are not asked again."""
        results: list[Forecast | None] = [None] * len(requests)
        missing: list[int] = []
        for i, request in enumerate(requests):
            cached = self.cache.get(TtlCache.key(request)) if self.cache else None
            if cached is None:
                missing.append(i)
            else:
                results[i] = cached
        position = 0
        for batch in batches([requests[i] for i in missing]):
            for forecast in self._invoke(batch):
                index = missing[position]
                results[index] = forecast
                if self.cache:
                    self.cache.put(TtlCache.key(requests[index]), forecast)
                position += 1
        return [r for r in results if r is not None]

    def _invoke(self, batch: list[Mapping[str, Any]]) -> list[Forecast]:
        body = json.dumps(batch[0] if len(batch) == 1 else {"instances": batch}, separators=_COMPACT)
        try:
            target = {"TargetVariant": self.target_variant} if self.target_variant else {}
            response = self.runtime.invoke_endpoint(EndpointName=self.endpoint_name, Body=body,
                                                    ContentType="application/json", Accept="application/json",
                                                    **target)
            answer = json.loads(response["Body"].read())
        except ClientError as exc:
            raise classify(exc) from exc
        except BotoCoreError as exc:  # timeouts, connection and credential errors, after the retries
            raise EndpointUnavailableError(f"endpoint {self.endpoint_name} unreachable: {exc}") from exc
        items = answer if isinstance(answer, list) else [answer]
        if len(items) != len(batch):
            raise ModelFailureError(f"asked for {len(batch)} forecasts, got {len(items)}")
        variant = response.get("InvokedProductionVariant")
        return [Forecast.from_json(item, variant) for item in items]


def _runtime_client(region: str | None, endpoint_url: str | None, config: Config) -> Any:
    """A local endpoint checks no signature, so it needs neither a configured region nor credentials."""
    session = boto3.session.Session()
    local = bool(endpoint_url) and urlparse(endpoint_url or "").hostname in LOOPBACK_HOSTS
    region = region or session.region_name or (DEFAULT_LOCAL_REGION if local else None)
    if region is None:
        raise EndpointUnavailableError("no AWS region: pass region=, or set AWS_REGION / AWS_DEFAULT_REGION")
    credentials = {} if not local or session.get_credentials() else {
        "aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return session.client("sagemaker-runtime", region_name=region, endpoint_url=endpoint_url, config=config,
                          **credentials)


def classify(error: ClientError) -> EndpointError:
    """Map a botocore error onto the three kinds, keeping the model's own message for a 4xx."""
    response: Any = error.response
    code = response.get("Error", {}).get("Code", "")
    message = response.get("Error", {}).get("Message", str(error))
    if code == "ModelError":
        status = int(response.get("OriginalStatusCode") or 500)
        original, fields = _error_body(str(response.get("OriginalMessage") or message))
        if 400 <= status < 500:
            return BadRequestError(original, fields)
        return ModelFailureError(f"the model failed ({status}): {original}")
    if code in UNAVAILABLE_CODES or (code == "ValidationError" and "not found" in message):
        return EndpointUnavailableError(f"{code}: {message}")
    if code == "ValidationError":
        return BadRequestError(message)
    return ModelFailureError(f"{code}: {message}")


def _error_body(text: str) -> tuple[str, list[FieldProblem]]:
    """The endpoint's JSON error body ({"error": {"message", "fields"}}); any other text is the message itself."""
    try:
        error = json.loads(text)["error"]
        return str(error["message"]), [FieldProblem(str(f["field"]), str(f["problem"])) for f in error["fields"]]
    except (ValueError, KeyError, TypeError):
        return text.split("\n", 1)[0], []
