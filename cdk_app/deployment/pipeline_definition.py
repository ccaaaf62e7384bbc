"""A small typed builder of SageMaker Pipelines definitions (the JSON that `CreatePipeline` and CloudFormation's
`PipelineDefinitionBody` take, schema version 2020-12-01), written here rather than by the SageMaker Python SDK:
the SDK's pipeline classes import its whole session and service model, which `cdk synth` must not pay for.

Only what the retraining pipeline uses is modelled: parameters, job steps whose Arguments are the service request
they stand for (CreateProcessingJob, CreateTrainingJob, CreateModelPackage), condition steps with their If and Else
branches, property files, and the expressions that refer to other steps' properties at run time (`Get`, `Std:Join`,
`Std:JsonGet`), in the shapes the SDK writes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

VERSION = "2020-12-01"
PROCESSING, TRAINING, CONDITION, REGISTER_MODEL = "Processing", "Training", "Condition", "RegisterModel"

Expression = dict[str, Any]


def get(path: str) -> Expression:
    """A value known only at run time: `Parameters.X`, `Execution.PipelineExecutionId`, `Steps.S.<property>`."""
    return {"Get": path}


def join(*values: Any, on: str = "") -> Expression:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def as_text(value: Any) -> Expression:
    """A run-time value as a string, where the request wants one (a number read from a property file)."""
    return join(value)


EXECUTION_ID = get("Execution.PipelineExecutionId")


@dataclass(frozen=True)
class Parameter:
    """A value each execution may override; Scheduler and StartPipelineExecution pass them by name."""

    name: str
    default: str

    @property
    def value(self) -> Expression:
        return get(f"Parameters.{self.name}")

    def to_request(self) -> dict[str, Any]:
        return {"Name": self.name, "Type": "String", "DefaultValue": self.default}


@dataclass(frozen=True)
class PropertyFile:
    """A JSON file a processing step writes into one of its outputs, which later steps read values from."""

    name: str
    output_name: str
    path: str

    def to_request(self) -> dict[str, Any]:
        return {"PropertyFileName": self.name, "OutputName": self.output_name, "FilePath": self.path}


@dataclass(frozen=True)
class Step:
    name: str
    type: str
    arguments: Mapping[str, Any]
    property_files: Sequence[PropertyFile] = field(default_factory=tuple)

    def to_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {"Name": self.name, "Type": self.type, "Arguments": dict(self.arguments)}
        if self.property_files:
            request["PropertyFiles"] = [f.to_request() for f in self.property_files]
        return request

    def property(self, path: str) -> Expression:
        """One of the step's properties once it has run (the Describe* response of its job)."""
        return get(f"Steps.{self.name}.{path}")

    def output_uri(self, output_name: str) -> Expression:
        """Where a processing step's named output was uploaded."""
        return self.property(f"ProcessingOutputConfig.Outputs['{output_name}'].S3Output.S3Uri")

    def json_value(self, property_file: PropertyFile, path: str) -> Expression:
        """A value of a property file this step wrote, by JSONPath."""
        return {"Std:JsonGet": {"PropertyFile": self.property(f"PropertyFiles.{property_file.name}"), "Path": path}}


@dataclass(frozen=True)
class ConditionStep:
    """Runs `if_steps` when every condition holds, else `else_steps`."""

    name: str
    conditions: Sequence[Expression]
    if_steps: Sequence[Step]
    else_steps: Sequence[Step]

    def to_request(self) -> dict[str, Any]:
        return {"Name": self.name, "Type": CONDITION, "Arguments": {
            "Conditions": list(self.conditions), "IfSteps": [s.to_request() for s in self.if_steps],
            "ElseSteps": [s.to_request() for s in self.else_steps]}}


def equals(left: Any, right: Any) -> Expression:
    return {"Type": "Equals", "LeftValue": left, "RightValue": right}


@dataclass(frozen=True)
class PipelineDefinition:
    parameters: Sequence[Parameter]
    steps: Sequence[Step | ConditionStep]

    def to_request(self) -> dict[str, Any]:
        return {"Version": VERSION, "Metadata": {}, "Parameters": [p.to_request() for p in self.parameters],
                "Steps": [s.to_request() for s in self.steps]}
