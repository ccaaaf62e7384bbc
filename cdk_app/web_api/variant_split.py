"""Which model a station's users see in a serverless A/B, where SageMaker cannot split the traffic itself.

Each station is sticky to one side: its code hashes to a fixed point in [0, 1), and the stations below the
challenger's weight go to the challenger. Every process, restart and machine agrees without sharing anything,
a station's users never see its forecast jump between two models, and about `weight` of the stations (not of
the requests: a busy station weighs as much as a quiet one) are on the challenger. Raising the weight keeps the
stations already on the challenger there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cdk_app.deployment.config import CHALLENGER, CHAMPION, parse_share

DEFAULT_CHALLENGER_WEIGHT = 0.1  # as cdk.json's challenger_weight
_POINTS = 2**64


def station_point(station_code: str) -> float:
    """The station's fixed place in [0, 1): the first 8 bytes of SHA-256 of its code, stripped as the endpoint
    strips it."""
    digest = hashlib.sha256(station_code.strip().encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / _POINTS


def challenger_weight(text: str) -> float:
    """The `--challenger-weight` flag: the share of stations on the challenger, strictly between 0 and 1."""
    weight = parse_share(text)
    if weight is None:
        raise ValueError(f"--challenger-weight: must be a number strictly between 0 and 1, got {text!r}")
    return weight


@dataclass(frozen=True)
class VariantSplit:
    challenger_weight: float

    def __post_init__(self) -> None:
        if parse_share(self.challenger_weight) is None:
            raise ValueError(f"challenger_weight: must lie strictly between 0 and 1, got {self.challenger_weight}")

    def role(self, station_code: str) -> str:
        return CHALLENGER if station_point(station_code) < self.challenger_weight else CHAMPION

    def partition(self, station_codes: Sequence[str]) -> dict[str, list[int]]:
        """The positions each side serves, in order; a side with none is left out."""
        sides: dict[str, list[int]] = {}
        for position, code in enumerate(station_codes):
            sides.setdefault(self.role(code), []).append(position)
        return sides
