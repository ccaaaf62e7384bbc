"""The API's one shared resource: the endpoint client with its cache, rate limiter and last known state.

Routes receive it through FastAPI's dependency injection, so a user who mounts `router` in an app of their
own sets `app.state.forecasts = ForecastService(settings)` and gets the same behaviour.
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError

from cdk_app.client.forecast_client import (
    BadRequestError,
    EndpointUnavailableError,
    FieldProblem,
    Forecast,
    ForecastClient,
    ModelFailureError,
)
from cdk_app.deployment.config import LOCAL_ENDPOINT_NAME
from cdk_app.live_data.blobs import open_blobs
from cdk_app.live_data.history import History
from cdk_app.web_api.history_cache import HistoryCache
from cdk_app.web_api.shared_state import shared_state
from cdk_app.web_api.station_source import JsonStations, SimulatedStations, StationHistory, StationSource

RETRY_AFTER_SECONDS = 10  # a serverless cold start takes a few seconds; throttling clears as fast
_INDEXED = re.compile(r"^instances\[(\d+)\]\.(.+)$")
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ApiSettings:
    endpoint_name: str = LOCAL_ENDPOINT_NAME
    endpoint_url: str | None = None
    region: str | None = None
    redis_url: str | None = None
    rate_limit: str = "100/hour"
    trusted_proxies: tuple[IpNetwork, ...] = ()
    cache_ttl_seconds: float = 300.0
    endpoint_timeout_seconds: float = 30.0
    stations_file: Path | None = None
    history: str | None = None  # a collected history (folder or s3://bucket/prefix): stations and stored forecasts


def parse_proxies(text: str) -> tuple[IpNetwork, ...]:
    """`10.0.0.0/8,127.0.0.1`: the addresses whose X-Forwarded-For is believed."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"--trusted-proxies: {exc}") from None


@dataclass
class EndpointState:
    """What the last real request learned about the endpoint; /health reports it without an inference."""

    state: str = "unknown"
    at: str | None = None
    detail: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, state: str, detail: str | None = None) -> None:
        with self.lock:
            self.state, self.detail = state, detail
            self.at = datetime.now(UTC).isoformat(timespec="seconds")

    def as_dict(self) -> dict[str, object]:
        return {"state": self.state, "at": self.at, "detail": self.detail}


class ForecastService:
    def __init__(self, settings: ApiSettings, source: StationSource | None = None) -> None:
        self.settings = settings
        self.client = ForecastClient(settings.endpoint_name, region=settings.region,
                                     endpoint_url=settings.endpoint_url, cache_ttl_seconds=None,
                                     read_timeout=settings.endpoint_timeout_seconds, max_attempts=2)
        self.cache, self.limiter = shared_state(settings.redis_url, settings.rate_limit, settings.cache_ttl_seconds)
        self.source = source or (JsonStations(settings.stations_file) if settings.stations_file
                                 else SimulatedStations())
        self.live = HistoryCache(History(open_blobs(settings.history, settings.region))) if settings.history else None
        self.endpoint = EndpointState()

    def client_address(self, request: Request) -> str:
        """The peer, or the address it forwards for when the peer is a trusted proxy (rightmost untrusted hop)."""
        peer = request.client.host if request.client else "unknown"
        if not self._trusted(peer):
            return peer
        hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else peer

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.settings.trusted_proxies)

    def forecasts(self, requests: Sequence[dict[str, Any]], request: Request, batch: bool) -> list[Forecast]:
        """Cached answers where there are some, one endpoint call for the rest; 422/502/503 as HTTP errors."""
        results = self.cache.get_many(requests)
        misses = [i for i, found in enumerate(results) if found is None]
        request.state.cache = "miss" if misses else "hit"
        if misses:
            started = time.perf_counter()
            try:
                answered = self.client.predict_many([requests[i] for i in misses])
            except BadRequestError as error:
                self.endpoint.record("ok")
                raise RequestValidationError(endpoint_field_errors(error, misses, batch)) from None
            except EndpointUnavailableError as error:  # the detail (addresses, codes) stays in /health
                self.endpoint.record("unavailable", str(error))
                raise HTTPException(503, "the forecast endpoint is unavailable: cold, throttled or down",
                                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None
            except ModelFailureError as error:
                self.endpoint.record("failing", str(error))
                raise HTTPException(502, f"the forecast model failed: {error}") from None
            finally:
                request.state.endpoint_ms = round((time.perf_counter() - started) * 1000, 3)
            self.endpoint.record("ok")
            fresh = list(zip(misses, answered, strict=True))
            for i, forecast in fresh:
                results[i] = forecast
            self.cache.put_many([(requests[i], forecast) for i, forecast in fresh])
        return [r for r in results if r is not None]

    def station(self, code: str) -> StationHistory:
        found = next((s for s in self.source.stations() if s.station_code == code), None)
        if found is None:
            raise HTTPException(404, f"no station {code}")
        return found


def endpoint_field_errors(error: BadRequestError, sent: list[int], batch: bool) -> list[dict[str, Any]]:
    """The endpoint's field list in FastAPI's own format, with `loc` pointing into the caller's body."""
    problems = error.fields or [FieldProblem("request body", str(error))]
    return [{"type": "endpoint_rejected", "loc": _location(p.field, sent, batch), "msg": p.problem, "input": None}
            for p in problems]


def _location(name: str, sent: list[int], batch: bool) -> list[str | int]:
    match = _INDEXED.match(name)
    index, rest = (sent[int(match.group(1))], match.group(2)) if match else (sent[0], name)
    parts: list[str | int] = [int(n) if n else w for w, n in _PART.findall(rest)]
    return ["body", "instances", index, *parts] if batch else ["body", *parts]
