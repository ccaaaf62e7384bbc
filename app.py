"""CDK entry point: `npx cdk synth | deploy | diff | destroy`. Settings come from cdk.json context."""

from __future__ import annotations

import os

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from cdk_app.deployment.config import load_config, project_context
from stacks.ci_deploy_role_stack import CiDeployRoleStack
from stacks.velib_forecast_stack import VelibForecastStack

# aws-cdk-lib's built-in "CloudFormation Validate" costs about 3 s of every synth, even of an empty app; cfn-lint,
# which `make check-templates`, CI and the synth tests run on every template, checks the same and more.
app = App(builtin_cloud_formation_validation=False)
# The CLI passes cdk.json's context with any -c overrides; `python app.py` on its own starts from cdk.json.
config = load_config({**project_context(), **app.node.get_all_context()}, os.environ.get("CDK_DEFAULT_ACCOUNT"))
VelibForecastStack(app, config)
if config.ci is not None:  # only when github_repository is set
    CiDeployRoleStack(app, config.ci, Environment(account=config.account, region=config.region))
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
