"""The `python -m cdk_app` command line.

Each subcommand imports its module only when it runs, so `--help` answers at once without
loading torch or the CDK.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdk_app.deployment.config import LOCAL_ENDPOINT_NAME, endpoint_name_for, project_context
from cdk_app.deployment.registry_version import MODEL_VERSION_FILE
from cdk_app.deployment.warm_hours import EXAMPLE
from cdk_app.lifecycle.commands import add_lifecycle
from cdk_app.live_data.commands import add_accuracy, add_collect, add_history_argument
from cdk_app.paths import ARTIFACTS_DIR, BENCH_RESULTS, BUILD_DIR, DEFAULT_ARCHIVE, MODEL_CODE_DIR, REPO_ROOT
from cdk_app.web_api.variant_split import DEFAULT_CHALLENGER_WEIGHT

if TYPE_CHECKING:
    from cdk_app.local_serving.local_endpoint import LocalEndpoint

Handler = Callable[[argparse.Namespace], int]
CHALLENGER_ARCHIVE = BUILD_DIR / "challenger-model.tar.gz"


def _train(args: argparse.Namespace) -> int:
    from cdk_app.training.trainer import TrainingSettings, train

    settings = TrainingSettings(stations=args.stations, days=args.days, seed=args.seed, epochs=args.epochs)
    metrics = train(settings, args.output)
    print(json.dumps(metrics["horizons"], indent=2))
    print(f"artifacts written to {args.output}")
    if not metrics["beats_baselines"]:
        print("warning: the model does not beat both baselines on every horizon", file=sys.stderr)
    return 0


def _package(args: argparse.Namespace) -> int:
    from cdk_app.deployment.model_archive import build_archive

    archive = build_archive(args.artifacts, args.code, args.output)
    print(f"{archive.path}\n  sha256 {archive.sha256}\n  size {archive.size} bytes\n"
          f"  model_version {archive.model_version}")
    for member in archive.members:
        print(f"  {member}")
    return 0


def _convert_scaler(args: argparse.Namespace) -> int:
    from cdk_app.training.scaler_conversion import convert_pickle

    features = [f.strip() for f in args.features.split(",")] if args.features else None
    scaler = convert_pickle(args.source, args.output, features)
    print(f"{args.output}: {len(scaler.feature_names)} features ({', '.join(scaler.feature_names)})")
    return 0


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the reference model on simulated stations",
                       description="Simulate Velib'-like stations, train the LSTM, score it on the final "
                                   "held-out week against persistence and seasonal-naive, and write "
                                   "best_model.pth, config.json, scaler.json, station_mappings.json, metrics.json.")
    p.add_argument("--output", type=Path, default=ARTIFACTS_DIR, help="artifact folder (default: %(default)s)")
    p.add_argument("--stations", type=int, default=300, help="stations to simulate (default: %(default)s)")
    p.add_argument("--days", type=int, default=42, help="days to simulate (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=8, help="training epochs (default: %(default)s)")
    p.add_argument("--seed", type=int, default=7, help="seed for data and weights (default: %(default)s)")
    p.set_defaults(handler=_train)


def _add_package(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("package", help="build the deterministic model.tar.gz",
                       description="Check the artifacts and code, then write model.tar.gz: artifacts at the "
                                   "root, inference code under code/. Same inputs, same bytes.")
    p.add_argument("--output", type=Path, default=DEFAULT_ARCHIVE, help="archive path (default: %(default)s)")
    p.add_argument("--artifacts", type=Path, default=ARTIFACTS_DIR, help="artifact folder (default: %(default)s)")
    p.add_argument("--code", type=Path, default=MODEL_CODE_DIR, help="inference code folder (default: %(default)s)")
    p.set_defaults(handler=_package)


def _add_convert_scaler(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert-scaler", help="turn a scikit-learn scaler.pkl into scaler.json",
                       description="Unpickle a fitted StandardScaler, MinMaxScaler or RobustScaler on this "
                                   "machine and write the JSON the endpoint reads; the endpoint never unpickles.")
    p.add_argument("source", type=Path, help="the scaler.pkl to convert")
    p.add_argument("--output", type=Path, default=ARTIFACTS_DIR / "scaler.json", help="default: %(default)s")
    p.add_argument("--features", help="comma-separated feature names, if the scaler does not record them "
                                      "(the model expects capacity,latitude,longitude)")
    p.set_defaults(handler=_convert_scaler)


def _add_endpoint_arguments(p: argparse.ArgumentParser) -> None:
    """Which endpoint `predict` and `api` call: the local one by URL, or one in AWS by name and region."""
    p.add_argument("--endpoint-name", help=f"default: {LOCAL_ENDPOINT_NAME} with --endpoint-url, else the "
                                           "endpoint of the stage in cdk.json")
    p.add_argument("--endpoint-url", help="e.g. the endpoint-url printed by `serve`; default: AWS")
    p.add_argument("--region", help="AWS region (default: your AWS configuration)")


def _endpoint_name(args: argparse.Namespace) -> str:
    if args.endpoint_name:
        return str(args.endpoint_name)
    return LOCAL_ENDPOINT_NAME if args.endpoint_url else endpoint_name_for(str(project_context()["stage"]))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def until_stopped() -> Iterator[None]:
    """SIGTERM ends a long-running command the way Ctrl-C does, through the same clean-up, and exits 0."""
    from cdk_app.progress import say

    for stop_signal in (signal.SIGTERM, signal.SIGINT):  # SIGINT too: a shell may start us with it ignored
        signal.signal(stop_signal, _interrupt)
    try:
        yield
    except KeyboardInterrupt:
        say("stopping")


def _archive(path: Path | None, artifacts: Path = ARTIFACTS_DIR, output: Path = DEFAULT_ARCHIVE) -> Path:
    from cdk_app.deployment.model_archive import build_archive
    from cdk_app.progress import step

    if path is not None:
        return path
    with step(f"building {output.name} from {artifacts}"):
        return build_archive(artifacts, MODEL_CODE_DIR, output).path


def _serve(args: argparse.Namespace) -> int:
    from cdk_app.client.example_requests import BATCH_REQUEST_FILE, GUIDE_REQUEST_FILE
    from cdk_app.local_serving.local_endpoint import LocalEndpoint
    from cdk_app.progress import say, step

    endpoint = LocalEndpoint(_archive(args.archive), endpoint_name=args.endpoint_name, port=args.port,
                             ready_timeout=args.ready_timeout)
    with until_stopped(), ExitStack() as running:
        running.callback(endpoint.stop)
        with step("starting the SageMaker PyTorch serving stack (TorchServe) and waiting for READY workers"):
            endpoint.start()
        print(f"endpoint-url: {endpoint.url}", flush=True)
        print(f"container-url: {endpoint.container_url}", flush=True)
        guide, batch = (p.relative_to(REPO_ROOT) for p in (GUIDE_REQUEST_FILE, BATCH_REQUEST_FILE))
        say(f"try: python -m cdk_app predict --endpoint-url {endpoint.url} --endpoint-name {args.endpoint_name} "
            f"{guide}   (or {batch})\n"
            f"  or: aws sagemaker-runtime invoke-endpoint --endpoint-url {endpoint.url} "
            f"--endpoint-name {args.endpoint_name} --content-type application/json --body fileb://{guide} out.json"
            "\nCtrl-C stops it.")
        signal.pause()
    return 0


def _api(args: argparse.Namespace) -> int:
    from limits import parse

    from cdk_app.web_api.forecasts import ApiSettings, parse_proxies
    from cdk_app.web_api.server import serve_api

    try:
        parse(args.rate_limit)
    except ValueError:
        raise ValueError(f"--rate-limit: {args.rate_limit!r} is not a limit like 100/hour or 5/minute") from None
    champion = _endpoint_name(args)
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


def _ui(args: argparse.Namespace) -> int:
    from cdk_app.web_page.launcher import serve_page

    return serve_page(args.port, args.api_url)


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
    endpoint = LocalEndpoint(_archive(args.archive))
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
    return LocalEndpoint(_archive(args.challenger_archive, args.challenger_artifacts or ARTIFACTS_DIR,
                                  CHALLENGER_ARCHIVE))


def _predict(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from cdk_app.client.forecast_client import BadRequestError, EndpointError, ForecastClient
    from cdk_app.progress import say

    requests = _predict_requests(args)
    name = _endpoint_name(args)
    client = ForecastClient(name, region=args.region, endpoint_url=args.endpoint_url, cache_ttl_seconds=None,
                            max_attempts=args.max_attempts)
    if len(requests) > 1:
        say(f"sending {len(requests)} requests to {name}")
    try:
        forecasts = client.predict_many(requests)
    except BadRequestError as exc:
        print("error (BadRequestError, HTTP 400): the endpoint refused the request", file=sys.stderr)
        for problem in exc.fields:
            print(f"  {problem.field}: {problem.problem}", file=sys.stderr)
        if not exc.fields:
            print(f"  {exc}", file=sys.stderr)
        return 2
    except EndpointError as exc:
        print(f"error ({type(exc).__name__}, HTTP {exc.status}): {exc}", file=sys.stderr)
        return 1
    output = [asdict(f) for f in forecasts]
    print(json.dumps(output[0] if len(output) == 1 and not args.always_list else output, indent=2))
    return 0


def _predict_requests(args: argparse.Namespace) -> list[dict[str, object]]:
    if args.payload is not None:
        text = sys.stdin.read() if str(args.payload) == "-" else args.payload.read_text()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{args.payload}: not valid JSON ({exc})") from None
        if isinstance(data, dict) and "instances" in data:
            data = data["instances"]
        return list(data) if isinstance(data, list) else [data]
    missing = [f"--{n.replace('_', '-')}" for n in ("station_code", "history", "hour", "day_of_week", "capacity",
                                                     "latitude", "longitude") if getattr(args, n) is None]
    if missing:
        raise ValueError(f"give a payload file, or all of {', '.join(missing)}")
    history = [_history_value(v) for v in args.history.split(",")]
    request: dict[str, object] = {
        "station_code": args.station_code, "historical_bikes": history, "hour": args.hour,
        "day_of_week": args.day_of_week, "capacity": args.capacity, "latitude": args.latitude,
        "longitude": args.longitude}
    if args.weekend is not None:
        request["is_weekend"] = args.weekend
    return [request]


def _history_value(text: str) -> float | None:
    if text.strip().lower() in ("", "null", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--history: {text.strip()!r} is neither a number nor null") from None


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve model.tar.gz locally on the real SageMaker serving stack",
                       description="Extract model.tar.gz as /opt/ml/model and serve it with the PyTorch 2.6.0 DLC's "
                                   "stack (sagemaker-pytorch-inference on TorchServe) on 127.0.0.1, behind a "
                                   "SageMaker Runtime API front (InvokeEndpoint), until Ctrl-C or SIGTERM.")
    p.add_argument("--port", type=int, help="Runtime API port (default: a free one)")
    p.add_argument("--archive", type=Path, help="model.tar.gz to serve (default: build it from artifacts/)")
    p.add_argument("--endpoint-name", default=LOCAL_ENDPOINT_NAME,
                   help="name InvokeEndpoint answers to (default: %(default)s)")
    p.add_argument("--ready-timeout", type=float, default=120.0,
                   help="seconds to wait for READY workers (default: %(default)s)")
    p.set_defaults(handler=_serve)


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="send a request to an endpoint, local or in AWS",
                       description="Send a payload file (one request, a list, or {\"instances\": [...]}) or a request "
                                   "built from flags to a SageMaker endpoint, and print the forecasts as JSON. "
                                   "Exit code 2 means the endpoint rejected the request (HTTP 400).")
    p.add_argument("payload", nargs="?", type=Path, help="JSON payload file, or - for standard input")
    _add_endpoint_arguments(p)
    p.add_argument("--max-attempts", type=int, default=4, help="botocore attempts per call (default: %(default)s)")
    p.add_argument("--always-list", action="store_true", help="print a list even for one request")
    flags = p.add_argument_group("a request from flags, instead of a payload file")
    flags.add_argument("--station-code")
    flags.add_argument("--history", help="24 comma-separated hourly counts, oldest first; 'null' for a missing hour")
    flags.add_argument("--hour", type=int, help="hour of the last count, 0-23")
    flags.add_argument("--day-of-week", type=int, help="0 = Monday ... 6 = Sunday")
    flags.add_argument("--capacity", type=int)
    flags.add_argument("--latitude", type=float)
    flags.add_argument("--longitude", type=float)
    flags.add_argument("--weekend", action=argparse.BooleanOptionalAction, help="weekend or public holiday")
    p.set_defaults(handler=_predict)


def _bench(args: argparse.Namespace) -> int:
    from cdk_app.performance.bench import format_table, run

    print(format_table(run(args.json, repeat=args.repeat)))
    print(f"written to {args.json}")
    return 0


def _cost(args: argparse.Namespace) -> int:
    from cdk_app.performance.cost import Prices, cost_table, project_modes
    from cdk_app.performance.retrain_cost import RetrainRun

    overrides = {key: value for key, value in (("memory_mb", args.memory_mb), ("instance_type", args.instance_type),
                                               ("collector", args.collector or None),
                                               ("challenger_weight", args.challenger_weight)) if value is not None}
    prices = Prices(args.price_per_gb_second, args.price_per_gb_data, args.price_provisioned_per_gb_second,
                    args.price_provisioned_inference_per_gb_second, args.instance_price)
    print(cost_table(args.bench, project_modes(args.warm_hours, ab=args.ab, **overrides), prices, tuple(args.requests),
                     args.collector_poll_ms, args.collector_memory_mb,
                     RetrainRun(args.retrain_instance_type, args.retrain_seconds, args.retrain_instance_price)))
    return 0


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure latency from the bare forward pass to the local serving stack",
                       description="Time the bare model forward and the handler chain in process (1 and 1,500 "
                                   "stations), then the real serving stack: sequential, 5 concurrent clients, "
                                   "1,500 stations in one request, and the cold start. Prints a table and writes "
                                   "JSON for `cost`. Run it on a quiet machine.")
    p.add_argument("--json", type=Path, default=BENCH_RESULTS, help="where to write results (default: %(default)s)")
    p.add_argument("--repeat", type=int, default=1000,
                   help="sequential requests per measurement (default: %(default)s)")
    p.set_defaults(handler=_bench)


def _add_cost(sub: argparse._SubParsersAction) -> None:
    from cdk_app.deployment import retraining
    from cdk_app.deployment.config import COLLECTOR_MEMORY_MB
    from cdk_app.performance import cost, retrain_cost

    p = sub.add_parser("cost", help="monthly bill of every serving mode, and where real-time breaks even",
                       description="Prices on-demand serverless, serverless with warm hours by pings and by "
                                   "provisioned concurrency, and real-time instances, side by side, for each monthly "
                                   "request count, from the durations `bench` measured (or those measured at "
                                   "release, when it has not run), then the collector's bill by polling interval, "
                                   "the weekly retraining's and an A/B's. Settings come from cdk.json; prices are "
                                   "us-east-1 defaults, every serving one a flag.")
    p.add_argument("--requests", type=int, nargs="+", default=list(cost.DEFAULT_REQUESTS),
                   help="requests per month, one station each (default: %(default)s)")
    p.add_argument("--bench", type=Path, default=BENCH_RESULTS, help="results of `bench` (default: %(default)s)")
    p.add_argument("--memory-mb", type=int, help="serverless memory size (default: memory_mb in cdk.json)")
    p.add_argument("--instance-type", help="real-time instance type (default: instance_type in cdk.json)")
    p.add_argument("--warm-hours", help=f"warm hours to price (default: warm_hours in cdk.json, else '{EXAMPLE}')")
    p.add_argument("--price-per-gb-second", type=float, default=cost.PRICE_PER_GB_SECOND,
                   help="serverless compute in USD (default: %(default)s)")
    p.add_argument("--price-per-gb-data", type=float, default=cost.PRICE_PER_GB_DATA,
                   help="data processed in and out, USD per GB (default: %(default)s)")
    p.add_argument("--price-provisioned-per-gb-second", type=float, default=cost.PROVISIONED_PER_GB_SECOND,
                   help="provisioned concurrency held, USD (default: %(default)s)")
    p.add_argument("--price-provisioned-inference-per-gb-second", type=float,
                   default=cost.PROVISIONED_INFERENCE_PER_GB_SECOND,
                   help="inference on provisioned concurrency, USD (default: %(default)s)")
    p.add_argument("--instance-price", type=float,
                   help="real-time instance, USD per hour (default: the instance type's us-east-1 price)")
    p.add_argument("--collector", action="store_true",
                   help="include the collector in every mode (default: as collector in cdk.json says)")
    p.add_argument("--ab", action="store_true",
                   help="include an A/B (a challenger) in every mode (default: as challenger_version in cdk.json says)")
    p.add_argument("--challenger-weight", type=float,
                   help="the challenger's share of the requests (default: challenger_weight in cdk.json)")
    p.add_argument("--collector-poll-ms", type=float, default=cost.COLLECTOR_POLL_MS,
                   help="one poll's billed duration; its Duration metric in AWS tells (default: %(default)s)")
    p.add_argument("--collector-memory-mb", type=int, default=COLLECTOR_MEMORY_MB,
                   help="the collector function's memory (default: %(default)s, as deployed)")
    p.add_argument("--retrain-instance-type", default=retraining.INSTANCE_TYPE,
                   help="the weekly retraining's job instance type (default: %(default)s, as deployed)")
    p.add_argument("--retrain-seconds", type=float, default=retrain_cost.MEASURED_RUN_SECONDS,
                   help="a retraining run's billable seconds, all its jobs; a real run's console tells (default: "
                        "%(default)s, the training job measured locally on a small channel)")
    p.add_argument("--retrain-instance-price", type=float,
                   help="its instance, USD per hour (default: the instance type's us-east-1 price)")
    p.set_defaults(handler=_cost)


def _rehearse(args: argparse.Namespace) -> int:
    from cdk_app.rehearsal.steps import format_table, rehearse

    print(format_table(rehearse()))
    return 0


def _add_rehearse(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rehearse", help="rehearse bootstrap/deploy/update/destroy against a local AWS emulator",
                       description="Start a patched moto server on 127.0.0.1 and run the real CDK CLI through "
                                   "bootstrap, deploy, an update (memory, concurrency, model), a no-change deploy, "
                                   "a failed deploy and the good deploy after it, and destroy, checking the "
                                   "emulated account with boto3 after each step. No AWS account is touched.")
    p.set_defaults(handler=_rehearse)


def _smoke(args: argparse.Namespace) -> int:
    from cdk_app.client.smoke import run_smoke_test, served_models
    from cdk_app.deployment.config import load_project_config
    from cdk_app.deployment.registry_version import read_version_file

    config = load_project_config(**dict(args.context), **({"stage": args.stage} if args.stage else {}))
    found = read_version_file(args.model_version_file) if args.model_version_file.is_file() else None
    deployed = found if found is not None and found.group == config.endpoint_name else None
    run_smoke_test(config.stack_name, served_models(config, deployed), args.region, deployed)
    return 0


def _add_smoke(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("smoke", help="check a deployed endpoint after `cdk deploy` (used by CI)",
                       description="Wait for the stage's endpoint to settle, fail if it does not serve the "
                                   "EndpointConfig the stack just created (SageMaker can roll back silently), then "
                                   "send the reference request through the client and check the forecast. With a "
                                   "challenger (challenger_version), the same for it: its own endpoint on "
                                   "serverless, its variant (by TargetVariant) on real-time, answering its "
                                   "model_version.")
    p.add_argument("--stage", help="deployed stage (default: the stage in cdk.json)")
    p.add_argument("--region", help="AWS region (default: your AWS configuration)")
    p.add_argument("--model-version-file", type=Path, default=MODEL_VERSION_FILE,
                   help="the registry version deployed, as resolve-model wrote it; when it names this stage's group, "
                        "the endpoint must serve it and answer its model_version (default: %(default)s, if present)")
    p.add_argument("--context", "-c", type=_context_pair, action="append", default=[], metavar="KEY=VALUE",
                   help="a context value the deploy was given with -c (e.g. challenger_version=3), so the same "
                        "models are checked; repeatable")
    p.set_defaults(handler=_smoke)


def _context_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE, got {text!r}")
    return key.strip(), value


def _add_api(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("api", help="serve the web API (FastAPI) in front of an endpoint, local or in AWS",
                       description="POST /predict, POST /predict/batch, GET /stations, GET /stations/{code}/forecast, "
                                   "GET /forecasts, GET /health, docs at /docs; with --history, stored forecasts, "
                                   "GET /stations/{code}/past-forecasts and GET /accuracy. Serves on 127.0.0.1 until "
                                   "Ctrl-C and prints api-url when ready. Cache (5 min) and rate limit are per "
                                   "process, or shared in Redis with --redis-url.")
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: %(default)s)")
    _add_endpoint_arguments(p)
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


def _add_ui(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ui", help="serve the predictions page (Streamlit) for a running API",
                       description="Live availability and forecasts on a map of Paris, and one station in detail. "
                                   "Serves on 127.0.0.1 until Ctrl-C and prints ui-url when ready.")
    p.add_argument("--port", type=int, default=8501, help="port on 127.0.0.1 (default: %(default)s)")
    p.add_argument("--api-url", default="http://127.0.0.1:8000", help="the API (default: %(default)s)")
    p.set_defaults(handler=_ui)


def _add_up(sub: argparse._SubParsersAction) -> None:
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


COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _add_train, _add_package, _add_convert_scaler, _add_serve, _add_predict, _add_api, _add_ui, _add_up, _add_bench,
    _add_cost, _add_rehearse, _add_smoke, add_collect, add_accuracy, add_lifecycle,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cdk_app",
                                     description="Velib' forecaster on SageMaker Serverless: train, package, "
                                                 "serve locally, predict, benchmark, cost and rehearse deploys.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
