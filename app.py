"""CDK entry point: `npx cdk synth | deploy | diff | destroy`. Settings come from cdk.json context."""

from __future__ import annotations

import os

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from cdk_app.config import load_config
from stacks.ci_deploy_role_stack import CiDeployRoleStack
from stacks.velib_forecast_stack import VelibForecastStack

app = App()
config = load_config(app.node.get_all_context(), os.environ.get("CDK_DEFAULT_ACCOUNT"))
VelibForecastStack(app, config)
if config.ci is not None:
    CiDeployRoleStack(app, config)
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
