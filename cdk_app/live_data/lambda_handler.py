"""The collector in AWS: one poll per invocation, on EventBridge Scheduler's schedule, the same code as `collect`.

Its environment: FEED_URL, HISTORY_URL (s3://bucket/prefix) and ENDPOINT_NAME; with a challenger,
CHALLENGER_ENDPOINT_NAME too (serverless: the challenger's own endpoint; real-time: the same endpoint, with
ENDPOINT_VARIANT and CHALLENGER_VARIANT naming the production variant each role's forecast is sent to). The
collector is kept between warm invocations, so station_information is fetched again only when its ttl says so.
A poll whose forecast fails (either role's) still stores its readings, then raises, so the function's Errors
alarm tells the topic.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from cdk_app.client.forecast_client import ForecastClient
from cdk_app.live_data.blobs import open_blobs
from cdk_app.live_data.collector import Collector
from cdk_app.live_data.gbfs import GbfsReader
from cdk_app.live_data.history import History


class CollectorError(RuntimeError):
    """The poll was stored but something it set off failed."""


def _client(endpoint_name: str, variant: str) -> ForecastClient | None:
    if not endpoint_name:
        return None
    return ForecastClient(endpoint_name, cache_ttl_seconds=None, target_variant=variant or None)


@cache
def _collector(feed_url: str, history_url: str, endpoint: tuple[str, str], challenger: tuple[str, str]) -> Collector:
    """`endpoint` and `challenger` are (endpoint name, production variant), empty where unset."""
    return Collector(GbfsReader(feed_url), History(open_blobs(history_url)), _client(*endpoint), _client(*challenger))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    env = os.environ
    collector = _collector(env["FEED_URL"], env["HISTORY_URL"],
                           (env.get("ENDPOINT_NAME", ""), env.get("ENDPOINT_VARIANT", "")),
                           (env.get("CHALLENGER_ENDPOINT_NAME", ""), env.get("CHALLENGER_VARIANT", "")))
    report = collector.poll()
    print(report.line())
    if report.errors:
        raise CollectorError("; ".join(report.errors))
    return {"feed_time": report.feed_time, "stored": report.stored, "stations": report.stations,
            "skipped": report.skipped, "stale": report.stale, "hours_complete": report.hours_complete}
