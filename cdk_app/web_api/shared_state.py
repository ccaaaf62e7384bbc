"""The cache, the rate-limit counters and the A/B's served counts: in process by default, in Redis when several
API processes share them.

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
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
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
    """Many at a time: a batch of 2,000 is one Redis round trip each way, not 2,000. `side` is the A/B side that
    answers (the champion alone without one): one side's answer is never served for the other's."""

    backend: str

    def get_many(self, requests: Sequence[Mapping[str, Any]], side: str) -> list[Forecast | None]: ...

    def put_many(self, answers: Sequence[tuple[Mapping[str, Any], Forecast]], side: str) -> None: ...


def cache_key(request: Mapping[str, Any], side: str) -> str:
    """The side and the whole request, canonically: station and hour alone would serve another history's answer."""
    return f"{side}:{TtlCache.key(request)}"


class MemoryCache:
    backend = "memory"

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.entries = TtlCache(ttl_seconds, max_entries)

    def get_many(self, requests: Sequence[Mapping[str, Any]], side: str) -> list[Forecast | None]:
        return [self.entries.get(cache_key(r, side)) for r in requests]

    def put_many(self, answers: Sequence[tuple[Mapping[str, Any], Forecast]], side: str) -> None:
        for request, forecast in answers:
            self.entries.put(cache_key(request, side), forecast)


class RedisCache:
    backend = "redis"

    def __init__(self, client: redis.Redis, ttl_seconds: float) -> None:
        self.client, self.ttl = client, max(1, round(ttl_seconds))
        self.outage = Outage("redis cache", "answering without the cache")

    @staticmethod
    def _key(request: Mapping[str, Any], side: str) -> str:
        return f"{KEY_PREFIX}:forecast:{hashlib.sha256(cache_key(request, side).encode()).hexdigest()}"

    def get_many(self, requests: Sequence[Mapping[str, Any]], side: str) -> list[Forecast | None]:
        try:
            found = self.client.mget([self._key(r, side) for r in requests])
        except redis.RedisError as error:
            self.outage.failed(error)
            return [None] * len(requests)
        self.outage.worked()
        return [_stored(json.loads(raw)) if raw else None for raw in found]

    def put_many(self, answers: Sequence[tuple[Mapping[str, Any], Forecast]], side: str) -> None:
        pipeline = self.client.pipeline(transaction=False)
        for request, forecast in answers:
            pipeline.set(self._key(request, side), json.dumps(asdict(forecast)), ex=self.ttl)
        try:
            pipeline.execute()
        except redis.RedisError as error:
            self.outage.failed(error)


def _stored(data: Mapping[str, Any]) -> Forecast:
    return Forecast.from_json(data, data.get("variant"))


class ServedCounts(Protocol):
    """How many forecasts each side of an A/B has served: /health's split, summed over every process with Redis."""

    def add(self, counts: Mapping[str, int]) -> None: ...

    def totals(self, sides: Sequence[str]) -> dict[str, int | None]: ...


class MemoryCounts:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def add(self, counts: Mapping[str, int]) -> None:
        with self.lock:
            self.counts.update(counts)

    def totals(self, sides: Sequence[str]) -> dict[str, int | None]:
        with self.lock:
            return {side: self.counts[side] for side in sides}


class RedisCounts:
    """`namespace` names the split (its endpoints and weight): a new split counts from zero, and every process of
    the same one adds to the same counters. None for a side whose count Redis does not give."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client, self.prefix = client, f"{KEY_PREFIX}:served:{namespace}"
        self.outage = Outage("redis served counts", "forecasts served are not counted")

    def add(self, counts: Mapping[str, int]) -> None:
        pipeline = self.client.pipeline(transaction=False)
        for side, count in counts.items():
            pipeline.incrby(f"{self.prefix}:{side}", count)
        try:
            pipeline.execute()
        except redis.RedisError as error:
            self.outage.failed(error)
            return
        self.outage.worked()

    def totals(self, sides: Sequence[str]) -> dict[str, int | None]:
        try:
            found = self.client.mget([f"{self.prefix}:{side}" for side in sides])
        except redis.RedisError as error:
            self.outage.failed(error)
            return dict.fromkeys(sides)
        self.outage.worked()
        return {side: int(raw or 0) for side, raw in zip(sides, found, strict=True)}


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


@dataclass(frozen=True)
class SharedState:
    cache: ForecastCache
    limiter: RateLimiter
    served: ServedCounts


def shared_state(redis_url: str | None, limit: str, ttl_seconds: float, split: str) -> SharedState:
    """`split` names the A/B split whose served forecasts are counted (see RedisCounts)."""
    if not redis_url:
        return SharedState(MemoryCache(ttl_seconds), RateLimiter(MemoryStorage(), limit), MemoryCounts())
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                  socket_timeout=REDIS_TIMEOUT_SECONDS)
    storage = RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix=f"{KEY_PREFIX}:limits",
                           wrap_exceptions=True, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                           socket_timeout=REDIS_TIMEOUT_SECONDS)
    return SharedState(RedisCache(client, ttl_seconds), RateLimiter(storage, limit), RedisCounts(client, split))
