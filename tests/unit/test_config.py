"""Configuration: every bad context value fails before any AWS call, naming its key."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from forecast_contract import artifacts_version
from support.synth import ACCOUNT, DEFAULT_CONTEXT

from cdk_app.deployment.config import (
    KEYS,
    ChallengerSettings,
    CollectorSettings,
    ConfigError,
    DeploymentConfig,
    GateMargins,
    ServerlessSettings,
    Variant,
    load_config,
)
from cdk_app.paths import ARTIFACTS_DIR, REPO_ROOT
from cdk_app.rehearsal.challenger_model import challenger_artifacts


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
    realtime = {"endpoint_type": "realtime"}  # two of these regions have no Serverless Inference
    with pytest.raises(ConfigError, match=f"context key 'budget_usd': CloudFormation has no AWS::Budgets::Budget "
                                          f"in {region}; set budget_usd=0"):
        config_with(region=region, **realtime)
    assert config_with(region=region, budget_usd="0", **realtime).budget_usd is None


# ---------------------------------------------------------------- serving modes

def test_serving_defaults_are_serverless_on_demand() -> None:
    config = config_with()
    assert config.endpoint_type == "serverless" and config.realtime is None and config.serverless.warm is None


def test_realtime_takes_instance_type_and_counts() -> None:
    config = config_with(endpoint_type="realtime", instance_type="ml.m5.xlarge", instance_count_min="2",
                         instance_count_max="6", scaling_invocations_per_instance="300")
    assert config.realtime is not None and config.endpoint_type == "realtime"
    assert (config.realtime.instance.name, config.realtime.instance.vcpus) == ("ml.m5.xlarge", 4)
    assert (config.realtime.count_min, config.realtime.count_max, config.realtime.autoscaled) == (2, 6, True)
    assert config.realtime.invocations_per_instance == 300


def test_warm_hours_parse_with_their_zone_and_strategy() -> None:
    config = config_with(warm_hours="Mon-Fri 07:00-10:00", warm_timezone="America/New_York",
                         warm_strategy="provisioned", provisioned_concurrency="3")
    warm = config.serverless.warm
    assert warm is not None and (warm.timezone, warm.strategy, warm.weekly_minutes) == (
        "America/New_York", "provisioned", 900)


@pytest.mark.parametrize(("overrides", "key", "expected"), [
    ({"endpoint_type": "lambda"}, "endpoint_type", "one of serverless, realtime"),
    ({"instance_type": "ml.p3.2xlarge"}, "instance_type", "ml.p3.2xlarge is a GPU or accelerator type"),
    ({"instance_type": "ml.inf2.xlarge"}, "instance_type", "the accelerator would idle"),
    ({"instance_type": "ml.c7g.large"}, "instance_type", "ml.c7g.large is a Graviton (Arm) type"),
    ({"instance_type": "ml.r8g.medium"}, "instance_type", "built for x86_64 only"),
    ({"instance_type": "c7i.large"}, "instance_type", "must be a SageMaker instance type such as ml.c7i.large"),
    ({"instance_type": "ml.c5.large", "instance_count_min": "0"}, "instance_count_min", "an integer 1-100"),
    ({"instance_count_min": "3", "instance_count_max": "2"}, "instance_count_max", "an integer 3-100"),
    ({"scaling_invocations_per_instance": "0"}, "scaling_invocations_per_instance", "an integer 1-1000000"),
    ({"warm_hours": "weekdays 7-10"}, "warm_hours", "'weekdays' is not a day"),
    ({"warm_hours": "Mon 09:00-08:00"}, "warm_hours", "must run forward"),
    ({"warm_timezone": "Paris"}, "warm_timezone", "an IANA time zone"),
    ({"warm_strategy": "lambda"}, "warm_strategy", "one of ping, provisioned"),
    ({"alarm_cpu_percent": "120"}, "alarm_cpu_percent", "a number 1-100"),
])
def test_bad_serving_values_name_their_key(overrides: dict[str, str], key: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=rf"context key '{key}': .*{re.escape(expected)}"):
        config_with(**overrides)


@pytest.mark.parametrize(("overrides", "key", "expected"), [
    ({"warm_hours": "Mon 07:00-10:00", "warm_strategy": "provisioned"}, "provisioned_concurrency",
     "must be 2 or more, got empty"),
    ({"warm_hours": "Mon 07:00-10:00", "warm_strategy": "provisioned", "provisioned_concurrency": "1"},
     "provisioned_concurrency", "must be 2 or more, got 1"),
    ({"warm_hours": "Mon 07:00-10:00", "provisioned_concurrency": "2"}, "warm_strategy",
     "provisioned_concurrency=2 already holds it all day"),
    ({"endpoint_type": "realtime", "warm_hours": "Mon 07:00-10:00"}, "warm_hours", "serverless only"),
    ({"endpoint_type": "realtime", "provisioned_concurrency": "2"}, "provisioned_concurrency", "serverless only"),
    ({"endpoint_type": "realtime", "instance_type": "ml.t2.medium"}, "instance_type",
     "cannot autoscale the burstable ml.t2.medium; set instance_count_max=2"),
])
def test_values_that_contradict_each_other_name_the_key_to_change(overrides: dict[str, str], key: str,
                                                                   expected: str) -> None:
    with pytest.raises(ConfigError, match=rf"context key '{key}': .*{re.escape(expected)}"):
        config_with(**overrides)


def test_a_burstable_instance_without_autoscaling_is_accepted() -> None:
    config = config_with(endpoint_type="realtime", instance_type="ml.t2.medium", instance_count_min="1",
                         instance_count_max="1")
    assert config.realtime is not None and not config.realtime.autoscaled


# ---------------------------------------------------------------- the collector

def test_the_collector_is_off_by_default_and_its_keys_are_still_checked() -> None:
    assert config_with().collector is None
    with pytest.raises(ConfigError, match="context key 'collector_interval_minutes'"):
        config_with(collector_interval_minutes="0")


def test_the_collector_takes_its_interval_feed_and_retention_from_strings() -> None:
    config = config_with(collector="true", collector_interval_minutes="15", history_retention_days="30",
                         collector_feed_url=" http://127.0.0.1:8080/gbfs.json ")
    assert config.collector == CollectorSettings(interval_minutes=15, feed_url="http://127.0.0.1:8080/gbfs.json",
                                                 history_retention_days=30)
    assert config.collector_function_name == "velib-forecast-dev-collector"
    assert config_with(collector=True).collector == CollectorSettings(
        5, "https://velib-metropole-opendata.smovengo.cloud/opendata/Velib_Metropole/gbfs.json", 400)
    assert config_with(collector="False").collector is None


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("collector", "yes", "true or false"),
    ("collector", 1, "true or false"),
    ("collector_interval_minutes", "61", "an integer 1-60"),
    ("collector_interval_minutes", "2.5", "an integer 1-60"),
    ("collector_feed_url", "ftp://example.org/gbfs.json", "an http(s) URL"),
    ("collector_feed_url", "https://", "an http(s) URL"),
    ("collector_feed_url", "https://example.org/gbfs .json", "an http(s) URL"),
    ("history_retention_days", "1", "an integer 2-3650"),
    ("history_retention_days", 3651, "an integer 2-3650"),
])
def test_each_bad_collector_value_names_its_key(key: str, value: Any, expected: str) -> None:
    with pytest.raises(ConfigError, match=rf"context key '{key}': must be {re.escape(expected)}"):
        config_with(**{"collector": "true", key: value})


# ---------------------------------------------------------------- the retraining gate

def test_the_gate_margins_default_to_2_and_1_percent_and_take_strings() -> None:
    assert config_with().gate == GateMargins(min_improvement_t1h_percent=2, max_regression_percent=1)
    assert config_with(gate_min_improvement_t1h_percent="0.5", gate_max_regression_percent="0").gate == GateMargins(
        0.5, 0)


@pytest.mark.parametrize(("key", "value"), [
    ("gate_min_improvement_t1h_percent", -1), ("gate_min_improvement_t1h_percent", "51"),
    ("gate_min_improvement_t1h_percent", "two"), ("gate_max_regression_percent", "nan"),
    ("gate_max_regression_percent", True), ("gate_max_regression_percent", -0.5),
])
def test_each_bad_gate_margin_names_its_key(key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"context key '{key}': must be a number 0-50"):
        config_with(**{key: value})


# ---------------------------------------------------------------- the A/B challenger

@pytest.fixture(scope="module")
def challenger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another model: artifacts/ with its weights scaled."""
    return challenger_artifacts(ARTIFACTS_DIR, tmp_path_factory.mktemp("challenger") / "artifacts")


def test_no_challenger_by_default_and_its_weight_is_checked_all_the_same() -> None:
    config = config_with()
    assert config.challenger is None and config.challenger_variant is None and config.challenger_fleet is None
    assert config.champion_variant == Variant("champion", "velib-forecast-dev", "AllTraffic")
    with pytest.raises(ConfigError, match="context key 'challenger_weight'"):
        config_with(challenger_weight="0")


def test_a_challenger_folder_is_hashed_and_weighted(challenger_dir: Path) -> None:
    config = config_with(challenger_version=str(challenger_dir), challenger_weight="0.25")
    assert config.challenger == ChallengerSettings(0.25, artifacts_version(challenger_dir), challenger_dir, None)
    assert config.challenger.champion_weight == 0.75
    assert config.challenger_endpoint_name == "velib-forecast-dev-challenger"
    assert config.champion_variant == Variant("champion", "velib-forecast-dev", "AllTraffic")
    assert config.challenger_variant == Variant("challenger", "velib-forecast-dev-challenger", "AllTraffic")
    assert config.challenger_fleet is None  # serverless
    relative = os.path.relpath(challenger_dir, REPO_ROOT)  # a relative path is the repository root's
    found = config_with(challenger_version=relative).challenger
    assert found is not None and found.artifacts_dir == REPO_ROOT / relative


def test_a_realtime_challenger_is_a_variant_with_its_share_of_the_fleet(challenger_dir: Path) -> None:
    config = config_with(challenger_version=str(challenger_dir), endpoint_type="realtime")
    assert config.champion_variant == Variant("champion", "velib-forecast-dev", "Champion")
    assert config.challenger_variant == Variant("challenger", "velib-forecast-dev", "Challenger")
    fleet = config.challenger_fleet
    assert fleet is not None and (fleet.count_min, fleet.count_max, fleet.autoscaled) == (1, 1, False)


@pytest.mark.parametrize(("weight", "counts", "expected"), [
    (0.1, (2, 4), (1, 1)), (0.3, (2, 4), (1, 2)), (0.5, (4, 4), (2, 2)), (0.1, (30, 40), (3, 4)),
    (0.01, (1, 1), (1, 1)), (0.99, (2, 3), (2, 3)),
])
def test_the_challengers_fleet_carries_its_share_at_the_same_load_per_instance(
        weight: float, counts: tuple[int, int], expected: tuple[int, int]) -> None:
    fleet = config_with(endpoint_type="realtime", instance_count_min=str(counts[0]),
                        instance_count_max=str(counts[1])).realtime
    assert fleet is not None
    share = fleet.share(weight)
    assert (share.count_min, share.count_max) == expected
    assert (share.instance, share.invocations_per_instance) == (fleet.instance, fleet.invocations_per_instance)


@pytest.mark.parametrize("value", [0, 1, "1.0", -0.1, "1.5", "abc", "nan", "inf", True, ""])
def test_a_weight_outside_zero_and_one_names_its_key(value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"^context key 'challenger_weight': must be a number strictly between 0 "
                                          rf"and 1 \(the challenger's share\), got {re.escape(repr(value))}$"):
        config_with(challenger_weight=value)


def test_a_challenger_that_is_no_folder_of_artifacts_names_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^context key 'challenger_version': must be a registry version number, "
                                          r"latest-approved, or a folder of model artifacts, or empty, got "
                                          r"'no/such/folder'$"):
        config_with(challenger_version="no/such/folder")
    with pytest.raises(ConfigError, match=r"^context key 'challenger_version': best_model\.pth: missing from the "
                                          r"model directory"):
        config_with(challenger_version=str(tmp_path))


def test_the_challenger_must_differ_from_the_champion(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^context key 'challenger_version': 'artifacts' is the champion's own "
                                          rf"model \(model_version {artifacts_version(ARTIFACTS_DIR)}\); an A/B "
                                          "needs another one$"):
        config_with(challenger_version="artifacts")
    copy = shutil.copytree(ARTIFACTS_DIR, tmp_path / "copy")  # the same files elsewhere: the same model
    with pytest.raises(ConfigError, match="is the champion's own model"):
        config_with(challenger_version=str(copy))


def test_the_champion_compared_is_the_artifacts_folder_deployed(challenger_dir: Path, tmp_path: Path) -> None:
    """With artifacts_dir pointing at the challenger's folder, the repository's artifacts may challenge it."""
    config = config_with(artifacts_dir=str(challenger_dir), challenger_version="artifacts")
    assert config.challenger is not None and config.challenger.model_version == artifacts_version(ARTIFACTS_DIR)
    incomplete = shutil.copytree(ARTIFACTS_DIR, tmp_path / "incomplete")
    (incomplete / "config.json").unlink()
    with pytest.raises(ConfigError, match=r"^context key 'artifacts_dir': config\.json: missing"):
        config_with(artifacts_dir=str(incomplete), challenger_version=str(challenger_dir))


def test_the_roles_are_the_historys_own() -> None:
    """config.py repeats them because synth never imports the live-data package; a history and an API must agree."""
    from cdk_app.deployment import config
    from cdk_app.live_data import history

    assert (config.CHAMPION, config.CHALLENGER) == (history.CHAMPION, history.CHALLENGER)
