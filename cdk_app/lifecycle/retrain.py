"""`retrain`: the weekly loop on this machine, step by step: the dataset from the history, training under the
SageMaker training toolkit, packaging, evaluation against the champion and persistence, the gate, and registration
as Approved or Rejected. Each step is the code the AWS pipeline runs, so a local run rehearses the weekly one.

The champion is found before anything is trained, so a wrong `--champion` or an unreachable registry fails in
seconds rather than after the training job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdk_app.atomic_files import write_json
from cdk_app.deployment.config import GateMargins
from cdk_app.deployment.model_archive import build_archive
from cdk_app.lifecycle.dataset import export_dataset
from cdk_app.lifecycle.evaluation import evaluate, judged
from cdk_app.lifecycle.local_training import run_training_job
from cdk_app.lifecycle.registry import Registry, Version
from cdk_app.lifecycle.training_entry import settings_from
from cdk_app.live_data.blobs import open_blobs
from cdk_app.live_data.history import History
from cdk_app.paths import MODEL_CODE_DIR
from cdk_app.progress import say, step


@dataclass(frozen=True)
class Champion:
    archive: Path
    label: str  # where it came from, for the table


@dataclass(frozen=True)
class Outcome:
    evaluation: dict[str, Any]
    evaluation_path: Path
    champion: Champion | None
    version: Version


def find_champion(spec: str | None, registry: Registry, endpoint: str, output: Path) -> Champion | None:
    """`spec` is a version number of the group, an artifacts folder or a model.tar.gz; without one, the model the
    stage's endpoint serves, and none when there is no endpoint (a first model)."""
    if spec is None:
        serving = registry.in_service(endpoint)
        if serving is None:
            return None
        served = next((v for v in registry.versions() if serving.serves(v)), None)
        label = f"version {served.number}" if served else serving.model_data_url
        return Champion(registry.download(serving.model_data_url, output), f"{label}, in service on {endpoint}")
    if spec.isdigit():
        version = registry.version(int(spec))
        return Champion(registry.download(version.model_data_url, output), f"version {version.number}")
    path = Path(spec)
    if path.is_dir():
        return Champion(build_archive(path, MODEL_CODE_DIR, output).path, str(path))
    if path.is_file():
        return Champion(path, str(path))
    raise ValueError(f"--champion: {spec!r} is neither a version number of {registry.group} nor an artifacts folder "
                     "or a model.tar.gz")


def run_retrain(history: str, work: Path, hyperparameters: Mapping[str, Any], registry: Registry, *, endpoint: str,
                champion: str | None, margins: GateMargins, image: str, location: str | None) -> Outcome:
    """Every step in order, their files in `work`; the gate's verdict is the registered version's status."""
    test_days = settings_from(hyperparameters).test_days  # a bad hyperparameter is named before anything runs
    with step("finding the champion"):
        found = find_champion(champion, registry, endpoint, work / "champion.tar.gz")
    say(f"champion: {found.label if found else f'none (no endpoint {endpoint}): a first model'}")
    with step(f"exporting the training channel from {history}"):
        export = export_dataset(History(open_blobs(history)), work / "dataset")
    with step("training under the SageMaker training toolkit"):
        run_training_job(work / "model", hyperparameters, export.folder)
    with step("packaging model.tar.gz"):
        archive = build_archive(work / "model", MODEL_CODE_DIR, work / "model.tar.gz")
    with step("scoring the candidate, the champion and persistence on the held-out week through the handlers"):
        scored = evaluate(export.folder, archive.path, found.archive if found else None, test_days)
    evaluation = judged(scored, margins)
    say(f"gate: {'passed' if evaluation['gate']['passed'] else 'failed'}")
    write_json(work / "evaluation.json", evaluation)
    with step(f"registering the candidate in {registry.group}"):
        registry.ensure_group()
        version = registry.register(archive.path, evaluation, image, location)
    return Outcome(evaluation, work / "evaluation.json", found, version)
