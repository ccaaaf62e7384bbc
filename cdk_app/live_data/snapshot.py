"""What one poll of a GBFS feed gives, whatever the feed's dialect: stations, their readings, the feed's time."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Station:
    """A station as station_information describes it; `code` is `stationCode` when the feed has one."""

    code: str
    name: str
    capacity: int
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Reading:
    """A station's status at `last_reported` (epoch seconds). `mechanical` and `ebikes` are None when the
    feed does not split bikes by type; `docks` is None when it does not say."""

    code: str
    bikes: int
    mechanical: int | None
    ebikes: int | None
    docks: int | None
    installed: bool
    renting: bool
    last_reported: int


@dataclass(frozen=True)
class Snapshot:
    """One poll: the feed's own time (epoch seconds, from station_status's header), never the poller's."""

    feed_time: int
    stations: dict[str, Station]
    readings: dict[str, Reading]
    skipped: dict[str, str] = field(default_factory=dict)  # a skipped station's id -> why, one line
