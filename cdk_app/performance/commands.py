"""`python -m cdk_app bench`: latency from the bare forward pass to the local serving stack; `python -m cdk_app cost`:
the monthly bill of every serving mode. torch and the serving stack are imported only when `bench` runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from cdk_app.deployment.warm_hours import EXAMPLE
from cdk_app.paths import BENCH_RESULTS


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


def add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure latency from the bare forward pass to the local serving stack",
                       description="Time the bare model forward and the handler chain in process (1 and 1,500 "
                                   "stations), then the real serving stack: sequential, 5 concurrent clients, "
                                   "1,500 stations in one request, and the cold start. Prints a table and writes "
                                   "JSON for `cost`. Run it on a quiet machine.")
    p.add_argument("--json", type=Path, default=BENCH_RESULTS, help="where to write results (default: %(default)s)")
    p.add_argument("--repeat", type=int, default=1000,
                   help="sequential requests per measurement (default: %(default)s)")
    p.set_defaults(handler=_bench)


def add_cost(sub: argparse._SubParsersAction) -> None:
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
