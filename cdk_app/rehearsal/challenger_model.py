"""A second, truly different model for A/B rehearsals and tests: the repository's artifacts with every weight of the
network scaled by 1 %, re-saved. It loads and serves as the first does, forecasts slightly differently, and its
model_version (the hash of the serving artifacts, weights included) differs, which a challenger's must.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from forecast_contract import WEIGHTS_FILE

WEIGHT_SCALE = 1.01


def challenger_artifacts(source: Path, output: Path) -> Path:
    """Copy the artifacts folder `source` to `output`, its weights scaled; `output` must not exist yet."""
    import torch  # only here: the rest of the rehearsal needs no torch

    shutil.copytree(source, output)
    weights = output / WEIGHTS_FILE
    state = torch.load(weights, map_location="cpu", weights_only=True)
    torch.save({name: tensor * WEIGHT_SCALE if tensor.is_floating_point() else tensor
                for name, tensor in state.items()}, weights)
    return output


if __name__ == "__main__":  # `make check-templates`: python -m cdk_app.rehearsal.challenger_model OUTPUT
    import sys

    from cdk_app.paths import ARTIFACTS_DIR

    challenger_artifacts(ARTIFACTS_DIR, Path(sys.argv[1]))
