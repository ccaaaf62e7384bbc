"""Real-time instance types: every x86 CPU type SageMaker hosting offers is known, with its vCPUs and a price;
GPU, accelerator and Graviton types are refused with the reason; a well-formed type the table lacks is
accepted without a price."""

from __future__ import annotations

import botocore.session
import pytest

from cdk_app.deployment.instance_types import INSTANCE_TYPES, InstanceTypeError, instance_type


def hosting_types() -> list[str]:
    """SageMaker hosting's own list: the ProductionVariantInstanceType values in botocore's service model."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return list(model.shape_for("ProductionVariantInstanceType").enum)


def test_every_hosting_type_is_known_or_refused_with_a_reason_and_the_table_holds_no_other() -> None:
    accepted = []
    for name in hosting_types():
        try:
            accepted.append(instance_type(name))
        except InstanceTypeError as refusal:
            assert "GPU or accelerator" in str(refusal) or "Graviton" in str(refusal), refusal
    assert all(t.known for t in accepted), [t.name for t in accepted if not t.known]
    assert {t.name for t in accepted} == set(INSTANCE_TYPES)
    assert {"ml.c7i.large", "ml.m7i.large", "ml.r7i.large", "ml.c6i.large", "ml.c5.large"} <= set(INSTANCE_TYPES)


@pytest.mark.parametrize(("name", "vcpus"), [
    ("ml.c7i.large", 2), ("ml.m7i.xlarge", 4), ("ml.r7i.2xlarge", 8), ("ml.c6in.4xlarge", 16),
    ("ml.m4.10xlarge", 40), ("ml.c5.9xlarge", 36), ("ml.c4.8xlarge", 36), ("ml.r7i.48xlarge", 192),
    ("ml.t2.medium", 2),
])
def test_known_types_carry_ec2s_vcpus_and_a_price(name: str, vcpus: int) -> None:
    found = instance_type(name)
    assert found.vcpus == vcpus and found.price_per_hour is not None and found.price_per_hour > 0


def test_a_size_up_costs_in_proportion_to_its_vcpus() -> None:
    for family in ("c7i", "m7i", "r7i", "c5"):
        large, big = instance_type(f"ml.{family}.large"), instance_type(f"ml.{family}.4xlarge")
        assert big.price_per_hour == pytest.approx(8 * (large.price_per_hour or 0), abs=0.001)


@pytest.mark.parametrize(("name", "vcpus"), [("ml.c7a.xlarge", 4), ("ml.m8i.2xlarge", 8), ("ml.c9i.large", 2)])
def test_a_well_formed_type_the_table_lacks_is_accepted_without_a_price(name: str, vcpus: int) -> None:
    found = instance_type(name)
    assert (found.name, found.vcpus, found.price_per_hour, found.known) == (name, vcpus, None, False)
