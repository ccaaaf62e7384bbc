"""The SageMaker Runtime front on its own, before a real container: keep-alive upstream, and the retry
when a kept-alive connection turns out to be closed."""

from __future__ import annotations

import http.client
import json

from support.http_peer import Answer, running

from cdk_app.local_serving.runtime_api import RuntimeApi
from cdk_app.loopback import free_port


def test_a_stale_upstream_connection_is_retried_once_on_a_fresh_one() -> None:
    # The container stand-in drops every connection after answering, without a Connection: close header.
    with running(Answer.json(200, {"ok": True}, close_after=True)) as container:
        front = RuntimeApi(free_port(), container.port, "e")
        front.start()
        connection = http.client.HTTPConnection("127.0.0.1", front.server.server_address[1], timeout=10)
        try:
            statuses = []
            for _ in range(5):  # one client connection: one front thread, one kept-alive upstream connection
                connection.request("POST", "/endpoints/e/invocations", body=b"{}",
                                   headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                statuses.append((response.status, json.loads(response.read())))
        finally:
            connection.close()
            front.stop()
    assert statuses == [(200, {"ok": True})] * 5
    assert front.server.stale_retries == 4 and container.calls == 5
    assert front.server.connections_opened == 5  # the first, and one for each stale one
