"""The routes (`router`, mountable in any FastAPI app) and `create_app()`, which adds the logging middleware.

Errors are never tracebacks: 422 in FastAPI's own `detail` format (the endpoint's field list included),
503 with Retry-After when the endpoint is unavailable, throttled or past its timeout, 502 when the model
fails, 429 with Retry-After past the rate limit.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cdk_app.client.forecast_client import Forecast
from cdk_app.web_api import live_stations
from cdk_app.web_api.forecasts import ApiSettings, ForecastService
from cdk_app.web_api.history_cache import PAST_HOURS, HistoryCache, HistoryState
from cdk_app.web_api.schemas import (
    Accuracy,
    BatchRequest,
    Health,
    PastForecasts,
    PredictionRequest,
    PredictionResponse,
    Station,
    StationForecast,
    StoredForecast,
)
from cdk_app.web_api.station_source import StationHistory

access_log = logging.getLogger("velib.api.access")


async def forecast_service(request: Request) -> ForecastService:
    service: ForecastService = request.app.state.forecasts
    return service


Service = Annotated[ForecastService, Depends(forecast_service)]


async def rate_limited(request: Request, service: Service) -> None:
    retry_after = await service.limiter.check(service.client_address(request))
    if retry_after is not None:
        raise HTTPException(429, f"rate limit of {service.settings.rate_limit} per client reached",
                            headers={"Retry-After": str(math.ceil(retry_after))})


router = APIRouter(dependencies=[Depends(rate_limited)])


def _answer(forecast: Forecast) -> PredictionResponse:
    return PredictionResponse.model_validate(forecast, from_attributes=True)


def _note(request: Request, response: Response, codes: list[str]) -> None:
    request.state.stations = codes
    response.headers["X-Cache"] = request.state.cache


@router.post("/predict", response_model=PredictionResponse, summary="Forecast one station (the guide's request)")
def predict(body: PredictionRequest, request: Request, response: Response, service: Service) -> PredictionResponse:
    (forecast,) = service.forecasts([body.to_endpoint()], request, batch=False)
    _note(request, response, [body.station_code])
    return _answer(forecast)


@router.post("/predict/batch", response_model=list[PredictionResponse],
             summary="Forecast up to 2,000 stations, answered in request order")
def predict_batch(body: BatchRequest, request: Request, response: Response,
                  service: Service) -> list[PredictionResponse]:
    forecasts = service.forecasts([r.to_endpoint() for r in body.instances], request, batch=True)
    _note(request, response, [r.station_code for r in body.instances])
    return [_answer(f) for f in forecasts]


def _station(history: StationHistory) -> Station:
    return Station(station_code=history.station_code, name=history.name, capacity=history.capacity,
                   latitude=history.latitude, longitude=history.longitude, bikes=history.bikes_now)


def _live_station(service: ForecastService, code: str) -> HistoryState:
    """The history's state, when it knows the station; else a 404."""
    assert service.live is not None
    state = service.live.state()
    if state is None or code not in state.latest.stations:
        raise HTTPException(404, f"no station {code}" + ("" if state else f" (no poll in {service.live.location} yet)"))
    return state


def _history_needed(service: ForecastService) -> HistoryCache:
    if service.live is None:
        raise HTTPException(409, "this needs a collected history: start the API with --history PATH")
    return service.live


# exclude_unset: without --history, a station has the same six fields as ever (no null reading fields).
@router.get("/stations", response_model=list[Station], response_model_exclude_unset=True,
            summary="The stations, with their latest count (and, with --history, their latest reading)")
def stations(service: Service) -> list[Station]:
    if service.live is not None:
        state = service.live.state()
        return [] if state is None else live_stations.stations(state)
    return [_station(s) for s in service.source.stations()]


@router.get("/stations/{code}/forecast", response_model=StationForecast, response_model_exclude_unset=True,
            summary="A station's forecast from its last 24 hours; with --history, the stored one, or why there is "
                    "none (status)")
def station_forecast(code: str, request: Request, response: Response, service: Service) -> StationForecast:
    if service.live is not None:
        request.state.stations = [code]
        return live_stations.station_forecast(_live_station(service, code), code)
    history = service.station(code)
    (forecast,) = service.forecasts([history.request()], request, batch=False)
    _note(request, response, [code])
    return StationForecast(station=_station(history), history=history.hourly_bikes, status="forecast",
                           last_hour=history.last_hour.isoformat(timespec="minutes"), forecast=_answer(forecast))


@router.get("/stations/{code}/past-forecasts", response_model=PastForecasts,
            summary="With --history: a station's last completed hours, each with what was forecast for it 1, 2 and "
                    "3 hours before")
def station_past_forecasts(code: str, request: Request, service: Service,
                           hours: Annotated[int, Query(ge=1, le=PAST_HOURS)] = PAST_HOURS) -> PastForecasts:
    _history_needed(service)
    request.state.stations = [code]
    return live_stations.past_forecasts(_live_station(service, code), code, hours)


@router.get("/forecasts", response_model=list[PredictionResponse | StoredForecast],
            summary="Every station's forecast (the page's map): in one endpoint call, or with --history the latest "
                    "stored forecasts")
def all_forecasts(request: Request, response: Response,
                  service: Service) -> list[PredictionResponse] | list[StoredForecast]:
    if service.live is not None:
        state = service.live.state()
        return [] if state is None else live_stations.forecasts(state)
    histories = service.source.stations()
    forecasts = service.forecasts([h.request() for h in histories], request, batch=True)
    _note(request, response, [h.station_code for h in histories])
    return [_answer(f) for f in forecasts]


@router.get("/accuracy", response_model=Accuracy,
            summary="With --history: every scored forecast's MAE per model version and horizon, beside persistence's; "
                    "with a challenger, the paired comparison and its verdict per horizon")
def live_accuracy(service: Service) -> Accuracy:
    return Accuracy.model_validate(_history_needed(service).accuracy())


health_router = APIRouter()


@health_router.get("/health", response_model=Health,
                   summary="The API's state, the endpoint's last known state, and an A/B's split")
def health(service: Service) -> Health:
    """Costs no inference: the endpoint's state is what the last real request learned (a probe that invoked
    the endpoint would bill, and would keep a serverless endpoint warm by accident)."""
    return Health(status="ok", endpoint=service.endpoint.as_dict(), cache=service.cache.backend,
                  rate_limit=service.limiter.backend, ab=service.ab_health())


class RequestLog:
    """One JSON line per request: id, stations, status, latency, cache, endpoint latency; never the body.

    Plain ASGI rather than @app.middleware("http"), which wraps every response in an extra task and stream.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1") or uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            state = scope.get("state", {})
            access_log.info(json.dumps({
                "request_id": request_id, "method": scope["method"], "path": scope["path"], "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3), "stations": state.get("stations"),
                "cache": state.get("cache"), "endpoint_ms": state.get("endpoint_ms"),
                "variants": state.get("variants")}))


class AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: a client's lone surrogate echoed in an error cannot break the encoding."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


async def validation_failed(request: Request, error: Exception) -> Response:
    """FastAPI's own 422 body (`detail`, with `loc` per field), rendered safely."""
    assert isinstance(error, RequestValidationError)
    return AsciiJSONResponse({"detail": jsonable_encoder(error.errors())}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """For an app that mounts `router` itself: the same 422 rendering as create_app's."""
    app.add_exception_handler(RequestValidationError, validation_failed)


def create_app(settings: ApiSettings, service: ForecastService | None = None) -> FastAPI:
    app = FastAPI(title="Velib' forecaster API", version="1.0.0", default_response_class=AsciiJSONResponse,
                  description="Bike counts at T+1h, T+2h and T+3h for Paris's Velib' stations, from a SageMaker "
                              "endpoint.")
    app.state.forecasts = service or ForecastService(settings)
    app.include_router(router)
    app.include_router(health_router)
    install_error_handlers(app)
    app.add_middleware(RequestLog)

    @app.get("/", include_in_schema=False)
    def docs_first() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app
