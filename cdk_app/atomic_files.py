"""Atomic file writes: a crash or Ctrl-C never leaves a half-written artifact behind."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def write_json(path: Path, data: Any) -> None:
    """Sorted and indented, so the same data always gives the same bytes."""
    write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
