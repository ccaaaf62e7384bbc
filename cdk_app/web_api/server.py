"""Serves the API with uvicorn on 127.0.0.1 and prints `api-url: ...` once it accepts requests."""

from __future__ import annotations

import logging
import socket
import sys

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


def serve_api(settings: ApiSettings, port: int) -> None:
    """Blocks until SIGINT or SIGTERM; uvicorn finishes the requests in flight first."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
    # proxy_headers=False: uvicorn would otherwise take X-Forwarded-For from any loopback peer as the client, and
    # a forged header would reset the rate limit; the app believes it only from --trusted-proxies.
    config = uvicorn.Config(create_app(settings), host=HOST, port=port, access_log=False, log_level="warning",
                            proxy_headers=False)
    _AnnouncingServer(config).run()
