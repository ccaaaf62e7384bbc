"""The collector in AWS: one poll per invocation, on EventBridge Scheduler's schedule, the same code as `collect`.

Its environment: FEED_URL, HISTORY_URL (s3://bucket/prefix) and ENDPOINT_NAME. The collector is kept between
warm invocations, so station_information is fetched again only when its ttl says so. A poll whose forecast
fails still stores its readings, then raises, so the function's Errors alarm tells the topic.
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


@cache
def _collector(feed_url: str, history_url: str, endpoint_name: str) -> Collector:
    client = ForecastClient(endpoint_name, cache_ttl_seconds=None) if endpoint_name else None
    return Collector(GbfsReader(feed_url), History(open_blobs(history_url)), client)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    collector = _collector(os.environ["FEED_URL"], os.environ["HISTORY_URL"], os.environ.get("ENDPOINT_NAME", ""))
    report = collector.poll()
    print(report.line())
    if report.errors:
        raise CollectorError("; ".join(report.errors))
    return {"feed_time": report.feed_time, "stored": report.stored, "stations": report.stations,
            "skipped": report.skipped, "stale": report.stale, "hours_complete": report.hours_complete}
