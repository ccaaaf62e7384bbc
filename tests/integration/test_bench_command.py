"""`python -m cdk_app bench` runs end to end on the real serving stack (a few repeats; no timing is asserted),
and `cost` reads what it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cdk_app.paths import REPO_ROOT
from cdk_app.performance.bench_rows import BATCH_STATIONS, STACK_BATCH, STACK_SEQUENTIAL

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("machine_without_endpoint")]


def test_bench_writes_every_row_and_cost_reads_it(tmp_path: Path) -> None:
    results = tmp_path / "bench.json"
    bench = subprocess.run([sys.executable, "-m", "cdk_app", "bench", "--repeat", "5", "--json", str(results)],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert bench.returncode == 0, bench.stderr[-2000:]
    report = json.loads(results.read_text())
    ids = [row["id"] for row in report["rows"]]
    assert ids == ["forward_1", "chain_1", f"forward_{BATCH_STATIONS}", f"chain_{BATCH_STATIONS}", "poll_fetch",
                   "poll_store", STACK_SEQUENTIAL, "stack_concurrent", STACK_BATCH, "runtime_sequential", "api_hit",
                   "api_miss", "api_concurrent", "city_forecast", "api_from_history"]
    assert all(row["p50_ms"] > 0 and row["samples"] > 0 for row in report["rows"])
    assert report["cold_start_to_first_200_s"] > 0 and report["batch_stations"] == BATCH_STATIONS
    assert 0 < report["cold_start_own_code_s"] < report["cold_start_to_first_200_s"]
    assert "cold start, process start to first 200" in bench.stdout and "API cache hit p50" in bench.stdout
    assert "the hourly city forecast p50" in bench.stdout
    cost = subprocess.run([sys.executable, "-m", "cdk_app", "cost", "--bench", str(results)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert cost.returncode == 0, cost.stderr
    assert f"measured by `bench` ({results})" in cost.stdout and "break-even:" in cost.stdout
    assert "requests / month" in cost.stdout and "warm: provisioned" in cost.stdout
