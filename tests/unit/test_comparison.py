"""The A/B verdict on a history where the challenger is truly better at T+1h, as good at T+2h and worse at T+3h
(tests/support/ab_history.py): the verdicts come out that way, and the intervals agree with an independent
computation, the cluster-robust standard error of the ratio estimator, done here with numpy alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from forecast_contract import HORIZON_HOURS, HORIZON_KEYS
from support import ab_history
from support.ab_history import CHALLENGER_VERSION, CHAMPION_VERSION, FIRST_PAIRED, NOT_BY, PAIRED_HOURS

from cdk_app.cli import main
from cdk_app.live_data.blobs import LocalBlobs
from cdk_app.live_data.comparison import MIN_HOURS, paired_interval
from cdk_app.live_data.history import CHALLENGER, CHAMPION, HOUR, History, Score
from cdk_app.web_page.frames import NO_CHALLENGER

SHARED = [c for c in ab_history.CODES if c not in NOT_BY[CHAMPION] + NOT_BY[CHALLENGER]]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    history = History(LocalBlobs(tmp_path_factory.mktemp("ab") / "history"))
    ab_history.write_history(history)
    return history


@pytest.fixture(scope="module")
def scores(history: History) -> list[Score]:
    return history.scores()


def clusters(horizon: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """From the fixture's truth alone: per paired hour, the champion's and the challenger's summed absolute
    errors and the station-hours both forecast and observed; and every station-hour's own difference."""
    ahead = HORIZON_HOURS[HORIZON_KEYS.index(horizon)] * HOUR
    champion, challenger, counts, each = [], [], [], []
    for made in range(FIRST_PAIRED, FIRST_PAIRED + PAIRED_HOURS * HOUR, HOUR):
        cases = [c for c in SHARED if ab_history.observed(c, made + ahead)]
        errors = {role: [abs(ab_history.predicted(role, c, made, horizon) - ab_history.bikes(c, made + ahead))
                         for c in cases] for role in (CHAMPION, CHALLENGER)}
        champion.append(sum(errors[CHAMPION]))
        challenger.append(sum(errors[CHALLENGER]))
        counts.append(len(cases))
        each += [b - a for a, b in zip(errors[CHAMPION], errors[CHALLENGER], strict=True)]
    return np.array(champion), np.array(challenger), np.array(counts), each


def cluster_robust(differences: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """The ratio estimator sum(d) / sum(n) and its cluster-robust standard error (clusters: hours), with the
    usual H / (H - 1) small-sample factor."""
    ratio = differences.sum() / counts.sum()
    residuals = differences - ratio * counts
    hours = len(differences)
    return float(ratio), float(np.sqrt(hours / (hours - 1) * (residuals ** 2).sum()) / counts.sum())


def test_the_verdicts_follow_the_truth(scores: list[Score]) -> None:
    comparison = ab_history.report(scores)["comparison"]
    assert (comparison["champion"], comparison["challenger"]) == (CHAMPION_VERSION, CHALLENGER_VERSION)
    n = int(clusters("T+2h")[2].sum())
    assert {h: v["verdict"] for h, v in comparison["by_horizon"].items()} == {
        "T+1h": "challenger better", "T+2h": f"not enough evidence yet (n = {n})", "T+3h": "champion better"}
    assert (comparison["first_hour"], comparison["last_hour"]) == ("2025-11-30T19:00+01:00", "2025-12-02T18:00+01:00")


@pytest.mark.parametrize("horizon", HORIZON_KEYS)
def test_the_paired_figures_are_those_of_the_shared_station_hours(scores: list[Score], horizon: str) -> None:
    served = ab_history.report(scores)["comparison"]["by_horizon"][horizon]
    champion, challenger, counts, _ = clusters(horizon)
    n = counts.sum()
    assert (served["n"], served["hours"]) == (n, PAIRED_HOURS)
    assert served["champion_mae"] == pytest.approx(champion.sum() / n, abs=1e-4)
    assert served["challenger_mae"] == pytest.approx(challenger.sum() / n, abs=1e-4)
    assert served["difference"] == pytest.approx((challenger.sum() - champion.sum()) / n, abs=1e-4)


@pytest.mark.parametrize("horizon", HORIZON_KEYS)
def test_the_interval_agrees_with_the_cluster_robust_standard_error(scores: list[Score], horizon: str) -> None:
    """Both estimate the spread of the mean difference over hours, and differ by: BCa's corrections for bias
    and skewness (an hour's errors are a convex function of its shared shock, so hourly sums are skewed, about
    0.4 here; over 20 seeds BCa's ends sit 3 to 6 % of the half-width from the normal ones), the bootstrap's
    Monte Carlo error (a standard deviation of 2 % of the half-width at 9,999 resamples, so 6 % at three) and its
    plug-in variance ((H - 1) / H: 1 % at 48 hours). Hence each end within 15 % of the normal half-width.

    The station-hours of an hour share a shock, so an interval over independent station-hours (the naive
    standard error) is several times narrower: a bootstrap that resampled station-hours would fail here."""
    served = ab_history.report(scores)["comparison"]["by_horizon"][horizon]
    champion, challenger, counts, each = clusters(horizon)
    ratio, error = cluster_robust(challenger - champion, counts)
    half = 1.96 * error
    assert served["ci_low"] == pytest.approx(ratio - half, abs=0.15 * half)
    assert served["ci_high"] == pytest.approx(ratio + half, abs=0.15 * half)
    naive = float(np.std(each, ddof=1) / np.sqrt(len(each)))
    assert naive < error / 3


def test_no_interval_and_no_verdict_before_a_day_of_paired_hours(scores: list[Score]) -> None:
    early = [s for s in scores if s.hour < FIRST_PAIRED + (MIN_HOURS - 1) * HOUR]
    for horizon, served in ab_history.report(early)["comparison"]["by_horizon"].items():
        assert served["hours"] == MIN_HOURS - 1
        assert (served["ci_low"], served["ci_high"]) == (None, None)
        assert served["verdict"] == f"not enough evidence yet (n = {served['n']})", horizon
        assert served["champion_mae"] is not None


def test_without_a_challenger_there_is_no_comparison(scores: list[Score]) -> None:
    report = ab_history.report([s for s in scores if s.role == CHAMPION])
    assert report["comparison"] is None and list(report["by_model_version"]) == [CHAMPION_VERSION]


def test_the_roles_are_those_of_the_latest_hour_with_both(scores: list[Score]) -> None:
    """After a swap (the challenger promoted, the old champion kept as the challenger), the same two versions
    are compared the other way round."""
    last = max(s.hour for s in scores)
    swapped = [replace(s, hour=last + HOUR, role=CHALLENGER if s.role == CHAMPION else CHAMPION)
               for s in scores if s.hour == last]
    comparison = ab_history.report([*scores, *swapped])["comparison"]
    assert (comparison["champion"], comparison["challenger"]) == (CHALLENGER_VERSION, CHAMPION_VERSION)
    assert comparison["by_horizon"]["T+1h"]["verdict"] == "champion better"


def test_two_identical_models_are_never_told_apart() -> None:
    assert paired_interval([0.0] * 30, [300] * 30) == (0.0, 0.0)
    assert paired_interval([30.0] * 30, [300] * 30) == (0.1, 0.1)  # every hour the same: every resample too


def test_the_same_history_gives_the_same_interval(scores: list[Score]) -> None:
    assert ab_history.report(scores) == ab_history.report(list(reversed(scores)))


def test_the_accuracy_command_prints_the_same_tables(history: History, scores: list[Score],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["accuracy", "--history", str(history.location)]) == 0
    output = capsys.readouterr().out
    rows = [line.split() for line in output.splitlines()]
    report: dict[str, Any] = ab_history.report(scores)
    for version, by_horizon in report["by_model_version"].items():
        for horizon, served in by_horizon.items():
            assert [version, horizon, str(served["n"]), f"{served['mae']:.2f}", f"{served['persistence_mae']:.2f}",
                    "yes"] in rows
    assert f"Champion {CHAMPION_VERSION} against challenger {CHALLENGER_VERSION}" in output
    for horizon, served in report["comparison"]["by_horizon"].items():
        assert [horizon, str(served["n"]), str(served["hours"]), f"{served['champion_mae']:.2f}",
                f"{served['challenger_mae']:.2f}", f"{served['difference']:+.2f}", f"[{served['ci_low']:+.2f},",
                f"{served['ci_high']:+.2f}]", *served["verdict"].split()] in rows


def test_the_accuracy_command_without_a_challenger_or_a_history(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["accuracy", "--history", str(tmp_path)]) == 1
    assert "no collected history" in capsys.readouterr().err
    history = History(LocalBlobs(tmp_path))
    ab_history.write_history(history)
    for key in history.blobs.keys("scores/"):
        if history.score(key).role == CHALLENGER:
            (tmp_path / key).unlink()
    assert main(["accuracy", "--history", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert CHAMPION_VERSION in output and CHALLENGER_VERSION not in output and output.rstrip().endswith(NO_CHALLENGER)
