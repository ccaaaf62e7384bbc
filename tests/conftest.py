"""Fixtures every tier may use; helpers live in tests/support/, which tests import directly."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.synth import Synthesized, synthesize
from support.training_history import write_history


@pytest.fixture(scope="session")
def synth_app(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Synthesized]:
    """Synthesize with context overrides; each distinct set of overrides is built once."""
    cache: dict[str, Synthesized] = {}

    def build(**overrides: Any) -> Synthesized:
        key = json.dumps(overrides, sort_keys=True)
        if key not in cache:
            cache[key] = synthesize(tmp_path_factory.mktemp("cdk.out"), **overrides)
        return cache[key]

    return build


@pytest.fixture(scope="session")
def default_app(synth_app: Callable[..., Synthesized]) -> Synthesized:
    return synth_app()


@pytest.fixture(scope="session")
def training_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The collected fixture history of tests/support/training_history.py, written once for every tier."""
    root = tmp_path_factory.mktemp("training-history")
    write_history(root)
    return root
