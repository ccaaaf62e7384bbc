"""The cost model: SageMaker Serverless pricing (per-ms compute by memory, data processed, no request fee)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.synth import ACCOUNT

from cdk_app.deployment.config import load_project_config
from cdk_app.paths import REPO_ROOT
from cdk_app.performance.bench_rows import STACK_BATCH, STACK_SEQUENTIAL
from cdk_app.performance.cost import Prices, Workload, alarm_count, cost_table, monthly_cost


def test_compute_is_priced_by_duration_and_memory_with_no_request_fee() -> None:
    one_second_at_1gb = Workload(duration_ms=1000, request_bytes=0, response_bytes=0)
    cost = monthly_cost(1000, one_second_at_1gb, 1024, Prices(per_gb_second=0.00002, per_gb_data=0.016))
    assert cost["compute"] == pytest.approx(1000 * 0.00002)
    assert cost["data"] == 0
    doubled = monthly_cost(1000, one_second_at_1gb, 2048, Prices(per_gb_second=0.00002, per_gb_data=0.016))
    assert doubled["compute"] == pytest.approx(2 * cost["compute"])


def test_data_processed_counts_both_directions() -> None:
    gigabyte_round_trip = Workload(duration_ms=0, request_bytes=2**29, response_bytes=2**29)
    cost = monthly_cost(1, gigabyte_round_trip, 1024, Prices(per_gb_second=0.0, per_gb_data=0.016))
    assert cost["data"] == pytest.approx(0.016)


def test_table_shows_batching_is_cheaper(tmp_path: Path) -> None:
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"request_bytes": 300, "batch_stations": 1500, "rows": [
        {"id": STACK_SEQUENTIAL, "p50_ms": 3.0}, {"id": STACK_BATCH, "p50_ms": 45.0}]}))
    table = cost_table(bench, 4096, 4, Prices(), (1_000, 100_000))
    rows = [line.split() for line in table.splitlines() if line.strip().startswith(("1,000", "100,000"))]
    for _, alone, batched in rows:
        assert float(batched.strip("$")) < float(alone.strip("$"))
    assert "Standing charges" in table


def test_cost_without_a_benchmark_says_what_to_run(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "cdk_app", "cost", "--bench", str(tmp_path / "none.json")],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "run `python -m cdk_app bench` first" in result.stderr


def test_alarm_count_follows_the_stacks_own_specs() -> None:
    assert alarm_count(load_project_config(ACCOUNT)) == 4
    assert alarm_count(load_project_config(ACCOUNT, provisioned_concurrency=2)) == 5


def test_cost_command_prints_the_table_with_its_flags(tmp_path: Path) -> None:
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"request_bytes": 300, "batch_stations": 1500, "rows": [
        {"id": STACK_SEQUENTIAL, "p50_ms": 2.0}, {"id": STACK_BATCH, "p50_ms": 40.0}]}))
    result = subprocess.run([sys.executable, "-m", "cdk_app", "cost", "--bench", str(bench), "--memory-mb", "1024",
                             "--requests", "1000000", "--price-per-gb-second", "0.001", "--price-per-gb-data", "0"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "memory 1024 MB, $0.001/GB-s compute, $0/GB data" in result.stdout
    # 1,000,000 requests x 2 ms x 1 GB x $0.001/GB-s = $2; batched: 667 requests x 40 ms = $0.0267
    row = next(line.split() for line in result.stdout.splitlines() if line.strip().startswith("1,000,000"))
    assert row[1:] == ["$2.0000", "$0.0267"]
    assert "4 alarms $0.40 = $1.40/month" in result.stdout
