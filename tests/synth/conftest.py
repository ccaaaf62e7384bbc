"""Synth fixtures for the A/B: a challenger's artifacts folder (a real other model) and a registry challenger's
resolve-model file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.synth import MODEL_VERSION_FIXTURE

from cdk_app.deployment import registry_version
from cdk_app.deployment.registry_version import RegistryVersion, read_version_file
from cdk_app.paths import ARTIFACTS_DIR
from cdk_app.rehearsal.challenger_model import challenger_artifacts

CHALLENGER_VERSION = 4  # the registry challenger: version 4 of the dev group, beside the fixture's version 3


@pytest.fixture(scope="session")
def challenger_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """artifacts/ with its weights scaled: loadable, with another model_version; as `challenger_version` gives it."""
    return str(challenger_artifacts(ARTIFACTS_DIR, tmp_path_factory.mktemp("challenger") / "artifacts"))


@pytest.fixture
def registry_challenger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RegistryVersion:
    """What `resolve-model --challenger --version 4` writes for an Approved version 4, in place (and the champion's
    file for version 3, which `model_version=3` reads)."""
    path = tmp_path / "challenger-version.json"
    fields = json.loads(MODEL_VERSION_FIXTURE.read_text())
    path.write_text(json.dumps({
        **fields, "version": CHALLENGER_VERSION, "requested": CHALLENGER_VERSION,
        "arn": fields["arn"].replace("/3", f"/{CHALLENGER_VERSION}"), "model_version": "4b8d0e2f6a13",
        "model_data_url": fields["model_data_url"].replace("/3/", f"/{CHALLENGER_VERSION}/")}))
    monkeypatch.setattr(registry_version, "CHALLENGER_VERSION_FILE", path)
    monkeypatch.setattr(registry_version, "MODEL_VERSION_FILE", MODEL_VERSION_FIXTURE)
    return read_version_file(path)
