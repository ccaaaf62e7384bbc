"""What an A/B adds to the bill (`challenger_version`): the challenger's standing cost and the paired comparison.

- Serverless: the challenger's endpoint costs nothing while idle, only its alarms. The users' requests are split,
  not doubled, so their compute is the same bill shared by two endpoints.
- Real-time: the challenger's variant is instances of its own (`RealtimeSettings.share`), billed by the hour, and
  its alarms.
- The paired comparison: each hour the collector forecasts every station with the challenger too, one more
  invocation an hour. In serverless mode it is billed like the champion's (and the collector waits out the
  challenger's cold start as well); in real-time mode the instances are paid for already. It stores one more
  forecast and one more score an hour, and both scores keep each station's error for the pairing.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdk_app.performance.money import usd

HOURS_PER_MONTH = 730
FORECAST_KB = 120  # a city forecast of ~1,500 stations, as the collector stores it (see cost.py)
SCORE_KB = 76  # each station's error at three horizons, in both models' scores: measured on 1,500 stations
HOURLY_PUTS, HOURLY_GETS = 2, 1  # the forecast and its score written; the forecast read back to score it


@dataclass(frozen=True)
class Standing:
    """The challenger's own standing charges in one serving mode."""

    alarms: int
    alarm_price: float
    instances: int = 0  # real-time: the challenger variant's minimum instance count
    instance_price_per_hour: float = 0.0

    def monthly(self) -> float:
        return self.alarms * self.alarm_price + self.instances * self.instance_price_per_hour * HOURS_PER_MONTH


@dataclass(frozen=True)
class PairedComparison:
    """The challenger's hourly city forecast, from the collector's measured batch and its prices."""

    endpoint_gb_seconds: float  # one all-station invocation at the endpoint's memory (0 for instances)
    endpoint_per_gb_second: float
    data_cost: float  # of one all-station invocation, in and out
    lambda_wait_s: float  # what the collector waits for it: a cold start (serverless) and the batch
    lambda_memory_mb: int
    lambda_per_gb_second: float
    s3_per_put: float
    s3_per_get: float
    s3_per_gb_month: float
    retention_days: int

    def monthly(self) -> dict[str, float]:
        stored_gb = self.retention_days * 24 * (FORECAST_KB + 2 * SCORE_KB) / 1024**2
        return {
            "endpoint": HOURS_PER_MONTH * (self.endpoint_gb_seconds * self.endpoint_per_gb_second + self.data_cost),
            "Lambda": HOURS_PER_MONTH * self.lambda_wait_s * self.lambda_memory_mb / 1024 * self.lambda_per_gb_second,
            "S3": HOURS_PER_MONTH * (HOURLY_PUTS * self.s3_per_put + HOURLY_GETS * self.s3_per_get)
            + stored_gb * self.s3_per_gb_month,
        }


def ab_lines(weight: float, modes: dict[str, tuple[Standing, PairedComparison]], deployed: bool) -> list[str]:
    """The A/B's bill per serving mode, for `cost`'s output."""
    state = ("in every column above" if deployed
             else "not in the columns above (set challenger_version to deploy one, or pass --ab)")
    lines = [f"an A/B with a challenger at {weight:g} of the requests, {state}",
             f"{'mode':>28} {'standing':>10} {'comparison':>11} {'total':>10}   comparison by part"]
    for label, (standing, comparison) in modes.items():
        parts = comparison.monthly()
        paired = sum(parts.values())
        what = f"{standing.alarms} alarms" + (f" + {standing.instances} instance(s)" if standing.instances else "")
        lines.append(f"{label:>28} {usd(standing.monthly()):>10} {usd(paired):>11} "
                     f"{usd(standing.monthly() + paired):>10}   " + ", ".join(
                         f"{name} {usd(value)}" for name, value in parts.items()) + f"; standing: {what}")
    return [*lines, f"The paired comparison is {HOURS_PER_MONTH} more all-station forecasts a month, one an hour; the "
                    "users' requests are split between the two models, not doubled."]
