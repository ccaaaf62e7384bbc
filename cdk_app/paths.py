"""Where the repository keeps things, so no module guesses a relative path."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_CODE_DIR = REPO_ROOT / "model_code"
ARTIFACTS_DIR = REPO_ROOT / "artifacts"
BUILD_DIR = REPO_ROOT / "build"
DEFAULT_ARCHIVE = BUILD_DIR / "model.tar.gz"
BENCH_RESULTS = BUILD_DIR / "bench.json"
DEFAULT_HISTORY = BUILD_DIR / "history"  # the collector's; `make clean` keeps it
EXAMPLES_DIR = REPO_ROOT / "examples"
CDK_JSON = REPO_ROOT / "cdk.json"
