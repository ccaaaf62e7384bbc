"""The API's copy of a history (`api --history`): read again only when latest.json changes, and then only what
can have changed (the hour under way, new forecasts and scores), never the completed hours again; scores
paired into the A/B comparison, the champion's forecast served."""

from __future__ import annotations

from pathlib import Path

from support import ab_history
from support.live_history import FEED_TIME, LAST_COMPLETE, OPEN, STATIONS, poll, write_history

from cdk_app.live_data.blobs import LocalBlobs
from cdk_app.live_data.history import History, hour_end, hour_key
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
