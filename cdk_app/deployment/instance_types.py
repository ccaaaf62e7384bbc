"""The CPU instance types a real-time endpoint may use, with what `cost` and the alarms need of each.

From the SageMaker hosting ("Real-Time Inference") instance list on the SageMaker pricing page, CPU
families only, up to 4xlarge: a 113 KB LSTM has no use for more, and a GPU would idle. Prices are
on-demand hosting prices in us-east-1 (USD per hour, approximate, November 2026); `cost` takes
another with --instance-price. Burstable ml.t2 types are here because they are the cheapest, but
SageMaker cannot autoscale them, so the config refuses them with instance_count_max > instance_count_min.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    price_per_hour: float
    burstable: bool = False


_SIZES = (("large", 2, 1), ("xlarge", 4, 2), ("2xlarge", 8, 4), ("4xlarge", 16, 8))
# The .large price of each family; a size up doubles the vCPUs and the price.
_FAMILY_LARGE_PRICE = {"c5": 0.102, "c6i": 0.102, "m5": 0.115, "m6i": 0.115, "r5": 0.151, "r6i": 0.151}
_BURSTABLE = (InstanceType("ml.t2.medium", 2, 0.056, True), InstanceType("ml.t2.large", 2, 0.111, True),
              InstanceType("ml.t2.xlarge", 4, 0.223, True), InstanceType("ml.t2.2xlarge", 8, 0.445, True))

INSTANCE_TYPES: dict[str, InstanceType] = {
    t.name: t for t in (*_BURSTABLE, *(
        InstanceType(f"ml.{family}.{size}", vcpus, round(price * factor, 3))
        for family, price in _FAMILY_LARGE_PRICE.items() for size, vcpus, factor in _SIZES))}
