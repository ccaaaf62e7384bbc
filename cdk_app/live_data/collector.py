"""One poll of the feed into the history, and what each completed hour sets off: the city forecast, the scores.

Time is the feed's: an hour H is complete once the feed's time passes H, whatever the collector's clock says,
so a history can be replayed and a test can run 30 feed-hours in seconds. A poll is idempotent: the same feed
state polled twice is stored once, and a poll cut short is done again by the next one (`latest.json` is
written last and records which hours' forecasts and scores have run).

With a challenger (an A/B between model versions), each completed hour is forecast by both models, one
invocation each, so that their scores can be paired on the same station-hours. Each role is done on its own: a
failed challenger never costs the champion's forecast, and a poll cut short does again only the role it missed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from forecast_contract import HORIZON_HOURS, HORIZON_KEYS

from cdk_app.client.forecast_client import EndpointError, ForecastClient
from cdk_app.live_data.city_forecast import forecast_city
from cdk_app.live_data.gbfs import GbfsReader
from cdk_app.live_data.history import (
    CHALLENGER,
    CHAMPION,
    HOUR,
    History,
    Latest,
    hour_end,
    hour_key,
    score_forecast,
)
from cdk_app.live_data.snapshot import Snapshot

CATCH_UP_HOURS = 24  # after an outage, at most this many completed hours get their tasks run
FORECAST_LATE_HOURS = 2  # a completed hour is still forecast this many hours later; older ones are not worth it


@dataclass
class PollReport:
    feed_time: int
    stored: bool
    stations: int = 0
    skipped: int = 0
    stale: int = 0
    hours_complete: int = 0
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        when = datetime.fromtimestamp(self.feed_time, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        if not self.stored:
            return f"feed {when}: unchanged since the last poll, nothing stored"
        parts = [f"feed {when}: {self.stations} stations read, {self.skipped} skipped, {self.stale} stale; "
                 f"{self.hours_complete} hours complete", *self.notes, *(f"error: {e}" for e in self.errors)]
        return "; ".join(parts)


class Collector:
    """`client` forecasts as the champion; `challenger`, when given, as the challenger."""

    def __init__(self, reader: GbfsReader, history: History, client: ForecastClient | None = None,
                 challenger: ForecastClient | None = None) -> None:
        if challenger is not None and client is None:
            raise ValueError("a challenger endpoint needs a champion endpoint to be compared with")
        self.reader, self.history = reader, history
        self.clients = {role: c for role, c in ((CHAMPION, client), (CHALLENGER, challenger)) if c is not None}

    def poll(self) -> PollReport:
        snapshot = self.reader.poll()
        with self.history.blobs.exclusive():
            return self.store(snapshot)

    def store(self, snapshot: Snapshot) -> PollReport:
        latest = self.history.latest()
        if latest is not None and snapshot.feed_time <= latest.feed_time:
            return PollReport(snapshot.feed_time, stored=False)
        fresh = self.history.record_hour(snapshot)
        report = PollReport(snapshot.feed_time, stored=True, stations=len(snapshot.readings),
                            skipped=len(snapshot.skipped), stale=len(snapshot.readings) - fresh)
        complete_through = hour_end(snapshot.feed_time) - HOUR
        done = _tasks_through(latest, complete_through)
        first = max(done + HOUR, complete_through - (CATCH_UP_HOURS - 1) * HOUR)
        for hour in range(first, complete_through + HOUR, HOUR):
            self._score(hour, report)
            if self.clients and hour >= complete_through - FORECAST_LATE_HOURS * HOUR:
                self._forecast(hour, snapshot, report)
        report.hours_complete = _hours_complete(latest, complete_through)
        self.history.put_latest(snapshot, max(done, complete_through), report.hours_complete)
        return report

    def _forecast(self, hour: int, snapshot: Snapshot, report: PollReport) -> None:
        made = self.history.forecast_roles(hour)
        counts = None
        for role, client in self.clients.items():
            if role in made:
                continue
            what = f"{'' if role == CHAMPION else role + ' '}forecast {hour_key(hour)}"
            counts = self.history.counts(hour) if counts is None else counts
            try:
                forecast = forecast_city(client, hour, counts, snapshot.stations, role)
            except EndpointError as error:  # the readings are stored; the forecast is reported, not retried
                report.errors.append(f"{what} failed ({type(error).__name__}): {error}")
                continue
            if forecast is None:
                report.notes.append(f"forecast {hour_key(hour)}: no station has 18 of its last 24 hours yet")
                return
            other = next((r for r, v in made.items() if v == forecast.model_version), None)
            if other is not None:  # stored under its version, it would replace the other role's forecast
                report.errors.append(f"{what}: model {forecast.model_version} already forecast this hour as the "
                                     f"{other}, so it is not stored (a challenger must be another model)")
                continue
            self.history.put_forecast(forecast)
            made[role] = forecast.model_version
            report.notes.append(f"{what}: {len(forecast.forecasts)} stations by model {forecast.model_version}")

    def _score(self, completed: int, report: PollReport) -> None:
        """A forecast is scored once its last horizon has been observed, by each model that made one; each case's
        error is kept only where two models forecast the hour, the A/B's pairs."""
        made = completed - HORIZON_HOURS[-1] * HOUR
        versions = self.history.forecast_versions(made)
        unscored = versions - self.history.scored(made)
        if not unscored:
            return
        forecasts = [f for f in self.history.forecasts(made) if f.model_version in unscored]
        observed = {key: self.history.hour_readings(made + h * HOUR) for key, h in zip(HORIZON_KEYS, HORIZON_HOURS,
                                                                                          strict=True)}
        for forecast in forecasts:
            score = score_forecast(forecast, observed, keep_cases=len(versions) > 1)
            self.history.put_score(score)
            report.notes.append(f"scored forecast {hour_key(made)} of model {forecast.model_version}: "
                                f"{score.n[HORIZON_KEYS[0]]} cases")


def _hours_complete(latest: Latest | None, complete_through: int) -> int:
    """The previous poll's hour is the only one that can have completed with readings since: any other hour
    in between saw no poll."""
    if latest is None:
        return 0
    return latest.hours_complete + (hour_end(latest.feed_time) <= complete_through)


def _tasks_through(latest: Latest | None, complete_through: int) -> int:
    """A new history starts with nothing to catch up on."""
    return complete_through if latest is None else latest.tasks_through

