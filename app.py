"""CDK entry point: `npx cdk synth | deploy | diff | destroy`. Settings come from cdk.json context.

A bad setting ends the synth with its one-line message (the key and what to set), not a traceback: the
traceback would only show where the check lives, and push the message that says what to fix off the screen.
"""

from __future__ import annotations

import os
import sys

from cdk_app.deployment.config import ConfigError
from cdk_app.deployment.model_archive import PackagingError
from stacks.velib_forecast_app import build_app

try:
    app, _ = build_app(os.environ.get("CDK_DEFAULT_ACCOUNT"))
except (ConfigError, PackagingError) as error:
    sys.exit(str(error))
app.synth()
