"""A seeded simulator of Velib'-like stations, standing in for the real data we do not have.

Each station has a latent type that shapes its daily occupancy: residential stations empty in
the morning commute and refill in the evening, business stations do the opposite, and leisure
stations fill on weekend afternoons. Counts are bounded by capacity, noisy (AR(1)), and some
hours are missing, as a real feed's are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cdk_app.training.network import StationNetwork

STATION_TYPES = ("residential", "business", "leisure")
# Paris intra-muros, where most stations are.
LATITUDE_SPAN = (48.815, 48.902)
LONGITUDE_SPAN = (2.255, 2.415)
# Weekday holidays in the simulated period; `is_weekend` doubles as the holiday flag.
HOLIDAY_DAYS = (10, 31)
START_DAY_OF_WEEK = 0  # day 0 is a Monday
# The design guide's example stations, so its requests hit known embeddings.
GUIDE_STATIONS = ("16107", "16109", "16114")


@dataclass(frozen=True, kw_only=True)
class SimulatedNetwork(StationNetwork):
    """A StationNetwork that also knows each station's latent type, so tests can check the patterns."""

    station_type: np.ndarray  # (stations,) index into STATION_TYPES


def _bump(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    distance = np.minimum(np.abs(hour - centre), 24 - np.abs(hour - centre))
    return np.exp(-0.5 * (distance / width) ** 2)


def _profiles(hour_of_day: np.ndarray, weekend: np.ndarray) -> np.ndarray:
    """Mean occupancy (0-1) per station type and hour: the pattern the model should learn."""
    h = hour_of_day.astype(np.float64)
    day_out = np.clip((h - 7.5) / 1.5, 0, 1) * np.clip((18.5 - h) / 1.5, 0, 1)  # 9:00-17:00 plateau
    residential = 0.75 - 0.5 * day_out
    business = 0.2 + 0.6 * day_out
    leisure_weekday = 0.35 + 0.1 * _bump(h, 13, 3)
    residential_weekend = 0.6 - 0.15 * _bump(h, 15, 3)
    business_weekend = 0.25 + 0.05 * _bump(h, 14, 3)
    leisure_weekend = 0.3 + 0.5 * _bump(h, 15, 2.5)
    weekday = np.stack([residential, business, leisure_weekday])
    weekend_profile = np.stack([residential_weekend, business_weekend, leisure_weekend])
    return np.where(weekend[None, :], weekend_profile, weekday)


def simulate(stations: int = 300, days: int = 42, seed: int = 7, missing_rate: float = 0.02) -> SimulatedNetwork:
    """Simulate `stations` stations for `days` days, reproducibly for a given seed."""
    rng = np.random.default_rng(seed)
    hours = days * 24
    hour = np.arange(hours) % 24
    day = np.arange(hours) // 24
    day_of_week = (START_DAY_OF_WEEK + day) % 7
    is_weekend = (day_of_week >= 5) | np.isin(day, HOLIDAY_DAYS)

    station_type = rng.integers(0, len(STATION_TYPES), size=stations)
    capacity = rng.choice(np.arange(12, 61), size=stations)
    latitude = rng.uniform(*LATITUDE_SPAN, size=stations)
    longitude = rng.uniform(*LONGITUDE_SPAN, size=stations)
    drawn = [f"{int(c):05d}" for c in rng.choice(np.arange(1001, 43000), size=stations, replace=False)]
    codes = list(dict.fromkeys(GUIDE_STATIONS + tuple(drawn)))[:stations]

    profiles = _profiles(hour, is_weekend)[station_type]  # (stations, hours)
    amplitude = rng.uniform(0.7, 1.2, size=(stations, 1))
    offset = rng.uniform(-0.08, 0.08, size=(stations, 1))
    shift = rng.integers(-1, 2, size=stations)
    profiles = np.stack([np.roll(p, s) for p, s in zip(profiles, shift, strict=True)])
    mean = np.clip(0.5 + amplitude * (profiles - 0.5) + offset, 0.02, 0.98)

    noise = np.zeros((stations, hours))
    shocks = rng.normal(0, 0.05, size=(stations, hours))
    for t in range(1, hours):
        noise[:, t] = 0.8 * noise[:, t - 1] + shocks[:, t]
    bikes = np.clip(np.round((mean + noise) * capacity[:, None]), 0, capacity[:, None])

    # Missing hours come in short gaps, as when a station's feed drops out.
    gap_starts = rng.random((stations, hours)) < missing_rate / 2
    gap_lengths = rng.integers(1, 4, size=(stations, hours))
    missing = np.zeros_like(gap_starts)
    for s, t in zip(*np.nonzero(gap_starts), strict=True):
        missing[s, t:t + gap_lengths[s, t]] = True
    bikes = np.where(missing, np.nan, bikes)
    return SimulatedNetwork(source=f"synthetic: cdk_app.training.simulator, {stations} stations over {days} days "
                                   f"(seed {seed})", codes=codes, station_type=station_type, capacity=capacity,
                            latitude=latitude, longitude=longitude, bikes=bikes, hour=hour, day_of_week=day_of_week,
                            is_weekend=is_weekend)
