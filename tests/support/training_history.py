"""A small collected history for the dataset and training-job tests, written through `History` as the collector
leaves one: 12 days of hours across the end of summer time in Paris, three stations the endpoint accepts, one it
refuses (capacity 0), one that latest.json no longer describes, gaps of one station, and an hour no poll saw.
Counts are a plain function of the station and the hour, so a test computes what it expects on its own.
"""

from __future__ import annotations

from pathlib import Path

from cdk_app.live_data.blobs import LocalBlobs
from cdk_app.live_data.history import HOUR, History
from cdk_app.live_data.snapshot import Reading, Snapshot, Station

FIRST = 1_760_922_000  # the hour ending 2025-10-20 01:00 UTC, a Monday (03:00 in Paris)
DAYS = 12
HOURS = [FIRST + i * HOUR for i in range(DAYS * 24)]
DST_END = 1_761_440_400  # the hour ending 2025-10-26 01:00 UTC: 02:00 in Paris again, on winter time
OUTAGE = FIRST + 100 * HOUR  # no poll at all that hour
STATIONS = {"16107": Station("16107", "Rivoli - Louvre", 20, 48.8606, 2.3376),
            "9020": Station("9020", "Bastille - Roquette", 30, 48.8532, 2.3700),
            "11104": Station("11104", "Oberkampf", 25, 48.8649, 2.3800)}
BUILDING = Station("42001", "Gare de Lyon - Nouvelle", 0, 48.8443, 2.3740)  # capacity 0: refused by the endpoint
REMOVED = "8001"  # counted, but gone from the feed by the last poll
ACCEPTED = sorted(STATIONS)  # the channel's stations, in its order


def bikes(code: str, hour: int) -> int:
    capacity = STATIONS[code].capacity if code in STATIONS else 10
    return (hour // HOUR * 7 + int(code)) % (capacity + 1)


def counted(code: str, hour: int) -> bool:
    """9020 misses every eleventh hour; 11104 misses three hours in the last week; nobody is counted in the outage."""
    index = (hour - FIRST) // HOUR
    return hour != OUTAGE and not (code == "9020" and index % 11 == 5) and not (code == "11104" and 250 <= index < 253)


def expected_counts() -> list[tuple[str, int, int]]:
    """(station_code, hour_end, bikes) as the channel holds them: sorted by station, then hour."""
    return [(code, hour, bikes(code, hour)) for code in ACCEPTED for hour in HOURS if counted(code, hour)]


def write_history(root: Path) -> History:
    history = History(LocalBlobs(root))
    described = {**STATIONS, BUILDING.code: BUILDING}
    snapshot = None
    for hour in HOURS:
        if hour == OUTAGE:
            continue
        feed_time = hour - 10 * 60
        codes = [c for c in [*STATIONS, BUILDING.code, REMOVED] if counted(c, hour)]
        snapshot = Snapshot(feed_time, described, {
            c: Reading(c, bikes(c, hour) if c in STATIONS else 3, None, None, None, True, True, feed_time - 30)
            for c in codes})
        history.record_hour(snapshot)
    assert snapshot is not None
    history.put_latest(snapshot, HOURS[-1])
    return history
