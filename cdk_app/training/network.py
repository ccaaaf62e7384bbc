"""What the trainer learns from, whatever its source: the simulator or a channel exported from the history.

One shape for both, so windows, features, the split and the scores are computed by the same code and a model
trained on collected data is judged exactly as the reference model is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, kw_only=True)
class StationNetwork:
    """Hourly bike counts (NaN where missing) on a contiguous hourly axis, and the static description of each
    station. The time features of an hour are those the endpoint is sent when that hour is the last counted."""

    source: str  # one line for metrics.json: where the data came from
    codes: list[str]
    capacity: np.ndarray  # (stations,)
    latitude: np.ndarray
    longitude: np.ndarray
    bikes: np.ndarray  # (stations, hours), NaN for a missing hour
    hour: np.ndarray  # (hours,) hour of day
    day_of_week: np.ndarray  # (hours,) 0 = Monday
    is_weekend: np.ndarray  # (hours,) weekend or holiday
    hour_end: np.ndarray | None = None  # (hours,) epoch seconds naming each hour by its end; None when simulated

    @property
    def hours(self) -> int:
        return int(self.bikes.shape[1])
