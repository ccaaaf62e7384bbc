"""Runs an extracted model archive's own handlers over batches of requests, in a fresh interpreter.

`evaluation` starts this file as a script for each contender. The archive's code/ takes the place of this file's
folder at the head of sys.path, as code/ is on a serving worker's path, and nothing from this repository is
imported: a registry version is scored by the handlers it was packaged with, not by today's model_code/.
The handlers are called as the toolkit calls them, model_fn once, then input_fn, predict_fn and output_fn per body,
with the bytes and content types a caller sends.

    python archive_worker.py MODEL_DIR REQUESTS_JSON ANSWERS_JSON

REQUESTS_JSON is a list of batches (lists of requests); ANSWERS_JSON receives the answers' `predictions` in request
order and the `model_version` they carry. A batch the handlers refuse exits 1 with their JSON error on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

JSON = "application/json"


def answer_all(model_dir: str, batches: list[list[dict[str, Any]]]) -> dict[str, Any]:
    import inference
    from sagemaker_inference.errors import GenericInferenceToolkitError

    model = inference.model_fn(model_dir)
    predictions: list[dict[str, float]] = []
    versions: set[str] = set()
    for batch in batches:
        parsed = inference.input_fn(json.dumps({"instances": batch}).encode(), JSON)
        try:  # without the toolkit's context, a refusal is raised as the toolkit's own error
            body, _ = inference.output_fn(inference.predict_fn(parsed, model), JSON)
        except GenericInferenceToolkitError as refusal:
            raise ValueError(f"the handlers refused a batch of {len(batch)}: {refusal.message}") from None
        for answer in json.loads(body):
            predictions.append(answer["predictions"])
            versions.add(answer["model_version"])
    if len(versions) != 1:
        raise ValueError(f"the answers carry {len(versions)} model versions, not one: {sorted(versions)}")
    return {"model_version": versions.pop(), "predictions": predictions}


def main(argv: list[str]) -> int:
    model_dir, requests, answers = argv
    sys.path[0] = str(Path(model_dir) / "code")
    try:
        result = answer_all(model_dir, json.loads(Path(requests).read_text()))
    except ValueError as problem:
        print(problem, file=sys.stderr)
        return 1
    Path(answers).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
