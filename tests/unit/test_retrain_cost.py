"""The weekly retraining's bill: a run's instance seconds at its hourly price, 4.35 runs a month and its alarm,
added to every serving mode when `retrain_schedule` deploys it; figures worked out by hand."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from cdk_app.paths import REPO_ROOT
from cdk_app.performance.cost import Modes, Prices, alarm_count, cost_table, project_modes
from cdk_app.performance.retrain_cost import MEASURED_RUN_SECONDS, RetrainRun

RETRAIN: dict[str, Any] = {"collector": "true", "retrain_schedule": "cron(0 3 ? * MON *)"}


def test_a_run_is_its_seconds_at_the_hourly_price_and_a_month_is_four_point_three_five_of_them() -> None:
    run = RetrainRun("ml.m5.large", 1800)  # half an hour at the table's $0.115
    assert run.cost() == pytest.approx(0.0575)
    assert run.monthly(alarm_per_month=0.10) == pytest.approx(4.35 * 0.0575 + 0.10)  # $0.350125


def test_the_price_flag_wins_and_a_type_without_a_price_needs_it() -> None:
    assert RetrainRun("ml.m5.large", 3600, price_per_hour=1.0).monthly(0) == pytest.approx(4.35)
    with pytest.raises(ValueError, match="--retrain-instance-price"):
        RetrainRun("ml.c7a.large", 60).cost()


def test_deployed_retraining_adds_its_runs_and_its_alarm_to_every_mode() -> None:
    without, deployed = project_modes(collector="true"), project_modes(**RETRAIN)
    assert [alarm_count(m) for m in (deployed.serverless, deployed.ping, deployed.provisioned, deployed.realtime)] \
        == [6, 7, 7, 7]  # the collector's modes' alarms, plus one on failed runs
    run = RetrainRun("ml.m5.large", 3600, price_per_hour=1.0)  # $1 a run

    def zero_row(modes: Modes) -> list[float]:
        text = cost_table(REPO_ROOT / "no-bench.json", modes, Prices(), (0,), retrain=run)
        (row,) = [line.split() for line in text.splitlines() if line.split()[:1] == ["0"]]
        return [float(v.strip("$").replace(",", "")) for v in row[1:]]

    # 4.35 runs of $1, and the $0.10 alarm
    assert [b - a for a, b in zip(zero_row(without), zero_row(deployed), strict=True)] == pytest.approx([4.45] * 4)


def test_cost_prices_a_run_from_its_flags_and_defaults_to_the_measured_run() -> None:
    flagged = subprocess.run([sys.executable, "-m", "cdk_app", "cost", "--requests", "0", "--retrain-instance-type",
                              "ml.c5.xlarge", "--retrain-seconds", "600"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=60)
    assert flagged.returncode == 0, flagged.stderr
    # 600 s at $0.204/h = $0.0340; x 4.35 = $0.1479; with the $0.10 alarm, $0.2479
    assert "600 s of ml.c5.xlarge at $0.204/h a run" in flagged.stdout
    assert "a run $0.0340; a month (4.35 runs) $0.1479, with its alarm $0.2479" in flagged.stdout
    default = subprocess.run([sys.executable, "-m", "cdk_app", "cost", "--requests", "0"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=60)
    assert f"{MEASURED_RUN_SECONDS:g} s of ml.m5.large at $0.115/h a run" in default.stdout
