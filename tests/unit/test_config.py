"""Configuration: every bad context value fails before any AWS call, naming its key."""

from __future__ import annotations

from typing import Any

import pytest
from support.synth import ACCOUNT, DEFAULT_CONTEXT

from cdk_app.deployment.config import KEYS, ConfigError, DeploymentConfig, ServerlessSettings, load_config


def config_with(**overrides: Any) -> DeploymentConfig:
    return load_config({**DEFAULT_CONTEXT, **overrides}, ACCOUNT)


def test_defaults() -> None:
    config = config_with()
    assert (config.stage, config.region) == ("dev", "eu-west-3")
    assert config.serverless == ServerlessSettings(memory_mb=4096, max_concurrency=5, provisioned_concurrency=None)
    assert config.alarm_email is None
    assert config.image_tag == "2.6.0-cpu-py312-ubuntu22.04-sagemaker"
    assert config.budget_usd == 5 and config.log_retention_days == 30
    assert config.endpoint_name == "velib-forecast-dev" and config.account == ACCOUNT


def test_cdk_json_holds_every_key() -> None:
    assert set(KEYS) <= set(DEFAULT_CONTEXT)


def test_strings_from_the_command_line_are_parsed() -> None:
    config = config_with(memory_mb="2048", max_concurrency="10", provisioned_concurrency="3", budget_usd="2.5",
                         alarm_email="a@b.fr", account="210987654321", alarm_5xx_rate="0.05")
    assert config.serverless == ServerlessSettings(memory_mb=2048, max_concurrency=10, provisioned_concurrency=3)
    assert config.budget_usd == 2.5 and config.alarm_email == "a@b.fr" and config.account == "210987654321"
    assert config.alarms.error_5xx_rate == 0.05


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("memory_mb", 4000, "one of 1024, 2048, 3072, 4096, 5120, 6144"),
    ("memory_mb", "lots", "one of 1024"),
    ("max_concurrency", 0, "an integer 1-200"),
    ("max_concurrency", "201", "an integer 1-200"),
    ("provisioned_concurrency", 6, "an integer 1-5"),
    ("provisioned_concurrency", "0", "an integer 1-5"),
    ("region", "eu-west-9", "one of"),
    ("stage", "Prod!", "lower-case"),
    ("stage", "", "lower-case"),
    ("account", "1234", "12-digit"),
    ("image_tag", "bad tag", "image tag"),
    ("alarm_email", "not-an-email", "e-mail"),
    ("budget_usd", -1, "a number 0-100000"),
    ("budget_usd", "free", "a number"),
    ("budget_scope", "everything", "one of service, tag"),
    ("log_retention_days", 10, "one of 1, 3, 5, 7, 14, 30"),
    ("model_server_timeout_seconds", 61, "an integer 1-60"),
    ("artifacts_dir", "no/such/folder", "a folder"),
    ("alarm_5xx_rate", 2, "a number 0-1"),
    ("alarm_4xx_rate", "nan", "a number 0-1"),
    ("alarm_latency_p99_ms", 0, "a number 1-60000"),
    ("alarm_cold_start_ms", -5, "a number 1-180000"),
    ("alarm_spillover_invocations", 1.5, "an integer"),
    ("alarm_period_minutes", 0, "an integer 1-60"),
])
def test_each_bad_value_names_its_key(key: str, value: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_with(**{key: value})
    assert f"context key '{key}'" in str(error.value) and expected in str(error.value)


def test_missing_and_unknown_keys_are_named() -> None:
    context = dict(DEFAULT_CONTEXT)
    del context["memory_mb"]
    with pytest.raises(ConfigError, match="'memory_mb': missing"):
        load_config(context, ACCOUNT)
    with pytest.raises(ConfigError, match="'memroy_mb': unknown"):
        config_with(memroy_mb=2048)


@pytest.mark.parametrize("region", ["us-gov-west-1", "il-central-1", "af-south-1"])
def test_a_budget_where_cloudformation_has_none_is_refused_by_key(region: str) -> None:
    with pytest.raises(ConfigError, match=f"context key 'budget_usd': CloudFormation has no AWS::Budgets::Budget "
                                          f"in {region}; set budget_usd=0"):
        config_with(region=region)
    assert config_with(region=region, budget_usd="0").budget_usd is None
