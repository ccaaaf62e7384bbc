"""Integration fixtures: the exact model.tar.gz, and the one local endpoint the tier shares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.endpoint_owner import EndpointOwner
from support.web_servers import api_process

from cdk_app.deployment.model_archive import build_archive
from cdk_app.local_serving.local_endpoint import LocalEndpoint
from cdk_app.paths import ARTIFACTS_DIR, MODEL_CODE_DIR


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(ARTIFACTS_DIR, MODEL_CODE_DIR, tmp_path_factory.mktemp("archive") / "model.tar.gz").path


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
def machine_without_endpoint(endpoint_owner: EndpointOwner) -> None:
    """For tests that start model servers of their own: the shared one is stopped first."""
    endpoint_owner.stopped()


@pytest.fixture
def api(endpoint: LocalEndpoint, tmp_path: Path) -> Iterator[str]:
    """`python -m cdk_app api` in front of the shared endpoint, logging to tmp_path/api.log; yields its URL."""
    with api_process(endpoint.url, tmp_path / "api.log") as url:
        yield url
