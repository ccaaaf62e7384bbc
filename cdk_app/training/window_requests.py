"""The trainer's windows as the endpoint's requests, in batches it accepts.

Scoring a model through the handlers (the lifecycle's evaluation step, the parity test) must send exactly what
training scored, in the shape a caller sends; this is the one translation from the trainer's arrays to the request
contract, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from forecast_contract import MAX_BATCH

from cdk_app.training.network import StationNetwork
from cdk_app.training.trainer import Windows


def window_request(net: StationNetwork, windows: Windows, i: int) -> dict[str, Any]:
    """Window i as one request: a missing hour is null, as the live forecast sends it."""
    s = int(windows.station[i])
    return {
        "station_code": net.codes[s],
        "historical_bikes": [None if np.isnan(v) else float(v) for v in windows.history[i]],
        "hour": int(windows.hour[i]), "day_of_week": int(windows.day_of_week[i]),
        "is_weekend": bool(windows.is_weekend[i]), "capacity": int(net.capacity[s]),
        "latitude": float(net.latitude[s]), "longitude": float(net.longitude[s]),
    }


def request_batches(net: StationNetwork, windows: Windows) -> Iterator[list[dict[str, Any]]]:
    """Every window, in order, in batches of at most MAX_BATCH requests (the endpoint's limit)."""
    for start in range(0, len(windows), MAX_BATCH):
        yield [window_request(net, windows, i) for i in range(start, min(start + MAX_BATCH, len(windows)))]
