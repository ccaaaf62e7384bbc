"""One owner for the suite's local endpoints: the champion's, and for the A/B tests a challenger's beside it.

Tests that need an endpoint ask for it and share it; tests that start servers of their own ask for the machine
to be free of them, and the owner stops them all (the next test that needs one starts it again). No test
depends on the order modules run in.
"""

from __future__ import annotations

from pathlib import Path

from cdk_app.local_serving.local_endpoint import LocalEndpoint

READY_TIMEOUT_SECONDS = 120.0


class EndpointOwner:
    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self.endpoints: dict[Path, LocalEndpoint] = {}

    def running(self, archive: Path | None = None) -> LocalEndpoint:
        """The endpoint serving `archive` (default: the champion's), started if it is not running."""
        wanted = archive or self.archive
        if wanted not in self.endpoints:
            endpoint = LocalEndpoint(wanted, ready_timeout=READY_TIMEOUT_SECONDS)
            endpoint.start()
            self.endpoints[wanted] = endpoint
        return self.endpoints[wanted]

    def stopped(self) -> None:
        while self.endpoints:
            self.endpoints.popitem()[1].stop()
