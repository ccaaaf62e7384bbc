"""`python -m cdk_app collect`: poll the feed into a history, forecast each completed hour (by the champion, and
the challenger when there is one), score forecasts; `python -m cdk_app accuracy`: what the scores say."""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import nullcontext
from typing import TYPE_CHECKING

from cdk_app.paths import DEFAULT_HISTORY

if TYPE_CHECKING:
    from cdk_app.client.forecast_client import ForecastClient

DEFAULT_INTERVAL_SECONDS = 60.0


def collect(args: argparse.Namespace) -> int:
    from cdk_app.command_line import until_stopped
    from cdk_app.live_data.blobs import LocalBlobs, open_blobs
    from cdk_app.live_data.collector import Collector
    from cdk_app.live_data.gbfs import FeedError, GbfsReader
    from cdk_app.live_data.history import History

    if args.interval <= 0:
        raise ValueError(f"--interval: must be more than 0 seconds, got {args.interval}")
    champion = _client(args.endpoint_name, args.endpoint_url, args.endpoint_variant, args.region, "")
    challenger = _client(args.challenger_endpoint_name, args.challenger_endpoint_url, args.challenger_variant,
                         args.region, "challenger-")
    if challenger is not None and champion is None:
        raise ValueError("--challenger-endpoint-name/--challenger-endpoint-url: the challenger is compared with "
                         "the champion, so --endpoint-name or --endpoint-url is needed too")
    blobs = open_blobs(args.history, args.region)
    collector = Collector(GbfsReader(args.feed), History(blobs), champion, challenger)
    # On disk the history is held for the collector's whole life, so a second collector is refused at once.
    with until_stopped(), blobs.exclusive() if isinstance(blobs, LocalBlobs) else nullcontext():
        print(f"collecting {args.feed} into {blobs.location}"
              + ("" if args.once else f" every {args.interval:g} s (Ctrl-C stops)"), file=sys.stderr, flush=True)
        while True:
            started = time.monotonic()
            try:
                report = collector.poll()
            except FeedError as error:
                if args.once:
                    raise
                print(f"poll failed: {error}", flush=True)  # an outage leaves missing hours, and the loop goes on
            else:
                print(report.line(), flush=True)
                if args.once:
                    return 1 if report.errors else 0
            time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    return 0


def _client(name: str | None, url: str | None, variant: str | None, region: str | None,
            role: str) -> ForecastClient | None:
    """`role` prefixes the flags: "" for the champion's, "challenger-" for the challenger's."""
    if not (name or url):
        if variant:
            raise ValueError(f"--{role or 'endpoint-'}variant {variant}: names a variant of no endpoint; add "
                             f"--{role}endpoint-name")
        return None
    from cdk_app.client.forecast_client import ForecastClient
    from cdk_app.deployment.config import LOCAL_ENDPOINT_NAME

    return ForecastClient(name or LOCAL_ENDPOINT_NAME, region=region, endpoint_url=url, cache_ttl_seconds=None,
                          target_variant=variant)


def accuracy(args: argparse.Namespace) -> int:
    from cdk_app.live_data.blobs import open_blobs
    from cdk_app.live_data.comparison import Scoreboard
    from cdk_app.live_data.history import History
    from cdk_app.web_page.frames import accuracy_text

    history = History(open_blobs(args.history, args.region))
    if history.latest() is None:
        raise ValueError(f"{history.location}: no collected history there (`collect --history` writes one)")
    scoreboard = Scoreboard()
    scoreboard.catch_up(history)
    print(accuracy_text(scoreboard.report()))
    return 0


def add_history_argument(p: argparse.ArgumentParser, what: str) -> None:
    """--history as every command that reads or writes a collected history takes it."""
    p.add_argument("--history", default=str(DEFAULT_HISTORY),
                   help=f"{what}: a folder, or s3://bucket/prefix (default: %(default)s, ignored by git; "
                        "where `collect` writes)")


def add_collect(sub: argparse._SubParsersAction) -> None:
    from cdk_app.live_data.gbfs import DEFAULT_FEED_URL

    p = sub.add_parser(
        "collect", help="poll a GBFS feed (Velib' by default) into an hourly history, with hourly city forecasts",
        description="Poll station_status every --interval seconds (station_information when its ttl says so) and "
                    "keep, per hour, each station's latest fresh reading (a reading more than 60 min older than "
                    "the feed's time counts as missing). Time is the feed's own. With an endpoint, each completed "
                    "hour sends every station with 18 of its last 24 hours in one invocation and stores the "
                    "forecasts; each forecast is scored once its hours are observed (GET /accuracy). One line per "
                    "poll. A second collector on the same local history is refused. With a challenger endpoint too, "
                    "each completed hour is forecast by both, and `accuracy` compares them on the same station-hours.")
    p.add_argument("--feed", default=DEFAULT_FEED_URL, help="GBFS autodiscovery URL (gbfs.json); default: Velib' "
                                                            "Metropole, %(default)s")
    add_history_argument(p, "where to keep it")
    p.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_SECONDS,
                   help="seconds between polls (default: %(default)s)")
    p.add_argument("--once", action="store_true", help="poll once and exit: 0 on success, 1 with a one-line error")
    endpoint = p.add_mutually_exclusive_group()
    endpoint.add_argument("--endpoint-name", help="forecast each completed hour with this SageMaker endpoint")
    endpoint.add_argument("--endpoint-url", help="... or with the local endpoint at this URL (`serve` prints it)")
    p.add_argument("--endpoint-variant", help="a real-time endpoint's production variant to send the forecast to "
                                              "(Champion when it also serves a challenger)")
    challenger = p.add_mutually_exclusive_group()
    challenger.add_argument("--challenger-endpoint-name",
                            help="an A/B: forecast each completed hour with this endpoint too, as the challenger "
                                 "(one more invocation an hour), and compare the two in `accuracy`")
    challenger.add_argument("--challenger-endpoint-url", help="... or with the local endpoint at this URL")
    p.add_argument("--challenger-variant", help="the challenger's production variant (a real-time endpoint: "
                                                "Challenger, with the champion's endpoint name)")
    p.add_argument("--region", help="AWS region of the endpoints and of an s3:// history "
                                    "(default: your AWS configuration)")
    p.set_defaults(handler=collect)


def add_accuracy(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("accuracy", help="a collected history's live accuracy, and the A/B verdict with a challenger",
                       description="Print what GET /accuracy answers: each model version's MAE beside persistence's; "
                                   "with a challenger, per horizon both MAEs on the same station-hours, the "
                                   "difference, its 95 % interval (a bootstrap over hours) and the verdict.")
    add_history_argument(p, "the collected history")
    p.add_argument("--region", help="AWS region of an s3:// history (default: your AWS configuration)")
    p.set_defaults(handler=accuracy)
