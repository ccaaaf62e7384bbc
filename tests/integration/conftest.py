"""Integration fixtures: the exact model.tar.gz, the local endpoint the tier shares, and for the A/B tests a
challenger's archive (other weights, so another model_version) and its endpoint beside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.endpoint_owner import EndpointOwner
from support.web_servers import api_process

from cdk_app.deployment.model_archive import Archive, build_archive
from cdk_app.local_serving.local_endpoint import LocalEndpoint
from cdk_app.local_serving.model_server import namespaces_available
from cdk_app.paths import ARTIFACTS_DIR, MODEL_CODE_DIR
from cdk_app.rehearsal.challenger_model import challenger_artifacts


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(ARTIFACTS_DIR, MODEL_CODE_DIR, tmp_path_factory.mktemp("archive") / "model.tar.gz").path


@pytest.fixture(scope="session")
def challenger_archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    folder = tmp_path_factory.mktemp("challenger")
    return build_archive(challenger_artifacts(ARTIFACTS_DIR, folder / "artifacts"), MODEL_CODE_DIR,
                         folder / "model.tar.gz")


@pytest.fixture(scope="session")
def endpoint_owner(archive: Path) -> Iterator[EndpointOwner]:
    owner = EndpointOwner(archive)
    yield owner
    owner.stopped()


@pytest.fixture
def endpoint(endpoint_owner: EndpointOwner) -> LocalEndpoint:
    """The shared local endpoint, started if it is not running."""
    return endpoint_owner.running()


@pytest.fixture
def challenger_endpoint(endpoint_owner: EndpointOwner, challenger_archive: Archive) -> LocalEndpoint:
    """A second real endpoint, serving the challenger beside the shared one (each model server in a PID namespace
    of its own); started if it is not running, stopped with the rest."""
    assert namespaces_available(), "two model servers at once need a PID namespace each (root or CAP_SYS_ADMIN)"
    return endpoint_owner.running(challenger_archive.path)


@pytest.fixture
def machine_without_endpoint(endpoint_owner: EndpointOwner) -> None:
    """For tests that start model servers of their own: the shared ones are stopped first."""
    endpoint_owner.stopped()


@pytest.fixture
def api(endpoint: LocalEndpoint, tmp_path: Path) -> Iterator[str]:
    """`python -m cdk_app api` in front of the shared endpoint, logging to tmp_path/api.log; yields its URL."""
    with api_process(endpoint.url, tmp_path / "api.log") as url:
        yield url
