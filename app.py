"""CDK entry point: `npx cdk synth | deploy | diff | destroy`. Settings come from cdk.json context."""

from __future__ import annotations

import os

from stacks.velib_forecast_app import build_app

app, _ = build_app(os.environ.get("CDK_DEFAULT_ACCOUNT"))
app.synth()
