"""What the endpoint promises and what it is built from, in plain Python: no torch, numpy or toolkit.

The endpoint (model_utils), the packager and `cdk synth`, the client and the web API all read these
names from here, so a limit or an artifact file is defined once, and the tooling that only needs a
constant or a file list does not pay for importing torch.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# ----------------------------------------------------------------------------- the request contract
# The product's public API, fixed here and not read from the artifacts; model_utils refuses artifacts
# trained for another contract.
HISTORY_HOURS = 24
HORIZON_HOURS = (1, 2, 3)
HORIZON_KEYS = tuple(f"T+{h}h" for h in HORIZON_HOURS)
MAX_MISSING_HOURS = 6
MAX_BATCH = 2000
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024  # Serverless Inference's request and response cap
CAPACITY_RANGE = (1, 200)
HOUR_RANGE = (0, 23)
DAY_OF_WEEK_RANGE = (0, 6)  # 0 = Monday
MAX_STATION_CODE_CHARS = 32
# The Velib' service area: Paris and the surrounding communes it serves, with a margin.
LATITUDE_RANGE = (48.70, 49.05)
LONGITUDE_RANGE = (2.10, 2.60)
STATIC_FEATURES = ("capacity", "latitude", "longitude")
REQUIRED_FIELDS = ("station_code", "historical_bikes", "hour", "day_of_week", "capacity", "latitude", "longitude")
OPTIONAL_FIELDS = ("is_weekend",)

# ----------------------------------------------------------------------------- the artifact files
WEIGHTS_FILE = "best_model.pth"
CONFIG_FILE = "config.json"
SCALER_FILE = "scaler.json"
MAPPINGS_FILE = "station_mappings.json"
ARTIFACT_FILES = (WEIGHTS_FILE, CONFIG_FILE, SCALER_FILE, MAPPINGS_FILE)


class ArtifactError(RuntimeError):
    """A model artifact that is missing or unreadable; the message names the file."""


def read_artifact(model_dir: Path, name: str) -> bytes:
    path = model_dir / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"{name}: missing from the model directory {model_dir}") from None
    except OSError as exc:
        raise ArtifactError(f"{name}: cannot be read ({exc})") from exc


def artifacts_version(model_dir: str | Path) -> str:
    """Content hash of the serving artifacts: the same files always give the same version."""
    digest = hashlib.sha256()
    for name in ARTIFACT_FILES:
        data = read_artifact(Path(model_dir), name)
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:12]
