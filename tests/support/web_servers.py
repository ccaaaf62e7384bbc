"""The web tier's real servers for tests: Debian's redis-server, and `python -m cdk_app api` and `ui` processes,
each on a free loopback port, each stopped by its own PID."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from cdk_app.child_process import ChildServer
from cdk_app.loopback import HOST, free_port
from cdk_app.paths import REPO_ROOT


class RedisServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: `make test` installs Debian's redis-server"
        self.process = subprocess.Popen([binary, "--port", str(self.port), "--bind", HOST, "--save", "",
                                         "--appendonly", "no", "--daemonize", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host=HOST, port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as in an outage: no shutdown, no goodbye
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def api_process(endpoint_url: str, log: Path, *options: str) -> Iterator[str]:
    """`python -m cdk_app api` against `endpoint_url`; yields its api-url."""
    server = ChildServer([sys.executable, "-m", "cdk_app", "api", "--port", str(free_port()), "--endpoint-url",
                          endpoint_url, *options], "api-url: ", cwd=REPO_ROOT, log=log)
    with server:
        yield server.url


@contextmanager
def ui_process(api_url: str, log: Path) -> Iterator[str]:
    """`python -m cdk_app ui` in front of `api_url`; yields its ui-url."""
    server = ChildServer([sys.executable, "-m", "cdk_app", "ui", "--port", str(free_port()), "--api-url", api_url],
                         "ui-url: ", cwd=REPO_ROOT, log=log)
    with server:
        yield server.url


def logged(log: Path, needle: str, within_seconds: float = 10.0) -> list[dict[str, Any]]:
    """The API's JSON log lines holding `needle`. A request's line is written once its answer has gone out, so a
    fast client can look too early: this waits, a bounded time, for at least one."""
    deadline = time.monotonic() + within_seconds
    while True:
        lines = [json.loads(line) for line in log.read_text().splitlines() if needle in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)
