"""Exports a collected history as a training channel (see `channel` for the format).

Stations are described as latest.json describes them now; a station the endpoint would refuse (a capacity of 0
while it is built, a position outside the service area) is left out, as the live forecast leaves it out, and so is
a station that latest.json no longer describes. Each left-out station is reported, never silently dropped.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from cdk_app.atomic_files import write_bytes
from cdk_app.lifecycle.channel import (
    COUNTS_FILE,
    COUNTS_SCHEMA,
    HISTORY_METADATA_KEY,
    HOUR,
    STATIONS_FILE,
    STATIONS_SCHEMA,
    hour_name,
    station_problems,
    write_table,
)
from cdk_app.live_data.history import History
from cdk_app.progress import Counter, say

READERS = 8  # hours read at once: each is one GET on S3


@dataclass(frozen=True)
class Export:
    """What was written, for the command's summary and for tests."""

    folder: Path
    stations: int
    counts: int
    first_hour: int
    last_hour: int
    left_out: dict[str, str]  # station code -> why it is not in the channel


def export_dataset(history: History, folder: Path, days: int | None = None) -> Export:
    """Write counts.parquet and stations.parquet for the history's hours (its last `days` days, if given)."""
    if days is not None and days < 1:
        raise ValueError(f"--days: must be at least 1, got {days}")
    latest = history.latest()
    hours = sorted(history.hours())
    if latest is None or not hours:
        raise ValueError(f"--history: {history.location} holds no collected hours (no latest.json or no hours/); "
                         "`python -m cdk_app collect` writes them")
    if days is not None:
        hours = [h for h in hours if h > hours[-1] - days * 24 * HOUR]
    left_out = {code: "; ".join(problems) for code, station in latest.stations.items()
                if (problems := station_problems(station.capacity, station.latitude, station.longitude))}
    say(f"reading {len(hours)} hours ({hour_name(hours[0])} to {hour_name(hours[-1])}) from {history.location}")
    counter = Counter("hours read", len(hours))
    rows: list[tuple[str, int, int]] = []
    with ThreadPoolExecutor(READERS) as pool:
        for hour, readings in zip(hours, pool.map(history.hour_readings, hours), strict=True):
            for code, reading in readings.items():
                if code not in latest.stations:
                    left_out.setdefault(code, "latest.json no longer describes it")
                elif code not in left_out:
                    rows.append((code, hour, reading.bikes))
            counter.advance()
    if not rows:
        raise ValueError(f"--history: {history.location} has no count of a station the endpoint accepts "
                         f"in those {len(hours)} hours")
    rows.sort()
    codes = sorted({code for code, _, _ in rows})
    stations = [latest.stations[code] for code in codes]
    metadata = {HISTORY_METADATA_KEY: history.location.encode()}
    counts_table = pa.Table.from_pydict({"station_code": [r[0] for r in rows], "hour_end": [r[1] for r in rows],
                                         "bikes": [r[2] for r in rows]}, schema=COUNTS_SCHEMA.with_metadata(metadata))
    stations_table = pa.Table.from_pydict(
        {"station_code": codes, "name": [s.name for s in stations], "capacity": [s.capacity for s in stations],
         "latitude": [s.latitude for s in stations], "longitude": [s.longitude for s in stations]},
        schema=STATIONS_SCHEMA.with_metadata(metadata))
    write_bytes(folder / STATIONS_FILE, write_table(stations_table))
    write_bytes(folder / COUNTS_FILE, write_table(counts_table))
    return Export(folder, len(codes), len(rows), hours[0], hours[-1], dict(sorted(left_out.items())))
