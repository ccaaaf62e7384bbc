"""Synthesizing the endpoint stack in process, as `cdk synth` would, for the synth-tier tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from cdk_app.deployment.config import DeploymentConfig, project_context
from stacks.velib_forecast_app import build_app
from stacks.velib_forecast_stack import VelibForecastStack

ACCOUNT = "123456789012"
# What resolve-model writes for an Approved version 3 of the dev group in ACCOUNT; tests point synth at it.
MODEL_VERSION_FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "model-version.json"
DEFAULT_CONTEXT: dict[str, Any] = project_context()


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
    """The app as `cdk synth` builds it (cdk-nag included), with context overrides."""
    app, config = build_app(ACCOUNT, overrides, str(outdir))
    stack = Stack.of(app.node.find_child(config.stack_name))
    assert isinstance(stack, VelibForecastStack)
    app.synth()
    return Synthesized(app, stack, config, Template.from_stack(stack), outdir)


ENDPOINT = "velib-forecast-dev"  # the default stage's endpoint, as the specification states it
DIMENSIONS = [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "AllTraffic"}]
