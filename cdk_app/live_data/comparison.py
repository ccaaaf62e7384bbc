"""The A/B verdict: the champion and the challenger compared on the station-hours both forecast and scored.

Each hour both models forecast every station (the collector), so each station-hour scored by both gives a
paired difference: the challenger's absolute error minus the champion's, in bikes. Their mean says which model
is better (negative: the challenger), and its 95 % confidence interval whether the difference is more than noise.

**The interval resamples whole hours, never single station-hours.** Station-hours of one hour are not
independent: a city-wide event (rain, a strike, a match) moves every station at once, and one model may read it
worse than the other, so the differences within an hour move together. A bootstrap of independent station-hours
would count 1,500 correlated cases as 1,500 pieces of evidence and give an interval far too narrow. So it is a
cluster bootstrap over hours: each hour contributes the sum of its differences and its count, and the statistic
is the ratio of the sums (the mean difference per station-hour). scipy.stats.bootstrap does it with
`paired=True` (one resample of hours for both sums), BCa, 9,999 resamples, seeded: the same history always gives
the same interval, so the page does not flicker between two reloads.

No interval and no verdict before MIN_HOURS paired hours: a cluster-robust interval from few clusters is too
narrow, and a day of hours covers the daily cycle once. Then the verdict is "challenger better" when the whole
interval lies below 0, "champion better" when it lies above, and "not enough evidence yet (n = N)" otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from itertools import combinations, groupby
from typing import Any

from forecast_contract import HORIZON_KEYS

from cdk_app.live_data.city_forecast import PARIS
from cdk_app.live_data.history import CHALLENGER, CHAMPION, History, Score, accuracy, hour_of_key

CONFIDENCE_LEVEL = 0.95
MIN_HOURS = 24  # paired hours before any interval or verdict
RESAMPLES = 9999
SEED = 17  # fixed: the interval is a function of the history alone
CHALLENGER_BETTER, CHAMPION_BETTER = "challenger better", "champion better"


def not_enough_evidence(n: int) -> str:
    return f"not enough evidence yet (n = {n})"


@dataclass(frozen=True)
class PairedHour:
    """Two model versions' forecasts made at one hour, reduced to the station-hours both scored: per horizon,
    how many, and each version's summed absolute error on them. `roles`: model version -> its role then."""

    hour: int
    roles: dict[str, str]
    n: dict[str, int]
    abs_error: dict[str, dict[str, float]]


@dataclass(frozen=True)
class HorizonVerdict:
    """`difference` is the challenger's MAE minus the champion's on the paired station-hours, in bikes."""

    n: int
    hours: int
    champion_mae: float | None
    challenger_mae: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    verdict: str


@dataclass(frozen=True)
class Comparison:
    champion: str
    challenger: str
    first_hour: str  # the first and last forecast hours paired, Paris time
    last_hour: str
    confidence_level: float
    min_hours: int
    by_horizon: dict[str, HorizonVerdict]


def _hour_pairs(scores: Sequence[Score]) -> list[PairedHour]:
    """Each two versions among one hour's scores that kept their cases: in practice, the champion and the
    challenger. A score written before A/B has no cases and pairs with nothing."""
    kept = sorted((s for s in scores if s.case_errors is not None), key=lambda s: s.model_version)
    return [_pair(first, second) for first, second in combinations(kept, 2)]


def _pair(first: Score, second: Score) -> PairedHour:
    assert first.case_errors is not None and second.case_errors is not None
    n: dict[str, int] = {}
    sums: dict[str, dict[str, float]] = {first.model_version: {}, second.model_version: {}}
    for horizon in HORIZON_KEYS:
        mine, theirs = first.case_errors[horizon], second.case_errors[horizon]
        both = mine.keys() & theirs.keys()
        n[horizon] = len(both)
        sums[first.model_version][horizon] = sum(map(mine.__getitem__, both))
        sums[second.model_version][horizon] = sum(map(theirs.__getitem__, both))
    return PairedHour(first.hour, {first.model_version: first.role, second.model_version: second.role}, n, sums)


def compare(pairs: Iterable[PairedHour]) -> Comparison | None:
    """The champion and the challenger are the roles of the latest hour that had both; every hour that paired
    those two versions counts. None when no hour had both roles (no challenger yet)."""
    pairs = list(pairs)
    latest = max((p for p in pairs if sorted(p.roles.values()) == [CHALLENGER, CHAMPION]), key=lambda p: p.hour,
                 default=None)
    if latest is None:
        return None
    version = {role: v for v, role in latest.roles.items()}
    chosen = sorted((p for p in pairs if p.roles.keys() == latest.roles.keys()), key=lambda p: p.hour)
    return Comparison(
        champion=version[CHAMPION], challenger=version[CHALLENGER], first_hour=_paris(chosen[0].hour),
        last_hour=_paris(chosen[-1].hour), confidence_level=CONFIDENCE_LEVEL, min_hours=MIN_HOURS,
        by_horizon={h: _verdict([(p.n[h], p.abs_error[version[CHAMPION]][h], p.abs_error[version[CHALLENGER]][h])
                                 for p in chosen if p.n[h]]) for h in HORIZON_KEYS})


def _paris(hour: int) -> str:
    return datetime.fromtimestamp(hour, PARIS).isoformat(timespec="minutes")


def _verdict(hours: list[tuple[int, float, float]]) -> HorizonVerdict:
    """`hours`: per paired hour, (station-hours, champion's summed error, challenger's)."""
    n = sum(count for count, _, _ in hours)
    if not n:
        return HorizonVerdict(0, 0, None, None, None, None, None, not_enough_evidence(0))
    champion, challenger = (math.fsum(h[i] for h in hours) / n for i in (1, 2))
    low = high = None
    verdict = not_enough_evidence(n)
    if len(hours) >= MIN_HOURS:
        low, high = paired_interval([challenger - champion for _, champion, challenger in hours],
                                    [count for count, _, _ in hours])
        verdict = CHALLENGER_BETTER if high < 0 else CHAMPION_BETTER if low > 0 else verdict
    return HorizonVerdict(n, len(hours), _round(champion), _round(challenger), _round(challenger - champion),
                          _round(low), _round(high), verdict)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def paired_interval(differences: Sequence[float], counts: Sequence[int]) -> tuple[float, float]:
    """The CONFIDENCE_LEVEL interval of sum(differences) / sum(counts) by a cluster bootstrap over hours: each
    hour is one cluster, with the sum of its station-hours' differences and their count."""
    import numpy as np
    from scipy.stats import bootstrap

    sums, sizes = np.asarray(differences, dtype=float), np.asarray(counts, dtype=float)
    ratio = sums.sum() / sizes.sum()
    if np.allclose(sums, ratio * sizes, rtol=0, atol=1e-9):  # every hour the same mean: every resample too
        return float(ratio), float(ratio)

    def mean_difference(d: Any, c: Any, axis: int) -> Any:
        return d.sum(axis=axis) / c.sum(axis=axis)

    result = bootstrap((sums, sizes), mean_difference, paired=True, vectorized=True, n_resamples=RESAMPLES,
                       confidence_level=CONFIDENCE_LEVEL, method="BCa", rng=np.random.default_rng(SEED))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


class Scoreboard:
    """A history's scores as GET /accuracy and `accuracy` need them: each kept without its cases once its hour is
    paired (a few kilobytes an hour, where 1,500 stations' cases are a few hundred), the pairs, and their
    comparison, made again only when a pair changed."""

    def __init__(self) -> None:
        self._scores: dict[int, dict[str, Score]] = {}  # hour -> model version -> the score without its cases
        self._pairs: dict[int, list[PairedHour]] = {}
        self._comparison: Comparison | None = None

    def add(self, scores: Iterable[Score]) -> None:
        """Scores with each hour's together, as a history lists them; an hour given again is paired again. Only
        one hour's cases are held at a time."""
        changed = False
        for hour, found in groupby(scores, key=lambda s: s.hour):
            given = list(found)
            self._scores.setdefault(hour, {}).update({s.model_version: replace(s, case_errors=None) for s in given})
            pairs = _hour_pairs(given)
            changed |= pairs != self._pairs.get(hour, [])
            self._pairs[hour] = pairs
        if changed:
            self._comparison = compare(p for pairs in self._pairs.values() for p in pairs)

    def catch_up(self, history: History) -> None:
        """Reads every score of each hour that has a new one: its others again only when they came in an earlier
        poll (a poll cut short can write one role's score and not the other's)."""
        by_hour: dict[str, list[str]] = {}
        for key in history.score_keys():  # scores/<hour>/<model_version>.json
            by_hour.setdefault(key.split("/")[1], []).append(key)
        self.add(history.score(key) for hour, keys in by_hour.items()
                 if len(keys) > len(self._scores.get(hour_of_key(hour), {})) for key in keys)

    def report(self) -> dict[str, Any]:
        """`history.accuracy`'s MAEs per model version, and the champion against the challenger (`comparison`,
        None without a challenger)."""
        comparison = None if self._comparison is None else asdict(self._comparison)
        return {**accuracy(s for held in self._scores.values() for s in held.values()), "comparison": comparison}
