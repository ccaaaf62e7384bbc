"""The rows `bench` writes and `cost` reads, by stable ids: a display name can change, an id does not.

Light on purpose: `cost` imports it without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass

BATCH_STATIONS = 1500  # stations in the batch rows; bench.json records it for cost
STACK_SEQUENTIAL = "stack_sequential"
STACK_CONCURRENT = "stack_concurrent"
STACK_BATCH = "stack_batch"
RUNTIME_SEQUENTIAL = "runtime_sequential"
API_HIT = "api_hit"
API_MISS = "api_miss"
API_CONCURRENT = "api_concurrent"
POLL_FETCH = "poll_fetch"
POLL_STORE = "poll_store"
CITY_FORECAST = "city_forecast"
API_FROM_HISTORY = "api_from_history"


def forward_id(count: int) -> str:
    return f"forward_{count}"


def chain_id(count: int) -> str:
    return f"chain_{count}"


@dataclass(frozen=True)
class Row:
    id: str
    name: str
    p50_ms: float
    p99_ms: float
    samples: int
    throughput_per_s: float | None = None
