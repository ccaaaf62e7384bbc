"""`python -m cdk_app dataset` and `train-job`: the collected history as a training channel, and training run as a
SageMaker training job runs it. Heavy modules are imported only when a command runs, so `--help` stays instant."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cdk_app.paths import BUILD_DIR, DEFAULT_HISTORY

DEFAULT_CHANNEL = BUILD_DIR / "dataset"
DEFAULT_JOB_OUTPUT = BUILD_DIR / "train-job"
SHOWN_LEFT_OUT = 10


def dataset(args: argparse.Namespace) -> int:
    from cdk_app.lifecycle.channel import hour_name
    from cdk_app.lifecycle.dataset import export_dataset
    from cdk_app.live_data.blobs import open_blobs
    from cdk_app.live_data.history import History

    export = export_dataset(History(open_blobs(args.history)), args.output, args.days)
    for code, why in list(export.left_out.items())[:SHOWN_LEFT_OUT]:
        print(f"left out station {code}: {why}", file=sys.stderr)
    if len(export.left_out) > SHOWN_LEFT_OUT:
        print(f"... and {len(export.left_out) - SHOWN_LEFT_OUT} more stations left out", file=sys.stderr)
    print(f"{export.folder}: {export.stations} stations, {export.counts} hourly counts, hours ending "
          f"{hour_name(export.first_hour)} to {hour_name(export.last_hour)}")
    return 0


def train_job(args: argparse.Namespace) -> int:
    from cdk_app.lifecycle.local_training import run_training_job

    run_training_job(args.output, _hyperparameters(args.hyperparameter), args.channel,
                     timeout_seconds=args.timeout)
    metrics = json.loads((args.output / "metrics.json").read_text())
    print(json.dumps(metrics["horizons"], indent=2))
    print(f"artifacts written to {args.output}; package them with "
          f"`python -m cdk_app package --artifacts {args.output}`")
    return 0


def _hyperparameters(pairs: list[str]) -> dict[str, Any]:
    """KEY=VALUE pairs; a value is read as JSON when it is JSON (2, 0.001), else kept as text, as the toolkit does."""
    found: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        if not equals or not key:
            raise ValueError(f"--hyperparameter: {pair!r} is not KEY=VALUE (e.g. epochs=2)")
        try:
            found[key] = json.loads(text)
        except ValueError:
            found[key] = text
    return found


def add_lifecycle(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dataset", help="export a collected history as a training channel (Parquet)",
        description="Read every hour of a history that `collect` writes (a folder or s3://bucket/prefix) and write "
                    "a training channel: counts.parquet (station_code, hour_end in UTC, bikes: one row per station "
                    "and counted hour; a missing hour has no row) and stations.parquet (station_code, name, capacity, "
                    "latitude, longitude, as latest.json describes them). Stations the endpoint would refuse are left "
                    "out and listed. Upload the folder as the training job's `training` channel, or give it to "
                    "`train-job --channel`.")
    p.add_argument("--history", default=str(DEFAULT_HISTORY),
                   help="a folder, or s3://bucket/prefix (default: %(default)s, where `collect` writes)")
    p.add_argument("--output", type=Path, default=DEFAULT_CHANNEL, help="channel folder (default: %(default)s)")
    p.add_argument("--days", type=int, help="only the last DAYS days of the history (default: all of it)")
    p.set_defaults(handler=dataset)

    p = sub.add_parser(
        "train-job", help="run the SageMaker training job locally, under the real training toolkit",
        description="Pack the training code as the job's sourcedir.tar.gz, lay out /opt/ml in a scratch folder as "
                    "SageMaker does, and run the SageMaker training toolkit on it (sagemaker-training with the "
                    "pytorch-training DLC's framework module), as a training job in AWS runs it. With --channel it "
                    "trains on that channel, else on the simulator; the final 7 days (test_days) are held out. The "
                    "model folder's files (best_model.pth, config.json, scaler.json, station_mappings.json, "
                    "metrics.json) are copied to --output.")
    p.add_argument("--channel", type=Path, help="training channel folder, as `dataset` writes it "
                                                "(default: none, train on the simulator)")
    p.add_argument("--output", type=Path, default=DEFAULT_JOB_OUTPUT, help="artifact folder (default: %(default)s)")
    p.add_argument("--hyperparameter", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help="a trainer setting, repeatable: epochs, batch_size, learning_rate, validation_days, "
                        "test_days, hidden_size, embedding_dim, seed (and stations, days for the simulator)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds before the job is stopped "
                                                                 "(default: %(default)s)")
    p.set_defaults(handler=train_job)
