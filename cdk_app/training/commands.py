"""The model's own commands: `train` (the reference model, on simulated stations), `package` (the deterministic
model.tar.gz) and `convert-scaler` (a scikit-learn scaler.pkl into scaler.json). torch, numpy and scikit-learn are
imported only when a command runs, so `--help` stays instant."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cdk_app.paths import ARTIFACTS_DIR, DEFAULT_ARCHIVE, MODEL_CODE_DIR


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


def add_train(sub: argparse._SubParsersAction) -> None:
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


def add_package(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("package", help="build the deterministic model.tar.gz",
                       description="Check the artifacts and code, then write model.tar.gz: artifacts at the "
                                   "root, inference code under code/. Same inputs, same bytes.")
    p.add_argument("--output", type=Path, default=DEFAULT_ARCHIVE, help="archive path (default: %(default)s)")
    p.add_argument("--artifacts", type=Path, default=ARTIFACTS_DIR, help="artifact folder (default: %(default)s)")
    p.add_argument("--code", type=Path, default=MODEL_CODE_DIR, help="inference code folder (default: %(default)s)")
    p.set_defaults(handler=_package)


def add_convert_scaler(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert-scaler", help="turn a scikit-learn scaler.pkl into scaler.json",
                       description="Unpickle a fitted StandardScaler, MinMaxScaler or RobustScaler on this "
                                   "machine and write the JSON the endpoint reads; the endpoint never unpickles.")
    p.add_argument("source", type=Path, help="the scaler.pkl to convert")
    p.add_argument("--output", type=Path, default=ARTIFACTS_DIR / "scaler.json", help="default: %(default)s")
    p.add_argument("--features", help="comma-separated feature names, if the scaler does not record them "
                                      "(the model expects capacity,latitude,longitude)")
    p.set_defaults(handler=_convert_scaler)
