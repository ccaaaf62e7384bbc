"""The evaluation step: the candidate, the champion and persistence scored on the same held-out week.

The week is the trainer's own held-out part: the last `test_days` (7) of the channel, cut into windows by
`heldout_windows`, so the candidate is scored on exactly what training held out. Each model is scored through the
endpoint's own handlers, run from its extracted archive by `archive_worker` in a fresh interpreter with only the
archive's code on the path, as a serving worker runs them: the champion from a registry version is judged by the
code it was packaged with. Persistence is the trainer's baseline on the same windows, and every figure is the
trainer's `score` (MAE and R² per horizon, in bikes), so evaluation.json and metrics.json agree on the candidate.

`python -m cdk_app.lifecycle.evaluation` is the retraining pipeline's Evaluate step, the same code `retrain` runs:
it writes evaluation.json with the gate's verdict, which the pipeline's condition reads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from forecast_contract import HORIZON_KEYS

from cdk_app.atomic_files import write_json
from cdk_app.deployment.config import GATE_KEYS, GateMargins, gate_margins
from cdk_app.lifecycle.channel import read_channel
from cdk_app.lifecycle.gate import decide
from cdk_app.local_serving.model_server import extract_archive
from cdk_app.training.network import StationNetwork
from cdk_app.training.trainer import TrainingSettings, Windows, baselines, heldout_period, heldout_windows, score
from cdk_app.training.window_requests import request_batches

WORKER = Path(__file__).with_name("archive_worker.py")
WORKER_TIMEOUT_SECONDS = 1800.0
CONTENDERS = ("candidate", "champion", "persistence")


class EvaluationError(RuntimeError):
    """A contender could not be scored; the message names it and what failed."""


@dataclass(frozen=True)
class HeldOutWeek:
    net: StationNetwork
    windows: Windows
    first_index: int  # the first held-out hour, on the channel's hour axis


def heldout_week(channel: Path, test_days: int) -> HeldOutWeek:
    net = read_channel(channel)
    windows = heldout_windows(net, TrainingSettings(test_days=test_days))
    if len(windows) == 0:
        raise EvaluationError(f"{channel}: the last {test_days} days hold no window to score (each needs its 3 "
                              "target hours counted and most of its 24 history hours)")
    return HeldOutWeek(net, windows, net.hours - test_days * 24)


def served_scores(archive: Path, week: HeldOutWeek, contender: str) -> dict[str, Any]:
    """The archive's handlers' answers to every held-out window, scored: {"model_version", "T+1h": {...}, ...}."""
    with tempfile.TemporaryDirectory(prefix="velib-evaluation-") as scratch:
        root = Path(scratch)
        model_dir = extract_archive(archive, root)
        requests, answers = root / "requests.json", root / "answers.json"
        requests.write_text(json.dumps(list(request_batches(week.net, week.windows))))
        environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the archive's code only
        try:
            result = subprocess.run([sys.executable, str(WORKER), str(model_dir), str(requests), str(answers)],
                                    cwd=model_dir / "code", env=environment, capture_output=True, text=True,
                                    timeout=WORKER_TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise EvaluationError(f"the {contender} ({archive}): its handlers took over "
                                  f"{WORKER_TIMEOUT_SECONDS:g} s") from None
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
            raise EvaluationError(f"the {contender} ({archive}): its handlers failed: {last}")
        served = json.loads(answers.read_text())
    predicted = np.array([[answer[key] for key in HORIZON_KEYS] for answer in served["predictions"]])
    return {"model_version": served["model_version"], **score(predicted, week.windows.targets)}


def evaluate(channel: Path, candidate: Path, champion: Path | None, test_days: int) -> dict[str, Any]:
    """evaluation.json without its `gate`: the held-out week and the three contenders' figures."""
    week = heldout_week(channel, test_days)
    persistence = baselines(week.net, week.windows)["persistence"]
    return {
        "heldout": {**heldout_period(week.net, week.first_index), "windows": len(week.windows)},
        "contenders": {
            "candidate": served_scores(candidate, week, "candidate"),
            "champion": None if champion is None else served_scores(champion, week, "champion"),
            "persistence": score(persistence, week.windows.targets),
        },
    }


def judged(evaluation: dict[str, Any], margins: GateMargins) -> dict[str, Any]:
    """evaluation.json whole: the figures and the gate's verdict on them."""
    contenders = evaluation["contenders"]
    decision = decide(contenders["candidate"], contenders["champion"], contenders["persistence"], margins)
    return {**evaluation, "gate": decision.to_dict()}


def contenders_table(evaluation: dict[str, Any], champion_label: str | None) -> str:
    """The three contenders side by side, MAE and R² per horizon; a missing champion says so."""
    contenders = evaluation["contenders"]
    labels = {"candidate": f"candidate {contenders['candidate']['model_version']}", "champion": "champion",
              "persistence": "persistence"}
    if contenders["champion"] is not None:
        labels["champion"] += f" {contenders['champion']['model_version']} ({champion_label})"
    width = max(len(label) for label in labels.values())
    heldout = evaluation["heldout"]
    lines = [f"held-out week: hours ending {heldout['first_hour']} to {heldout['last_hour']}, "
             f"{heldout['windows']} windows",
             f"{'':<{width}}" + "".join(f"  {key + ' MAE':>9} {'R²':>7}" for key in HORIZON_KEYS)]
    for name in CONTENDERS:
        scores = contenders[name]
        figures = ("".join(f"  {scores[key]['mae']:>9.3f} {scores[key]['r2']:>7.3f}" for key in HORIZON_KEYS)
                   if scores is not None else "  none: a first model is judged against persistence alone")
        lines.append(f"{labels[name]:<{width}}{figures}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cdk_app.lifecycle.evaluation",
        description="Score a candidate archive, a champion archive (if any) and persistence on a channel's held-out "
                    "week through each archive's handlers, apply the gate and write evaluation.json.")
    parser.add_argument("--candidate", type=Path, required=True, help="the candidate's model.tar.gz")
    parser.add_argument("--champion", type=Path, help="the model.tar.gz in service (default: none, a first model)")
    parser.add_argument("--channel", type=Path, required=True, help="the training channel the candidate was trained on")
    parser.add_argument("--output", type=Path, required=True, help="where to write evaluation.json")
    parser.add_argument("--test-days", type=int, default=TrainingSettings.test_days,
                        help="held-out days, the trainer's test_days (default: %(default)s)")
    for key in GATE_KEYS:
        parser.add_argument(f"--{key.replace('_', '-')}", dest=key, required=True, help=f"cdk.json's {key}")
    args = parser.parse_args(argv)
    try:
        margins = gate_margins(vars(args))
        evaluation = judged(evaluate(args.channel, args.candidate, args.champion, args.test_days), margins)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_json(args.output, evaluation)
    print(contenders_table(evaluation, str(args.champion)))
    print(f"gate: {'passed' if evaluation['gate']['passed'] else 'failed'}: {evaluation['gate']['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
