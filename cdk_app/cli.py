"""The `python -m cdk_app` command line: a table of the commands, each registered by the subpackage that owns it.

Each subcommand imports its module only when it runs, so `--help` answers at once without
loading torch or the CDK.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from cdk_app.client.commands import add_predict, add_smoke
from cdk_app.lifecycle.commands import add_lifecycle
from cdk_app.live_data.commands import add_accuracy, add_collect
from cdk_app.local_serving.commands import add_serve
from cdk_app.performance.commands import add_bench, add_cost
from cdk_app.rehearsal.commands import add_rehearse
from cdk_app.training.commands import add_convert_scaler, add_package, add_train
from cdk_app.web_api.commands import add_api, add_up
from cdk_app.web_page.commands import add_ui

Handler = Callable[[argparse.Namespace], int]

COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    add_train, add_package, add_convert_scaler, add_serve, add_predict, add_api, add_ui, add_up, add_bench,
    add_cost, add_rehearse, add_smoke, add_collect, add_accuracy, add_lifecycle,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cdk_app",
                                     description="Velib' forecaster on SageMaker Serverless: train, package, "
                                                 "serve locally, predict, benchmark, cost and rehearse deploys.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
