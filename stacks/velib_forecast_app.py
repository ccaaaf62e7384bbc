"""The CDK app: the endpoint stack, the CI role stack when asked for, and cdk-nag as a synth-time gate.

`app.py` synthesizes it; tests build it the same way, so what they prove about the app (cdk-nag fails a
non-compliant construct, for one) holds for `cdk synth`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from cdk_app.deployment.config import DeploymentConfig, load_config, project_context
from stacks.ci_deploy_role_stack import CiDeployRoleStack
from stacks.velib_forecast_stack import VelibForecastStack


def build_app(default_account: str | None, context: Mapping[str, Any] | None = None, outdir: str | None = None
              ) -> tuple[App, DeploymentConfig]:
    # aws-cdk-lib's built-in "CloudFormation Validate" costs about 3 s of every synth, even of an empty app;
    # cfn-lint, which `make check-templates`, CI and the synth tests run on every template, checks the same and more.
    # cdk.json's context (feature flags included) is the base; under the CLI, its own context (cdk.json and
    # any -c overrides) takes precedence over what is passed here, so `python app.py` and tests get the same.
    app = App(context={**project_context(), **(context or {})}, outdir=outdir,
              builtin_cloud_formation_validation=False)
    config = load_config(app.node.get_all_context(), default_account)
    VelibForecastStack(app, config)
    if config.ci is not None:  # only when github_repository is set
        CiDeployRoleStack(app, config.ci, Environment(account=config.account, region=config.region))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, config
