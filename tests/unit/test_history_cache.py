"""The API's copy of a history (`api --history`): read again only when latest.json changes, and then only what
can have changed (the hour under way, new forecasts and scores), never the completed hours again; scores
paired into the A/B comparison, the champion's forecast served."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from forecast_contract import HORIZON_KEYS
from support import ab_history
from support.live_history import (
    CLOSED,
    FEED_TIME,
    LAST_COMPLETE,
    MODEL_B,
    OPEN,
    STALE,
    STATIONS,
    poll,
    predicted,
    write_history,
)

from cdk_app.live_data.blobs import LocalBlobs
from cdk_app.live_data.history import CHALLENGER, CHAMPION, HOUR, History, hour_end, hour_key
from cdk_app.web_api import live_stations
from cdk_app.web_api.history_cache import HistoryCache


class CountedBlobs(LocalBlobs):
    """A real folder that notes each key read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: list[str] = []

    def read(self, key: str) -> bytes | None:
        self.reads.append(key)
        return super().read(key)


def test_only_a_changed_latest_is_read_again_and_then_only_the_hour_under_way(tmp_path: Path) -> None:
    blobs = CountedBlobs(tmp_path / "history")
    history = History(blobs)
    cache = HistoryCache(history)
    assert cache.state() is None  # no poll yet
    write_history(history)
    first = cache.state()
    assert first is not None and set(first.latest.stations) == set(STATIONS)
    blobs.reads.clear()
    assert cache.state() is first and blobs.reads == []  # unchanged: not a byte read
    later = poll(FEED_TIME + 60)
    history.record_hour(later)
    history.put_latest(later, LAST_COMPLETE)
    blobs.reads.clear()
    second = cache.state()
    assert second is not None and second.latest.feed_time == FEED_TIME + 60
    assert sorted(blobs.reads) == ["hours/" + hour_key(hour_end(FEED_TIME)) + ".json", "latest.json"]
    assert second.counts(OPEN, second.hour) == first.counts(OPEN, first.hour)


def test_accuracy_reads_each_score_once(tmp_path: Path) -> None:
    blobs = CountedBlobs(tmp_path / "history")
    history = History(blobs)
    write_history(history)
    cache = HistoryCache(history)
    accuracy = cache.accuracy()
    scores = [key for key in blobs.reads if key.startswith("scores/")]
    assert scores and len(scores) == len(set(scores))
    later = poll(FEED_TIME + 60)
    history.put_latest(later, LAST_COMPLETE)
    blobs.reads.clear()
    assert cache.accuracy() == accuracy
    assert not [key for key in blobs.reads if key.startswith("scores/")]


def test_the_comparison_is_the_reports_and_a_late_partner_is_paired(tmp_path: Path) -> None:
    """A poll cut short can leave an hour's champion score without the challenger's until the next poll: the
    cache pairs them once both are there, reading the champion's again for its cases."""
    blobs = CountedBlobs(tmp_path / "history")
    history = History(blobs)
    ab_history.write_history(history)
    last = hour_key(ab_history.LAST_MADE)
    late = f"scores/{last}/{ab_history.CHALLENGER_VERSION}.json"
    held = blobs.read(late)
    assert held is not None
    (blobs.root / late).unlink()
    cache = HistoryCache(history)
    early = cache.accuracy()
    assert early == ab_history.report(history.scores())
    assert early["comparison"]["last_hour"] == "2025-12-02T17:00+01:00"  # the hour before the last
    blobs.write(late, held)
    blobs.write("latest.json", (blobs.root / "latest.json").read_bytes() + b" ")  # the next poll's latest.json
    blobs.reads.clear()
    later = cache.accuracy()
    assert sorted(k for k in blobs.reads if k.startswith("scores/")) == sorted(
        f"scores/{last}/{v}.json" for v in (ab_history.CHAMPION_VERSION, ab_history.CHALLENGER_VERSION))
    assert later == ab_history.report(history.scores()) and later["comparison"]["last_hour"] == "2025-12-02T18:00+01:00"


def test_the_champions_forecast_is_served_when_both_forecast(tmp_path: Path) -> None:
    history = History(LocalBlobs(tmp_path / "history"))
    ab_history.write_history(history)
    state = HistoryCache(history).state()
    assert state is not None and state.forecasts
    assert {f.model_version for f in state.forecasts.values()} == {ab_history.CHAMPION_VERSION}


def test_in_a_split_each_station_is_served_its_own_sides_stored_forecasts(tmp_path: Path) -> None:
    """What `/predict` gives a station, its stored forecasts give too: the challenger's for a challenger station
    (the current one, and the past ones it made), the champion's for the others, and the champion's where the
    challenger did not forecast the station."""
    history = History(LocalBlobs(tmp_path / "history"))
    write_history(history)
    made = (LAST_COMPLETE, LAST_COMPLETE - HOUR)
    for hour in made:  # the challenger forecast OPEN and STALE, one bike above the champion; not CLOSED
        champion = next(f for f in history.forecasts(hour) if f.role == CHAMPION)
        history.put_forecast(replace(champion, model_version="challenger-1", role=CHALLENGER, forecasts={
            c: {k: v + 1 for k, v in p.items()} for c, p in champion.forecasts.items() if c != CLOSED}))
    sides = {OPEN: CHALLENGER, STALE: CHAMPION, CLOSED: CHALLENGER}
    state = HistoryCache(history, sides.__getitem__).state()
    assert state is not None
    served = {f.station_code: f for f in live_stations.forecasts(state)}
    assert served[OPEN].model_version == "challenger-1" and served[STALE].model_version == MODEL_B
    assert served[OPEN].predictions[HORIZON_KEYS[0]] == predicted(OPEN, LAST_COMPLETE, 1) + 1
    assert served[STALE].predictions[HORIZON_KEYS[0]] == predicted(STALE, LAST_COMPLETE, 1)
    detail = live_stations.station_forecast(state, OPEN).forecast
    assert detail is not None and detail.model_version == "challenger-1"
    assert state.forecast_of(LAST_COMPLETE, CLOSED) is state.forecasts[LAST_COMPLETE]  # the challenger lacks it
    past = live_stations.past_forecasts(state, OPEN, 2).hours[-1]  # the last completed hour, made 1 hour before
    assert past.forecasts[HORIZON_KEYS[0]] == predicted(OPEN, LAST_COMPLETE - HOUR, 1) + 1
    without = HistoryCache(history).state()  # no split: the champion's everywhere
    assert without is not None
    assert {f.model_version for f in live_stations.forecasts(without)} == {MODEL_B}
