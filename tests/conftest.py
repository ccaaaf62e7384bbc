"""Shared fixtures: synthesized apps, built once per session and read by every stack test."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from cdk_app.config import DeploymentConfig, load_config
from cdk_app.paths import REPO_ROOT
from stacks.velib_forecast_stack import VelibForecastStack

ACCOUNT = "123456789012"
DEFAULT_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


@dataclass(frozen=True)
class Synthesized:
    app: App
    stack: VelibForecastStack
    config: DeploymentConfig
    template: Template
    outdir: Path

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template.to_json()["Resources"])

    def of_type(self, kind: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def one(self, kind: str) -> tuple[str, dict[str, Any]]:
        found = self.of_type(kind)
        assert len(found) == 1, f"{len(found)} resources of type {kind}"
        return next(iter(found.items()))


def synthesize(outdir: Path, **overrides: Any) -> Synthesized:
    context = {**DEFAULT_CONTEXT, **overrides}
    app = App(context=context, outdir=str(outdir))
    config = load_config(app.node.get_all_context(), ACCOUNT)
    stack = VelibForecastStack(app, config)
    app.synth()
    return Synthesized(app, stack, config, Template.from_stack(stack), outdir)


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
