"""The cache and the rate-limit counters: in process by default, in Redis when several API processes share them.

Libraries do the work: `limits` (moving window, memory or Redis storage) and redis-py. When Redis goes away,
requests are still answered: the cache is skipped, and the limiter fails OPEN (lets requests through), so
an outage of a cache never becomes an outage of the forecasts. Each is logged once per outage, and Redis is
used again as soon as it answers (redis-py reconnects on the next command).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, Protocol

import redis
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from cdk_app.client.forecast_client import Forecast, TtlCache

log = logging.getLogger("velib.api")
REDIS_TIMEOUT_SECONDS = 0.25  # a Redis that does not answer must not hold up a forecast
KEY_PREFIX = "velib-forecast"


class Outage:
    """Logs a backend's failure once, and its recovery once."""

    def __init__(self, what: str, consequence: str) -> None:
        self.what, self.consequence = what, consequence
        self.down = False
        self.lock = threading.Lock()

    def failed(self, error: Exception) -> None:
        with self.lock:
            if not self.down:
                self.down = True
                log.warning(json.dumps({"event": f"{self.what} unavailable", "consequence": self.consequence,
                                        "error": f"{type(error).__name__}: {error}"}))

    def worked(self) -> None:
        if self.down:
            with self.lock:
                self.down = False
                log.warning(json.dumps({"event": f"{self.what} available again"}))


class ForecastCache(Protocol):
    """Many at a time: a batch of 2,000 is one Redis round trip each way, not 2,000."""

    backend: str

    def get_many(self, requests: Sequence[Mapping[str, Any]]) -> list[Forecast | None]: ...

    def put_many(self, answers: Sequence[tuple[Mapping[str, Any], Forecast]]) -> None: ...


def cache_key(request: Mapping[str, Any]) -> str:
    """The whole request, canonically: station and hour alone would serve another history's answer."""
    return TtlCache.key(request)


class MemoryCache:
    backend = "memory"

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.entries = TtlCache(ttl_seconds, max_entries)

    def get_many(self, requests: Sequence[Mapping[str, Any]]) -> list[Forecast | None]:
        return [self.entries.get(cache_key(r)) for r in requests]

    def put_many(self, answers: Sequence[tuple[Mapping[str, Any], Forecast]]) -> None:
        for request, forecast in answers:
            self.entries.put(cache_key(request), forecast)


class RedisCache:
    backend = "redis"

    def __init__(self, client: redis.Redis, ttl_seconds: float) -> None:
        self.client, self.ttl = client, max(1, round(ttl_seconds))
        self.outage = Outage("redis cache", "answering without the cache")

    @staticmethod
    def _key(request: Mapping[str, Any]) -> str:
        return f"{KEY_PREFIX}:forecast:{hashlib.sha256(cache_key(request).encode()).hexdigest()}"

    def get_many(self, requests: Sequence[Mapping[str, Any]]) -> list[Forecast | None]:
        try:
            found = self.client.mget([self._key(r) for r in requests])
        except redis.RedisError as error:
            self.outage.failed(error)
            return [None] * len(requests)
        self.outage.worked()
        return [Forecast.from_json(json.loads(raw)) if raw else None for raw in found]

    def put_many(self, answers: Sequence[tuple[Mapping[str, Any], Forecast]]) -> None:
        pipeline = self.client.pipeline(transaction=False)
        for request, forecast in answers:
            pipeline.set(self._key(request), json.dumps(asdict(forecast)), ex=self.ttl)
        try:
            pipeline.execute()
        except redis.RedisError as error:
            self.outage.failed(error)


class RateLimiter:
    """A moving window per client address; `check` says whether to answer, and if not, for how long to wait.

    limits' asyncio flavour: the check runs on the event loop without a thread hop, and a slow Redis
    holds up only the requests that wait for it.
    """

    def __init__(self, storage: Storage, limit: str) -> None:
        self.item: RateLimitItem = parse(limit)
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.backend = "redis" if isinstance(storage, RedisStorage) else "memory"
        self.outage = Outage("rate-limit storage", "failing open: requests are not limited")

    async def check(self, client: str) -> float | None:
        """None to answer; else the seconds until the window lets this client in again."""
        try:
            allowed = await self.limiter.hit(self.item, client)
            retry_after = None if allowed else max(
                1.0, (await self.limiter.get_window_stats(self.item, client)).reset_time - time.time())
        except (StorageError, redis.RedisError) as error:
            self.outage.failed(error)
            return None
        self.outage.worked()
        return retry_after


def shared_state(redis_url: str | None, limit: str, ttl_seconds: float) -> tuple[ForecastCache, RateLimiter]:
    if not redis_url:
        return MemoryCache(ttl_seconds), RateLimiter(MemoryStorage(), limit)
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                  socket_timeout=REDIS_TIMEOUT_SECONDS)
    storage = RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix=f"{KEY_PREFIX}:limits",
                           wrap_exceptions=True, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                           socket_timeout=REDIS_TIMEOUT_SECONDS)
    return RedisCache(client, ttl_seconds), RateLimiter(storage, limit)
