"""The API's one shared resource: the endpoint clients with their cache, rate limiter and last known states.

Routes receive it through FastAPI's dependency injection, so a user who mounts `router` in an app of their
own sets `app.state.forecasts = ForecastService(settings)` and gets the same behaviour.

With a challenger endpoint (a serverless A/B, where SageMaker cannot split the traffic) each station is served
by its side of the split (variant_split), and a request with stations on both sides costs one call to each.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
from cdk_app.deployment.config import CHALLENGER, CHAMPION, LOCAL_ENDPOINT_NAME, DeploymentConfig
from cdk_app.live_data.blobs import open_blobs
from cdk_app.live_data.history import History
from cdk_app.web_api.history_cache import HistoryCache
from cdk_app.web_api.schemas import SideHealth
from cdk_app.web_api.shared_state import shared_state
from cdk_app.web_api.station_source import JsonStations, SimulatedStations, StationHistory, StationSource
from cdk_app.web_api.variant_split import DEFAULT_CHALLENGER_WEIGHT, VariantSplit

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
    # A serverless A/B: the challenger's own endpoint (None: no split), and the share of stations it serves.
    challenger_endpoint_name: str | None = None
    challenger_endpoint_url: str | None = None
    challenger_weight: float = DEFAULT_CHALLENGER_WEIGHT


def stage_challenger(config: DeploymentConfig) -> dict[str, Any]:
    """ApiSettings' challenger for the stage's own endpoint: the second endpoint of a serverless A/B. None in
    real-time mode, where SageMaker splits between the variants of the one endpoint, nor without a challenger."""
    if config.challenger is None or config.realtime is not None:
        return {}
    return {"challenger_endpoint_name": config.challenger_endpoint_name, "challenger_weight": config.challenger.weight}


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


class Side:
    """One endpoint the API calls, with what the last request learned of it: a side of the A/B, or the champion
    alone. Its answers' `variant` is its role in an A/B; else what the endpoint says (its production variant)."""

    def __init__(self, role: str, endpoint_name: str, endpoint_url: str | None, weight: float, labelled: bool,
                 settings: ApiSettings) -> None:
        self.role, self.endpoint_name, self.weight, self.labelled = role, endpoint_name, weight, labelled
        self.client = ForecastClient(endpoint_name, region=settings.region, endpoint_url=endpoint_url,
                                     cache_ttl_seconds=None, read_timeout=settings.endpoint_timeout_seconds,
                                     max_attempts=2)
        self.state = EndpointState()

    def invoke(self, requests: list[dict[str, Any]], sent: list[int], request: Request, batch: bool
               ) -> list[Forecast]:
        """The endpoint's forecasts, or its error as an HTTP one; `sent` are the caller's positions of `requests`."""
        started = time.perf_counter()
        try:
            answered = self.client.predict_many(requests)
        except BadRequestError as error:
            self.state.record("ok")
            raise RequestValidationError(endpoint_field_errors(error, sent, batch)) from None
        except EndpointUnavailableError as error:  # the detail (addresses, codes) stays in /health
            self.state.record("unavailable", str(error))
            raise HTTPException(503, "the forecast endpoint is unavailable: cold, throttled or down",
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None
        except ModelFailureError as error:
            self.state.record("failing", str(error))
            raise HTTPException(502, f"the forecast model failed: {error}") from None
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            request.state.endpoint_ms = round(getattr(request.state, "endpoint_ms", 0) + elapsed, 3)
        self.state.record("ok")
        return [replace(f, variant=self.role) for f in answered] if self.labelled else answered


class ForecastService:
    def __init__(self, settings: ApiSettings, source: StationSource | None = None) -> None:
        self.settings = settings
        challenger = settings.challenger_endpoint_name
        self.split = VariantSplit(settings.challenger_weight) if challenger else None
        weight = self.split.challenger_weight if self.split else 0.0
        self.sides = {CHAMPION: Side(CHAMPION, settings.endpoint_name, settings.endpoint_url, round(1 - weight, 6),
                                     labelled=bool(challenger), settings=settings)}
        if challenger:
            self.sides[CHALLENGER] = Side(CHALLENGER, challenger, settings.challenger_endpoint_url, weight,
                                          labelled=True, settings=settings)
        shared = shared_state(settings.redis_url, settings.rate_limit, settings.cache_ttl_seconds, split_name(settings))
        self.cache, self.limiter, self.served = shared.cache, shared.limiter, shared.served
        self.source = source or (JsonStations(settings.stations_file) if settings.stations_file
                                 else SimulatedStations())
        self.live = (HistoryCache(History(open_blobs(settings.history, settings.region)),
                                  self.split.role if self.split else None) if settings.history else None)
        self.endpoint = self.sides[CHAMPION].state  # what /health's `endpoint` has always reported

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
        """Each station from its side, in request order: cached answers where there are some, one endpoint call
        per side for the rest; 422/502/503 as HTTP errors. The log line names the sides (variants) that served."""
        sides = (self.split.partition([str(r["station_code"]) for r in requests]) if self.split
                 else {CHAMPION: list(range(len(requests)))})
        request.state.cache, request.state.variants = "hit", sorted(sides) if self.split else None
        results: list[Forecast | None] = [None] * len(requests)
        for role, positions in sides.items():
            for position, forecast in zip(positions, self._side_forecasts(self.sides[role], positions, requests,
                                                                          request, batch), strict=True):
                results[position] = forecast
        answers = [r for r in results if r is not None]
        request.state.variants = sorted({f.variant for f in answers if f.variant}) or None
        if self.split:
            self.served.add({role: len(positions) for role, positions in sides.items()})
        return answers

    def _side_forecasts(self, side: Side, positions: list[int], requests: Sequence[dict[str, Any]],
                        request: Request, batch: bool) -> list[Forecast]:
        asked = [requests[p] for p in positions]
        results = self.cache.get_many(asked, side.role)
        misses = [i for i, found in enumerate(results) if found is None]
        if misses:
            request.state.cache = "miss"
            fresh = list(zip(misses, side.invoke([asked[i] for i in misses], [positions[i] for i in misses],
                                                 request, batch), strict=True))
            for i, forecast in fresh:
                results[i] = forecast
            self.cache.put_many([(asked[i], forecast) for i, forecast in fresh], side.role)
        return [r for r in results if r is not None]

    def ab_health(self) -> dict[str, SideHealth] | None:
        """Each side's endpoint, weight, forecasts served and last known state; None without a split."""
        if self.split is None:
            return None
        served = self.served.totals(list(self.sides))
        return {role: SideHealth(endpoint=side.endpoint_name, weight=side.weight, forecasts=served[role],
                                 state=side.state.as_dict()) for role, side in self.sides.items()}

    def station(self, code: str) -> StationHistory:
        found = next((s for s in self.source.stations() if s.station_code == code), None)
        if found is None:
            raise HTTPException(404, f"no station {code}")
        return found


def split_name(settings: ApiSettings) -> str:
    """A short name for the split, its endpoints and weight: processes serving the same one count together."""
    parts = [settings.endpoint_name, settings.endpoint_url, settings.challenger_endpoint_name,
             settings.challenger_endpoint_url, settings.challenger_weight]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]


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
