"""A real HTTP peer on loopback that answers from a script: what the client or the front sees is real HTTP,
with real connections, timeouts and retries, and no part of botocore is stubbed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    close_after: bool = False  # drop the connection without saying so, as an idle keep-alive peer does

    @classmethod
    def json(cls, status: int, data: Any, **kwargs: Any) -> Answer:
        return cls(status, json.dumps(data).encode(), **kwargs)

    @classmethod
    def aws_error(cls, status: int, code: str, message: str, **extra: Any) -> Answer:
        """An error as the SageMaker Runtime service sends it (rest-json, x-amzn-ErrorType)."""
        return cls(status, json.dumps({"message": message, **extra}).encode(), {"x-amzn-ErrorType": f"{code}:"})


class Peer:
    """Answers each request, POST or GET, with the next scripted answer; the last one repeats. Records the bodies
    it got (empty for a GET)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with peer.lock:
                    peer.bodies.append(body)
                    answer = peer.answers.pop(0) if len(peer.answers) > 1 else peer.answers[0]
                time.sleep(answer.delay_seconds)
                self.send_response(answer.status)
                for name, value in {"Content-Type": "application/json", "Content-Length": str(len(answer.body)),
                                    **answer.headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)
                self.close_connection = answer.close_after

            do_GET = do_POST  # a GET has no body to read: Content-Length is absent, so 0

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def calls(self) -> int:
        return len(self.bodies)


@contextmanager
def running(*answers: Answer) -> Iterator[Peer]:
    peer = Peer(*answers)
    thread = threading.Thread(target=peer.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        peer.server.shutdown()
        peer.server.server_close()
        thread.join(timeout=5)
