"""The suite's own request fixtures (tests/fixtures/), so the repository needs nothing beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GUIDE: dict[str, Any] = json.loads((FIXTURES / "guide-example.json").read_text())
EDGE_CASES: list[dict[str, Any]] = [
    json.loads(line) for line in (FIXTURES / "edge-cases.jsonl").read_text().splitlines() if line.strip()]
