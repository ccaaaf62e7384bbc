"""`python -m cdk_app api`: the web API in front of an endpoint, local or in AWS, with the serverless A/B's
challenger; `python -m cdk_app up`: a local endpoint (and a challenger's), the API and the page together (`make
run`). FastAPI, uvicorn and the serving stack are imported only when a command runs, so `--help` stays instant."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdk_app.command_line import add_endpoint_arguments, endpoint_name, served_archive, until_stopped
from cdk_app.deployment.config import LOCAL_ENDPOINT_NAME, endpoint_name_for, project_context
from cdk_app.live_data.commands import add_history_argument
from cdk_app.paths import ARTIFACTS_DIR, BUILD_DIR, REPO_ROOT
from cdk_app.web_api.variant_split import DEFAULT_CHALLENGER_WEIGHT

if TYPE_CHECKING:
    from cdk_app.local_serving.local_endpoint import LocalEndpoint

CHALLENGER_ARCHIVE = BUILD_DIR / "challenger-model.tar.gz"


def _api(args: argparse.Namespace) -> int:
    from limits import parse

    from cdk_app.web_api.forecasts import ApiSettings, parse_proxies
    from cdk_app.web_api.server import serve_api

    try:
        parse(args.rate_limit)
    except ValueError:
        raise ValueError(f"--rate-limit: {args.rate_limit!r} is not a limit like 100/hour or 5/minute") from None
    champion = endpoint_name(args)
    settings = ApiSettings(
        endpoint_name=champion,
        endpoint_url=args.endpoint_url, region=args.region, redis_url=args.redis_url or os.environ.get("REDIS_URL"),
        rate_limit=args.rate_limit, trusted_proxies=parse_proxies(args.trusted_proxies or ""),
        endpoint_timeout_seconds=args.endpoint_timeout, stations_file=args.stations, history=args.history,
        **_challenger(args, champion))
    serve_api(settings, args.port)
    return 0


def _challenger(args: argparse.Namespace, champion: str) -> dict[str, Any]:
    """ApiSettings' challenger fields: from the flags; else, for the stage's own endpoint in AWS, cdk.json's
    serverless challenger (a real-time endpoint splits by itself: the API calls it alone); else none."""
    from cdk_app.web_api.variant_split import challenger_weight

    weight = None if args.challenger_weight is None else challenger_weight(args.challenger_weight)
    weighed = {} if weight is None else {"challenger_weight": weight}
    if args.challenger_endpoint_name or args.challenger_endpoint_url:
        name = args.challenger_endpoint_name or LOCAL_ENDPOINT_NAME
        if (name, args.challenger_endpoint_url) == (champion, args.endpoint_url):
            raise ValueError(f"--challenger-endpoint-name: {name} is the champion's endpoint; the challenger must be "
                             "another one")
        return {"challenger_endpoint_name": name, "challenger_endpoint_url": args.challenger_endpoint_url, **weighed}
    stage = {} if args.endpoint_url else _stage_challenger(champion)
    if stage:
        return {**stage, **weighed}
    if weight is not None:
        raise ValueError("--challenger-weight: there is no challenger to weigh; give --challenger-endpoint-name or "
                         "--challenger-endpoint-url")
    return {}


def _stage_challenger(champion: str) -> dict[str, Any]:
    """The serverless challenger cdk.json deploys beside `champion`, when that is the stage's endpoint."""
    from cdk_app.deployment.config import ConfigError, load_project_config
    from cdk_app.progress import say
    from cdk_app.web_api.forecasts import stage_challenger

    if champion != endpoint_name_for(str(project_context()["stage"])):
        return {}
    try:
        return stage_challenger(load_project_config())
    except ConfigError as error:
        say(f"cdk.json's config does not load ({error}): serving without the challenger it may name; "
            "--challenger-endpoint-name names one")
        return {}


def _up(args: argparse.Namespace) -> int:
    import subprocess

    from cdk_app.child_process import ChildServer, terminate
    from cdk_app.live_data.gbfs import FeedError, GbfsReader
    from cdk_app.local_serving.local_endpoint import LocalEndpoint
    from cdk_app.loopback import free_port
    from cdk_app.progress import say, step

    challenger = _up_challenger(args)
    live = args.stations == "velib"
    if live:
        try:
            GbfsReader(args.feed).poll()
        except FeedError as error:  # one line, naming the file and the problem
            say(f"the live feed is unreachable ({error}); serving the simulator's 300 stations instead")
            live = False
    endpoint = LocalEndpoint(served_archive(args.archive))
    with until_stopped(), ExitStack() as running:
        running.callback(endpoint.stop)
        with step("starting the local endpoint (TorchServe)"):
            endpoint.start()
        if challenger is not None:
            running.callback(challenger.stop)
            with step("starting the challenger's local endpoint (TorchServe)"):
                challenger.start()

        def start(what: str, command: list[str], announces: str) -> str:
            """One `python -m cdk_app` child, stopped with the rest; its URL once it announces it."""
            child = ChildServer([sys.executable, "-m", "cdk_app", *command], announces, cwd=REPO_ROOT)
            running.callback(child.stop)
            with step(f"starting {what}"):
                return child.start()

        if live:  # its one line per poll goes to our stderr: a pipe nobody reads would fill and stop it
            with step(f"starting the collector ({args.feed} into {args.history})"):
                paired = [] if challenger is None else ["--challenger-endpoint-url", challenger.url]
                collector = subprocess.Popen([sys.executable, "-m", "cdk_app", "collect", "--feed", args.feed,
                                              "--history", args.history, "--endpoint-url", endpoint.url, *paired],
                                             cwd=REPO_ROOT, stdout=sys.stderr.fileno())
                running.callback(terminate, collector)
        split = [] if challenger is None else ["--challenger-endpoint-url", challenger.url, *(
            ["--challenger-weight", args.challenger_weight] if args.challenger_weight else [])]
        api_url = start("the API (uvicorn)", ["api", "--port", str(args.api_port or free_port()), "--endpoint-url",
                                              endpoint.url, *(["--redis-url", args.redis_url] if args.redis_url
                                                              else []),
                                              *(["--history", args.history] if live else []), *split], "api-url: ")
        ui_url = start("the page (Streamlit)", ["ui", "--port", str(args.ui_port or free_port()), "--api-url", api_url],
                       "ui-url: ")
        # the challenger's line last: a reader of the usual three lines gets them first, as without one
        print(f"endpoint-url: {endpoint.url}\napi-url: {api_url}\nui-url: {ui_url}"
              + ("" if challenger is None else f"\nchallenger-endpoint-url: {challenger.url}"), flush=True)
        say(f"open {ui_url} for the page, {api_url}/docs for the API. Ctrl-C stops them all.")
        signal.pause()
    return 0


def _up_challenger(args: argparse.Namespace) -> LocalEndpoint | None:
    """The challenger's local endpoint, not started yet; None without --challenger-archive or -artifacts."""
    from cdk_app.local_serving.local_endpoint import LocalEndpoint
    from cdk_app.local_serving.model_server import namespaces_available
    from cdk_app.web_api.variant_split import challenger_weight

    if args.challenger_archive is None and args.challenger_artifacts is None:
        if args.challenger_weight is not None:
            raise ValueError("--challenger-weight: there is no challenger to weigh; give --challenger-archive or "
                             "--challenger-artifacts")
        return None
    if args.challenger_weight is not None:
        challenger_weight(args.challenger_weight)
    if not namespaces_available():
        raise RuntimeError("a challenger's model server needs a PID namespace of its own, which this machine "
                           "refuses (run as root, or with CAP_SYS_ADMIN)")
    return LocalEndpoint(served_archive(args.challenger_archive, args.challenger_artifacts or ARTIFACTS_DIR,
                                        CHALLENGER_ARCHIVE))


def add_api(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("api", help="serve the web API (FastAPI) in front of an endpoint, local or in AWS",
                       description="POST /predict, POST /predict/batch, GET /stations, GET /stations/{code}/forecast, "
                                   "GET /forecasts, GET /health, docs at /docs; with --history, stored forecasts, "
                                   "GET /stations/{code}/past-forecasts and GET /accuracy. Serves on 127.0.0.1 until "
                                   "Ctrl-C and prints api-url when ready. Cache (5 min) and rate limit are per "
                                   "process, or shared in Redis with --redis-url.")
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: %(default)s)")
    add_endpoint_arguments(p)
    p.add_argument("--redis-url", help="share cache and rate limit in Redis, e.g. redis://127.0.0.1:6379/0 "
                                       "(default: $REDIS_URL, else in process)")
    p.add_argument("--rate-limit", default="100/hour", help="requests per client address (default: %(default)s)")
    p.add_argument("--trusted-proxies", help="comma-separated addresses or CIDRs whose X-Forwarded-For is believed")
    p.add_argument("--endpoint-timeout", type=float, default=30.0,
                   help="seconds to wait for the endpoint, cold start included, before a 503 (default: %(default)s)")
    ab = p.add_argument_group("serverless A/B: a challenger endpoint serves a share of the stations, each station "
                                "always the same side (default: for the stage's endpoint, the challenger cdk.json "
                                "deploys in serverless mode)")
    ab.add_argument("--challenger-endpoint-name",
                    help=f"default: {LOCAL_ENDPOINT_NAME} with --challenger-endpoint-url")
    ab.add_argument("--challenger-endpoint-url", help="the challenger's local endpoint; default: AWS")
    ab.add_argument("--challenger-weight", help="the share of stations on the challenger, strictly between 0 and 1 "
                                                f"(default: challenger_weight in cdk.json for the stage's challenger, "
                                                f"else {DEFAULT_CHALLENGER_WEIGHT})")
    stations = p.add_mutually_exclusive_group()
    stations.add_argument("--stations", type=Path, help="your own stations' hourly history, as JSON (see README); "
                                                        "default: the simulator's 300 stations")
    stations.add_argument("--history", help="serve the stations and stored forecasts of a history `collect` writes: "
                                            "a folder or s3://bucket/prefix")
    p.set_defaults(handler=_api)


def add_up(sub: argparse._SubParsersAction) -> None:
    from cdk_app.live_data.gbfs import DEFAULT_FEED_URL

    p = sub.add_parser("up", help="start the local endpoint, the API and the page together (make run)",
                       description="Serve model.tar.gz locally, the API in front of it and the page in front of the "
                                   "API, each on 127.0.0.1; print the three URLs; Ctrl-C stops all three. With "
                                   "--stations velib, the collector too, and the API serves its history. With "
                                   "--challenger-archive or --challenger-artifacts, a second local endpoint serves "
                                   "the challenger, the API splits the stations between the two (a serverless A/B), "
                                   "and a fourth line prints its challenger-endpoint-url.")
    p.add_argument("--stations", choices=("simulated", "velib"), default="simulated",
                   help="simulated: the training simulator's 300 stations, offline; velib: the live feed, collected "
                        "into --history and forecast hourly by the local endpoint (the simulated stations if the "
                        "feed does not answer). Default: %(default)s")
    p.add_argument("--feed", default=DEFAULT_FEED_URL, help="GBFS feed for --stations velib (default: %(default)s)")
    add_history_argument(p, "where --stations velib collects")
    p.add_argument("--archive", type=Path, help="model.tar.gz to serve (default: build it from artifacts/)")
    challenger = p.add_mutually_exclusive_group()
    challenger.add_argument("--challenger-archive", type=Path,
                            help="serve this model.tar.gz too, on a second local endpoint, as the challenger of a "
                                 "serverless A/B: the API splits the stations between the two")
    challenger.add_argument("--challenger-artifacts", type=Path,
                            help=f"the same from an artifacts folder, packaged into {CHALLENGER_ARCHIVE.name}")
    p.add_argument("--challenger-weight",
                   help=f"the share of stations on the challenger (default: {DEFAULT_CHALLENGER_WEIGHT})")
    p.add_argument("--api-port", type=int, help="default: a free port")
    p.add_argument("--ui-port", type=int, help="default: a free port")
    p.add_argument("--redis-url", help="share the API's cache and rate limit in Redis")
    p.set_defaults(handler=_up)
