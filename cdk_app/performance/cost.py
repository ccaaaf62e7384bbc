"""Monthly cost of the serverless endpoint, from measured durations and SageMaker's pricing model.

Serverless Inference bills compute by the millisecond, priced by the configured memory size, plus
data processed in and out. There is no per-request fee (the guide's "$0.20 per 1,000 requests"
is Lambda's request fee, and that is per million). Prices vary by region and change: every one
is a flag. The defaults come from the shared notes (us-east-1, approximate).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdk_app.deployment.config import DeploymentConfig
from cdk_app.performance.bench_rows import STACK_BATCH, STACK_SEQUENTIAL
from stacks.alarm_specs import alarm_specs

PRICE_PER_GB_SECOND = 0.00002  # about $0.00004 per second at 2 GB
PRICE_PER_GB_DATA = 0.016  # data processed, in and out
RESPONSE_BYTES_PER_STATION = 230
KMS_KEY_PER_MONTH = 1.00
ALARM_PER_MONTH = 0.10
DEFAULT_REQUESTS = (1_000, 10_000, 100_000)


@dataclass(frozen=True)
class Prices:
    per_gb_second: float = PRICE_PER_GB_SECOND
    per_gb_data: float = PRICE_PER_GB_DATA


@dataclass(frozen=True)
class Workload:
    """What one invocation costs to run: its billed duration and its payload sizes."""

    duration_ms: float
    request_bytes: int
    response_bytes: int
    stations: int = 1


def monthly_cost(invocations: int, workload: Workload, memory_mb: int, prices: Prices) -> dict[str, float]:
    billed_ms = max(1.0, workload.duration_ms)  # billed by the millisecond, rounded up to at least one
    compute = invocations * billed_ms / 1000 * memory_mb / 1024 * prices.per_gb_second
    data = invocations * (workload.request_bytes + workload.response_bytes) / 1024**3 * prices.per_gb_data
    return {"compute": compute, "data": data, "total": compute + data}


def alarm_count(config: DeploymentConfig) -> int:
    """The alarms the stack creates for this configuration, from the specs it builds them from."""
    return len(alarm_specs(config.alarms, config.serverless.provisioned_concurrency is not None))


def workloads(bench: dict[str, Any]) -> tuple[Workload, Workload]:
    """The single-station and the batch invocations, as measured by `bench` (rows read by their ids)."""
    rows = {r["id"]: r for r in bench["rows"]}
    stations = int(bench["batch_stations"])
    single = Workload(rows[STACK_SEQUENTIAL]["p50_ms"], bench["request_bytes"], RESPONSE_BYTES_PER_STATION)
    batch = Workload(rows[STACK_BATCH]["p50_ms"], bench["request_bytes"] * stations,
                     RESPONSE_BYTES_PER_STATION * stations, stations)
    return single, batch


def cost_table(bench_path: Path, memory_mb: int, alarms: int, prices: Prices, requests: tuple[int, ...]) -> str:
    """`alarms` is how many alarms the stack creates for the configuration: each is a standing charge."""
    bench = json.loads(bench_path.read_text())
    single, batch = workloads(bench)
    per_batch = f"{batch.stations:,} per request"
    lines = [f"memory {memory_mb} MB, ${_price(prices.per_gb_second)}/GB-s compute, "
             f"${_price(prices.per_gb_data)}/GB data; "
             f"single request {single.duration_ms:.2f} ms, {batch.stations} stations in one request "
             f"{batch.duration_ms:.1f} ms (from {bench_path})",
             f"{'station forecasts / month':>26} {'one per request':>16} {per_batch:>18}"]
    for count in requests:
        alone = monthly_cost(count, single, memory_mb, prices)["total"]
        batched = monthly_cost(-(-count // batch.stations), batch, memory_mb, prices)["total"]
        lines.append(f"{count:>26,} {'$' + format(alone, '.4f'):>16} {'$' + format(batched, '.4f'):>18}")
    standing = KMS_KEY_PER_MONTH + alarms * ALARM_PER_MONTH
    lines.append(f"Standing charges whatever the traffic: the KMS key ${KMS_KEY_PER_MONTH:.2f} + {alarms} alarms "
                 f"${alarms * ALARM_PER_MONTH:.2f} = ${standing:.2f}/month (the dashboard is free within an account's "
                 "first 3). Not included: S3 storage of the archive and log ingestion (cents), and the free tier "
                 "(150,000 s/month for the first 2 months).")
    return "\n".join(lines)


def _price(value: float) -> str:
    return format(value, ".6f").rstrip("0").rstrip(".")
