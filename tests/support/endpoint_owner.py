"""One owner for the suite's local endpoint, because the SageMaker toolkit allows one model server per machine.

Tests that need the endpoint ask for it and share one; tests that start servers of their own ask for the
machine to be free of it, and the owner stops it (the next test that needs it starts it again). No test
depends on the order modules run in.
"""

from __future__ import annotations

from pathlib import Path

from cdk_app.local_serving.local_endpoint import LocalEndpoint

READY_TIMEOUT_SECONDS = 120.0


class EndpointOwner:
    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self.endpoint: LocalEndpoint | None = None

    def running(self) -> LocalEndpoint:
        if self.endpoint is None:
            endpoint = LocalEndpoint(self.archive, ready_timeout=READY_TIMEOUT_SECONDS)
            endpoint.start()
            self.endpoint = endpoint
        return self.endpoint

    def stopped(self) -> None:
        if self.endpoint is not None:
            self.endpoint.stop()
            self.endpoint = None
