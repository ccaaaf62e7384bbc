"""`python -m cdk_app predict`: a request to an endpoint, local or in AWS, through ForecastClient; `python -m cdk_app
smoke`: the post-deploy check of the stage's endpoint (and its challenger). botocore is imported only when a command
runs, so `--help` stays instant."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cdk_app.command_line import add_endpoint_arguments, endpoint_name
from cdk_app.deployment.registry_version import MODEL_VERSION_FILE


def _predict(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from cdk_app.client.forecast_client import BadRequestError, EndpointError, ForecastClient
    from cdk_app.progress import say

    requests = _predict_requests(args)
    name = endpoint_name(args)
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


def add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="send a request to an endpoint, local or in AWS",
                       description="Send a payload file (one request, a list, or {\"instances\": [...]}) or a request "
                                   "built from flags to a SageMaker endpoint, and print the forecasts as JSON. "
                                   "Exit code 2 means the endpoint rejected the request (HTTP 400).")
    p.add_argument("payload", nargs="?", type=Path, help="JSON payload file, or - for standard input")
    add_endpoint_arguments(p)
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


def _smoke(args: argparse.Namespace) -> int:
    from cdk_app.client.smoke import run_smoke_test, served_models
    from cdk_app.deployment.config import load_project_config
    from cdk_app.deployment.registry_version import read_version_file

    config = load_project_config(**dict(args.context), **({"stage": args.stage} if args.stage else {}))
    found = read_version_file(args.model_version_file) if args.model_version_file.is_file() else None
    deployed = found if found is not None and found.group == config.endpoint_name else None
    run_smoke_test(config.stack_name, served_models(config, deployed), args.region, deployed)
    return 0


def add_smoke(sub: argparse._SubParsersAction) -> None:
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
