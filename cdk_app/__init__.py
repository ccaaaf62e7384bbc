"""The Velib' forecaster's tooling: everything but the CDK constructs (stacks/) and the endpoint code (model_code/).

Subpackages, by what they hold (each `__init__` says whether `cdk synth` imports it):
`deployment` (config, model archive, DLC image: what synth imports), `training`, `local_serving`, `client`,
`performance`, `rehearsal`, `web_api` and `web_page`, `live_data` (the GBFS collector, its history, the hourly
city forecast and live accuracy) and `lifecycle` (the training channel, the training job, the model's versions);
`cli` is the `python -m cdk_app` command line.

model_code/ is put on sys.path here, as the container puts `code/` on PYTHONPATH, so the tooling
imports the endpoint's own modules (`forecast_contract`, `model_utils`, `inference`) rather than
a copy of their logic. Importing the package imports none of them.
"""

from __future__ import annotations

import sys

from cdk_app.paths import MODEL_CODE_DIR

if str(MODEL_CODE_DIR) not in sys.path:
    sys.path.insert(0, str(MODEL_CODE_DIR))
