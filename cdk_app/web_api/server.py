"""Serves the API with uvicorn on 127.0.0.1 and prints `api-url: ...` once it accepts requests."""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

import uvicorn

from cdk_app.loopback import HOST, url
from cdk_app.web_api.app import create_app
from cdk_app.web_api.forecasts import ApiSettings

LOG_FORMAT = "%(message)s"


class _AnnouncingServer(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(f"api-url: {url(self.config.port)}", flush=True)


def serve_api(settings: ApiSettings, port: int, **uvicorn_options: Any) -> None:
    """Blocks until SIGINT or SIGTERM; uvicorn finishes the requests in flight first."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
    config = uvicorn.Config(create_app(settings), host=HOST, port=port, access_log=False, log_level="warning",
                            **uvicorn_options)
    _AnnouncingServer(config).run()
