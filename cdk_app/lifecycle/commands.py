"""The lifecycle's commands: `dataset` and `train-job` (the collected history as a training channel, and training run
as a SageMaker training job runs it), `models` and `retrain` (the registry's versions, and the whole loop run
locally), `resolve-model`. Heavy modules are imported only when a command runs, so `--help` stays instant."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cdk_app.deployment.config import project_context
from cdk_app.deployment.registry_version import (
    APPROVED,
    CHALLENGER_VERSION_FILE,
    LATEST_APPROVED,
    MODEL_VERSION_FILE,
    RegistryVersionError,
    VersionRequest,
    parse_request,
)
from cdk_app.live_data.commands import add_history_argument
from cdk_app.paths import BUILD_DIR, REPO_ROOT

DEFAULT_CHANNEL = BUILD_DIR / "dataset"
DEFAULT_JOB_OUTPUT = BUILD_DIR / "train-job"
DEFAULT_RETRAIN_OUTPUT = BUILD_DIR / "retrain"
TRAINER_SETTINGS = ("epochs, batch_size, learning_rate, validation_days, test_days, hidden_size, embedding_dim, seed, "
                    "shuffle_labels (1: a deliberately bad model)")
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


def models(args: argparse.Namespace) -> int:
    from cdk_app.deployment.config import load_project_config
    from cdk_app.lifecycle.registry import Registry, versions_table

    config = load_project_config(stage=args.stage)
    registry = Registry(config.model_package_group_name, args.region, args.endpoint_url)
    print(versions_table(registry.group, config.endpoint_name, registry.versions(),
                         registry.in_service(config.endpoint_name)))
    return 0


def retrain(args: argparse.Namespace) -> int:
    from cdk_app.deployment.config import load_project_config
    from cdk_app.deployment.dlc_image import dlc_image
    from cdk_app.lifecycle.evaluation import contenders_table
    from cdk_app.lifecycle.registry import Registry
    from cdk_app.lifecycle.retrain import run_retrain

    config = load_project_config(stage=args.stage)
    registry = Registry(config.model_package_group_name, args.region, args.registry_url)
    outcome = run_retrain(args.history, args.output, _hyperparameters(args.hyperparameter), registry,
                          endpoint=config.endpoint_name, champion=args.champion, margins=config.gate,
                          image=dlc_image(args.region, config.image_tag).uri, location=args.bucket)
    gate, version = outcome.evaluation["gate"], outcome.version
    print(contenders_table(outcome.evaluation, outcome.champion.label if outcome.champion else None))
    print(f"gate: {'passed' if gate['passed'] else 'failed'}: {gate['reason']}")
    print(f"registered: version {version.number} of {registry.group}, {version.status} ({version.arn})")
    print(f"evaluation: {outcome.evaluation_path}")
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


def resolve_model(args: argparse.Namespace) -> int:
    from cdk_app.lifecycle.model_choice import resolve_model as resolve

    version = resolve(args.stage, args.version, args.region, args.endpoint_url, args.challenger)
    key, written = (("challenger_version", CHALLENGER_VERSION_FILE) if args.challenger
                    else ("model_version", MODEL_VERSION_FILE))
    print(f"{version.group} version {version.version}: {version.status}, model_version {version.model_version}, "
          f"{version.model_data_url}; written to {written.relative_to(REPO_ROOT)}: deploy it "
          f"with -c {key}={args.version}")
    if version.status != APPROVED:
        print(f"version {version.version} is {version.status}: synth refuses it unless -c model_version_force=true",
              file=sys.stderr)
    return 0


def _version_request(text: str) -> VersionRequest:
    try:
        return parse_request(text)
    except RegistryVersionError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None


def add_lifecycle(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dataset", help="export a collected history as a training channel (Parquet)",
        description="Read every hour of a history that `collect` writes (a folder or s3://bucket/prefix) and write "
                    "a training channel: counts.parquet (station_code, hour_end in UTC, bikes: one row per station "
                    "and counted hour; a missing hour has no row) and stations.parquet (station_code, name, capacity, "
                    "latitude, longitude, as latest.json describes them). Stations the endpoint would refuse are left "
                    "out and listed. Upload the folder as the training job's `training` channel, or give it to "
                    "`train-job --channel`.")
    add_history_argument(p, "the collected history")
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
                   help=f"a trainer setting, repeatable: {TRAINER_SETTINGS} (and stations, days for the simulator)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds before the job is stopped "
                                                                 "(default: %(default)s)")
    p.set_defaults(handler=train_job)
    add_registry_commands(sub)

    context = project_context()
    p = sub.add_parser(
        "resolve-model", help="pick the registry version to deploy: writes build/model-version.json for cdk synth",
        description="Ask the Model Registry (the group velib-forecast-<stage>) for a version, a number or "
                    f"{LATEST_APPROVED} (its highest {APPROVED} version), and write its ARN, status, archive, image "
                    "and model_version to build/model-version.json, which `cdk deploy -c model_version=...` reads: "
                    "synth never calls AWS. With --challenger, the A/B's challenger instead, to "
                    "build/challenger-version.json, which `-c challenger_version=...` reads. A version that is not "
                    "Approved is written too; synth refuses it unless -c model_version_force=true.")
    _stage_and_region(p, context, "the stage to deploy")
    p.add_argument("--version", type=_version_request, default=LATEST_APPROVED,
                   help=f"a version number, or {LATEST_APPROVED} (default: %(default)s)")
    p.add_argument("--challenger", action="store_true",
                   help="resolve the A/B's challenger (challenger_version), not the champion (model_version)")
    p.add_argument("--endpoint-url", help="the SageMaker API to ask, e.g. a local emulator (default: AWS)")
    p.set_defaults(handler=resolve_model)


def _stage_and_region(p: argparse.ArgumentParser, context: dict[str, Any], stage_help: str) -> None:
    """The registry commands work on one stage's group (velib-forecast-<stage>), in its region (cdk.json's)."""
    p.add_argument("--stage", default=str(context["stage"]), help=f"{stage_help} (default: %(default)s)")
    p.add_argument("--region", default=str(context["region"]), help="the stage's region (default: %(default)s)")


def add_registry_commands(sub: argparse._SubParsersAction) -> None:
    context = project_context()
    p = sub.add_parser(
        "models", help="list the registry's versions: status, figures, creation time and the one in service",
        description="List the versions of the stage's model package group (velib-forecast-<stage>), oldest first: "
                    "approval status, creation time, model_version, the gate's verdict, the candidate's MAE per "
                    "horizon and persistence's at T+1h on its held-out week. The version the stage's endpoint "
                    "serves is starred.")
    _stage_and_region(p, context, "the stage")
    p.add_argument("--endpoint-url", help="the SageMaker API of a local AWS emulator (moto), e.g. "
                                          "http://127.0.0.1:5000 (default: AWS)")
    p.set_defaults(handler=models)

    p = sub.add_parser(
        "retrain", help="run the retraining loop locally: dataset, training, packaging, evaluation, gate, registry",
        description="Find the champion (--champion, else the model the stage's endpoint serves, else none), export "
                    "the history as a training channel, train under the SageMaker training toolkit, package "
                    "model.tar.gz, score the candidate, the champion and persistence on the held-out week through "
                    "the endpoint's handlers (evaluation.json), apply the gate (README, Model lifecycle) and register "
                    "the candidate in the stage's model package group, Approved or Rejected. Prints the three "
                    "contenders and the decision; exits 0 whether or not the candidate passed, 1 on an error.")
    add_history_argument(p, "the collected history")
    p.add_argument("--champion", metavar="VERSION|PATH",
                   help="a version number of the group, an artifacts folder or a model.tar.gz (default: what the "
                        "stage's endpoint serves; with no endpoint, no champion)")
    _stage_and_region(p, context, "the stage whose group and endpoint to use")
    p.add_argument("--registry-url", help="the SageMaker and S3 APIs of a local AWS emulator (moto), e.g. "
                                          "http://127.0.0.1:5000 (default: AWS)")
    p.add_argument("--bucket", metavar="BUCKET[/PREFIX]",
                   help="where the archive and evaluation.json are uploaded (default: sagemaker-<region>-<account>, "
                        "the SageMaker SDK's default bucket)")
    p.add_argument("--output", type=Path, default=DEFAULT_RETRAIN_OUTPUT,
                   help="folder for the channel, the model, the archives and evaluation.json (default: %(default)s)")
    p.add_argument("--hyperparameter", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help=f"a trainer setting, repeatable, as for train-job: {TRAINER_SETTINGS}")
    p.set_defaults(handler=retrain)
