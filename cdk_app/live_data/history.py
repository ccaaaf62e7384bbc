"""The collected history: per hour, each station's latest fresh reading; the forecasts made; their scores.

Layout under the history's root (a folder or `s3://bucket/prefix`, the same keys in both):

    latest.json                              the last poll: stations, every reading, what is done
    hours/2026-11-30T1400Z.json              hour (13:00, 14:00] UTC: each station's latest fresh reading
    forecasts/2026-11-30T1400Z/<version>.json   the city forecast made from the 24 hours ending then
    scores/2026-11-30T1400Z/<version>.json      that forecast scored, once its three hours were observed

With a challenger (an A/B between model versions) an hour has two forecasts and two scores, one per model
version, each naming its role, "champion" or "challenger"; files written before A/B have no role and are the
champion's. A score keeps each station's absolute error per horizon, so that two versions can be compared on
the same station-hours; a score written before A/B has only the sums, and cannot be paired.

Times are the feed's, in epoch seconds; an hour is named by its end, in UTC. A reading is stale, and
counts as missing, when its `last_reported` is more than an hour older than the feed's time. An hour
with no fresh reading of a station has no entry for it: a missing hour is never invented.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from forecast_contract import HISTORY_HOURS, HORIZON_KEYS

from cdk_app.live_data.blobs import Blobs
from cdk_app.live_data.snapshot import Reading, Snapshot, Station

HOUR = 3600
STALE_AFTER_SECONDS = 3600
LATEST_KEY = "latest.json"
CHAMPION, CHALLENGER = "champion", "challenger"
_KEY_FORMAT = "%Y-%m-%dT%H%MZ"

Counts = dict[str, list[float | None]]  # station code -> hourly counts, oldest first (whole bikes, sent as ints)


def hour_end(feed_time: int) -> int:
    """The hour a feed time belongs to, named by its end: (H - 1 h, H]."""
    return -(-feed_time // HOUR) * HOUR


def hour_key(hour: int) -> str:
    return datetime.fromtimestamp(hour, UTC).strftime(_KEY_FORMAT)


def hour_of_key(key: str) -> int:
    return int(datetime.strptime(key, _KEY_FORMAT).replace(tzinfo=UTC).timestamp())


def is_stale(reading: Reading, feed_time: int) -> bool:
    return feed_time - reading.last_reported > STALE_AFTER_SECONDS


def _dump(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Latest:
    """The last stored poll. `tasks_through` is the last completed hour whose forecast and scoring ran;
    `hours_complete` counts the completed hours that saw a poll (kept here, so no poll lists the history)."""

    feed_time: int
    tasks_through: int
    hours_complete: int
    stations: dict[str, Station]
    readings: dict[str, Reading]
    skipped: dict[str, str]


@dataclass(frozen=True)
class CityForecast:
    """One model's forecast of every forecastable station from the 24 hours ending at `hour`.
    `last_counts` is each station's last count (persistence's forecast at every horizon); `role` is the
    model's role when it forecast, champion or challenger."""

    hour: int
    model_version: str
    forecasts: dict[str, dict[str, float]]
    last_counts: dict[str, float]
    role: str = CHAMPION


@dataclass(frozen=True)
class Score:
    """A city forecast against what happened: per horizon, cases scored and summed absolute errors, and
    `case_errors`, each station's absolute error per horizon, kept only where another model forecast the same hour
    (an A/B pairs them; 1,500 stations' are 76 KB, against a few hundred bytes for the sums)."""

    hour: int
    model_version: str
    n: dict[str, int]
    abs_error: dict[str, float]
    persistence_abs_error: dict[str, float]
    role: str = CHAMPION
    case_errors: dict[str, dict[str, float]] | None = None


class History:
    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs

    @property
    def location(self) -> str:
        return self.blobs.location

    def _json(self, key: str) -> Any:
        data = self.blobs.read(key)
        return None if data is None else json.loads(data)

    # ------------------------------------------------------------------------------------------- polls
    def latest(self) -> Latest | None:
        raw = self._json(LATEST_KEY)
        if raw is None:
            return None
        return Latest(feed_time=raw["feed_time"], tasks_through=raw["tasks_through"],
                      hours_complete=raw["hours_complete"],
                      stations={c: Station(code=c, **s) for c, s in raw["stations"].items()},
                      readings={c: Reading(code=c, **r) for c, r in raw["readings"].items()},
                      skipped=raw["skipped"])

    def put_latest(self, snapshot: Snapshot, tasks_through: int, hours_complete: int = 0) -> None:
        """Written last in a poll: a poll cut short before it is simply done again."""
        self.blobs.write(LATEST_KEY, _dump({
            "feed_time": snapshot.feed_time, "tasks_through": tasks_through, "hours_complete": hours_complete,
            "skipped": snapshot.skipped,
            "stations": {c: _fields(s) for c, s in snapshot.stations.items()},
            "readings": {c: _fields(r) for c, r in snapshot.readings.items()}}))

    def record_hour(self, snapshot: Snapshot) -> int:
        """Merge the snapshot's fresh readings into its hour; returns how many were fresh."""
        hour = hour_end(snapshot.feed_time)
        key = f"hours/{hour_key(hour)}.json"
        entries: dict[str, Any] = (self._json(key) or {"hour": hour, "readings": {}})["readings"]
        fresh = {c: r for c, r in snapshot.readings.items() if not is_stale(r, snapshot.feed_time)}
        for code, reading in fresh.items():
            if entries.get(code, {}).get("feed_time", -1) <= snapshot.feed_time:
                entries[code] = {**_fields(reading), "feed_time": snapshot.feed_time}
        self.blobs.write(key, _dump({"hour": hour, "readings": entries}))
        return len(fresh)

    def hour_readings(self, hour: int) -> dict[str, Reading]:
        raw = self._json(f"hours/{hour_key(hour)}.json")
        if raw is None:
            return {}
        return {c: Reading(code=c, **{k: v for k, v in r.items() if k != "feed_time"})
                for c, r in raw["readings"].items()}

    def hours(self) -> list[int]:
        return [hour_of_key(k.removeprefix("hours/").removesuffix(".json")) for k in self.blobs.keys("hours/")]

    def counts(self, end_hour: int, hours: int = HISTORY_HOURS) -> Counts:
        """Every station's hourly counts for the `hours` hours ending at `end_hour`, None where missing."""
        window = [self.hour_readings(end_hour - HOUR * (hours - 1 - i)) for i in range(hours)]
        codes = sorted(set().union(*window))
        return {c: [w[c].bikes if c in w else None for w in window] for c in codes}

    # --------------------------------------------------------------------------------------- forecasts
    def put_forecast(self, forecast: CityForecast) -> None:
        self.blobs.write(f"forecasts/{hour_key(forecast.hour)}/{forecast.model_version}.json",
                         _dump(asdict(forecast)))

    def forecasts(self, hour: int) -> list[CityForecast]:
        return [CityForecast(**self._json(k)) for k in self.blobs.keys(f"forecasts/{hour_key(hour)}/")]

    def forecast_versions(self, hour: int) -> set[str]:
        """The models that forecast `hour`, from a listing alone: no forecast is read."""
        return _versions(self.blobs.keys(f"forecasts/{hour_key(hour)}/"))

    def forecast_roles(self, hour: int) -> dict[str, str]:
        """Role -> the model version that forecast `hour` in it: one listing, and the forecasts read only when it
        shows some, which happens when a poll cut short is done again; an hour's first look reads nothing."""
        return {f.role: f.model_version for f in self.forecasts(hour)}

    def forecast_hours(self) -> list[int]:
        return sorted({hour_of_key(k.split("/")[1]) for k in self.blobs.keys("forecasts/")})

    # ------------------------------------------------------------------------------------------ scores
    def put_score(self, score: Score) -> None:
        self.blobs.write(f"scores/{hour_key(score.hour)}/{score.model_version}.json", _dump(asdict(score)))

    def scored(self, hour: int) -> set[str]:
        return _versions(self.blobs.keys(f"scores/{hour_key(hour)}/"))

    def score_keys(self) -> list[str]:
        return self.blobs.keys("scores/")

    def score(self, key: str) -> Score:
        return Score(**self._json(key))

    def scores(self) -> list[Score]:
        return [self.score(k) for k in self.score_keys()]


def _versions(keys: list[str]) -> set[str]:
    """`<kind>/<hour>/<model_version>.json` -> the model versions."""
    return {k.rsplit("/", 1)[1].removesuffix(".json") for k in keys}


def _fields(record: Station | Reading) -> dict[str, Any]:
    return {k: v for k, v in asdict(record).items() if k != "code"}


def score_forecast(forecast: CityForecast, observed: Mapping[str, Mapping[str, Reading]],
                   keep_cases: bool = True) -> Score:
    """Each horizon against the count observed then (`observed[horizon]`), beside persistence on the same cases;
    with `keep_cases`, each case's error too, for pairing."""
    n: dict[str, int] = {}
    errors: dict[str, float] = {}
    persistence: dict[str, float] = {}
    cases: dict[str, dict[str, float]] = {}
    for horizon in HORIZON_KEYS:
        actual = observed[horizon]
        cases[horizon] = {c: round(abs(p[horizon] - actual[c].bikes), 6) for c, p in forecast.forecasts.items()
                          if c in actual}
        n[horizon] = len(cases[horizon])
        errors[horizon] = round(sum(cases[horizon].values()), 6)
        persistence[horizon] = round(sum(abs(forecast.last_counts[c] - actual[c].bikes) for c in cases[horizon]), 6)
    return Score(forecast.hour, forecast.model_version, n, errors, persistence, forecast.role,
                 cases if keep_cases else None)


def accuracy(scores: Iterable[Score]) -> dict[str, Any]:
    """`{"by_model_version": {version: {"T+1h": {"n", "mae", "persistence_mae"}, ...}}}`, MAE in bikes."""
    totals: dict[str, dict[str, list[float]]] = {}
    for score in scores:
        by_horizon = totals.setdefault(score.model_version, {h: [0, 0.0, 0.0] for h in HORIZON_KEYS})
        for horizon in HORIZON_KEYS:
            by_horizon[horizon][0] += score.n[horizon]
            by_horizon[horizon][1] += score.abs_error[horizon]
            by_horizon[horizon][2] += score.persistence_abs_error[horizon]
    return {"by_model_version": {
        version: {h: {"n": int(n), "mae": round(err / n, 4) if n else None,
                      "persistence_mae": round(pers / n, 4) if n else None}
                  for h, (n, err, pers) in by_horizon.items()}
        for version, by_horizon in sorted(totals.items())}}
