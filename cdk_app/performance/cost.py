"""Monthly cost of each serving mode, side by side, from measured durations and SageMaker's pricing model.

- Serverless bills compute by the millisecond, priced by the configured memory size, plus data processed in
  and out. There is no per-request fee (the guide's "$0.20 per 1,000 requests" is Lambda's request fee, and
  that is per million).
- Warm hours by pings add the pings, billed like any request.
- Warm hours by provisioned concurrency hold memory x concurrency all month (the concurrency in warm hours,
  Application Auto Scaling's floor of 1 outside them), and requests run at the provisioned rate.
- Real-time bills instance hours x instance count, whatever the traffic.
- The collector (`collector=true`, or `--collector`) adds its Lambda polls, their S3 requests, the history's
  storage, one all-station request to the endpoint an hour and its alarm, to every mode.
- The weekly retraining (`retrain_schedule`) adds 4.35 runs a month and its alarm to every mode when it is
  deployed, and is priced on its own either way (cdk_app/performance/retrain_cost.py).

Prices vary by region and change: every serving one is a flag. The defaults are us-east-1 and approximate (the
serverless one from the shared notes; the provisioned ones and the instance prices from the SageMaker pricing page;
the collector's Lambda (arm64) and S3 Standard ones, cents a month in all, from their pricing pages).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cdk_app.deployment.config import (
    COLLECTOR_MEMORY_MB,
    NONCURRENT_VERSION_DAYS,
    CollectorSettings,
    DeploymentConfig,
    RealtimeSettings,
    load_project_config,
    project_context,
)
from cdk_app.deployment.instance_types import INSTANCE_TYPES, InstanceType
from cdk_app.deployment.retraining import INSTANCE_TYPE as RETRAIN_INSTANCE_TYPE
from cdk_app.deployment.warm_hours import EXAMPLE, PING_EVERY_MINUTES, WarmHours
from cdk_app.performance.ab_cost import PairedComparison, Standing, ab_lines
from cdk_app.performance.bench_rows import STACK_BATCH, STACK_SEQUENTIAL
from cdk_app.performance.money import price, usd
from cdk_app.performance.retrain_cost import MEASURED_RUN_SECONDS, RUNS_PER_MONTH, RetrainRun, retrain_lines
from stacks.alarm_specs import collector_alarm_specs, endpoint_alarm_specs, retrain_alarm_specs

PRICE_PER_GB_SECOND = 0.00002  # about $0.00004 per second at 2 GB
PRICE_PER_GB_DATA = 0.016  # data processed, in and out
PROVISIONED_PER_GB_SECOND = 0.0000048  # provisioned concurrency held, per GB of memory
PROVISIONED_INFERENCE_PER_GB_SECOND = 0.00001  # inference duration on provisioned concurrency
RESPONSE_BYTES_PER_STATION = 230
KMS_KEY_PER_MONTH = 1.00
ALARM_PER_MONTH = 0.10
HOURS_PER_MONTH = 730
MINUTES_PER_MONTH = HOURS_PER_MONTH * 60
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
WEEKS_PER_MONTH = 365.25 / 12 / 7
DEFAULT_REQUESTS = (1_000, 100_000, 10_000_000)
RELEASE_BENCH = Path(__file__).with_name("release-bench.json")  # `bench` on the release machine, see README
# The collector. Its requests are counted from cdk_app/live_data/history.py: a poll takes its lease, reads
# latest.json and the hour's file, and writes the hour's file and latest.json; once an hour it
# reads the 24 hours it forecasts from and the 3 it scores, lists, and writes a forecast and a score.
COLLECTOR_INTERVALS = (1, 5, 15, 60)
COLLECTOR_POLL_MS = 1500  # an estimate (no AWS here): two feed downloads, parsing, six S3 calls; see README
POLL_PUTS, POLL_GETS = 3, 2  # LISTs bill as PUTs; DELETEs (the lease let go) are free
HOURLY_PUTS, HOURLY_GETS = 6, 30
# Measured with history.py on 1,500 stations: latest.json 366 KB and an hour's file 210 KB, both rewritten by
# every poll (so kept 7 days as noncurrent versions); a forecast, about 120 KB an hour, estimated (its score, a
# few hundred bytes; in an A/B, each station's error too: ab_cost.py).
POLL_OVERWRITE_KB = 576
HISTORY_KB_PER_HOUR = 330
LAMBDA_FREE_REQUESTS, LAMBDA_FREE_GB_SECONDS = 1_000_000, 400_000


@dataclass(frozen=True)
class Prices:
    per_gb_second: float = PRICE_PER_GB_SECOND
    per_gb_data: float = PRICE_PER_GB_DATA
    provisioned_per_gb_second: float = PROVISIONED_PER_GB_SECOND
    provisioned_inference_per_gb_second: float = PROVISIONED_INFERENCE_PER_GB_SECOND
    instance_per_hour: float | None = None  # None: the instance type's price from the table
    lambda_per_request: float = 0.20 / 1_000_000
    lambda_per_gb_second: float = 0.0000133334  # arm64
    s3_per_put: float = 0.005 / 1000
    s3_per_get: float = 0.0004 / 1000
    s3_per_gb_month: float = 0.023

    def instance_price(self, instance: InstanceType) -> float:
        """The flag's price, else the table's; a type the table lacks has no price to guess."""
        price = self.instance_per_hour or instance.price_per_hour
        if price is None:
            raise ValueError(f"{instance.name} has no price in cdk_app/deployment/instance_types.py; give its hourly "
                             "price with --instance-price")
        return price


@dataclass(frozen=True)
class Workload:
    """What one invocation costs to run: its billed duration and its payload sizes."""

    duration_ms: float
    request_bytes: int
    response_bytes: int

    def gb_seconds(self, memory_mb: int) -> float:
        return max(1.0, self.duration_ms) / 1000 * memory_mb / 1024  # billed by the ms, at least one

    def data_cost(self, prices: Prices) -> float:
        return (self.request_bytes + self.response_bytes) / 1024**3 * prices.per_gb_data


@dataclass(frozen=True)
class CollectorWork:
    """The collector's month: a poll every interval, and once an hour a request of every station, for which the
    poll waits out the endpoint's cold start (it has idled an hour) and the batch inference."""

    settings: CollectorSettings
    poll_ms: float
    memory_mb: int
    batch: Workload
    cold_start_s: float

    @property
    def polls(self) -> float:
        return MINUTES_PER_MONTH / self.settings.interval_minutes

    def lambda_gb_seconds(self) -> float:
        hourly_wait = self.cold_start_s + self.batch.duration_ms / 1000
        return (self.polls * self.poll_ms / 1000 + HOURS_PER_MONTH * hourly_wait) * self.memory_mb / 1024

    def stored_gb(self) -> float:
        """At full retention: the hours and forecasts kept, and a week of what each poll overwrites."""
        polls_a_day = 24 * 60 / self.settings.interval_minutes
        kb = (self.settings.history_retention_days * 24 * HISTORY_KB_PER_HOUR
              + polls_a_day * NONCURRENT_VERSION_DAYS * POLL_OVERWRITE_KB)
        return kb / 1024**2


@dataclass(frozen=True)
class Modes:
    """The four deployments `cost` compares, each as the config `cdk synth` would build, and cdk.json's collector
    settings, priced on their own whether or not the modes deploy the collector."""

    serverless: DeploymentConfig
    ping: DeploymentConfig
    provisioned: DeploymentConfig
    realtime: DeploymentConfig
    collector: CollectorSettings
    challenger_weight: float  # cdk.json's, for the A/B priced on its own
    ab_deployed: bool  # cdk.json names a challenger: the A/B is in every column

    @property
    def challenger_fleet(self) -> RealtimeSettings:
        """The real-time challenger variant's instances, as the stack sizes them."""
        assert self.realtime.realtime is not None
        return self.realtime.realtime.share(self.challenger_weight)

    @property
    def warm(self) -> WarmHours:
        assert self.ping.serverless.warm is not None
        return self.ping.serverless.warm

    @property
    def held(self) -> int:
        """The provisioned concurrency held in warm hours."""
        assert self.provisioned.serverless.provisioned_concurrency is not None
        return self.provisioned.serverless.provisioned_concurrency


PRICED_REGION = "us-east-1"  # where the default prices are from, so every mode is priced in the same place


def project_modes(warm_hours: str | None = None, *, ab: bool = False, **overrides: Any) -> Modes:
    """cdk.json's settings (with `overrides`) in each mode. Warm hours default to cdk.json's, else EXAMPLE;
    provisioned concurrency to cdk.json's, at least 2 (1 is the floor outside warm hours). `ab` puts an A/B in
    every mode, as a challenger_version in cdk.json does."""
    context = {**project_context(), **overrides, "region": PRICED_REGION}
    # Priced without the challenger, whose A/B is priced on its own (and added to every column when it is set).
    ab_deployed = ab or str(context["challenger_version"]).strip() != ""
    context["challenger_version"] = ""
    warm = warm_hours or str(context["warm_hours"]).strip() or EXAMPLE

    def mode(**settings: Any) -> DeploymentConfig:
        return load_project_config(**{**context, "warm_hours": "", "provisioned_concurrency": "", **settings})

    configured = mode(endpoint_type="serverless", provisioned_concurrency=context["provisioned_concurrency"]
                      ).serverless.provisioned_concurrency
    held = max(2, configured or 2)
    collector = mode(endpoint_type="serverless", collector="true").collector
    assert collector is not None

    return Modes(serverless=mode(endpoint_type="serverless"),
                 ping=mode(endpoint_type="serverless", warm_hours=warm, warm_strategy="ping"),
                 provisioned=mode(endpoint_type="serverless", warm_hours=warm, warm_strategy="provisioned",
                                  provisioned_concurrency=held),
                 realtime=mode(endpoint_type="realtime", **_fixed_if_burstable(context)), collector=collector,
                 challenger_weight=float(context["challenger_weight"]), ab_deployed=ab_deployed)


def _fixed_if_burstable(context: dict[str, Any]) -> dict[str, Any]:
    """A burstable type cannot autoscale, so price it as a fixed fleet rather than refuse it."""
    instance = INSTANCE_TYPES.get(str(context["instance_type"]))
    return {"instance_count_max": context["instance_count_min"]} if instance and instance.burstable else {}


def alarm_count(config: DeploymentConfig) -> int:
    """The alarms the stack creates for this configuration, from the specs it builds them from."""
    warm = config.serverless.warm
    return (len(endpoint_alarm_specs(config)) + (1 if warm and warm.strategy == "ping" else 0)
            + len(collector_alarm_specs(config)) + len(retrain_alarm_specs(config)))


def standing(config: DeploymentConfig) -> float:
    """What the stack costs with no traffic at all, whatever the mode: its KMS key and its alarms."""
    return KMS_KEY_PER_MONTH + alarm_count(config) * ALARM_PER_MONTH


def load_durations(bench_path: Path) -> tuple[dict[str, Any], str]:
    """`bench`'s results, or those measured at release (kept in the repository) when it has not run here."""
    if bench_path.is_file():
        return json.loads(bench_path.read_text()), f"measured by `bench` ({bench_path})"
    return json.loads(RELEASE_BENCH.read_text()), (f"no `bench` results at {bench_path}: durations measured at "
                                                   f"release ({RELEASE_BENCH.name}); run `python -m cdk_app bench` "
                                                   "for this machine's")


def single_request(bench: dict[str, Any]) -> Workload:
    rows = {r["id"]: r for r in bench["rows"]}
    return Workload(rows[STACK_SEQUENTIAL]["p50_ms"], bench["request_bytes"], RESPONSE_BYTES_PER_STATION)


def batch_request(bench: dict[str, Any]) -> Workload:
    """The collector's hourly request of every station, as `bench` timed it through the serving stack."""
    rows = {r["id"]: r for r in bench["rows"]}
    stations = bench["batch_stations"]
    return Workload(rows[STACK_BATCH]["p50_ms"], bench["request_bytes"] * stations,
                    RESPONSE_BYTES_PER_STATION * stations)


def collector_usage(work: CollectorWork, endpoint_memory_mb: int, endpoint_per_gb_second: float, prices: Prices
                    ) -> dict[str, float]:
    """The collector's monthly bill by part, but for its alarm: that is a standing charge, with the others.
    The endpoint's compute is at the mode's rate (real-time instances are paid for already)."""
    return {
        "Lambda": work.polls * prices.lambda_per_request + work.lambda_gb_seconds() * prices.lambda_per_gb_second,
        "S3 requests": (work.polls * POLL_PUTS + HOURS_PER_MONTH * HOURLY_PUTS) * prices.s3_per_put
        + (work.polls * POLL_GETS + HOURS_PER_MONTH * HOURLY_GETS) * prices.s3_per_get,
        "S3 storage": work.stored_gb() * prices.s3_per_gb_month,
        "endpoint": HOURS_PER_MONTH * (work.batch.gb_seconds(endpoint_memory_mb) * endpoint_per_gb_second
                                       + work.batch.data_cost(prices)),
    }


def monthly(requests: int, work: Workload, modes: Modes, prices: Prices, collector: CollectorWork | None = None
            ) -> dict[str, float]:
    """Each mode's bill for `requests` a month, standing charges included; with the collector's usage when
    given (give it when the modes deploy it, as their alarm count then does)."""
    memory = modes.serverless.serverless.memory_mb

    def collecting(endpoint_per_gb_second: float) -> float:
        return 0.0 if collector is None else sum(
            collector_usage(collector, memory, endpoint_per_gb_second, prices).values())

    per_request = work.gb_seconds(memory)
    data = requests * work.data_cost(prices)
    on_demand = requests * per_request * prices.per_gb_second
    pings = modes.warm.pings_per_week * WEEKS_PER_MONTH
    warm_seconds = modes.warm.weekly_minutes * 60 * WEEKS_PER_MONTH
    held_gb_seconds = memory / 1024 * (modes.held * warm_seconds + 1 * (SECONDS_PER_MONTH - warm_seconds))
    return {
        "serverless": standing(modes.serverless) + on_demand + data + collecting(prices.per_gb_second),
        "ping": standing(modes.ping) + on_demand + data + pings * (per_request * prices.per_gb_second
                                                                   + work.data_cost(prices))
        + collecting(prices.per_gb_second),
        "provisioned": standing(modes.provisioned) + held_gb_seconds * prices.provisioned_per_gb_second
        + requests * per_request * prices.provisioned_inference_per_gb_second + data
        + collecting(prices.provisioned_inference_per_gb_second),
        "realtime": standing(modes.realtime) + realtime_fleet(modes.realtime, prices) + data + collecting(0.0),
    }


def realtime_fleet(config: DeploymentConfig, prices: Prices) -> float:
    """The real-time instances at their minimum count, all month."""
    assert config.realtime is not None
    return config.realtime.count_min * prices.instance_price(config.realtime.instance) * HOURS_PER_MONTH


def break_even(work: Workload, modes: Modes, prices: Prices) -> float:
    """Requests a month above which real-time costs less than on-demand serverless (data costs the same)."""
    fixed = realtime_fleet(modes.realtime, prices) + standing(modes.realtime) - standing(modes.serverless)
    return fixed / (work.gb_seconds(modes.serverless.serverless.memory_mb) * prices.per_gb_second)


def ab_costs(modes: Modes, work: CollectorWork, prices: Prices) -> dict[str, tuple[Standing, PairedComparison]]:
    """The A/B in serverless mode (the challenger's endpoint is on demand, whatever warm hours the champion's has)
    and in real-time mode (a variant of the same endpoint, with instances of its own)."""
    alarms = len(endpoint_alarm_specs(modes.serverless)), len(endpoint_alarm_specs(modes.realtime))
    fleet = modes.challenger_fleet

    def comparison(per_gb_second: float, cold_start_s: float) -> PairedComparison:
        return PairedComparison(
            endpoint_gb_seconds=work.batch.gb_seconds(modes.serverless.serverless.memory_mb),
            endpoint_per_gb_second=per_gb_second, data_cost=work.batch.data_cost(prices),
            lambda_wait_s=cold_start_s + work.batch.duration_ms / 1000, lambda_memory_mb=work.memory_mb,
            lambda_per_gb_second=prices.lambda_per_gb_second, s3_per_put=prices.s3_per_put,
            s3_per_get=prices.s3_per_get, s3_per_gb_month=prices.s3_per_gb_month,
            retention_days=work.settings.history_retention_days)

    return {
        "serverless (second endpoint)": (Standing(alarms[0], ALARM_PER_MONTH),
                                         comparison(prices.per_gb_second, work.cold_start_s)),
        f"realtime ({fleet.count_min} x {fleet.instance.name})": (
            Standing(alarms[1], ALARM_PER_MONTH, fleet.count_min, prices.instance_price(fleet.instance)),
            comparison(0.0, 0.0)),
    }


DEFAULT_RETRAIN_RUN = RetrainRun(RETRAIN_INSTANCE_TYPE, MEASURED_RUN_SECONDS)


def cost_table(bench_path: Path, modes: Modes, prices: Prices, requests: tuple[int, ...],
               collector_poll_ms: float = COLLECTOR_POLL_MS, collector_memory_mb: int = COLLECTOR_MEMORY_MB,
               retrain: RetrainRun = DEFAULT_RETRAIN_RUN) -> str:
    bench, source = load_durations(bench_path)
    work = single_request(bench)
    collector = CollectorWork(modes.collector, collector_poll_ms, collector_memory_mb, batch_request(bench),
                              bench["cold_start_to_first_200_s"])
    included = collector if modes.serverless.collector is not None else None
    retraining = RUNS_PER_MONTH * retrain.cost() if modes.serverless.retrain is not None else 0.0
    ab = ab_costs(modes, collector, prices)
    # The paired comparison runs in the collector, so a deployed A/B adds it only where the collector is.
    serverless_ab, realtime_ab = ((s.monthly() + (sum(c.monthly().values()) if included else 0.0)
                                   if modes.ab_deployed else 0.0) for s, c in ab.values())
    assert modes.realtime.realtime is not None
    fleet = modes.realtime.realtime
    instance_price = prices.instance_price(fleet.instance)
    memory = modes.serverless.serverless.memory_mb
    realtime_label = f"realtime {fleet.count_min} x {fleet.instance.name}"
    realtime_width = max(12, len(realtime_label))
    lines = [
        f"one station per request, {work.duration_ms:.2f} ms billed each: {source}",
        f"prices: serverless {memory} MB at ${price(prices.per_gb_second)}/GB-s; provisioned "
        f"${price(prices.provisioned_per_gb_second)}/GB-s held + ${price(prices.provisioned_inference_per_gb_second)}"
        f"/GB-s used; {fleet.instance.name} ${price(instance_price)}/h; data ${price(prices.per_gb_data)}/GB",
        f"warm hours: {modes.warm}, {modes.warm.weekly_minutes / 60:g} h a week; pings every "
        f"{PING_EVERY_MINUTES} min in them; provisioned concurrency {modes.held} in them and 1 (the floor) outside",
        *([f"collector: every {collector.settings.interval_minutes} min, in every column (table below)"]
          if included else []),
        *(["weekly retraining: in every column (below the collector's table)"] if retraining else []),
        *(["A/B: in every column (the last table)"] if modes.ab_deployed else []),
        "",
        f"{'requests / month':>18} {'serverless':>12} {'warm: ping':>12} {'warm: provisioned':>18} "
        f"{realtime_label:>{realtime_width}}",
    ]
    for count in requests:
        bill = {mode: value + retraining + (realtime_ab if mode == "realtime" else serverless_ab)
                for mode, value in monthly(count, work, modes, prices, included).items()}
        lines.append(f"{count:>18,} {usd(bill['serverless']):>12} {usd(bill['ping']):>12} "
                     f"{usd(bill['provisioned']):>18} {usd(bill['realtime']):>{realtime_width}}")
    even = break_even(work, modes, prices)
    lines += [
        "",
        f"break-even: {realtime_label} costs less than on-demand serverless above {even:,.0f} requests a month "
        f"({even / SECONDS_PER_MONTH:.1f} a second on average, if {fleet.count_min} instances keep up).",
        f"Every column includes the standing charges: the KMS key ${KMS_KEY_PER_MONTH:.2f} and $"
        f"{ALARM_PER_MONTH:.2f} per alarm ({alarm_count(modes.serverless)}, {alarm_count(modes.ping)}, "
        f"{alarm_count(modes.provisioned)} and {alarm_count(modes.realtime)} alarms). Real-time is at its minimum "
        f"of {fleet.count_min} instances" + (f"; scaled out to {fleet.count_max} it costs up to "
                                              f"{usd(fleet.count_max * instance_price * HOURS_PER_MONTH)} for the "
                                              "instances" if fleet.autoscaled else "") + ".",
        "Not included: S3 storage of the archive and log ingestion (cents), and the serverless free tier "
        "(150,000 s/month for 2 months).",
        "",
        *collector_table(collector, memory, prices),
        "",
        *retrain_lines(retrain, ALARM_PER_MONTH, deployed=bool(retraining)),
        "",
        *ab_lines(modes.challenger_weight, ab, modes.ab_deployed),
    ]
    return "\n".join(lines)


def collector_table(work: CollectorWork, endpoint_memory_mb: int, prices: Prices) -> list[str]:
    """The collector's own monthly bill at each polling interval, its alarm included."""
    parts = list(collector_usage(work, endpoint_memory_mb, prices.per_gb_second, prices))
    lines = [
        f"the collector (collector=true), by polling interval: {work.poll_ms:,.0f} ms a poll at "
        f"{work.memory_mb} MB (arm64); hourly it waits {work.cold_start_s:g} s for a cold endpoint and "
        f"{work.batch.duration_ms:.0f} ms for every station's forecast; history kept "
        f"{work.settings.history_retention_days} days",
        f"{'every':>8} {'polls / month':>14} " + " ".join(f"{name:>12}" for name in [*parts, "alarm", "total"]),
    ]
    for minutes in COLLECTOR_INTERVALS:
        at = replace(work, settings=replace(work.settings, interval_minutes=minutes))
        bill = [*collector_usage(at, endpoint_memory_mb, prices.per_gb_second, prices).values(), ALARM_PER_MONTH]
        lines.append(f"{f'{minutes} min':>8} {at.polls:>14,.0f} " + " ".join(
            f"{usd(v):>12}" for v in [*bill, sum(bill)]))
    return [*lines, f"Lambda's monthly free tier ({LAMBDA_FREE_REQUESTS:,} requests, {LAMBDA_FREE_GB_SECONDS:,} GB-s) "
                    "would cover the Lambda column; the endpoint column is on-demand serverless."]
