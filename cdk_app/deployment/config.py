"""The deployment's settings: cdk.json context, overridden by `-c key=value`, read into one object.

Every value is checked here, before the stack is built and before any AWS call, and a bad value
fails `cdk synth` with a message that names the context key and what it accepts. `-c` values
arrive as strings, so each field parses its own text form.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from forecast_contract import ArtifactError, artifacts_version

from cdk_app.deployment.dlc_image import REGISTRY_ACCOUNTS
from cdk_app.deployment.instance_types import InstanceType, InstanceTypeError, instance_type
from cdk_app.deployment.registry_version import (
    LATEST_APPROVED,
    RegistryVersion,
    RegistryVersionError,
    chosen_version,
    parse_request,
)
from cdk_app.deployment.serverless_regions import serverless_refusal
from cdk_app.deployment.warm_hours import WarmHours, WarmHoursError, parse_windows
from cdk_app.paths import CDK_JSON, REPO_ROOT

T = TypeVar("T")

MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)
BUDGET_SCOPES = ("service", "tag")
ENDPOINT_TYPES = ("serverless", "realtime")
WARM_STRATEGIES = ("ping", "provisioned")
# Regions whose CloudFormation has no AWS::Budgets::Budget (cfn-lint 1.58.0's region schemas, rule E3006): a
# budget there fails the deploy, so budget_usd must be 0 (set a budget in the Billing console instead).
NO_BUDGET_RESOURCE_REGIONS = frozenset({
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-3", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "eu-south-2", "il-central-1", "me-central-1", "mx-central-1", "us-gov-east-1", "us-gov-west-1"})
PROJECT = "velib-forecast"
VARIANT_NAME = "AllTraffic"  # the endpoint's one production variant, as metrics and InvokeEndpoint name it
CHAMPION_VARIANT = "Champion"  # real-time with a challenger: the two production variants of the one endpoint
CHALLENGER_VARIANT = "Challenger"
# The roles, as the history stores them and the API shows them: cdk_app.live_data.history's own, repeated here
# because synth never imports the live-data package (tests/unit/test_config.py checks they agree).
CHAMPION, CHALLENGER = "champion", "challenger"
LOCAL_STAGE = "local"  # the name `serve` answers to is the endpoint name of this stage
_STAGE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_OIDC_PROVIDER = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$")
_QUALIFIER = re.compile(r"^[a-z0-9]{1,10}$")
_NONE = ("", "none", "null")
KEYS = ("stage", "account", "region", "endpoint_type", "memory_mb", "max_concurrency", "provisioned_concurrency",
        "warm_hours", "warm_timezone", "warm_strategy", "instance_type", "instance_count_min", "instance_count_max",
        "scaling_invocations_per_instance", "image_tag", "alarm_email", "budget_usd", "budget_scope",
        "log_retention_days", "model_server_timeout_seconds", "artifacts_dir", "alarm_5xx_rate", "alarm_4xx_rate",
        "alarm_latency_p99_ms", "alarm_cold_start_ms", "alarm_spillover_invocations", "alarm_cpu_percent",
        "alarm_memory_percent", "alarm_period_minutes", "github_repository", "github_oidc_provider_arn",
        "cdk_qualifier", "collector", "collector_interval_minutes", "collector_feed_url", "history_retention_days",
        "retrain_schedule", "retrain_timezone", "gate_min_improvement_t1h_percent", "gate_max_regression_percent",
        "model_version", "model_version_force", "challenger_version", "challenger_weight")
# The forecaster reads the last 24 hours and S3 expires objects at day granularity: 2 days always keeps a full one.
HISTORY_RETENTION_DAYS = (2, 3650)
COLLECTOR_MEMORY_MB = 512  # one poll parses ~1,500 stations twice; `cost` prices the function at this size
COLLECTOR_TIMEOUT_SECONDS = 120  # two feed downloads, S3, and once an hour an endpoint call of up to 60 s
CHALLENGER_CALL_SECONDS = 60  # with a challenger, its hourly forecast: a second endpoint call of up to 60 s
NONCURRENT_VERSION_DAYS = 7  # the history's overwritten objects: a week to notice a bad write and restore them
GATE_KEYS = ("gate_min_improvement_t1h_percent", "gate_max_regression_percent")
_BOOLEANS = {"true": True, "false": False}
# EventBridge Scheduler's recurring expressions: cron with its six fields (minutes hours day-of-month month
# day-of-week year), or a rate. One-time at() is refused: a retraining schedule recurs.
_CRON = re.compile(r"^cron\((\S+ ){5}\S+\)$")
_RATE = re.compile(r"^rate\([1-9]\d* (minute|hour|day)s?\)$")


class ConfigError(ValueError):
    """A context value that cannot be deployed; the message names the key."""


@dataclass(frozen=True)
class AlarmThresholds:
    """When each alarm fires. Error rates are fractions of requests; times are milliseconds."""

    error_5xx_rate: float
    error_4xx_rate: float
    latency_p99_ms: float
    cold_start_ms: float
    spillover_invocations: int
    cpu_percent: float  # of all the instance's vCPUs (CloudWatch reports up to 100% per vCPU)
    memory_percent: float
    period_minutes: int


@dataclass(frozen=True)
class ServerlessSettings:
    """The EndpointConfig's ServerlessConfig; every one of these forces a new EndpointConfig."""

    memory_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None  # with warm_strategy=provisioned: the concurrency held in warm hours
    warm: WarmHours | None = None


@dataclass(frozen=True)
class RealtimeSettings:
    """The instance-backed endpoint: its type, and the bounds autoscaling keeps the instance count within."""

    instance: InstanceType
    count_min: int
    count_max: int
    invocations_per_instance: int  # per minute: the target the autoscaling policy tracks

    @property
    def autoscaled(self) -> bool:
        return self.count_max > self.count_min

    def share(self, weight: float) -> RealtimeSettings:
        """The fleet for `weight` of the requests at the same load per instance, never under one instance: how the
        challenger's variant is sized. For the default 10 % of a 2-4 fleet that is one instance, fixed: at the
        tracked 600 invocations per instance and minute the champion's fleet peaks at 2,400 a minute, whose 10 %
        one instance serves at 240. A larger weight gets more, and autoscales between its own bounds."""
        def part(count: int) -> int:
            return max(1, math.ceil(round(count * weight, 6)))  # rounded first: 0.1 * 30 is 3.0000000000000004

        return RealtimeSettings(self.instance, part(self.count_min), part(self.count_max),
                                self.invocations_per_instance)


@dataclass(frozen=True)
class CiSettings:
    """The GitHub repository whose main branch and prod environment may deploy, by OIDC."""

    repository: str
    existing_oidc_provider_arn: str | None
    cdk_qualifier: str


@dataclass(frozen=True)
class CollectorSettings:
    """The Lambda collector that polls the GBFS feed into an S3 history and forecasts every station hourly."""

    interval_minutes: int
    feed_url: str
    history_retention_days: int


@dataclass(frozen=True)
class RetrainSettings:
    """When EventBridge Scheduler starts the weekly retraining pipeline, in Scheduler's own syntax."""

    schedule: str
    timezone: str


@dataclass(frozen=True)
class GateMargins:
    """How much better than the model in service a candidate must be to be Approved (cdk_app.lifecycle.gate):
    percentages of the champion's MAE, so one setting holds for any city's scale of counts."""

    min_improvement_t1h_percent: float  # T+1h MAE at least this much below the champion's
    max_regression_percent: float  # no horizon's MAE more than this much above the champion's


@dataclass(frozen=True)
class ChallengerSettings:
    """The model A/B-tested against the champion (the model `artifacts_dir` or `model_version` names): a registry
    version or another artifacts folder, with its share of the requests."""

    weight: float  # strictly between 0 and 1; the champion takes the rest
    model_version: str  # its artifacts' hash, never the champion's
    artifacts_dir: Path | None  # packaged like the champion's artifacts...
    registry_version: RegistryVersion | None  # ...or a registry version, whose package SageMaker reads

    @property
    def champion_weight(self) -> float:
        return round(1 - self.weight, 6)


@dataclass(frozen=True)
class Variant:
    """Where one role's model serves: the endpoint and production variant that CloudWatch's dimensions and
    InvokeEndpoint's TargetVariant name."""

    role: str  # CHAMPION or CHALLENGER
    endpoint_name: str
    name: str


@dataclass(frozen=True)
class DeploymentConfig:
    stage: str
    account: str | None
    region: str
    serverless: ServerlessSettings  # checked whatever the type, and deployed when realtime is None
    realtime: RealtimeSettings | None
    image_tag: str
    alarm_email: str | None
    budget_usd: float | None  # None: no budget (CloudFormation has no AWS::Budgets::Budget in some regions)
    budget_scope: str
    log_retention_days: int
    model_server_timeout_seconds: int
    artifacts_dir: Path
    alarms: AlarmThresholds
    ci: CiSettings | None
    collector: CollectorSettings | None  # checked whatever `collector` says; None when it is false
    registry_version: RegistryVersion | None  # model_version: served instead of artifacts_dir
    challenger: ChallengerSettings | None  # challenger_version: None without an A/B
    retrain: RetrainSettings | None  # None: no retraining pipeline (the registry is there anyway)
    gate: GateMargins

    @property
    def endpoint_type(self) -> str:
        return "serverless" if self.realtime is None else "realtime"

    @property
    def endpoint_name(self) -> str:
        return endpoint_name_for(self.stage)

    @property
    def stack_name(self) -> str:
        return f"VelibForecast-{self.stage}"

    @property
    def log_group_name(self) -> str:
        return log_group_name_for(self.endpoint_name)

    @property
    def challenger_endpoint_name(self) -> str:
        """Serverless mode's second endpoint, which serves the challenger."""
        return challenger_endpoint_name_for(self.stage)

    @property
    def champion_variant(self) -> Variant:
        """Real-time with a challenger, the endpoint's Champion variant; else its one variant."""
        realtime_ab = self.realtime is not None and self.challenger is not None
        return Variant(CHAMPION, self.endpoint_name, CHAMPION_VARIANT if realtime_ab else VARIANT_NAME)

    @property
    def challenger_variant(self) -> Variant | None:
        """The Challenger variant of the one real-time endpoint, or the one variant of serverless mode's second
        endpoint; None without a challenger."""
        if self.challenger is None:
            return None
        if self.realtime is None:
            return Variant(CHALLENGER, self.challenger_endpoint_name, VARIANT_NAME)
        return Variant(CHALLENGER, self.endpoint_name, CHALLENGER_VARIANT)

    @property
    def challenger_serverless(self) -> ServerlessSettings:
        """Serverless mode's challenger endpoint: the champion's memory and maximum concurrency, but neither warm
        hours nor provisioned concurrency, which are the champion's only: the challenger's share of the requests
        meets a cold start now and then, which its ColdStart alarm and the dashboard show."""
        return ServerlessSettings(self.serverless.memory_mb, self.serverless.max_concurrency, None)

    @property
    def challenger_fleet(self) -> RealtimeSettings | None:
        """Real-time with a challenger: its variant's instances (RealtimeSettings.share), which `cost` prices."""
        if self.realtime is None or self.challenger is None:
            return None
        return self.realtime.share(self.challenger.weight)

    @property
    def endpoint_variants(self) -> list[tuple[Variant, float, RealtimeSettings | None]]:
        """The production variants of the champion's endpoint, each with its weight and fleet (None: serverless):
        one at weight 1, or on a real-time A/B the Champion's and the Challenger's (serverless mode's challenger
        has an endpoint of its own)."""
        challenger, fleet = self.challenger_variant, self.challenger_fleet
        if self.challenger is None or challenger is None or fleet is None:
            return [(self.champion_variant, 1.0, self.realtime)]
        return [(self.champion_variant, self.challenger.champion_weight, self.realtime),
                (challenger, self.challenger.weight, fleet)]

    @property
    def collector_timeout_seconds(self) -> int:
        return COLLECTOR_TIMEOUT_SECONDS + (CHALLENGER_CALL_SECONDS if self.challenger else 0)

    @property
    def collector_function_name(self) -> str:
        return f"{self.endpoint_name}-collector"

    @property
    def model_package_group_name(self) -> str:
        """The registry's group: the endpoint's name, so a stage's versions and its endpoint go together."""
        return self.endpoint_name

    @property
    def retrain_pipeline_name(self) -> str:
        return f"{self.endpoint_name}-retrain"


def endpoint_name_for(stage: str) -> str:
    """The endpoint's fixed name: a stage's deployed endpoint, or the local one (`LOCAL_STAGE`)."""
    return f"{PROJECT}-{stage}"


def challenger_endpoint_name_for(stage: str) -> str:
    """Serverless mode's second endpoint, for an A/B: SageMaker offers no second variant on a serverless one."""
    return f"{endpoint_name_for(stage)}-challenger"


def log_group_name_for(endpoint_name: str) -> str:
    """Where SageMaker writes an endpoint's logs; the stack creates it first."""
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


LOCAL_ENDPOINT_NAME = endpoint_name_for(LOCAL_STAGE)


def _fail(key: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"context key '{key}': must be {expected}, got {value!r}")


def _integer(key: str, value: Any, low: int, high: int) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", text) or not low <= int(text) <= high:
        raise _fail(key, f"an integer {low}-{high}", value)
    return int(text)


def _number(key: str, value: Any, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _fail(key, f"a number {low}-{high}", value) from None
    if isinstance(value, bool) or not math.isfinite(number) or not low <= number <= high:
        raise _fail(key, f"a number {low}-{high}", value)
    return number


def _choice(key: str, value: Any, allowed: tuple[T, ...], parse: Callable[[Any], T]) -> T:
    try:
        parsed = parse(value)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(value, bool) or parsed not in allowed:
        raise _fail(key, f"one of {', '.join(str(a) for a in allowed)}", value)
    assert parsed is not None
    return parsed


def _budget(value: Any, region: str) -> float | None:
    amount = _number("budget_usd", value, 0, 100_000) or None
    if amount is not None and region in NO_BUDGET_RESOURCE_REGIONS:
        raise ConfigError(f"context key 'budget_usd': CloudFormation has no AWS::Budgets::Budget in {region}; "
                          "set budget_usd=0 there and create the budget in the Billing console")
    return amount


def _timezone(key: str, value: Any) -> str:
    zone = str(value).strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(key, "an IANA time zone such as Europe/Paris", value) from None
    return zone


def _warm_hours(get: Callable[[str], Any], provisioned: int | None) -> WarmHours | None:
    zone = _timezone("warm_timezone", get("warm_timezone"))
    strategy = _choice("warm_strategy", get("warm_strategy"), WARM_STRATEGIES, str)
    text = get("warm_hours")
    if _optional(text):
        return None
    try:
        windows = parse_windows(str(text))
    except WarmHoursError as problem:
        raise ConfigError(f"context key 'warm_hours': {problem}, got {text!r}") from None
    if strategy == "provisioned" and (provisioned is None or provisioned < 2):
        raise ConfigError("context key 'provisioned_concurrency': warm_strategy=provisioned holds this concurrency "
                          "in warm hours and 1 outside them, so it must be 2 or more, got "
                          f"{provisioned if provisioned is not None else 'empty'}")
    if strategy == "ping" and provisioned is not None:
        raise ConfigError(f"context key 'warm_strategy': ping keeps on-demand capacity warm, but "
                          f"provisioned_concurrency={provisioned} already holds it all day; use "
                          "warm_strategy=provisioned to hold it in warm hours only, or empty provisioned_concurrency")
    return WarmHours(windows, zone, strategy)


def _realtime(get: Callable[[str], Any]) -> RealtimeSettings:
    try:
        instance = instance_type(str(get("instance_type")).strip())
    except InstanceTypeError as problem:
        raise ConfigError(f"context key 'instance_type': {problem}") from None
    count_min = _integer("instance_count_min", get("instance_count_min"), 1, 100)
    count_max = _integer("instance_count_max", get("instance_count_max"), count_min, 100)
    return RealtimeSettings(instance, count_min, count_max, _integer(
        "scaling_invocations_per_instance", get("scaling_invocations_per_instance"), 1, 1_000_000))


def _serving(get: Callable[[str], Any], region: str, serverless: ServerlessSettings) -> RealtimeSettings | None:
    """The realtime settings, or None for serverless; either way every key is checked."""
    endpoint_type = _choice("endpoint_type", get("endpoint_type"), ENDPOINT_TYPES, str)
    realtime = _realtime(get)
    if endpoint_type == "serverless":
        refusal = serverless_refusal(region)
        if refusal:
            raise ConfigError(refusal)
        return None
    for key, value in (("provisioned_concurrency", serverless.provisioned_concurrency),
                       ("warm_hours", serverless.warm)):
        if value is not None:
            raise ConfigError(f"context key '{key}': serverless only; empty it with endpoint_type=realtime")
    if realtime.instance.burstable and realtime.autoscaled:
        raise ConfigError(f"context key 'instance_type': SageMaker cannot autoscale the burstable "
                          f"{realtime.instance.name}; set instance_count_max={realtime.count_min} "
                          "(no autoscaling) or choose a type such as ml.c5.large")
    return realtime


def _boolean(key: str, value: Any) -> bool:
    """cdk.json gives a JSON boolean, `-c key=value` a string."""
    parsed = value if isinstance(value, bool) else _BOOLEANS.get(str(value).strip().lower())
    if parsed is None:
        raise _fail(key, "true or false", value)
    return parsed


def _web_url(key: str, value: Any) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
        raise _fail(key, "an http(s) URL, such as the feed's gbfs.json", value)
    return text


def _collector(get: Callable[[str], Any]) -> CollectorSettings | None:
    settings = CollectorSettings(
        interval_minutes=_integer("collector_interval_minutes", get("collector_interval_minutes"), 1, 60),
        feed_url=_web_url("collector_feed_url", get("collector_feed_url")),
        history_retention_days=_integer("history_retention_days", get("history_retention_days"),
                                        *HISTORY_RETENTION_DAYS))
    return settings if _boolean("collector", get("collector")) else None


def _retrain(get: Callable[[str], Any], collector: CollectorSettings | None) -> RetrainSettings | None:
    """The pipeline trains on the collector's history, so it needs the collector's bucket."""
    zone = _timezone("retrain_timezone", get("retrain_timezone"))
    value = get("retrain_schedule")
    if _optional(value):
        return None
    schedule = str(value).strip()
    if not (_RATE.fullmatch(schedule) or _cron_expression(schedule)):
        raise _fail("retrain_schedule", "an EventBridge Scheduler cron(...) with six fields, one of day-of-month and "
                                        "day-of-week '?', e.g. cron(0 3 ? * MON *), or rate(7 days), or empty", value)
    if collector is None:
        raise ConfigError("context key 'retrain_schedule': the pipeline trains on the collector's history, so it "
                          "needs collector=true")
    return RetrainSettings(schedule, zone)


def _cron_expression(text: str) -> bool:
    if not _CRON.fullmatch(text):
        return False
    day_of_month, day_of_week = text.removeprefix("cron(").removesuffix(")").split(" ")[2:5:2]
    return (day_of_month == "?") != (day_of_week == "?")


def _registry_version(get: Callable[[str], Any], stage: str, region: str, account: str | None, force: bool
                      ) -> RegistryVersion | None:
    """The registry version to serve instead of artifacts_dir, as build/model-version.json names it."""
    value = get("model_version")
    if _optional(value):
        return None
    try:
        return chosen_version(parse_request(value), stage=stage, group=endpoint_name_for(stage), region=region,
                              account=account, force=force)
    except RegistryVersionError as problem:
        raise ConfigError(f"context key 'model_version': {problem}") from None


def parse_share(value: Any) -> float | None:
    """A challenger's weight, strictly between 0 and 1, from a number or its text; None when it is not one. The one
    rule for cdk.json, the API's and `up`'s flags and the split itself, each of which names its own key."""
    try:
        weight = float(value)
    except (TypeError, ValueError):
        return None
    return None if isinstance(value, bool) or not 0 < weight < 1 else weight  # nan fails both comparisons


def _challenger_weight(value: Any) -> float:
    weight = parse_share(value)
    if weight is None:
        raise _fail("challenger_weight", "a number strictly between 0 and 1 (the challenger's share)", value)
    return weight


def _folder(value: Any) -> Path:
    """A folder named in cdk.json: relative to the repository's root, or absolute."""
    path = Path(str(value).strip())
    return path if path.is_absolute() else REPO_ROOT / path


def _artifacts_hash(key: str, folder: Path) -> str:
    try:
        return artifacts_version(folder)
    except ArtifactError as problem:
        raise ConfigError(f"context key '{key}': {problem}") from None


def _challenger(get: Callable[[str], Any], stage: str, region: str, account: str | None, force: bool,
                champion: Callable[[], str]) -> ChallengerSettings | None:
    """The A/B's challenger: a registry version number (or latest-approved), resolved like model_version into
    build/challenger-version.json, else an artifacts folder; never the champion's model (`champion()`, its
    model_version hash, is computed only when there is a challenger)."""
    weight = _challenger_weight(get("challenger_weight"))
    value = get("challenger_version")
    if _optional(value):
        return None
    try:
        request = parse_request(value)
    except RegistryVersionError:  # not a version: a folder
        folder = _folder(value)
        if not folder.is_dir():
            raise _fail("challenger_version", f"a registry version number, {LATEST_APPROVED}, or a folder of model "
                                              "artifacts, or empty", value) from None
        challenger = ChallengerSettings(weight, _artifacts_hash("challenger_version", folder), folder, None)
    else:
        try:
            version = chosen_version(request, stage=stage, group=endpoint_name_for(stage), region=region,
                                     account=account, force=force, challenger=True)
        except RegistryVersionError as problem:
            raise ConfigError(f"context key 'challenger_version': {problem}") from None
        challenger = ChallengerSettings(weight, version.model_version, None, version)
    if challenger.model_version == champion():
        raise ConfigError(f"context key 'challenger_version': {value!r} is the champion's own model (model_version "
                          f"{challenger.model_version}); an A/B needs another one")
    return challenger


def _pattern(key: str, value: Any, pattern: re.Pattern[str], expected: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value.strip()):
        raise _fail(key, expected, value)
    return value.strip()


def _optional(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _NONE)


def load_config(context: Mapping[str, Any], default_account: str | None = None) -> DeploymentConfig:
    """Build and check the config from CDK context; `default_account` is CDK_DEFAULT_ACCOUNT."""
    def get(key: str) -> Any:
        if key not in context:
            raise ConfigError(f"context key '{key}': missing; set it in cdk.json or pass -c {key}=...")
        return context[key]

    unknown = sorted(k for k in context if ":" not in k and not k.startswith("@") and k not in KEYS)
    if unknown:
        raise ConfigError(f"context key '{unknown[0]}': unknown; the keys are {', '.join(KEYS)}")
    region = _choice("region", get("region"), tuple(sorted(REGISTRY_ACCOUNTS)), str)
    account_value = get("account")
    account = (default_account if _optional(account_value)
               else _pattern("account", str(account_value), _ACCOUNT, "a 12-digit AWS account id"))
    max_concurrency = _integer("max_concurrency", get("max_concurrency"), 1, 200)
    provisioned = get("provisioned_concurrency")
    provisioned_concurrency = (None if _optional(provisioned)
                               else _integer("provisioned_concurrency", provisioned, 1, max_concurrency))
    serverless = ServerlessSettings(memory_mb=_choice("memory_mb", get("memory_mb"), MEMORY_SIZES, int),
                                    max_concurrency=max_concurrency, provisioned_concurrency=provisioned_concurrency,
                                    warm=_warm_hours(get, provisioned_concurrency))
    realtime = _serving(get, region, serverless)
    email = get("alarm_email")
    artifacts_dir = _folder(get("artifacts_dir"))
    if not artifacts_dir.is_dir():
        raise _fail("artifacts_dir", "a folder holding the model artifacts", str(get("artifacts_dir")))
    repository, provider = get("github_repository"), get("github_oidc_provider_arn")
    ci = None if _optional(repository) else CiSettings(
        repository=_pattern("github_repository", repository, _REPOSITORY, "owner/name of a GitHub repository"),
        existing_oidc_provider_arn=None if _optional(provider) else _pattern(
            "github_oidc_provider_arn", provider, _OIDC_PROVIDER,
            "the ARN of the account's token.actions.githubusercontent.com OIDC provider, or empty to create one"),
        cdk_qualifier=_pattern("cdk_qualifier", get("cdk_qualifier"), _QUALIFIER,
                               "the bootstrap qualifier, 1-10 lower-case letters or digits"))
    collector = _collector(get)
    stage = _pattern("stage", get("stage"), _STAGE, "lower-case letters, digits and '-', starting with a letter "
                                                 "(at most 20 characters), e.g. dev or prod")
    force = _boolean("model_version_force", get("model_version_force"))
    registry_version = _registry_version(get, stage, region, account, force)
    challenger = _challenger(get, stage, region, account, force, lambda: registry_version.model_version
                             if registry_version else _artifacts_hash("artifacts_dir", artifacts_dir))
    return DeploymentConfig(
        stage=stage,
        account=account,
        region=region,
        serverless=serverless,
        realtime=realtime,
        image_tag=_pattern("image_tag", get("image_tag"), _IMAGE_TAG, "a container image tag"),
        alarm_email=None if _optional(email) else _pattern("alarm_email", email, _EMAIL, "an e-mail address or empty"),
        budget_usd=_budget(get("budget_usd"), region),
        budget_scope=_choice("budget_scope", get("budget_scope"), BUDGET_SCOPES, str),
        log_retention_days=_choice("log_retention_days", get("log_retention_days"), LOG_RETENTION_DAYS, int),
        model_server_timeout_seconds=_integer("model_server_timeout_seconds", get("model_server_timeout_seconds"),
                                              1, 60),
        artifacts_dir=artifacts_dir,
        alarms=AlarmThresholds(
            error_5xx_rate=_number("alarm_5xx_rate", get("alarm_5xx_rate"), 0, 1),
            error_4xx_rate=_number("alarm_4xx_rate", get("alarm_4xx_rate"), 0, 1),
            latency_p99_ms=_number("alarm_latency_p99_ms", get("alarm_latency_p99_ms"), 1, 60_000),
            cold_start_ms=_number("alarm_cold_start_ms", get("alarm_cold_start_ms"), 1, 180_000),
            spillover_invocations=_integer("alarm_spillover_invocations", get("alarm_spillover_invocations"),
                                           0, 1_000_000),
            cpu_percent=_number("alarm_cpu_percent", get("alarm_cpu_percent"), 1, 100),
            memory_percent=_number("alarm_memory_percent", get("alarm_memory_percent"), 1, 100),
            period_minutes=_integer("alarm_period_minutes", get("alarm_period_minutes"), 1, 60),
        ),
        ci=ci,
        collector=collector,
        registry_version=registry_version,
        challenger=challenger,
        retrain=_retrain(get, collector),
        gate=gate_margins({key: get(key) for key in GATE_KEYS}),
    )


def gate_margins(context: Mapping[str, Any]) -> GateMargins:
    """The gate's margins from their context keys: also how the pipeline's evaluation step, which has no cdk.json,
    checks the values the stack passes on its command line."""
    improvement, regression = GATE_KEYS
    return GateMargins(min_improvement_t1h_percent=_number(improvement, context[improvement], 0, 50),
                       max_regression_percent=_number(regression, context[regression], 0, 50))


def project_context() -> dict[str, Any]:
    """The context cdk.json gives `cdk synth`: the defaults every command starts from."""
    return dict(json.loads(CDK_JSON.read_text())["context"])


def load_project_config(default_account: str | None = None, **overrides: Any) -> DeploymentConfig:
    """The config `cdk synth` would build from cdk.json with `-c key=value` overrides, for the other commands."""
    return load_config({**project_context(), **overrides}, default_account)
