"""The gate: whether a candidate may replace the model in service, decided from the evaluation's figures alone.

A candidate passes only if its MAE is below persistence's at every horizon (a model that loses to "the count stays
the same" is not worth an endpoint), and, when a model is in service (the champion), if its T+1h MAE is at least
`min_improvement_t1h_percent` below the champion's and no horizon's MAE is more than `max_regression_percent` above
the champion's: a retrain that merely matches the champion is not worth a deploy, and a gain at T+1h may not be
bought with a loss at T+3h. A first model has no champion and needs only the persistence test.

The reason is one line the registry stores as written in a CustomerMetadataProperties value (at most 256 of
letters, digits, spaces and `_ . : / = + - @`), here and in the pipeline's registration step alike: past that length
it names the first missed bounds and counts the rest, whose figures evaluation.json holds anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forecast_contract import HORIZON_KEYS

from cdk_app.deployment.config import GateMargins

Scores = Mapping[str, Any]  # an evaluation.json contender: {"T+1h": {"mae", "r2"}, ...}
REASON_SEPARATOR = " / "
MAX_REASON_CHARS = 256


@dataclass(frozen=True)
class Decision:
    passed: bool
    reason: str
    margins: GateMargins

    def to_dict(self) -> dict[str, Any]:
        """evaluation.json's `gate`."""
        return {"passed": self.passed, "reason": self.reason,
                "rule": {"min_improvement_t1h_percent": self.margins.min_improvement_t1h_percent,
                         "max_regression_percent": self.margins.max_regression_percent}}


def decide(candidate: Scores, champion: Scores | None, persistence: Scores, margins: GateMargins) -> Decision:
    failures = [f"{key} MAE {_mae(candidate, key):.3f} not below persistence {_mae(persistence, key):.3f}"
                for key in HORIZON_KEYS if not _mae(candidate, key) < _mae(persistence, key)]
    if champion is None:
        if failures:
            return Decision(False, _reason(failures), margins)
        return Decision(True, "beats persistence at every horizon - a first model with no champion", margins)
    first = HORIZON_KEYS[0]
    needed = _mae(champion, first) * (1 - margins.min_improvement_t1h_percent / 100)
    if not _mae(candidate, first) <= needed:
        failures.append(f"{first} MAE {_mae(candidate, first):.3f} not {margins.min_improvement_t1h_percent:g} "
                        f"percent below champion {_mae(champion, first):.3f} - needs {needed:.3f} or less")
    for key in HORIZON_KEYS[1:]:  # T+1h's bound above is the tighter one
        limit = _mae(champion, key) * (1 + margins.max_regression_percent / 100)
        if _mae(candidate, key) > limit:
            failures.append(f"{key} MAE {_mae(candidate, key):.3f} more than {margins.max_regression_percent:g} "
                            f"percent above champion {_mae(champion, key):.3f} - limit {limit:.3f}")
    if failures:
        return Decision(False, _reason(failures), margins)
    gain = 100 * (1 - _mae(candidate, first) / _mae(champion, first)) if _mae(champion, first) else 0.0
    return Decision(True, f"beats persistence at every horizon and the champion {first} MAE by {gain:.1f} percent",
                    margins)


def _reason(failures: list[str]) -> str:
    def shown(count: int) -> str:
        rest = len(failures) - count
        return REASON_SEPARATOR.join([*failures[:count], *([f"{rest} more missed"] if rest else [])])

    count = len(failures)
    while count > 1 and len(shown(count)) > MAX_REASON_CHARS:
        count -= 1
    return shown(count)


def _mae(scores: Scores, key: str) -> float:
    return float(scores[key]["mae"])
