"""The requests that ship in examples/: the design guide's request and a small batch.

They are what README shows, what `serve` suggests trying, what `bench` times and what the
post-deploy smoke test sends, so each lives in one file that a user can also pass to `predict`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cdk_app.paths import EXAMPLES_DIR

GUIDE_REQUEST_FILE = EXAMPLES_DIR / "guide-request.json"
BATCH_REQUEST_FILE = EXAMPLES_DIR / "batch-request.json"


def load_request(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def guide_request() -> dict[str, Any]:
    """The design guide's example request (station 16107, capacity 20)."""
    return load_request(GUIDE_REQUEST_FILE)
