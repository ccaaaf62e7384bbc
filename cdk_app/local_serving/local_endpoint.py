"""The local endpoint: the real model server plus the SageMaker Runtime front, started and stopped as one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cdk_app.deployment.config import LOCAL_ENDPOINT_NAME
from cdk_app.local_serving.model_server import ModelServer
from cdk_app.local_serving.runtime_api import RuntimeApi
from cdk_app.loopback import free_port


class LocalEndpoint:
    def __init__(self, archive: Path, *, endpoint_name: str = LOCAL_ENDPOINT_NAME, port: int | None = None,
                 ready_timeout: float = 120.0) -> None:
        self.endpoint_name = endpoint_name
        self.server = ModelServer(archive, ready_timeout=ready_timeout)
        self.front_port = port or free_port()
        self.api: RuntimeApi | None = None

    @property
    def url(self) -> str:
        """What `endpoint_url=` / `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` / `--endpoint-url` take."""
        return f"http://127.0.0.1:{self.front_port}"

    @property
    def container_url(self) -> str:
        """The container API itself (/ping, /invocations), as SageMaker's front end calls it."""
        return self.server.url

    def start(self) -> None:
        self.server.start()
        try:
            self.api = RuntimeApi(self.front_port, self.server.ports.inference, self.endpoint_name)
            self.api.start()
        except BaseException:
            self.server.stop()
            raise

    def stop(self) -> None:
        if self.api is not None:
            self.api.stop()
            self.api = None
        self.server.stop()

    def __enter__(self) -> LocalEndpoint:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
