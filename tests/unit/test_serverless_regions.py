"""Where Serverless Inference is offered: refused at synth elsewhere, with the way out named."""

from __future__ import annotations

from typing import Any

import pytest
from support.synth import ACCOUNT, DEFAULT_CONTEXT

from cdk_app.deployment.config import ConfigError, load_config
from cdk_app.deployment.dlc_image import REGISTRY_ACCOUNTS
from cdk_app.deployment.serverless_regions import NEARBY, SERVERLESS_REGIONS, serverless_refusal


def load(**overrides: Any) -> Any:
    return load_config({**DEFAULT_CONTEXT, "budget_usd": 0, **overrides}, ACCOUNT)


@pytest.mark.parametrize(("region", "offered"), [
    ("eu-west-3", True), ("us-east-1", True), ("ap-southeast-1", True), ("af-south-1", True), ("me-south-1", True),
    ("sa-east-1", True), ("ap-northeast-3", True),
    ("ap-southeast-7", False), ("eu-central-2", False), ("il-central-1", False), ("mx-central-1", False),
    ("us-gov-west-1", False), ("cn-north-1", False),
])
def test_serverless_is_offered_where_the_docs_say(region: str, offered: bool) -> None:
    assert (serverless_refusal(region) is None) == offered
    assert (region in SERVERLESS_REGIONS) == offered


def test_every_serverless_region_has_the_dlc() -> None:
    assert set(REGISTRY_ACCOUNTS) >= SERVERLESS_REGIONS


def test_every_other_dlc_region_names_a_nearby_one_that_offers_it() -> None:
    others = set(REGISTRY_ACCOUNTS) - SERVERLESS_REGIONS
    assert set(NEARBY) == others
    assert all(NEARBY[r] in SERVERLESS_REGIONS for r in others if NEARBY[r])


def test_serverless_in_ap_southeast_7_fails_synth_naming_region_and_the_ways_out() -> None:
    with pytest.raises(ConfigError) as refused:
        load(region="ap-southeast-7")
    message = str(refused.value)
    assert message.startswith("context key 'region': ")
    assert "not offered in ap-southeast-7" in message
    assert "endpoint_type=realtime" in message and "ap-southeast-1" in message


def test_realtime_is_accepted_where_serverless_is_not() -> None:
    config = load(region="ap-southeast-7", endpoint_type="realtime")
    assert config.endpoint_type == "realtime" and config.region == "ap-southeast-7"


def test_govcloud_suggests_realtime_only() -> None:
    message = serverless_refusal("us-gov-east-1")
    assert message is not None and "endpoint_type=realtime" in message and "nearby" not in message
