"""The cost model by serving mode: serverless by the ms, warm hours by pings or provisioned concurrency,
real-time by the instance hour, and where real-time breaks even."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cdk_app.paths import REPO_ROOT
from cdk_app.performance.bench_rows import STACK_SEQUENTIAL
from cdk_app.performance.cost import (
    HOURS_PER_MONTH,
    RELEASE_BENCH,
    WEEKS_PER_MONTH,
    Prices,
    Workload,
    alarm_count,
    break_even,
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
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"request_bytes": 0, "rows": [{"id": STACK_SEQUENTIAL, "p50_ms": 2.0}]}))
    result = run_cost("--bench", str(bench), "--memory-mb", "1024", "--requests", "1000", "1000000",
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
