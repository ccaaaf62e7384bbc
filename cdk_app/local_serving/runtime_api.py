"""A loopback front that speaks the SageMaker Runtime API, so unchanged boto3 code and the AWS CLI work.

`POST /endpoints/<name>/invocations` is InvokeEndpoint, shaped by botocore's own service model
(rest-json): a container 4xx/5xx comes back as HTTP 424 `ModelError` with `OriginalStatusCode` and
`OriginalMessage`, exactly what botocore raises from the real service. `/ping` and `/invocations`
pass straight through to the container API.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from forecast_contract import MAX_PAYLOAD_BYTES

from cdk_app.deployment.config import VARIANT_NAME

LOCAL_ACCOUNT = "000000000000"
INVOCATION_TIMEOUT_SECONDS = 60.0
_INVOKE_PATH = re.compile(r"^/endpoints/([^/]+)/invocations$")


class _Upstream(threading.local):
    """One keep-alive connection to the container per front thread."""

    def __init__(self) -> None:
        self.connection: http.client.HTTPConnection | None = None


class RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, container_port: int, endpoint_name: str) -> None:
        self.container_port = container_port
        self.endpoint_name = endpoint_name
        self.upstream = _Upstream()
        self.connections_opened = 0  # upstream connections: one per front thread while keep-alive holds
        self.stale_retries = 0  # how often a kept-alive upstream connection was found closed and replaced
        self._counters_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        """A client hanging up on a kept-alive connection is normal (boto3, `bench`'s threads): no traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    def forward(self, method: str, path: str, body: bytes | None, headers: dict[str, str]
                ) -> tuple[int, bytes, str]:
        try:
            return self._exchange(method, path, body, headers)
        except (ConnectionError, http.client.HTTPException):
            # A kept-alive connection the container closed: once more, on a fresh one.
            with self._counters_lock:
                self.stale_retries += 1
            return self._exchange(method, path, body, headers)

    def _exchange(self, method: str, path: str, body: bytes | None, headers: dict[str, str]
                  ) -> tuple[int, bytes, str]:
        if self.upstream.connection is None:
            self.upstream.connection = http.client.HTTPConnection(
                "127.0.0.1", self.container_port, timeout=INVOCATION_TIMEOUT_SECONDS)
            with self._counters_lock:
                self.connections_opened += 1
        try:
            self.upstream.connection.request(method, path, body=body, headers=headers)
            response = self.upstream.connection.getresponse()
            return response.status, response.read(), response.getheader("Content-Type", "")
        except (ConnectionError, http.client.HTTPException):
            self.upstream.connection.close()
            self.upstream.connection = None
            raise


class _Handler(BaseHTTPRequestHandler):
    server: RuntimeApiServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per request would drown the serve command's own output."""

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, error_type: str, message: str, **extra: Any) -> None:
        body = json.dumps({"message": message, **extra}).encode()
        self._send(status, body, "application/json", {"x-amzn-ErrorType": f"{error_type}:"})

    def _proxy(self, method: str, body: bytes | None) -> tuple[int, bytes, str] | None:
        headers = {k: v for k, v in (("Content-Type", self.headers.get("Content-Type")),
                                     ("Accept", self.headers.get("Accept"))) if v}
        try:
            return self.server.forward(method, "/invocations" if body is not None else "/ping", body, headers)
        except (OSError, http.client.HTTPException) as exc:
            self._error(503, "ServiceUnavailable", f"the local model server is unreachable ({exc})")
            return None

    def do_GET(self) -> None:
        if self.path != "/ping":
            self._error(404, "UnknownOperationException", f"no such path {self.path}")
            return
        answer = self._proxy("GET", None)
        if answer:
            self._send(*answer)

    def do_POST(self) -> None:
        body = self._body()
        if self.path == "/invocations":
            answer = self._proxy("POST", body)
            if answer:
                self._send(*answer)
            return
        match = _INVOKE_PATH.match(self.path.split("?", 1)[0])
        if not match:
            self._error(404, "UnknownOperationException", f"no such path {self.path}")
            return
        self._invoke_endpoint(match.group(1), body)

    def _invoke_endpoint(self, name: str, body: bytes) -> None:
        if name != self.server.endpoint_name:
            self._error(400, "ValidationError", f"Endpoint {name} of account {LOCAL_ACCOUNT} not found.")
            return
        target = self.headers.get("X-Amzn-SageMaker-Target-Variant")
        if target is not None and target != VARIANT_NAME:
            self._error(400, "ValidationError", f"Endpoint {name} of account {LOCAL_ACCOUNT} has no production "
                                                f"variant {target}; its one variant is {VARIANT_NAME}.")
            return
        if len(body) > MAX_PAYLOAD_BYTES:
            self._error(413, "ValidationError", f"Request payload of {len(body)} bytes exceeds the "
                                                f"{MAX_PAYLOAD_BYTES} byte limit of serverless endpoints")
            return
        answer = self._proxy("POST", body)
        if answer is None:
            return
        status, payload, content_type = answer
        if status == 200:
            self._send(200, payload, content_type or "application/json",
                       {"x-Amzn-Invoked-Production-Variant": VARIANT_NAME})
        elif status == 503:
            self._error(429, "ModelNotReadyException", f"Model for endpoint {name} is not ready: "
                                                       f"{payload.decode(errors='replace')[:200]}")
        else:
            text = payload.decode(errors="replace")
            kind = "client" if status < 500 else "server"
            self._error(424, "ModelError",
                        f'Received {kind} error ({status}) from primary with message "{text}". See the '
                        f"local server's logs for more information.",
                        OriginalStatusCode=status, OriginalMessage=text,
                        LogStreamArn=f"arn:aws:logs:local:{LOCAL_ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{name}")


class RuntimeApi:
    """Runs the front in a background thread for as long as the model server lives."""

    def __init__(self, port: int, container_port: int, endpoint_name: str) -> None:
        self.server = RuntimeApiServer(port, container_port, endpoint_name)
        self.thread = threading.Thread(target=self.server.serve_forever, name="runtime-api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
