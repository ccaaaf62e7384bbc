"""The instance types a real-time endpoint may use, with what `cost` and the alarms need of each.

The table holds every x86 CPU type in SageMaker hosting's instance list (the ProductionVariantInstanceType
values of the SageMaker API; a unit test compares the table with botocore's copy of that list). Two kinds
of hosting type are refused, each with its reason: GPU and accelerator types (p, g, inf, trn, dl), because
the image is the CPU build of the PyTorch inference DLC and the accelerator would idle at its price; and
Graviton types (c6g, c7g, m8g...), because that image is built for x86_64 only. A well-formed type the
table does not know (a family AWS added since) is accepted, as AWS may accept it: its vCPUs are read from
its size for the CPU alarm, `cdk synth` warns, and `cost` asks for --instance-price.

Prices are on-demand real-time hosting prices in us-east-1, USD per hour, approximate (November 2026).
The 7th-generation families (c7i, m7i, r7i) and the d/in variants are priced from their 6th-generation or
base family by EC2's own on-demand ratio. Burstable ml.t2 types are here because they are the cheapest, but
SageMaker cannot autoscale them, so the config refuses them with instance_count_max > instance_count_min.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    price_per_hour: float | None  # None: not in the table, so `cost` needs --instance-price
    burstable: bool = False

    @property
    def known(self) -> bool:
        return self.price_per_hour is not None


class InstanceTypeError(ValueError):
    """A type this endpoint cannot run on, or not an instance type at all; the message says why."""


_M5_SIZES = ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge")
_C5_SIZES = ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge")
_SIXTH_SIZES = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge")
_SEVENTH_SIZES = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge")
# Each family's price for 2 vCPUs (its .large) and the sizes hosting offers; a size costs its vCPUs' share.
_FAMILIES: dict[str, tuple[float, tuple[str, ...]]] = {
    "m4": (0.14, ("xlarge", "2xlarge", "4xlarge", "10xlarge", "16xlarge")),
    "m5": (0.115, _M5_SIZES), "m5d": (0.136, _M5_SIZES), "r5": (0.151, _M5_SIZES), "r5d": (0.173, _M5_SIZES),
    "c4": (0.14, ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge")),
    "c5": (0.102, _C5_SIZES), "c5d": (0.115, _C5_SIZES),
    "c6i": (0.102, _SIXTH_SIZES), "c6in": (0.136, _SIXTH_SIZES), "m6i": (0.115, _SIXTH_SIZES),
    "r6i": (0.151, _SIXTH_SIZES),
    "c7i": (0.107, _SEVENTH_SIZES), "m7i": (0.121, _SEVENTH_SIZES), "r7i": (0.159, _SEVENTH_SIZES),
}
_VCPU_EXCEPTIONS = {"ml.c4.8xlarge": 36}  # the one size whose vCPUs are not 4 per "xlarge"
_BURSTABLE = (InstanceType("ml.t2.medium", 2, 0.056, True), InstanceType("ml.t2.large", 2, 0.111, True),
              InstanceType("ml.t2.xlarge", 4, 0.223, True), InstanceType("ml.t2.2xlarge", 8, 0.445, True))
_NAME = re.compile(r"^ml\.([a-z][a-z0-9]*(?:-[a-z0-9]+)?)\.(medium|large|(?:[1-9]\d*)?xlarge)$")
_ACCELERATED = re.compile(r"^(?:p|g|inf|trn|dl)\d")
_GRAVITON = re.compile(r"^[a-z]+\d+g[a-z]*$")
EXAMPLE = "ml.c7i.large"


def _vcpus_of_size(size: str) -> int:
    """EC2's sizing: a .medium has 1 vCPU, a .large 2, a .xlarge 4, an .Nxlarge 4N."""
    if size in ("medium", "large"):
        return 1 if size == "medium" else 2
    return 4 * int(size.removesuffix("xlarge") or 1)


def _sized(family: str, large_price: float, size: str) -> InstanceType:
    name, vcpus = f"ml.{family}.{size}", _vcpus_of_size(size)
    return InstanceType(name, _VCPU_EXCEPTIONS.get(name, vcpus), round(large_price * vcpus / 2, 3))


INSTANCE_TYPES: dict[str, InstanceType] = {
    t.name: t for t in (*_BURSTABLE, *(_sized(family, price, size)
                                       for family, (price, sizes) in _FAMILIES.items() for size in sizes))}


def instance_type(name: str) -> InstanceType:
    """The table's entry; for a well-formed type it lacks, one with vCPUs from its size and no price."""
    if name in INSTANCE_TYPES:
        return INSTANCE_TYPES[name]
    match = _NAME.match(name)
    if match is None:
        raise InstanceTypeError(f"must be a SageMaker instance type such as {EXAMPLE}, got {name!r}")
    family = match.group(1)
    if _ACCELERATED.match(family):
        raise InstanceTypeError(f"{name} is a GPU or accelerator type, but the endpoint runs the CPU build of the "
                                f"PyTorch inference image, so the accelerator would idle at its price; choose a CPU "
                                f"type such as {EXAMPLE}")
    if _GRAVITON.match(family):
        raise InstanceTypeError(f"{name} is a Graviton (Arm) type, but the PyTorch inference image is built for "
                                f"x86_64 only; choose an x86 type such as {EXAMPLE}")
    return InstanceType(name, _vcpus_of_size(match.group(2)), None)
