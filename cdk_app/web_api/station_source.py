"""Where the API and the page get stations and their last 24 hours: a small interface, two sources.

- `SimulatedStations` (the default): the training simulator's 300 stations, with readable names, so the
  page works on a fresh machine. "Now" is the simulated hour with today's weekday and hour (Paris time).
- `JsonStations`: a user's own hourly history, from a JSON file (format in README and below).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from forecast_contract import HISTORY_HOURS

from cdk_app.live_data.city_forecast import station_request
from cdk_app.live_data.snapshot import Station

PARIS = ZoneInfo("Europe/Paris")
_PLACES = ("Rivoli", "Bastille", "Oberkampf", "Montparnasse", "Saint-Michel", "République", "Nation", "Italie",
           "Denfert-Rochereau", "Trocadéro", "Pigalle", "Belleville", "Bercy", "Châtelet", "Opéra", "Invalides",
           "Jussieu", "Convention", "Ternes", "Batignolles", "Gambetta", "Voltaire", "Saint-Lazare", "Alésia",
           "Wagram", "Daumesnil", "Monge", "Parmentier", "Clichy", "Étoile")
_WAYS = ("Rue", "Place", "Boulevard", "Avenue", "Quai", "Square")


@dataclass(frozen=True)
class StationHistory:
    """One station as the page shows it, with the history its forecast request is built from."""

    station_code: str
    name: str
    capacity: int
    latitude: float
    longitude: float
    hourly_bikes: list[float | None]  # the last 24 hours, oldest first
    last_hour: datetime  # local time of the last count

    @property
    def bikes_now(self) -> float | None:
        return self.hourly_bikes[-1]

    def request(self) -> dict[str, Any]:
        """The endpoint request for this station now."""
        return station_request(Station(self.station_code, self.name, self.capacity, self.latitude, self.longitude),
                               self.hourly_bikes, self.last_hour)


class StationSource(Protocol):
    def stations(self) -> list[StationHistory]: ...


class SimulatedStations:
    """The simulator's stations, computed once when first asked for (seeded, about 0.1 s), so an API serving a
    history never pays for them; `now` fixes the clock for tests."""

    def __init__(self, now: datetime | None = None, seed: int = 7) -> None:
        self.now = (now or datetime.now(PARIS)).replace(minute=0, second=0, microsecond=0)
        self.seed = seed
        self._stations: list[StationHistory] | None = None

    def stations(self) -> list[StationHistory]:
        if self._stations is None:
            self._stations = self._build()
        return self._stations

    def _build(self) -> list[StationHistory]:
        from cdk_app.training.simulator import simulate  # numpy only; imported when the source is used

        net = simulate(seed=self.seed)
        # the last hour of the simulation's final week with today's weekday and hour
        end = next(t for t in range(net.hours - 1, net.hours - 1 - 7 * 24, -1)
                   if net.day_of_week[t] == self.now.weekday() and net.hour[t] == self.now.hour)
        window = slice(end + 1 - HISTORY_HOURS, end + 1)
        return [StationHistory(
            station_code=code, name=_name(i), capacity=int(net.capacity[i]), latitude=round(float(net.latitude[i]), 5),
            longitude=round(float(net.longitude[i]), 5), last_hour=self.now,
            hourly_bikes=[None if math.isnan(v) else float(v) for v in net.bikes[i, window]])
            for i, code in enumerate(net.codes)]


def _name(index: int) -> str:
    """Readable, stable and distinct for the simulator's 300 stations."""
    place = _PLACES[index % len(_PLACES)]
    other = _PLACES[(index // len(_PLACES) + index + 1) % len(_PLACES)]
    return f"{_WAYS[index % len(_WAYS)]} {place} - {other}" if place != other else f"{place}"


class JsonStations:
    """A user's own hourly history: {"stations": [{"station_code", "name", "capacity", "latitude", "longitude",
    "last_hour": "2026-11-25T14:00", "hourly_bikes": [24 counts, oldest first, null if missing]}]}."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stations = [self._parse(i, raw) for i, raw in enumerate(self._load()["stations"])]

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.path}: cannot be read as JSON ({exc})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("stations"), list):
            raise ValueError(f"{self.path}: must hold {{\"stations\": [...]}}")
        return data

    def _parse(self, index: int, raw: Any) -> StationHistory:
        try:
            history = [None if v is None else float(v) for v in raw["hourly_bikes"]]
            if len(history) != HISTORY_HOURS:
                raise ValueError(f"hourly_bikes must hold {HISTORY_HOURS} counts, got {len(history)}")
            return StationHistory(str(raw["station_code"]), str(raw["name"]), int(raw["capacity"]),
                                  float(raw["latitude"]), float(raw["longitude"]), history,
                                  datetime.fromisoformat(str(raw["last_hour"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{self.path}: stations[{index}]: {exc}") from exc

    def stations(self) -> list[StationHistory]:
        return self._stations
