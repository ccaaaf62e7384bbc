"""The API's in-memory copy of a collected history (`api --history`), read again only when latest.json changes,
so that a stored forecast is served with a few dictionary look-ups rather than file reads or an endpoint call.

The check is cheap: on disk the collector replaces latest.json by a rename, so its inode, time and size tell;
in S3 it is fetched again at most every 30 s. A past hour never changes once the feed has moved on, and a stored
forecast or score never changes, so each is read once; a change costs latest.json, the current hour and what is new.
Scores are kept without their per-station cases (comparison.Scoreboard): an hour's champion and challenger are
paired as soon as they are read, and only the pairs' sums stay.

In a serverless A/B the API sends each station to one side (web_api.variant_split), and a station's stored
forecast comes from the same side, so its users see one model whether the page reads a stored forecast or asks
`/predict`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from forecast_contract import HISTORY_HOURS, HORIZON_HOURS

from cdk_app.live_data.blobs import LocalBlobs
from cdk_app.live_data.comparison import Scoreboard
from cdk_app.live_data.history import (
    CHALLENGER,
    CHAMPION,
    HOUR,
    LATEST_KEY,
    CityForecast,
    History,
    Latest,
    hour_end,
)
from cdk_app.live_data.snapshot import Reading

S3_CHECK_SECONDS = 30.0
PAST_HOURS = HISTORY_HOURS  # how far back past forecasts are compared with what happened


@dataclass(frozen=True)
class HistoryState:
    """One consistent view of the history as of its latest poll. `hour` is the hour that poll belongs to (named by
    its end, still under way); `readings` covers the PAST_HOURS completed hours before it and it, and `forecasts`
    every forecast hour whose horizons fall in them, the champion's; in an A/B `challenger_forecasts` the
    challenger's, served to the stations `role_of` sends to it."""

    latest: Latest
    hour: int
    readings: dict[int, dict[str, Reading]]
    forecasts: dict[int, CityForecast]
    challenger_forecasts: dict[int, CityForecast] = field(default_factory=dict)
    role_of: Callable[[str], str] | None = None

    def counts(self, code: str, end: int, hours: int = HISTORY_HOURS) -> list[float | None]:
        """The station's hourly counts for the `hours` hours ending at `end`, oldest first, None where missing."""
        found = (self.readings.get(end - HOUR * back, {}).get(code) for back in range(hours - 1, -1, -1))
        return [None if r is None else float(r.bikes) for r in found]

    def forecast_of(self, hour: int, code: str) -> CityForecast | None:
        """The forecast made at `hour` that this station's side serves, if it covers the station."""
        challenger = self.challenger_forecasts.get(hour) if self.role_of and self.role_of(code) == CHALLENGER else None
        made = challenger if challenger is not None and code in challenger.forecasts else self.forecasts.get(hour)
        return made if made is not None and code in made.forecasts else None

    def current_for(self, code: str) -> CityForecast | None:
        """The current forecast this station's side serves (see `current_forecast`)."""
        current = self.current_forecast
        return None if current is None else self.forecast_of(current.hour, code)

    @property
    def current_forecast(self) -> CityForecast | None:
        """The latest forecast while its last horizon is still ahead of the feed's time; an older one foretells
        only the past."""
        if not self.forecasts:
            return None
        latest = self.forecasts[max(self.forecasts)]
        return latest if latest.hour + HORIZON_HOURS[-1] * HOUR > self.latest.feed_time else None


class HistoryCache:
    """Thread-safe: one request refreshes while the others keep being served the previous state."""

    def __init__(self, history: History, role_of: Callable[[str], str] | None = None) -> None:
        """`role_of`: a serverless A/B's split, which side serves each station."""
        self.history = history
        self.role_of = role_of
        self.check_every = 0.0 if isinstance(history.blobs, LocalBlobs) else S3_CHECK_SECONDS
        self._lock = threading.Lock()
        self._state: HistoryState | None = None
        self._seen: object = None  # latest.json's fingerprint when the state was read
        self._checked = float("-inf")
        self._hours: dict[int, dict[str, Reading]] = {}  # completed hours, read once
        self._forecasts: dict[int, dict[str, CityForecast]] = {}  # forecast hours, read once: role -> forecast
        self._scoreboard = Scoreboard()  # every score, read once
        self._accuracy: tuple[object, dict[str, Any]] | None = None  # (fingerprint, accuracy then)

    @property
    def location(self) -> str:
        return self.history.location

    def state(self) -> HistoryState | None:
        """The latest state; None until the collector has stored its first poll."""
        due = time.monotonic() - self._checked >= self.check_every
        if due and self._lock.acquire(blocking=self._state is None):
            try:
                self._refresh()
            finally:
                self._lock.release()
        return self._state

    def accuracy(self) -> dict[str, Any]:
        """The scoreboard's report: summed again only after a change, reading only the new scores, and compared
        again only when a new hour paired."""
        self.state()
        with self._lock:
            if self._accuracy is None or self._accuracy[0] != self._seen:
                self._scoreboard.catch_up(self.history)
                self._accuracy = (self._seen, self._scoreboard.report())
            return self._accuracy[1]

    def _fingerprint(self) -> object:
        blobs = self.history.blobs
        if isinstance(blobs, LocalBlobs):
            try:
                found = (blobs.root / LATEST_KEY).stat()
            except FileNotFoundError:
                return None
            return found.st_ino, found.st_mtime_ns, found.st_size
        return blobs.read(LATEST_KEY)

    def _refresh(self) -> None:
        self._checked = time.monotonic()
        fingerprint = self._fingerprint()
        if fingerprint == self._seen:
            return
        latest = self.history.latest()
        if latest is not None:
            hour = hour_end(latest.feed_time)
            first = hour - PAST_HOURS * HOUR
            readings = {h: self._readings(h, hour) for h in range(first, hour + HOUR, HOUR)}
            made = self._forecasts_since(first - HORIZON_HOURS[-1] * HOUR)
            self._state = HistoryState(latest, hour, readings, {h: f[CHAMPION] for h, f in made.items()},
                                       {h: f[CHALLENGER] for h, f in made.items() if CHALLENGER in f}, self.role_of)
            self._hours = {h: r for h, r in self._hours.items() if h >= first}
        self._seen = fingerprint

    def _readings(self, hour: int, current: int) -> dict[str, Reading]:
        """The hour under way is read at every change; a completed one once."""
        if hour in self._hours:
            return self._hours[hour]
        readings = self.history.hour_readings(hour)
        if hour < current:
            self._hours[hour] = readings
        return readings

    def _forecasts_since(self, first: int) -> dict[int, dict[str, CityForecast]]:
        """Each hour's champion forecast (without one, whatever covers the most stations stands in), and the
        challenger's when there is one."""
        for hour in self.history.forecast_hours():
            if hour >= first and hour not in self._forecasts:
                made = self.history.forecasts(hour)
                if made:
                    champion = max(made, key=lambda f: (f.role == CHAMPION, len(f.forecasts), f.model_version))
                    self._forecasts[hour] = {CHAMPION: champion, **{f.role: f for f in made if f.role == CHALLENGER
                                                                    and f is not champion}}
        self._forecasts = {h: f for h, f in self._forecasts.items() if h >= first}
        return dict(self._forecasts)
