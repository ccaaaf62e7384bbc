"""The cost model by serving mode: serverless by the ms, warm hours by pings or provisioned concurrency,
real-time by the instance hour, and where real-time breaks even."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cdk_app.deployment.config import CollectorSettings
from cdk_app.paths import REPO_ROOT
from cdk_app.performance.ab_cost import FORECAST_KB, SCORE_KB, PairedComparison
from cdk_app.performance.bench_rows import STACK_BATCH, STACK_SEQUENTIAL
from cdk_app.performance.cost import (
    HOURS_PER_MONTH,
    RELEASE_BENCH,
    WEEKS_PER_MONTH,
    CollectorWork,
    Prices,
    Workload,
    alarm_count,
    break_even,
    collector_usage,
    monthly,
    project_modes,
    standing,
)

ONE_SECOND = Workload(duration_ms=1000, request_bytes=0, response_bytes=0)
FREE_DATA = Prices(per_gb_data=0.0)


def test_serverless_compute_is_priced_by_duration_and_memory_with_no_request_fee() -> None:
    one_gb, two_gb = project_modes(memory_mb=1024), project_modes(memory_mb=2048)
    base = standing(one_gb.serverless)
    cost = monthly(1000, ONE_SECOND, one_gb, Prices(per_gb_second=0.00002, per_gb_data=0))["serverless"] - base
    assert cost == pytest.approx(1000 * 0.00002)
    doubled = monthly(1000, ONE_SECOND, two_gb, Prices(per_gb_second=0.00002, per_gb_data=0))["serverless"] - base
    assert doubled == pytest.approx(2 * cost)
    assert monthly(0, ONE_SECOND, one_gb, FREE_DATA)["serverless"] == pytest.approx(base)  # idle: standing only


def test_data_processed_counts_both_directions() -> None:
    round_trip = Workload(duration_ms=0, request_bytes=2**29, response_bytes=2**29)
    modes = project_modes()
    bill = monthly(1, round_trip, modes, Prices(per_gb_second=0, per_gb_data=0.016))
    assert bill["serverless"] - standing(modes.serverless) == pytest.approx(0.016 + 0.0, abs=1e-6)


def test_pings_add_their_own_invocations() -> None:
    modes = project_modes(warm_hours="Mon 08:00-09:00", memory_mb=1024)
    bill = monthly(0, ONE_SECOND, modes, Prices(per_gb_second=0.001, per_gb_data=0))
    pings = 12 * WEEKS_PER_MONTH  # every 5 minutes for an hour, once a week
    assert bill["ping"] - standing(modes.ping) == pytest.approx(pings * 0.001)


def test_provisioned_warm_hours_hold_the_concurrency_in_the_window_and_one_outside() -> None:
    modes = project_modes(warm_hours="Mon 00:00-12:00", memory_mb=2048)
    prices = Prices(provisioned_per_gb_second=0.001, provisioned_inference_per_gb_second=0, per_gb_data=0)
    warm_seconds = 12 * 3600 * WEEKS_PER_MONTH
    held = 2 * (2 * warm_seconds + 1 * (HOURS_PER_MONTH * 3600 - warm_seconds))  # 2 GB x (2 warm, floor 1)
    bill = monthly(0, ONE_SECOND, modes, prices)
    assert bill["provisioned"] - standing(modes.provisioned) == pytest.approx(held * 0.001)


def test_realtime_costs_its_instances_whatever_the_traffic() -> None:
    modes = project_modes(instance_type="ml.m5.large")
    quiet, busy = (monthly(n, ONE_SECOND, modes, FREE_DATA)["realtime"] for n in (0, 10_000_000))
    assert quiet == busy == pytest.approx(standing(modes.realtime) + 2 * 0.115 * HOURS_PER_MONTH)
    priced = monthly(0, ONE_SECOND, modes, Prices(instance_per_hour=1.0, per_gb_data=0))["realtime"]
    assert priced == pytest.approx(standing(modes.realtime) + 2 * HOURS_PER_MONTH)


def test_at_break_even_realtime_and_serverless_cost_the_same() -> None:
    modes = project_modes()
    work = Workload(duration_ms=5.0, request_bytes=233, response_bytes=230)
    even = break_even(work, modes, Prices())
    at = monthly(round(even), work, modes, Prices())
    assert at["serverless"] == pytest.approx(at["realtime"], rel=1e-6)
    below, above = monthly(round(even / 2), work, modes, Prices()), monthly(round(even * 2), work, modes, Prices())
    assert below["serverless"] < below["realtime"] and above["serverless"] > above["realtime"]


def test_alarm_count_follows_each_modes_own_alarms() -> None:
    modes = project_modes()
    assert [alarm_count(m) for m in (modes.serverless, modes.ping, modes.provisioned, modes.realtime)] == [4, 5, 5, 5]


def run_cost(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cdk_app", "cost", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60)


def test_cost_without_a_benchmark_uses_the_release_durations_and_says_so(tmp_path: Path) -> None:
    result = run_cost("--bench", str(tmp_path / "none.json"))
    assert result.returncode == 0, result.stderr
    release_ms = next(r["p50_ms"] for r in json.loads(RELEASE_BENCH.read_text())["rows"] if r["id"] == STACK_SEQUENTIAL)
    assert f"{release_ms:.2f} ms billed each: no `bench` results at" in result.stdout
    assert "durations measured at release" in result.stdout


def test_cost_command_prints_every_mode_for_each_count_and_the_break_even(tmp_path: Path) -> None:
    result = run_cost("--bench", str(write_bench(tmp_path)), "--memory-mb", "1024", "--requests", "1000", "1000000",
                      "--price-per-gb-second", "0.001", "--price-per-gb-data", "0", "--instance-price", "1")
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "requests / month" in line)
    assert header.split()[3:] == ["serverless", "warm:", "ping", "warm:", "provisioned", "realtime", "2", "x",
                                  "ml.c5.large"]
    # 1,000,000 requests x 2 ms x 1 GB x $0.001/GB-s = $2, plus the KMS key and 4 alarms
    row = next(line.split() for line in result.stdout.splitlines() if line.strip().startswith("1,000,000"))
    assert row[1] == "$3.4000"
    assert row[4] == f"${1.5 + 2 * HOURS_PER_MONTH:,.2f}"  # 2 instances at $1/h, KMS key and 5 alarms
    # break-even: (2 x $1 x 730 h + $0.10 for the extra alarm) / (0.002 s x 1 GB x $0.001) requests
    assert f"above {(2 * HOURS_PER_MONTH + 0.1) / 0.000002:,.0f} requests a month" in result.stdout


def test_cost_refuses_a_bad_setting_by_its_key() -> None:
    result = run_cost("--instance-type", "ml.p3.2xlarge")
    assert result.returncode != 0 and "context key 'instance_type'" in result.stderr


# Each figure below is worked out by hand: $1.00 for the KMS key, $0.10 an alarm (4 for on-demand serverless, 5 with
# warm hours or real-time), 730 hours and 365.25 / 12 / 7 weeks in a month.

def test_compute_is_billed_for_at_least_1_ms_a_request() -> None:
    quick = Workload(duration_ms=0.2, request_bytes=0, response_bytes=0)
    bill = monthly(1_000_000, quick, project_modes(memory_mb=1024), Prices(per_gb_second=0.001, per_gb_data=0))
    # 1,000,000 requests x 1 ms (not 0.2) x 1 GB x $0.001/GB-s = $1.00, plus $1.40 standing
    assert bill["serverless"] == pytest.approx(2.40)


def test_each_ping_pays_for_its_data_too() -> None:
    gigabyte_each_way = Workload(duration_ms=0, request_bytes=2**30, response_bytes=2**30)
    modes = project_modes(warm_hours="Mon 08:00-09:00")
    bill = monthly(0, gigabyte_each_way, modes, Prices(per_gb_second=0, per_gb_data=0.5))
    # 12 pings a week (every 5 minutes for an hour) x 365.25 / 84 weeks x 2 GB x $0.5, plus $1.50 standing
    assert bill["ping"] == pytest.approx(12 * 365.25 / 84 * 2 * 0.5 + 1.50)
    assert bill["serverless"] == pytest.approx(1.40)  # no request and no ping: standing only


def write_bench(directory: Path, p50_ms: float = 2.0) -> Path:
    """What `bench` writes that `cost` reads: one station's latency, and the collector's hourly batch and cold start."""
    bench = directory / "bench.json"
    bench.write_text(json.dumps({"request_bytes": 0, "batch_stations": 1500, "cold_start_to_first_200_s": 2.0,
                                 "rows": [{"id": STACK_SEQUENTIAL, "p50_ms": p50_ms},
                                          {"id": STACK_BATCH, "p50_ms": 100.0}]}))
    return bench


def cost_row(stdout: str, count: str) -> list[str]:
    return next(line.split() for line in stdout.splitlines() if line.strip().startswith(count))


def test_a_burstable_type_is_priced_as_a_fixed_fleet(tmp_path: Path) -> None:
    """cdk.json autoscales 2 to 4 instances, which SageMaker cannot do with ml.t2: `cost` prices 2, not a refusal."""
    result = run_cost("--bench", str(write_bench(tmp_path)), "--instance-type", "ml.t2.medium", "--instance-price",
                      "1", "--requests", "1000")
    assert result.returncode == 0, result.stderr
    assert "realtime 2 x ml.t2.medium" in result.stdout and "scaled out" not in result.stdout
    assert cost_row(result.stdout, "1,000")[-1] == "$1,461.50"  # 2 x $1 x 730 h + $1.50 standing


def test_an_instance_type_without_a_price_needs_instance_price(tmp_path: Path) -> None:
    bench = str(write_bench(tmp_path))
    refused = run_cost("--bench", bench, "--instance-type", "ml.c7a.large")
    assert refused.returncode == 1 and "ml.c7a.large has no price" in refused.stderr
    assert "--instance-price" in refused.stderr and "Traceback" not in refused.stderr
    priced = run_cost("--bench", bench, "--instance-type", "ml.c7a.large", "--instance-price", "0.5",
                      "--requests", "1000")
    assert priced.returncode == 0, priced.stderr
    assert cost_row(priced.stdout, "1,000")[-1] == "$731.50"  # 2 x $0.50 x 730 h + $1.50 standing


def test_warm_hours_come_from_cdk_json(tmp_path: Path) -> None:
    """`cost` run from a checkout whose cdk.json sets warm hours prices those, not the example ones."""
    checkout = tmp_path / "checkout"
    for part in ("cdk_app", "stacks", "model_code", "artifacts"):
        shutil.copytree(REPO_ROOT / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    cdk_json = json.loads((REPO_ROOT / "cdk.json").read_text())
    cdk_json["context"]["warm_hours"] = "Tue 06:00-07:30"
    (checkout / "cdk.json").write_text(json.dumps(cdk_json))
    result = subprocess.run([sys.executable, "-m", "cdk_app", "cost", "--bench", str(write_bench(tmp_path)),
                             "--memory-mb", "1024", "--price-per-gb-second", "1", "--price-per-gb-data", "0",
                             "--requests", "0"], cwd=checkout, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "warm hours: Tue 06:00-07:30" in result.stdout and "1.5 h a week" in result.stdout
    # 18 pings a week x 365.25 / 84 weeks x 2 ms x 1 GB x $1/GB-s, plus $1.50 standing
    assert cost_row(result.stdout, "0")[2] == f"${18 * 365.25 / 84 * 0.002 + 1.50:.4f}"



# ---------------------------------------------------------------- the collector

HOURLY_HISTORY = CollectorSettings(interval_minutes=60, feed_url="https://example.org/gbfs.json",
                                   history_retention_days=10)
COLLECTOR_PRICES = Prices(per_gb_data=0.016, lambda_per_request=1e-6, lambda_per_gb_second=1e-5, s3_per_put=1e-5,
                          s3_per_get=1e-6, s3_per_gb_month=0.02)


def test_the_collectors_usage_by_hand() -> None:
    batch = Workload(duration_ms=500, request_bytes=2**29, response_bytes=2**29)
    work = CollectorWork(HOURLY_HISTORY, poll_ms=1000, memory_mb=1024, batch=batch, cold_start_s=1.5)
    usage = collector_usage(work, endpoint_memory_mb=2048, endpoint_per_gb_second=0.001, prices=COLLECTOR_PRICES)
    # 730 polls; each 1 s at 1 GB, and hourly 1.5 s of cold start and 0.5 s of batch: 730 + 730 x 2 = 2,190 GB-s
    assert usage["Lambda"] == pytest.approx(730 * 1e-6 + 2190 * 1e-5)
    # PUTs and LISTs: 730 polls x 3 + 730 hours x 6; GETs: 730 x 2 + 730 x 30
    assert usage["S3 requests"] == pytest.approx(6570 * 1e-5 + 23_360 * 1e-6)
    # 10 days x 24 h x 330 KB of history, and 24 polls a day x 7 days x 576 KB overwritten
    assert usage["S3 storage"] == pytest.approx((79_200 + 96_768) / 1024**2 * 0.02)
    # 730 batches of 0.5 s x 2 GB x $0.001, and 1 GB of data each at $0.016
    assert usage["endpoint"] == pytest.approx(730 * (0.001 + 0.016))


def test_more_frequent_polls_cost_more_lambda_requests_and_storage() -> None:
    batch = Workload(duration_ms=0, request_bytes=0, response_bytes=0)
    hourly = CollectorWork(HOURLY_HISTORY, poll_ms=1000, memory_mb=1024, batch=batch, cold_start_s=0)
    every_minute = CollectorWork(CollectorSettings(1, HOURLY_HISTORY.feed_url, 10), 1000, 1024, batch, 0)
    low, high = (collector_usage(w, 1024, 0, COLLECTOR_PRICES) for w in (hourly, every_minute))
    assert every_minute.polls == 60 * hourly.polls == 43_800
    # 43,070 more polls, each 1 s at 1 GB ($1e-5) plus its request ($1e-6) (the 730 hourly batches take 1 ms each)
    assert high["Lambda"] - low["Lambda"] == pytest.approx(43_070 * (1e-6 + 1e-5))
    # 43,070 more polls x (3 PUTs x $1e-5 + 2 GETs x $1e-6)
    assert high["S3 requests"] - low["S3 requests"] == pytest.approx(43_070 * (3e-5 + 2e-6))
    # 1,416 more polls a day (1,440 - 24) x 7 days x 576 KB
    assert high["S3 storage"] - low["S3 storage"] == pytest.approx(1416 * 7 * 576 / 1024**2 * 0.02)


def test_an_enabled_collector_adds_its_usage_and_its_alarm_to_every_mode() -> None:
    off, on = project_modes(), project_modes(collector="true")
    assert [alarm_count(m) for m in (on.serverless, on.ping, on.provisioned, on.realtime)] == [5, 6, 6, 6]
    batch = Workload(duration_ms=1000, request_bytes=0, response_bytes=0)
    work = CollectorWork(on.collector, poll_ms=1000, memory_mb=1024, batch=batch, cold_start_s=0)
    prices = Prices(per_gb_second=0.001, provisioned_inference_per_gb_second=0.0005, per_gb_data=0)
    added = {mode: monthly(0, ONE_SECOND, on, prices, work)[mode] - monthly(0, ONE_SECOND, off, prices)[mode]
             for mode in ("serverless", "ping", "provisioned", "realtime")}
    usage = sum(collector_usage(work, 4096, 0, prices).values())  # all but the endpoint's compute
    # 730 batches of 1 s at 4 GB: at $0.001/GB-s on demand, $0.0005 provisioned, nothing on paid-for instances
    assert added == pytest.approx({"serverless": usage + 0.10 + 730 * 4 * 0.001, "ping": usage + 0.10 + 730 * 4 * 0.001,
                                   "provisioned": usage + 0.10 + 730 * 4 * 0.0005, "realtime": usage + 0.10})


def test_cost_prints_the_collector_by_interval_and_includes_it_with_the_flag(tmp_path: Path) -> None:
    bench = str(write_bench(tmp_path))  # hourly batch 100 ms, cold start 2 s
    args = ("--bench", bench, "--memory-mb", "1024", "--price-per-gb-second", "0.001", "--price-per-gb-data", "0",
            "--collector-poll-ms", "1000", "--collector-memory-mb", "1024", "--requests", "0")
    plain, included = run_cost(*args), run_cost(*args, "--collector")
    assert plain.returncode == 0 and included.returncode == 0, plain.stderr + included.stderr
    rows = {parts[0]: parts[2:] for parts in map(str.split, plain.stdout.splitlines()) if parts[1:2] == ["min"]}
    assert list(rows) == ["1", "5", "15", "60"]
    # Hourly polls, at the default us-east-1 prices: 730 polls of 1 s and 730 hourly waits of 2.1 s, at 1 GB arm64
    lambda_ = 730 * 0.20 / 1e6 + 730 * 3.1 * 0.0000133334
    requests = (730 * 3 + 730 * 6) * 0.005 / 1000 + (730 * 2 + 730 * 30) * 0.0004 / 1000
    storage = (400 * 24 * 330 + 24 * 7 * 576) / 1024**2 * 0.023  # cdk.json keeps 400 days
    endpoint = 730 * 0.1 * 1 * 0.001  # 100 ms at 1 GB, $0.001/GB-s
    assert rows["60"][1:] == [f"${v:.4f}" for v in (lambda_, requests, storage, endpoint, 0.10,
                                                      lambda_ + requests + storage + endpoint + 0.10)]
    assert rows["5"][0] == "8,760" and rows["60"][0] == "730"
    assert "collector: every 5 min, in every column" in included.stdout and "collector: every" not in plain.stdout
    zero = [float(cost_row(out.stdout, "0")[1].strip("$")) for out in (plain, included)]
    assert zero[1] > zero[0] + 0.10  # serverless with no request: its standing charges, then the collector too


# ---------------------------------------------------------------- an A/B

def test_the_paired_comparison_by_hand() -> None:
    paired = PairedComparison(endpoint_gb_seconds=0.4, endpoint_per_gb_second=0.001, data_cost=0.002,
                              lambda_wait_s=3.0, lambda_memory_mb=512, lambda_per_gb_second=1e-5, s3_per_put=1e-5,
                              s3_per_get=1e-6, s3_per_gb_month=0.02, retention_days=10)
    parts = paired.monthly()
    assert parts["endpoint"] == pytest.approx(730 * (0.4 * 0.001 + 0.002))  # one more all-station call an hour
    assert parts["Lambda"] == pytest.approx(730 * 3.0 * 0.5 * 1e-5)  # the collector waits for it at 0.5 GB
    # a forecast and a score written and the forecast read back, an hour; the forecast and both models' cases kept
    assert parts["S3"] == pytest.approx(730 * (2e-5 + 1e-6) + 10 * 24 * (FORECAST_KB + 2 * SCORE_KB) / 1024**2 * 0.02)


def test_an_ab_adds_its_standing_and_its_comparison_to_every_mode(tmp_path: Path) -> None:
    bench = str(write_bench(tmp_path))  # hourly batch 100 ms, cold start 2 s
    args = ("--bench", bench, "--memory-mb", "1024", "--price-per-gb-second", "0.001", "--price-per-gb-data", "0",
            "--instance-price", "1", "--collector", "--collector-memory-mb", "1024", "--requests", "0")
    plain, ab = run_cost(*args), run_cost(*args, "--ab", "--challenger-weight", "0.25")
    assert plain.returncode == 0 and ab.returncode == 0, plain.stderr + ab.stderr
    added = [float(after.strip("$").replace(",", "")) - float(before.strip("$").replace(",", ""))
             for before, after in zip(cost_row(plain.stdout, "0")[1:], cost_row(ab.stdout, "0")[1:], strict=True)]
    storage = 400 * 24 * (FORECAST_KB + 2 * SCORE_KB) / 1024**2 * 0.023 + 730 * (2 * 0.005 + 0.0004) / 1000
    waits = 730 * 0.0000133334  # at 1 GB: the cold start (2 s) and the batch (0.1 s) on serverless, the batch alone
    serverless = 4 * 0.10 + 730 * 0.1 * 0.001 + waits * 2.1 + storage  # its 4 alarms, its hourly batch at 1 GB
    # a quarter of a 2-4 fleet is 1 instance at $1/h (RealtimeSettings.share), its 5 alarms; the batch is paid for
    realtime = HOURS_PER_MONTH * 1 + 5 * 0.10 + waits * 0.1 + storage
    assert added[:2] == pytest.approx([serverless, serverless], abs=1e-4)
    # bills of $10 and more are printed in cents; the challenger's endpoint is on demand beside a provisioned one
    assert added[2:] == pytest.approx([serverless, realtime], abs=0.0101)  # two roundings to the cent
    assert "A/B: in every column" in ab.stdout and "A/B: in every column" not in plain.stdout
    assert "an A/B with a challenger at 0.25 of the requests" in ab.stdout
