"""The design guide's example request: what the benchmarks time and the post-deploy smoke test sends."""

from __future__ import annotations

from typing import Any

REFERENCE_REQUEST: dict[str, Any] = {
    "station_code": "16107",
    "historical_bikes": [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    "hour": 14, "day_of_week": 1, "is_weekend": False, "capacity": 20, "latitude": 48.8566, "longitude": 2.3522,
}
